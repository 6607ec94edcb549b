"""Which files a request may read and write.

On the command line the user typed every path, so paths are only made
absolute. A request that arrives through the daemon's spool is *confined*:

- files it writes must lie inside the project's folder, its recording folders,
  REAPER's resource path (for effects it installs), the folder of the file it
  works on (plain-file requests), or a folder the daemon was told to allow
  (``reabridge serve --allow DIR``); ``..`` and symbolic links are resolved
  before the check, so neither can lead outside;
- files it reads and writes must be regular files (or folders where a folder
  is asked for): a device, a pipe or a socket is refused;
- relative paths are taken relative to the project's folder, and refused
  without a project (the daemon's working folder means nothing to the sender);
- ``options.model`` may name a bundled capture (``"reabridge Crunch"``) instead of a
  file: when no file of that name exists, the name becomes the installed package's
  own ``.nam`` before the rules above are applied to it.

Every option naming a file has one of the names in :data:`PATH_OPTIONS`, the
same in every job, so one table says what each one is.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from bridge.fileio import OutputError, check_name
from bridge.requests.models import AnyRequest
from bridge.requests.parse import RequestError

PathRole = Literal["input", "input_dir", "output", "output_dir"]

#: option name -> what the path is
PATH_OPTIONS: dict[str, PathRole] = {
    "audio": "input",
    "mix": "input",
    "di": "input",
    "reamp": "input",
    "model": "input",
    "reference": "input",
    "preset_file": "input",
    "effect": "input",
    "project_file": "input",
    "vocabulary": "input",
    "guide": "input",
    "effects_dirs": "input_dir",
    "output": "output",
    "report": "output_dir",
    "resource_path": "output_dir",
}

#: options whose paths are checked in a confined request but passed on as given (the library keeps the paths
#: it indexes as the user wrote them): folders and files read below them, and the library's SQLite database
READ_AS_GIVEN: dict[str, Literal["tree", "database"]] = {"paths": "tree", "db": "database"}
DATABASE_SUFFIXES = (".sqlite", ".sqlite3", ".db")

#: the option holding the file a plain-file request works on (its folder may be written to)
MAIN_INPUT = ("audio", "mix", "di", "project_file")

_AUDIO = (".wav", ".wave", ".flac", ".mp3", ".ogg", ".oga", ".opus", ".aif", ".aiff", ".aifc", ".w64", ".caf",
          ".bwf", ".rf64")
#: what a confined request's input files may be called (a spool request cannot read just any file)
INPUT_EXTENSIONS: dict[str, tuple[str, ...]] = {
    "audio": _AUDIO, "mix": _AUDIO, "di": _AUDIO, "reamp": _AUDIO, "reference": _AUDIO,
    "model": (".nam",), "preset_file": (".toml",), "effect": (".jsfx", ".jsfx-inc", ""), "project_file": (".rpp",),
    "guide": (".mid", ".midi"),
}


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def _kind(path: Path) -> str | None:
    """``None`` for a regular file or folder, else what it is (``"a device"``...)."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return None
    except OSError as exc:
        return f"unreadable ({exc.strerror})"
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return None
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISFIFO(mode):
        return "a pipe"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


#: where a confined request's project may be, besides ``serve --allow`` folders and REAPER's resource path:
#: the user's home, the temporary folder and the usual mount points of other drives
PROJECT_ROOTS = ("~", "/media", "/mnt", "/run/media", "/Volumes")
PROJECT_HEADER = b"<REAPER_PROJECT"


def project_roots(extra: list[Path]) -> list[Path]:
    """The folders a confined request's project may lie in."""
    import tempfile

    roots = [Path(r).expanduser() for r in PROJECT_ROOTS] + [Path(tempfile.gettempdir()), *extra]
    return [Path(os.path.realpath(r)) for r in roots]


def check_readable(path: Path, roots: list[Path], where: str, *, what: str = "") -> None:
    """Refuse ``path`` (symbolic links resolved) unless it lies inside one of ``roots`` (see :func:`project_roots`)."""
    real = Path(os.path.realpath(path))
    if not any(_inside(real, root) for root in roots):
        raise RequestError(f"{path} is outside the folders the daemon reads {what}from (your home folder, other "
                           "drives' mount points, the temporary folder, REAPER's resource path); allow its folder "
                           "with 'reabridge serve --allow DIR'", where)


def check_project_file(path: Path, roots: list[Path] | None, *, read: bool = True) -> None:
    """Refuse a project that is not a REAPER project file (by extension and header) inside ``roots``.

    Nothing of a refused file is quoted back: its name is all an error message shows.

    Raises
    ------
    RequestError
        On ``project.path``.
    """
    where = "project.path"
    if not path.is_absolute():
        raise RequestError(f"{str(path)!r} must be an absolute path", where)
    if path.suffix.lower() != ".rpp":
        raise RequestError(f"{path.name} is not a REAPER project (.RPP)", where)
    if roots is not None:
        check_readable(path, roots, where, what="projects ")
    kind = _kind(path)
    if kind is not None:
        raise RequestError(f"{path} is {kind}, not a project file", where)
    if not read:
        return
    try:
        with open(path, "rb") as fh:
            head = fh.read(256)
    except FileNotFoundError:
        raise RequestError(f"cannot read {path}: it does not exist", where) from None
    except OSError as exc:
        raise RequestError(f"cannot read {path} ({exc.strerror})", where) from None
    if not head.removeprefix(b"\xef\xbb\xbf").lstrip().startswith(PROJECT_HEADER):
        raise RequestError(f"{path} is not a REAPER project (it does not start with <REAPER_PROJECT)", where)


