"""Captures bundled with reabridge (``models/captures/``), made by ``models/make_captures.py``.

Wherever a capture is taken (``--model`` on the command line, ``options.model`` in a
request, the REAPER action's menu, ``amp info``), a bundled one can be named instead of
a file: ``"reabridge Crunch"``, ``reabridge_crunch`` or ``reabridge_Crunch.nam`` all name
``models/captures/reabridge_Crunch.nam``. A file of that name, when one exists, wins: a
name is only looked up among the bundled captures when no such file is there.
"""

from __future__ import annotations

from pathlib import Path

from bridge.amp.nam_file import NamError
from bridge.assets import captures_dir


def bundled_captures() -> list[Path]:
    """The bundled ``.nam`` files."""
    folder = captures_dir()
    return sorted(folder.glob("*.nam")) if folder.is_dir() else []


def capture_name(path: Path) -> str:
    """The name a bundled capture goes by (``reabridge_Crunch.nam`` -> ``"reabridge Crunch"``)."""
    return path.stem.replace("_", " ")


def _key(name: str) -> str:
    name = name.strip()
    if name.lower().endswith(".nam"):
        name = name[:-4]
    return name.replace("_", " ").casefold()


def looks_like_name(value: str) -> bool:
    """Whether ``value`` could be a bundled capture's name (no folder in it)."""
    return bool(value.strip()) and "/" not in value and "\\" not in value


def find_bundled(name: str) -> Path | None:
    """The bundled capture called ``name`` (spaces or underscores, any case, ``.nam`` or not), or None."""
    if not looks_like_name(name):
        return None
    wanted = _key(name)
    return next((p for p in bundled_captures() if _key(p.stem) == wanted), None)


def bundled_names() -> str:
    """The bundled captures' names, for messages."""
    return ", ".join(capture_name(p) for p in bundled_captures()) or "none"


def bundled_capture(name: str) -> Path:
    """A bundled capture by name (``"reabridge Crunch"``) or file stem.

    Raises
    ------
    NamError
        No such bundled capture.
    """
    found = find_bundled(name)
    if found is None:
        raise NamError(f"no bundled capture named {name!r} (bundled: {bundled_names()})")
    return found


def resolve_capture(value: str, base: Path | None) -> Path | None:
    """The file a capture option names: a path (relative to ``base``), else a bundled capture by name.

    Parameters
    ----------
    value : str
        What the user or the request gave: a path to a ``.nam``, or a bundled capture's name.
    base : Path or None
        The folder a relative path is taken from (None: relative paths are not allowed).

    Returns
    -------
    Path or None
        The file (which may not exist, when ``value`` is a path that names nothing), or
        None when ``value`` is relative, ``base`` is None and no bundled capture has that name.
    """
    path = Path(value)
    if not path.is_absolute():
        if base is not None and (base / path).exists():
            return base / path
        bundled = find_bundled(value)
        if bundled is not None:
            return bundled
        return base / path if base is not None else None
    return path


def missing_capture(value: str, path: Path | None) -> str:
    """The message for a capture that is neither a file nor a bundled name."""
    where = f"capture file {path} does not exist" if path is not None else f"{value!r} must be an absolute path"
    if looks_like_name(value):
        return f"{where}, and no bundled capture is called {value!r} (bundled: {bundled_names()})"
    return where
