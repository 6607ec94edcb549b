"""Where REAPER keeps its settings, scripts and effects (its "resource path")."""

from __future__ import annotations

import os
import sys
from pathlib import Path

#: a file every REAPER resource folder has once REAPER has run with it
MARKER = "reaper.ini"


def default_resource_path() -> Path:
    """REAPER's resource path on this machine (it may not exist).

    ``$REAPER_RESOURCE_PATH`` wins; otherwise REAPER's own default for the system:
    ``~/Library/Application Support/REAPER`` (macOS), ``%APPDATA%\\REAPER``
    (Windows), ``$XDG_CONFIG_HOME/REAPER`` or ``~/.config/REAPER`` (Linux).
    A portable install keeps its settings beside ``reaper(.exe)``: pass that
    folder with ``--resource-path``.
    """
    env = os.environ.get("REAPER_RESOURCE_PATH")
    if env:
        return Path(env)
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "REAPER"
    if sys.platform.startswith("win"):
        return Path(os.environ.get("APPDATA", Path.home())) / "REAPER"
    return Path(os.environ.get("XDG_CONFIG_HOME", Path.home() / ".config")) / "REAPER"


def resource_path(explicit: Path | None = None) -> tuple[Path, str]:
    """The resource path to use, and how it was found (for messages).

    A folder given explicitly that holds ``reaper.ini`` only in a ``REAPER``
    subfolder (the folder a portable install was unpacked into, say) is
    followed there.
    """
    if explicit is not None:
        path = Path(explicit).expanduser().absolute()
        if not (path / MARKER).is_file() and (path / "REAPER" / MARKER).is_file():
            return path / "REAPER", "given (--resource-path), its REAPER folder"
        return path, "given (--resource-path)"
    if os.environ.get("REAPER_RESOURCE_PATH"):
        return default_resource_path().absolute(), "from $REAPER_RESOURCE_PATH"
    return default_resource_path(), "REAPER's default for this system"


def is_resource_path(path: Path) -> bool:
    """Whether REAPER has run with this folder as its resource path."""
    return (path / MARKER).is_file()


def reabridge_folder(resource: Path) -> Path:
    """``<resource path>/reabridge``: the config, the token, the server's files, the spool."""
    return resource / "reabridge"


def scripts_folder(resource: Path) -> Path:
    """Where ``reabridge install`` puts the actions (``Scripts/reabridge``)."""
    return resource / "Scripts" / "reabridge"
