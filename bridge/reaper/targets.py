"""Where ``reabridge install`` and ``uninstall`` may write: regular files inside REAPER's resource path.

The rules, checked for every file before the first change (:meth:`Place.check_file`):

- the file and every folder on the way to it lie inside the resource path once links
  are followed (a folder that is a link to somewhere else is refused, not written through);
- REAPER's own files (``reaper-kb.ini``, ``reaper.ini``, ``Scripts/__startup.lua``) are
  edited only as regular files: a link is refused, whatever it points to, and the file
  is replaced by renaming (:func:`replace`), which never writes to a link's target;
- what is there is a regular file, writable (not read-only, not ``chattr +i``), in a
  folder that can take a new file (the temporary file renamed over it).

These are not the rules for a command's outputs (``bridge.fileio``): there the user
chose the path, and a link to a file is written through. Install's paths are
REAPER's, so a link there is not the user's choice of where to write.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path, PurePosixPath

from bridge.errors import ReabridgeError


class InstallError(ReabridgeError):
    """Install or uninstall cannot go ahead (nothing was changed)."""


def _what(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISFIFO(mode):
        return "a pipe"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISREG(mode):
        return "a file"
    return "not a regular file"


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


class Place:
    """REAPER's resource path, as install and uninstall see it.

    Parameters
    ----------
    resource : Path
        The resource path (it may itself be a link; what is inside it counts).
    verb : str
        ``"install"`` or ``"uninstall"``, for the messages.
    """

    def __init__(self, resource: Path, verb: str) -> None:
        self.root = resource
        self.real = Path(os.path.realpath(resource))
        self.verb = verb

    def rel(self, path: Path) -> str:
        """``path`` relative to the resource path, as the manifest writes it."""
        return path.relative_to(self.root).as_posix()

    def path(self, rel: object, what: str) -> Path:
        """A path the manifest names, refused unless it is a plain relative path inside the resource path.

        Raises
        ------
        InstallError
            An absolute path, ``..``, or anything that is not a path.
        """
        pure = PurePosixPath(rel) if isinstance(rel, str) else None
        if pure is None or not rel or pure.is_absolute() or ".." in pure.parts or "\\" in str(rel) \
                or "\x00" in str(rel):
            raise InstallError(f"{what} names {rel!r}, which is not a path inside REAPER's resource path; "
                               "nothing was changed (move reabridge/install.json away and remove reabridge's "
                               "files by hand)")
        return self.root.joinpath(*pure.parts)

    def _link_error(self, path: Path, real: Path, reaper_file: bool) -> InstallError:
        why = ("REAPER's own files are only edited as plain files" if reaper_file else
               "it leads outside REAPER's resource path")
        return InstallError(f"{self.rel(path)} is a link to {real}; {self.verb} will not write through it ({why}: "
                            f"replace the link with the {'file' if reaper_file else 'folder'} itself, or point "
                            "--resource-path at the folder REAPER really uses)")

    def _folders(self, path: Path) -> Path:
        """Check the folders between the resource path and ``path``; the nearest one that exists."""
        current = self.root
        for part in path.relative_to(self.root).parts[:-1]:
            nxt = current / part
            try:
                st = os.lstat(nxt)
            except FileNotFoundError:
                return current
            if stat.S_ISLNK(st.st_mode):
                real = Path(os.path.realpath(nxt))
                if not _inside(real, self.real):
                    raise self._link_error(nxt, real, False)
                try:
                    st = os.stat(nxt)
                except OSError:
                    raise InstallError(f"{self.rel(nxt)} is a link to {real}, which does not exist; "
                                       f"{self.verb} changed nothing") from None
            if not stat.S_ISDIR(st.st_mode):
                raise InstallError(f"{self.rel(nxt)} is {_what(st.st_mode)}, not a folder; {self.verb} needs a "
                                   "folder there and changed nothing")
            current = nxt
        return current

    def _writable_folder(self, folder: Path) -> None:
        if not os.access(folder, os.W_OK | os.X_OK):
            where = "REAPER's resource path" if folder == self.root else self.rel(folder)
            raise InstallError(f"{where} cannot be written to (read-only or locked); {self.verb} changed nothing")

    def check_file(self, path: Path, *, reaper_file: bool = False) -> bool:
        """Check that ``path`` may be written (or removed); whether it exists.

        Parameters
        ----------
        reaper_file : bool
            One of REAPER's own files: a link is refused even when it points inside.

        Raises
        ------
        InstallError
            Naming the file and what is wrong with it; nothing has been changed.
        """
        folder = self._folders(path)
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            self._writable_folder(folder)
            return False
        if stat.S_ISLNK(st.st_mode):
            real = Path(os.path.realpath(path))
            if reaper_file or not _inside(real, self.real):
                raise self._link_error(path, real, reaper_file)
            try:
                st = os.stat(path)
            except FileNotFoundError:
                raise InstallError(f"{self.rel(path)} is a link to {real}, which does not exist; {self.verb} "
                                   "changed nothing") from None
        if not stat.S_ISREG(st.st_mode):
            raise InstallError(f"{self.rel(path)} is {_what(st.st_mode)}; {self.verb} only writes regular files "
                               "and changed nothing")
        if not os.access(path, os.W_OK):
            raise InstallError(f"{self.rel(path)} is read-only or locked; {self.verb} changed nothing (make it "
                               "writable: chmod u+w, or chattr -i)")
        self._writable_folder(Path(os.path.realpath(path)).parent)
        return True

    def check_folder(self, path: Path) -> None:
        """Check that ``path`` can be a folder (made when missing) inside the resource path."""
        self.check_file(path / ".reabridge-probe")

    def check_remove(self, path: Path) -> None:
        """Check that removing ``path`` (a file or a link, never what a link points to) stays inside."""
        self._folders(path)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def replace(path: Path, data: bytes, mode: int | None = None) -> None:
    """Put ``data`` at ``path`` by renaming a temporary file over it: never through a link.

    The file keeps its permissions (a new one gets 0666 less the umask, or ``mode``).
    """
    try:
        old = os.lstat(path)
        keep = stat.S_IMODE(old.st_mode) if stat.S_ISREG(old.st_mode) else None
    except FileNotFoundError:
        keep = None
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode if mode is not None else keep if keep is not None else 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
