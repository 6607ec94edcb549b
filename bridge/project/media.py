"""Finding the media file a take plays, the way REAPER looks for it.

REAPER stores ``FILE "path"`` relative to the project folder when the file is
inside it, absolute otherwise, with the separators of the system that saved
the project. When the file is not where the path says, REAPER looks for the
same file name in the project folder and in the project's recording folders
(``RECORD_PATH primary secondary``). We do the same, on any system.
"""

from __future__ import annotations

import ntpath
import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath


@dataclass(frozen=True)
class ResolvedMedia:
    """Where a source file was found.

    Attributes
    ----------
    stored : str
        The path as written in the project.
    path : Path
        The best location: the file found, or where REAPER would look first.
    exists : bool
        Whether ``path`` is an existing file.
    """

    stored: str
    path: Path
    exists: bool


def _is_windows_absolute(path: str) -> bool:
    return bool(ntpath.splitdrive(path)[0]) or path.startswith("\\\\")


def _native(path: str) -> Path:
    """Interpret a stored path on this system (backslashes become separators)."""
    if os.sep == "/" and "\\" in path:
        drive, rest = ntpath.splitdrive(path)
        parts = [p for p in rest.replace("\\", "/").split("/") if p]
        if drive:
            return Path(drive, *parts)  # stays non-existent on POSIX: handled by the fallbacks
        return Path(*parts) if not rest.startswith(("\\", "/")) else Path("/", *parts)
    return Path(path)


def _basename(path: str) -> str:
    return ntpath.basename(path.replace("/", "\\")) if "\\" in path else PurePosixPath(path).name


def resolve_media(stored: str, project_dir: Path | None, record_paths: tuple[str, ...] = ()) -> ResolvedMedia:
    """Resolve a source path from a project.

    Parameters
    ----------
    stored : str
        The ``FILE`` value as written in the project.
    project_dir : Path or None
        Folder of the ``.RPP`` file (None for a project that is not on disk).
    record_paths : tuple of str
        The project's ``RECORD_PATH`` values (relative ones are inside the project folder).

    Returns
    -------
    ResolvedMedia
    """
    if not stored:
        return ResolvedMedia(stored, Path(), False)
    native = _native(stored)
    absolute = native.is_absolute() or _is_windows_absolute(stored)
    candidates: list[Path] = []
    if absolute:
        candidates.append(native)
    elif project_dir is not None:
        candidates.append(project_dir / native)
    else:
        candidates.append(native)
    if project_dir is not None:
        name = _basename(stored)
        candidates.append(project_dir / name)
        for rec in record_paths:
            if rec:
                rec_path = _native(rec)
                base = rec_path if rec_path.is_absolute() else project_dir / rec_path
                candidates.append(base / name)
    for cand in candidates:
        if cand.is_file():
            return ResolvedMedia(stored, cand, True)
    return ResolvedMedia(stored, candidates[0], False)


def relative_media_path(path: Path, project_dir: Path) -> str:
    """The ``FILE`` value REAPER writes: relative inside the project folder, else absolute."""
    path = Path(os.path.abspath(path))
    try:
        return path.relative_to(Path(os.path.abspath(project_dir))).as_posix()
    except ValueError:
        return str(path)