@dataclass
class PathPolicy:
    """Rules for the paths of one request.

    Attributes
    ----------
    confined : bool
        Apply the daemon's rules (see the module documentation).
    allowed : list of Path
        Extra folders outputs may go to (``serve --allow``).
    resource_path : Path or None
        REAPER's resource path (effects are installed below it).
    """

    confined: bool = False
    allowed: list[Path] = field(default_factory=list)
    resource_path: Path | None = None

    def check_project(self, value: str, *, read: bool = True) -> Path:
        """A confined request's project path, checked (see :func:`check_project_file`); others pass as they are."""
        path = Path(value)
        if self.confined:
            extra = [*self.allowed, *([self.resource_path] if self.resource_path is not None else [])]
            check_project_file(path, project_roots(extra), read=read)
        return path

    def _absolute(self, option: str, value: str, base: Path | None) -> Path:
        path = Path(value)
        if path.is_absolute():
            return path
        if self.confined:
            if base is None:
                raise RequestError(f"{value!r} must be an absolute path", f"options.{option}")
            return base / path
        return Path.cwd() / path

    def _capture(self, value: str, base: Path | None) -> Path:
        """``options.model``: a ``.nam`` file, or a bundled capture by name (the installed package's own file).

        A name is not a path, so it is resolved here, before the path rules: what comes out
        is a file like any other, and the daemon's rules apply to it unchanged.
        """
        from bridge.amp.bundled import missing_capture, resolve_capture

        path = resolve_capture(value, base if base is not None or self.confined else Path.cwd())
        if path is None or not os.path.lexists(path):
            raise RequestError(missing_capture(value, path), "options.model")
        return path

    def _roots(self, request: AnyRequest, base: Path | None, main: Path | None) -> list[Path]:
        roots = [p.resolve() for p in self.allowed]
        if base is not None:
            roots.append(base.resolve())
        if self.resource_path is not None:
            roots.append(self.resource_path.resolve())
        if main is not None:
            roots.append(main.resolve().parent)
        return roots

    def check(self, request: AnyRequest, record_paths: list[Path] | None = None) -> tuple[AnyRequest, list[Path]]:
        """The request with every path made absolute, after checking it against the rules.

        Returns the request and the folders its outputs may go to (for the output
        rules of :class:`bridge.fileio.Outputs`, which see the files jobs compute).

        Parameters
        ----------
        record_paths : list of Path, optional
            The project's recording folders (outputs may go there too).

        Raises
        ------
        RequestError
            Naming the option and why the path is refused.
        """
        base = Path(request.project.path).parent if request.project is not None else None
        options = request.options  # type: ignore[attr-defined]
        update: dict[str, Any] = {}
        for name in PATH_OPTIONS:
            value = getattr(options, name, None)
            if value is None:
                continue
            if isinstance(value, list):
                update[name] = [str(self._absolute(name, v, base)) for v in value]
            elif name == "model":
                update[name] = str(self._capture(value, base))
            else:
                update[name] = str(self._absolute(name, value, base))
        main = next((Path(update[n]) for n in MAIN_INPUT if n in update), None)
        roots = self._roots(request, base, main) + [p.resolve() for p in record_paths or []]
        for name, value in update.items():
            for one in value if isinstance(value, list) else [value]:
                self._check_one(name, PATH_OPTIONS[name], Path(one), roots)
        self._check_as_given(options)
        if request.project is not None:
            project = self._absolute("project.path", request.project.path, None)
            if self.confined and (kind := _kind(project)) is not None:
                raise RequestError(f"{project} is {kind}, not a project file", "project.path")
        if update:
            request = request.model_copy(update={"options": options.model_copy(update=update)})
        return request, roots

    def _check_as_given(self, options: Any) -> None:
        """A confined request's library paths: absolute, inside the folders projects may lie in, no devices."""
        if not self.confined:
            return
        roots = project_roots([*self.allowed, *([self.resource_path] if self.resource_path is not None else [])])
        for name, role in READ_AS_GIVEN.items():
            value = getattr(options, name, None)
            for one in [] if value is None else value if isinstance(value, list) else [value]:
                where, path = f"options.{name}", Path(one)
                if not path.is_absolute():
                    raise RequestError(f"{one!r} must be an absolute path", where)
                if role == "database" and path.suffix.lower() not in DATABASE_SUFFIXES:
                    raise RequestError(f"{path.name} is not a library database ({', '.join(DATABASE_SUFFIXES)})",
                                       where)
                check_readable(path, roots, where)
                kind = _kind(path)
                if kind is not None:
                    raise RequestError(f"{path} is {kind}; reabridge only reads and writes regular files", where)

    def _check_one(self, name: str, role: PathRole, path: Path, roots: list[Path]) -> None:
        where = f"options.{name}"
        try:
            check_name(path)
        except OutputError as exc:
            raise RequestError(str(exc), where) from None
        kind = _kind(path)
        if kind is not None:
            raise RequestError(f"{path} is {kind}; reabridge only reads and writes regular files", where)
        if not self.confined or role == "input_dir":
            return
        if role == "input":
            allowed = INPUT_EXTENSIONS.get(name)
            if allowed is not None and path.suffix.lower() not in allowed:
                shown = ", ".join(e or "no extension" for e in allowed)
                raise RequestError(f"{path} is not a file this option reads ({shown})", where)
            return
        real = Path(os.path.realpath(path))
        if not any(_inside(real, root) for root in roots):
            shown = ", ".join(str(r) for r in roots) or "none"
            raise RequestError(f"{path} is outside the folders this request may write to ({shown}); "
                               "allow it with 'reabridge serve --allow DIR'", where)
