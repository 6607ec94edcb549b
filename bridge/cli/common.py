"""State shared by the command-line commands."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class CliState:
    """Options of the ``reabridge`` root command."""

    debug: bool = False


state = CliState()
