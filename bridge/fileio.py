"""Files we write: one set of rules for every writer.

- never onto an input of the same command (the same resolved path, or the same file by inode);
- never over anything that is not a regular file (a device, a folder, a socket, a pipe);
- the extension fits what is written (:data:`KINDS`);
- an existing file is replaced only when the user asked (``--overwrite`` / ``-y``);
- written to a hidden temporary file beside the target, then renamed over it, so readers see
  the old file or the new one, never half of one;
- a symbolic link is written through: the file it points to is replaced, the link stays;
- new files get the usual permissions (0666 less the umask), replaced files keep theirs;
- when the command fails or is interrupted, its temporary files and every file it already
  placed are removed, and files it replaced are put back (:class:`Outputs` is a transaction).
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterable
from pathlib import Path

from bridge.errors import ReabridgeError

#: kind -> (what it is, in words; the extensions it may have; "" means none)
KINDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "midi": ("a MIDI file", (".mid", ".midi")),
    "nam": ("an amp capture", (".nam",)),
    "jsfx": ("a JSFX effect", (".jsfx", ".jsfx-inc", "")),
    "audio": ("audio", (".wav", ".wave", ".flac", ".aif", ".aiff", ".w64", ".caf")),
    "json": ("JSON", (".json",)),
    "png": ("a PNG picture", (".png",)),
    "project": ("a REAPER project", (".rpp", ".rpp-bak")),
    "transcript": ("a transcript", (".srt", ".vtt", ".txt", ".json")),
    "rttm": ("an RTTM file (speaker turns)", (".rttm",)),
}


class OutputError(ReabridgeError):
    """An output would break one of the rules (overwrite an input, a device, a file not asked for...)."""


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_dev, st.st_ino


def _what(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISFIFO(mode):
        return "a pipe"
    return "not a regular file"


def check_name(path: Path) -> None:
    """Refuse names the file system cannot hold (too long), with a clear message."""
    try:
        limit = os.pathconf(path.parent if path.parent.exists() else "/", "PC_NAME_MAX")
    except (OSError, ValueError):
        limit = 255
    if len(os.fsencode(path.name)) > limit:
        raise OutputError(f"the file name {path.name[:40]}... is {len(os.fsencode(path.name))} bytes long; "
                          f"this file system allows {limit}")


class Outputs:
    """The files one command writes, checked before the work and placed as one transaction.

    Use it as a context manager: leaving the block normally keeps everything
    placed, leaving it with an exception (or a signal turned into one) removes
    what was placed and restores what was replaced.

    Parameters
    ----------
    inputs : iterable of Path
        Every file the command reads: nothing is ever written onto one of them.
    overwrite : bool
        Whether existing files may be replaced (``--overwrite`` / ``-y``).
    """

    def __init__(self, inputs: Iterable[Path] = (), overwrite: bool = False) -> None:
        self.overwrite = overwrite
        self.confine: list[Path] | None = None  # when set, every output must lie below one of these folders
        self._inputs: set[Path] = set()
        self._inodes: set[tuple[int, int]] = set()
        self.add_inputs(inputs)
        self._temps: set[Path] = set()
        self._placed: list[tuple[Path, Path | None]] = []  # (target, backup of what it replaced)
        self._claimed: set[Path] = set()

    def add_inputs(self, paths: Iterable[Path]) -> None:
        """More files this command reads."""
        for p in paths:
            self._inputs.add(Path(os.path.realpath(p)))
            ident = _identity(Path(p))
            if ident is not None:
                self._inodes.add(ident)

    @property
    def placed(self) -> list[Path]:
        """Files placed so far."""
        return [target for target, _ in self._placed]

    # -- checks --------------------------------------------------------------------------
    def target(self, path: Path | str, kind: str, what: str = "the output", replace: bool | None = None) -> Path:
        """Check an output path against the rules; returns the file that will be written (links followed).

        Parameters
        ----------
        kind : str
            A key of :data:`KINDS`.
        what : str
            How the path is named in messages (``"-o"``, ``"--report"``...).
        replace : bool, optional
            Whether an existing file may be replaced (default: ``overwrite``).

        Raises
        ------
        OutputError
            Naming the path and the rule it breaks.
        """
        path = Path(path)
        self._confined(path, what)
        words, extensions = KINDS[kind]
        if path.suffix.lower() not in extensions and not (path.name.lower().endswith(".rpp-bak") and kind ==
                                                           "project"):
            shown = ", ".join(e or "no extension" for e in extensions)
            raise OutputError(f"{what} {path} would hold {words}; give it one of: {shown}")
        real = Path(os.path.realpath(path))
        check_name(real)
        if real in self._inputs or (_identity(real) is not None and _identity(real) in self._inodes):
            raise OutputError(f"{what} {path} is one of this command's inputs; it is never overwritten")
        try:
            mode = os.stat(real).st_mode
        except FileNotFoundError:
            mode = None
        except OSError as exc:
            raise OutputError(f"{what} {path} cannot be checked: {exc.strerror}") from None
        if mode is not None:
            if not stat.S_ISREG(mode):
                raise OutputError(f"{what} {path} is {_what(mode)}; reabridge only writes regular files")
            allowed = self.overwrite if replace is None else replace
            if not allowed and real not in self._claimed:
                raise OutputError(f"{path} already exists; use --overwrite (-y) to replace it")
        folder = real.parent
        if not folder.is_dir():
            raise OutputError(f"the folder {path.parent} for {what} does not exist")
        if not os.access(folder, os.W_OK | os.X_OK):
            raise OutputError(f"the folder {path.parent} cannot be written to")
        if mode is not None and not os.access(real, os.W_OK):
            raise OutputError(f"{path} is read-only or locked; it cannot be replaced")
        self._claimed.add(real)
        return real

    def _confined(self, path: Path, what: str) -> None:
        if self.confine is None:
            return
        real = Path(os.path.realpath(path))
        if not any(real == root or root in real.parents for root in self.confine):
            shown = ", ".join(str(r) for r in self.confine) or "none"
            raise OutputError(f"{what} {path} is outside the folders this request may write to ({shown})")

    def folder(self, path: Path | str, what: str = "--report") -> Path:
        """Check a folder the command will write into (made when missing); returns it."""
        path = Path(path)
        self._confined(path, what)
        real = Path(os.path.realpath(path))
        if real in self._inputs:
            raise OutputError(f"{what} {path} is one of this command's inputs")
        if real.exists() and not real.is_dir():
            raise OutputError(f"{what} {path} is a file, not a folder; give a folder for the report")
        parent = real if real.exists() else next((p for p in real.parents if p.exists()), Path("/"))
        if not os.access(parent, os.W_OK | os.X_OK):
            raise OutputError(f"{what} {path} cannot be written to")
        return real

    def make_folder(self, path: Path | str, what: str = "the folder") -> Path:
        """Check a folder by the rules and make it (with its parents) when missing; returns it."""
        real = self.folder(path, what)
        real.mkdir(parents=True, exist_ok=True)
        return real

    # -- writing ---------------------------------------------------------------------------
    def temp_for(self, target: Path, suffix: str | None = None) -> Path:
        """A new hidden temporary file beside ``target`` (removed unless placed)."""
        fd, name = tempfile.mkstemp(prefix=f".{target.stem[:80]}.", suffix=suffix or f".tmp{target.suffix}",
                                    dir=target.parent)
        os.close(fd)
        tmp = Path(name)
        self._temps.add(tmp)
        return tmp

    def place(self, tmp: Path, target: Path) -> None:
        """Move a finished temporary file into place (what it replaces is kept until :meth:`commit`)."""
        backup = None
        if target.exists():
            os.chmod(tmp, target.stat().st_mode & 0o7777)
            backup = target.with_name(f".{target.name[:200]}.reabridge-old")
            with contextlib.suppress(FileNotFoundError):
                backup.unlink()  # left by a command that was killed
            os.link(target, backup)
        else:
            os.chmod(tmp, 0o666 & ~_umask())
        try:
            os.replace(tmp, target)
        except BaseException:
            if backup is not None:
                with contextlib.suppress(OSError):
                    backup.unlink()  # the target was not replaced: its old version is still in place
            raise
        self._temps.discard(tmp)
        self._placed.append((target, backup))

    def write_bytes(self, path: Path | str, data: bytes, kind: str, what: str = "the output",
                    replace: bool | None = None, durable: bool = True) -> Path:
        """Check, write and place a whole file; returns the file written."""
        target = self.target(path, kind, what, replace)
        tmp = self.temp_for(target)
        with open(tmp, "wb") as fh:
            fh.write(data)
            if durable:
                fh.flush()
                os.fsync(fh.fileno())
        self.place(tmp, target)
        return target

    def discard(self, tmp: Path) -> None:
        """Remove a temporary file that will not be placed."""
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        self._temps.discard(tmp)

    # -- the transaction -------------------------------------------------------------------
    def commit(self) -> None:
        """Keep everything placed; forget the old versions."""
        for _, backup in self._placed:
            if backup is not None:
                with contextlib.suppress(FileNotFoundError):
                    backup.unlink()
        for tmp in list(self._temps):
            self.discard(tmp)
        self._placed.clear()

    def rollback(self) -> None:
        """Remove temporaries and placed files; put back what they replaced."""
        for tmp in list(self._temps):
            self.discard(tmp)
        for target, backup in reversed(self._placed):
            with contextlib.suppress(OSError):
                if backup is not None:
                    os.replace(backup, target)
                else:
                    target.unlink()
        self._placed.clear()

    def __enter__(self) -> Outputs:
        return self

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        if kind is None:
            self.commit()
        else:
            self.rollback()


def write_atomic(path: Path, data: bytes, kind: str | None = None) -> Path:
    """Write one file by the rules, replacing it (readers see the old or the new file, never half).

    For writers outside a command's transaction: the file is replaced if it
    exists (when it is a regular file), placed at once, and the link target
    written when ``path`` is a symbolic link. ``kind`` checks the extension.
    """
    outputs = Outputs(overwrite=True)
    with outputs:
        real = Path(os.path.realpath(path))
        if kind is not None:
            outputs.target(path, kind)
        elif real.exists() and not real.is_file():
            raise OutputError(f"{path} is {_what(real.stat().st_mode)}; reabridge only writes regular files")
        tmp = outputs.temp_for(real)
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        outputs.place(tmp, real)
    return real


def read_regular(path: Path | str, limit: int | None = None, follow: bool = True) -> bytes:
    """The bytes of a regular file, never blocking on a pipe or reading a device.

    Parameters
    ----------
    limit : int, optional
        Read at most this many bytes (more raises).
    follow : bool
        Follow a symbolic link (``False``: a link is refused).

    Raises
    ------
    OSError
        The file cannot be opened (``FileNotFoundError`` when it is missing).
    OutputError
        It is not a regular file, or larger than ``limit``.
    """
    flags = os.O_RDONLY | os.O_NONBLOCK | (0 if follow else os.O_NOFOLLOW)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == 40:  # ELOOP: a symbolic link where none is allowed
            raise OutputError(f"{Path(path).name} is a symbolic link; only regular files are read here") from None
        raise
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise OutputError(f"{Path(path).name} is {_what(mode)}, not a regular file")
        os.set_blocking(fd, True)
        chunks = []
        size = 0
        while True:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            size += len(chunk)
            if limit is not None and size > limit:
                raise OutputError(f"{Path(path).name} is larger than {limit} bytes")
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def is_regular(path: Path | str) -> bool:
    """Whether ``path`` is a regular file (links followed), without ever opening it."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return False
