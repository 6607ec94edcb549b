"""What every session (offline file or live REAPER) offers the jobs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from bridge.changes.ops import ChangeSet
from bridge.project.items import Item
from bridge.project.project import Project
from bridge.project.tracks import Track


@dataclass(frozen=True)
class ApplyResult:
    """The outcome of :meth:`Session.apply`.

    Attributes
    ----------
    applied : bool
        False when the ChangeSet had been applied before (nothing was changed).
    change_id : str
        The ChangeSet id.
    waiting : str or None
        Set when the ChangeSet could not land yet and will be applied later
        (the project is closed in REAPER): what the user is told.
    handed_off : bool
        The ChangeSet went back to the REAPER action that asked for it, which
        applies it (REAPER's Python could not be reached).
    """

    applied: bool
    change_id: str
    waiting: str | None = None
    handed_off: bool = False


class Session(Protocol):
    """A place ChangeSets are applied to: a project file or a running REAPER.

    Attributes
    ----------
    path : Path
        The project's file.
    project : Project
        The project as it is now (what jobs read).
    """

    path: Path
    project: Project

    def items(self, selected_only: bool = False) -> list[tuple[Track, Item]]:
        """Items of the project, with their tracks."""
        ...

    def apply(self, changes: ChangeSet) -> ApplyResult:
        """Apply a ChangeSet in one step (atomic and idempotent)."""
        ...
