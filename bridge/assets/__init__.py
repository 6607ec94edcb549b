"""Files shipped with reabridge, found as package data (``importlib.resources``).

The repository keeps them at its top level (``models/``, ``jsfx/``,
``reaper_scripts/``); packaging maps those folders into this package
(``bridge.assets.models``...; see ``setup.py``), so an editable install and a
wheel installed anywhere find the same files.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def _folder(package: str, *parts: str) -> Path:
    # reabridge is always installed as files on disk (pip never installs it zipped)
    return Path(str(files(package).joinpath(*parts)))


def presets_dir() -> Path:
    """The bundled mastering presets (``*.toml``)."""
    return _folder("bridge.assets.models", "presets")


def captures_dir() -> Path:
    """The bundled ``.nam`` captures."""
    return _folder("bridge.assets.models", "captures")


def jsfx_dir() -> Path:
    """The JSFX shipped with reabridge."""
    return _folder("bridge.assets.jsfx")


def reaper_scripts_dir() -> Path:
    """The Lua ReaScripts (REAPER actions)."""
    return _folder("bridge.assets.reaper_scripts")
