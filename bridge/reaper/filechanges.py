"""File changes made as one step: checked first, applied in order, put back if any of them fails.

``reabridge install`` plans every file it writes (:class:`FileChange`), checks them all
(:class:`bridge.reaper.targets.Place`), then applies them through a :class:`Transaction`.
When a write fails (a full disk, a file locked meanwhile, Ctrl+C), :meth:`Transaction.rollback`
puts every file back as it was and removes the folders it made, so a failed install leaves
nothing half done. A crash that gives no chance to roll back (power cut, ``kill -9``) is
what ``install.json`` is for: it is written first, listing everything install is about to
do, and uninstall undoes what of it was done.
"""

from __future__ import annotations

import contextlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from bridge.fileio import write_atomic
from bridge.reaper.targets import Place, replace


@dataclass(frozen=True)
class FileChange:
    """One file to write.

    Attributes
    ----------
    path : Path
    data : bytes
        The whole new content.
    line : str or None
        What the report says once it is done.
    reaper_file : bool
        One of REAPER's own files: replaced by renaming, never written through a link.
    mode : int or None
        Create the file exclusively with these permissions (it must not exist).
    """

    path: Path
    data: bytes
    line: str | None = None
    reaper_file: bool = False
    mode: int | None = None


def missing_folders(place: Place, folder: Path) -> list[Path]:
    """The folders from the resource path down to ``folder`` that do not exist yet, outermost first."""
    missing = []
    p = folder
    while p != place.root and not os.path.lexists(p):
        missing.append(p)
        p = p.parent
    return list(reversed(missing))


class Transaction:
    """Writes files and remembers how each was, so that all of it can be undone.

    Parameters
    ----------
    place : Place
        The resource path the files are in.
    """

    def __init__(self, place: Place) -> None:
        self.place = place
        self._before: list[tuple[Path, bytes | None, int | None]] = []
        self._seen: set[Path] = set()
        self._made: list[Path] = []

    def _remember(self, path: Path, follow: bool) -> None:
        real = Path(os.path.realpath(path)) if follow else path
        if real in self._seen:
            return
        self._seen.add(real)
        try:
            st = os.lstat(real)
        except FileNotFoundError:
            self._before.append((real, None, None))
            return
        if stat.S_ISREG(st.st_mode):
            self._before.append((real, real.read_bytes(), stat.S_IMODE(st.st_mode)))

    def make_folders(self, folder: Path) -> None:
        """Make ``folder`` and the parents it needs (remembered, to be removed on rollback)."""
        for p in missing_folders(self.place, folder):
            p.mkdir()
            self._made.append(p)

    def write(self, change: FileChange) -> None:
        """Apply one change (its folder is made when missing)."""
        self._remember(change.path, follow=not change.reaper_file)
        self.make_folders(change.path.parent)
        if change.mode is not None:
            fd = os.open(change.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0),
                         change.mode)
            with os.fdopen(fd, "wb") as fh:
                fh.write(change.data)
        elif change.reaper_file:
            replace(change.path, change.data)
        else:
            write_atomic(change.path, change.data)

    def rollback(self) -> list[str]:
        """Put every file back as it was and remove the folders made; what could not be undone."""
        problems = []
        for path, data, mode in reversed(self._before):
            try:
                if data is None:
                    with contextlib.suppress(FileNotFoundError):
                        path.unlink()
                elif not path.is_file() or path.read_bytes() != data:
                    replace(path, data, mode)
            except OSError as exc:
                problems.append(f"{path}: {exc.strerror or exc}")
        for folder in reversed(self._made):
            with contextlib.suppress(OSError):
                folder.rmdir()
        return problems
