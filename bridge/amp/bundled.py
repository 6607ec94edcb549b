"""Captures bundled with reabridge (``models/captures/``), made by ``models/make_captures.py``."""

from __future__ import annotations

from pathlib import Path

from bridge.amp.nam_file import NamError
from bridge.assets import captures_dir


def bundled_captures() -> list[Path]:
    """The bundled ``.nam`` files."""
    folder = captures_dir()
    return sorted(folder.glob("*.nam")) if folder.is_dir() else []


def bundled_capture(name: str) -> Path:
    """A bundled capture by name (``"reabridge Crunch"``) or file stem.

    Raises
    ------
    NamError
        No such bundled capture.
    """
    wanted = name.replace(" ", "_").lower()
    for path in bundled_captures():
        if path.stem.lower() == wanted:
            return path
    names = ", ".join(p.stem.replace("_", " ") for p in bundled_captures()) or "none"
    raise NamError(f"no bundled capture named {name!r} (bundled: {names})")
