"""``reabridge install`` / ``uninstall``: the actions, effects, config and token in REAPER's resource path.

Everything install adds is written down in ``<resource path>/reabridge/install.json``
(:mod:`bridge.reaper.manifest`: files with their checksums, the lines added to
``reaper-kb.ini``, the ``reaper.ini`` values it set and what they were before, the
start-up block), so uninstall removes exactly that and nothing else. Every ini file is
backed up before it is first changed (``reabridge/backups/``). Installing again is
harmless: what is already there is left alone, what changed is updated.

Install never leaves half an install and never writes outside the resource path:

1. it plans every file it will write, reading REAPER's files in their own encoding
   (:mod:`bridge.reaper.ini`);
2. it checks every one of them before the first change (:mod:`bridge.reaper.targets`:
   regular files inside the resource path, no links to REAPER's files, writable);
3. it writes ``install.json`` listing all of it (so a crash half-way can still be
   uninstalled), then the files; if one fails, everything is put back
   (:mod:`bridge.reaper.filechanges`).

REAPER rewrites ``reaper-kb.ini`` and ``reaper.ini`` when it quits, so both commands
refuse to run while REAPER does.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import subprocess
import sys
import sysconfig
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bridge import __version__
from bridge.errors import ReabridgeError
from bridge.fileio import write_atomic
from bridge.reaper import ini
from bridge.reaper.actions import ACTIONS, SERVER_ACTION, SHORTCUT_MODS, Action, script_source, shipped_files
from bridge.reaper.filechanges import FileChange, Transaction, missing_folders
from bridge.reaper.manifest import MANIFEST, empty_manifest, encode_manifest, read_manifest
from bridge.reaper.paths import reabridge_folder, scripts_folder
from bridge.reaper.targets import InstallError, Place, replace

CONFIG = "config.json"
TOKEN = "server.token"
KB_INI = "reaper-kb.ini"
REAPER_INI = "reaper.ini"
STARTUP = Path("Scripts") / "__startup.lua"
STARTUP_BEGIN = "-- reabridge: start the REAPER-side server (added by 'reabridge install --python')"
STARTUP_END = "-- reabridge: end"
SECTION = "reaper"  # reaper.ini's main section

__all__ = ["CONFIG", "KB_INI", "MANIFEST", "REAPER_INI", "SECTION", "STARTUP", "STARTUP_BEGIN", "TOKEN",
           "InstallError", "install", "read_manifest", "uninstall"]


@dataclass
class Report:
    """What install/uninstall did, one line each."""

    lines: list[str] = field(default_factory=list)
    changes: int = 0

    def __call__(self, line: str, change: bool = True) -> None:
        self.lines.append(line)
        self.changes += change


# -- REAPER running? ------------------------------------------------------------------------
def reaper_running(resource: Path) -> str | None:
    """Why we think REAPER is running (None when it is not)."""
    from bridge.session.live import server_info

    info = server_info(resource)
    if info is not None:
        return f"REAPER's reabridge server runs (pid {info.get('pid')})"
    if sys.platform.startswith("linux"):
        for proc in Path("/proc").glob("[0-9]*"):
            with contextlib.suppress(OSError):
                if (proc / "comm").read_text().strip() == "reaper":
                    return f"a REAPER process runs (pid {proc.name})"
    elif sys.platform == "darwin":
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run(["pgrep", "-x", "REAPER"], capture_output=True, text=True, timeout=5).stdout
            if out.strip():
                return f"a REAPER process runs (pid {out.split()[0]})"
    elif sys.platform.startswith("win"):
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run(["tasklist", "/FI", "IMAGENAME eq reaper.exe", "/NH"], capture_output=True,
                                 text=True, timeout=10).stdout
            if "reaper.exe" in out.lower():
                return "reaper.exe is running"
    return None


# -- REAPER's Python --------------------------------------------------------------------------
def python_library() -> Path:
    """The shared libpython of the running interpreter (what REAPER loads for Python ReaScripts).

    Raises
    ------
    InstallError
        This Python has no shared library (a static build).
    """
    if sys.platform.startswith("win"):
        name = f"python{sys.version_info.major}{sys.version_info.minor}.dll"
        candidates = [Path(sys.base_prefix) / name, Path(sys.base_prefix) / "DLLs" / name]
    else:
        libdir = Path(sysconfig.get_config_var("LIBDIR") or sys.base_prefix)
        names = [sysconfig.get_config_var(k) for k in ("LDLIBRARY", "INSTSONAME")]
        candidates = [libdir / n for n in names if n and not n.endswith(".a")]
        if sys.platform == "darwin" and sysconfig.get_config_var("PYTHONFRAMEWORK"):
            prefix = Path(sysconfig.get_config_var("PYTHONFRAMEWORKPREFIX") or "")
            framework = sysconfig.get_config_var("PYTHONFRAMEWORK")
            candidates.insert(0, prefix / f"{framework}.framework" / "Versions" /
                              f"{sys.version_info.major}.{sys.version_info.minor}" / framework)
    for path in candidates:
        if path.is_file():
            return path
    raise InstallError(f"this Python ({sys.executable}) has no shared library REAPER could load (it was built "
                       "statically); install a Python with libpython (Debian: apt install libpython3-dev, or "
                       "python.org's installers) and run 'reabridge install --python' with it")




# -- planning and applying ----------------------------------------------------------------------
def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _reason(exc: BaseException) -> str:
    """One line for what stopped install or uninstall."""
    if isinstance(exc, ReabridgeError):
        return str(exc)
    if isinstance(exc, OSError):
        where = f" ({exc.filename})" if exc.filename else ""
        return f"{exc.strerror or exc}{where}"
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted"
    return f"{type(exc).__name__}: {exc}"


def _read_ini(place: Place, path: Path) -> ini.IniText | None:
    """One of REAPER's files, checked (a plain, writable file inside) and decoded; None when missing."""
    if not place.check_file(path, reaper_file=True):
        return None
    try:
        return ini.decode(path.read_bytes(), place.rel(path))
    except ini.IniEncodingError as exc:
        raise InstallError(str(exc)) from None


class _Plan:
    """Everything one install will write, checked and written down before the first change."""

    def __init__(self, resource: Path, report: Report) -> None:
        self.resource = resource
        self.place = Place(resource, "install")
        self.report = report
        self.manifest = read_manifest(resource) or empty_manifest()
        self.manifest_path = reabridge_folder(resource) / MANIFEST
        self.changes: list[FileChange] = []
        self.backed_up: dict[str, str] = {}
        base = stamp = time.strftime("%Y%m%d-%H%M%S")
        n = 2
        while os.path.lexists(reabridge_folder(resource) / "backups" / stamp):
            stamp, n = f"{base}-{n}", n + 1
        self.stamp = stamp

    def rel(self, path: Path) -> str:
        return self.place.rel(path)

    def add(self, change: FileChange, line: str | None = None) -> None:
        """Plan a write (and the folders it makes)."""
        self.place.check_file(change.path, reaper_file=change.reaper_file)
        for folder in missing_folders(self.place, change.path.parent):
            if self.rel(folder) not in self.manifest["folders"]:
                self.manifest["folders"].append(self.rel(folder))
        self.changes.append(change)
        if line:
            self.report(line)

    def backup(self, path: Path, data: bytes) -> str:
        """Plan a copy of a file as it is now into ``reabridge/backups/<stamp>/``; the copy's relative path."""
        rel = self.rel(path)
        if rel not in self.backed_up:
            target = reabridge_folder(self.resource) / "backups" / self.stamp / rel
            self.backed_up[rel] = self.rel(target)
            self.manifest["backups"].append(self.rel(target))
            self.add(FileChange(target, data))
        return self.backed_up[rel]

    def ship(self, path: Path, data: bytes, what: str) -> None:
        """Plan one shipped file (a file there that is not ours is backed up, and put back by uninstall)."""
        rel = self.rel(path)
        known = rel in self.manifest["files"]
        current = path.read_bytes() if self.place.check_file(path) else None
        if current == data:
            self.manifest["files"][rel] = _sha(data)
            return
        if current is not None and self.manifest["files"].get(rel) != _sha(current):
            self.manifest["replaced"][rel] = self.backup(path, current)
            self.report(f"kept a copy of the existing {rel} in reabridge/backups/{self.stamp}")
        self.manifest["files"][rel] = _sha(data)
        self.add(FileChange(path, data), f"{'updated' if known else 'installed'} {what} {rel}")

    def edit(self, path: Path, doc: ini.IniText | None, new: str, line: str) -> None:
        """Plan an edit of one of REAPER's files, in its own encoding (backed up first)."""
        old = doc.text if doc is not None else ""
        if new == old:
            return
        form = doc or ini.IniText("")
        rel = self.rel(path)
        if old and not old.endswith(("\n", "\r")) and rel not in self.manifest["unterminated"]:
            self.manifest["unterminated"].append(rel)  # uninstall takes back the line ending added to its last line
        try:
            data = form.encode(new)
        except UnicodeEncodeError:
            raise InstallError(f"{self.rel(path)} is {form.described}, which cannot hold what install would add "
                               "there; nothing was changed") from None
        if doc is not None:
            self.backup(path, form.encode(old))
        self.add(FileChange(path, data, reaper_file=True), line)

    def ours(self, path: Path, data: bytes, line: str | None, mode: int | None = None) -> None:
        """Plan a file of reabridge's own folder (config, token), listed under ``made``."""
        rel = self.rel(path)
        if rel not in self.manifest["made"]:
            self.manifest["made"].append(rel)
        self.add(FileChange(path, data, mode=mode), line)

    def apply(self) -> None:
        """Write the manifest (the journal), then every change; on any failure put everything back."""
        self.manifest["reabridge"] = __version__
        self.place.check_file(self.manifest_path)
        for folder in missing_folders(self.place, self.manifest_path.parent):
            if self.rel(folder) not in self.manifest["folders"]:
                self.manifest["folders"].append(self.rel(folder))
        done = {**self.manifest, "complete": True}
        current = self.manifest_path.read_bytes() if self.manifest_path.is_file() else None
        if not self.changes and current == encode_manifest(done):
            return
        tx = Transaction(self.place)
        try:
            if self.changes:
                tx.write(FileChange(self.manifest_path, encode_manifest({**self.manifest, "complete": False})))
                for change in self.changes:
                    tx.write(change)
            tx.write(FileChange(self.manifest_path, encode_manifest(done)))
        except BaseException as exc:
            problems = tx.rollback()
            if problems:
                raise InstallError(f"install stopped ({_reason(exc)}) and could not put everything back "
                                   f"({problems[0]}); 'reabridge uninstall' removes what it did (listed in "
                                   "reabridge/install.json)") from exc
            if isinstance(exc, KeyboardInterrupt | SystemExit):
                raise
            raise InstallError(f"install stopped: {_reason(exc)}; everything it had changed was put back") from exc


def _kb_script_line(action: Action) -> str:
    return f'SCR 4 0 {action.command_id} "{action.description}" "reabridge/{action.file}"'


def _vk(letter: str) -> int:
    return ord(letter.upper())


def _startup_block(eol: str) -> str:
    return (f"{STARTUP_BEGIN}{eol}do{eol}"
            f"  local id = reaper.NamedCommandLookup(\"_{SERVER_ACTION.command_id}\"){eol}"
            f"  if id ~= 0 then reaper.Main_OnCommand(id, 0) end{eol}end{eol}{STARTUP_END}{eol}")


def default_daemon_command(resource: Path) -> list[str]:
    """How the actions start the daemon: this Python, serving the resource path's spool."""
    return [sys.executable, "-m", "bridge", "serve", "--spool", str(reabridge_folder(resource) / "spool"),
            "--resource-path", str(resource)]


def _presets() -> list[dict[str, Any]]:
    from bridge.master.presets import bundled_presets, load_preset

    out = []
    for name in bundled_presets():
        p = load_preset(name)
        out.append({"name": name, "lufs": p.lufs, "true_peak": p.true_peak, "description": p.description})
    return out


def _captures() -> list[dict[str, Any]]:
    """The bundled captures, by the names the REAPER action offers (a request may name one instead of a file)."""
    from bridge.amp.bundled import bundled_captures, capture_name

    return [{"name": capture_name(path), "file": str(path)} for path in bundled_captures()]


def _plan_actions(plan: _Plan, shortcuts: bool, python: bool) -> None:
    """The action list (and shortcuts) in ``reaper-kb.ini``."""
    wanted = [_kb_script_line(a) for a in ACTIONS] + ([_kb_script_line(SERVER_ACTION)] if python else [])
    kb = plan.resource / KB_INI
    doc = _read_ini(plan.place, kb)
    text = doc.text if doc is not None else ""
    bound = set()
    for row in ini.lines(text):
        parts = row.split()
        if len(parts) >= 5 and parts[0] == "KEY":
            bound.add((parts[1], parts[2], parts[4]))
    if shortcuts:
        for a in ACTIONS:
            if a.key is None:
                continue
            line = f"KEY {SHORTCUT_MODS} {_vk(a.key)} _{a.command_id} 0"
            if (str(SHORTCUT_MODS), str(_vk(a.key)), "0") in bound and line not in plan.manifest["kb_lines"]:
                plan.report(f"{a.shortcut} is already bound in your key map; left as it is ({a.description} has no "
                            "shortcut)", change=False)
                continue
            wanted.append(line)
    # lines an earlier version of reabridge added for the same command (a renamed action) go
    ids = {line.split()[3] for line in wanted if line.startswith("SCR ")}
    stale = [line for line in plan.manifest["kb_lines"] if line.startswith("SCR ") and line.split()[3] in ids
             and line not in wanted]
    new = [line for line in wanted if line not in plan.manifest["kb_lines"]]
    if plan.manifest.get("kb_created") is None:
        plan.manifest["kb_created"] = doc is None
    plan.edit(kb, doc, ini.add_lines(ini.remove_lines(text, stale)[0], wanted),
              f"registered {len(new) or len(wanted)} action(s)/shortcut(s) in {KB_INI}")
    plan.manifest["kb_lines"] = list(dict.fromkeys([*(k for k in plan.manifest["kb_lines"] if k not in stale),
                                                    *wanted]))


def _plan_python(plan: _Plan, library: Path) -> None:
    """REAPER's Python in ``reaper.ini`` and the server's start-up block in ``Scripts/__startup.lua``."""
    values = {"reascript": "1", "pythonlibpath64": str(library.parent), "pythonlibdll64": library.name}
    path = plan.resource / REAPER_INI
    doc = _read_ini(plan.place, path)
    text = doc.text if doc is not None else ""
    record = plan.manifest["ini"].setdefault(REAPER_INI, {"created": doc is None, "keys": {},
                                                          "section_created": not ini.has_section(text, SECTION)})
    new = text
    for key, value in values.items():
        if key not in record["keys"]:
            record["keys"][key] = {"was": ini.get(text, SECTION, key), "set": value}
        record["keys"][key]["set"] = value
        new = ini.set_value(new, SECTION, key, value)
    plan.edit(path, doc, new, f"set REAPER's Python in {REAPER_INI}: {library}")

    startup = plan.resource / STARTUP
    doc = _read_ini(plan.place, startup)
    text = doc.text if doc is not None else ""
    if plan.manifest["startup"] is None:
        plan.manifest["startup"] = {"created": doc is None}
    if STARTUP_BEGIN not in text:
        eol = ini.newline(text) if text else "\n"
        new = text + ("" if not text or text.endswith(("\n", "\r")) else eol) + _startup_block(eol)
        plan.edit(startup, doc, new, f"REAPER starts reabridge's server with itself ({STARTUP.as_posix()})")


def _plan_config(plan: _Plan) -> None:
    """``reabridge/config.json`` (how the actions start the daemon, presets, captures) and the server's token."""
    folder = reabridge_folder(plan.resource)
    config = {"version": 1, "resource_path": str(plan.resource), "spool": str(folder / "spool"),
              "daemon_command": default_daemon_command(plan.resource), "presets": _presets(),
              "captures": _captures(), "reabridge": __version__}
    path = folder / CONFIG
    data = (json.dumps(config, indent=1, ensure_ascii=False) + "\n").encode()
    current = path.read_bytes() if plan.place.check_file(path) else None
    if current != data:
        plan.ours(path, data, f"wrote reabridge/{CONFIG} (the daemon runs as: "
                              f"{' '.join(config['daemon_command'][:3])} ...)")
    elif plan.rel(path) not in plan.manifest["made"]:
        plan.manifest["made"].append(plan.rel(path))
    token = folder / TOKEN
    if not plan.place.check_file(token):
        plan.ours(token, (secrets.token_hex(32) + "\n").encode(),
                  f"made the server's secret token reabridge/{TOKEN} (readable by you only)", mode=0o600)


def install(resource: Path, *, shortcuts: bool = False, python: bool = False) -> list[str]:
    """Install reabridge's actions, effects, config and token into REAPER's resource path.

    Every file is checked before the first change; if a write fails, everything is put back.

    Parameters
    ----------
    resource : Path
        REAPER's resource path (it must exist).
    shortcuts : bool
        Also bind Ctrl+Alt+Shift shortcuts (a key already bound in the key map is left alone).
    python : bool
        Also set up REAPER's Python (``reaper.ini``) with this interpreter's library and
        start the REAPER-side server with REAPER (``Scripts/__startup.lua``).

    Returns
    -------
    list of str
        What was done, one line each.

    Raises
    ------
    InstallError
        The resource path is missing, REAPER is running, this Python cannot serve REAPER,
        a file install would write is a link, read-only, not text it can write back, or
        leads outside the resource path (nothing was changed); or a write failed (what
        was done is put back).
    """
    if not resource.is_dir():
        raise InstallError(f"REAPER's resource path {resource} does not exist: start REAPER once, or pass "
                           "--resource-path (REAPER shows it under Options > Show REAPER resource path)")
    running = reaper_running(resource)
    if running:
        raise InstallError(f"quit REAPER first ({running}): it rewrites its action list when it quits, which "
                           "would undo the install")
    library = python_library() if python else None  # before anything is written
    report = Report()
    plan = _Plan(resource, report)

    from bridge.jsfx.install import SUBFOLDER, shipped_effects

    for name in shipped_files():
        plan.ship(scripts_folder(resource) / name, script_source(name), "action script")
    for effect in shipped_effects():
        plan.ship(resource / "Effects" / SUBFOLDER / effect.name, effect.read_bytes(), "effect")
    _plan_actions(plan, shortcuts, python)
    if library is not None:
        _plan_python(plan, library)
    _plan_config(plan)
    plan.apply()
    if not report.changes:
        report("reabridge is installed and up to date; nothing to do", change=False)
    return report.lines


# -- uninstall ---------------------------------------------------------------------------------------
@dataclass
class _Undo:
    """What uninstall will do, planned and checked before the first change."""

    place: Place
    report: Report
    writes: list[FileChange] = field(default_factory=list)
    removals: list[Path] = field(default_factory=list)

    def remove(self, path: Path) -> None:
        self.place.check_remove(path)
        self.removals.append(path)

    def edit(self, path: Path, doc: ini.IniText, new: str, unterminated: bool = False) -> None:
        if unterminated and new.endswith(("\n", "\r")):
            new = new[:-2] if new.endswith("\r\n") else new[:-1]
        try:
            self.writes.append(FileChange(path, doc.encode(new), reaper_file=True))
        except UnicodeEncodeError:  # pragma: no cover - uninstall only removes text
            raise InstallError(f"{self.place.rel(path)} cannot be written back as {doc.described}") from None

    def apply(self, run: Callable[[], None]) -> None:
        try:
            for change in self.writes:
                if change.reaper_file:
                    replace(change.path, change.data)
                else:
                    write_atomic(change.path, change.data)
            for path in self.removals:
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
            run()
        except (OSError, ReabridgeError) as exc:
            raise InstallError(f"uninstall stopped: {_reason(exc)}; run it again once that is fixed "
                               "(reabridge/install.json still lists what is left)") from exc


def _undo_files(undo: _Undo, manifest: dict[str, Any]) -> None:
    removed = 0
    for rel, sha in manifest["files"].items():
        path = undo.place.path(rel, MANIFEST)
        undo.place.check_remove(path)
        if not path.is_file():
            continue
        if _sha(path.read_bytes()) != sha:
            undo.report(f"kept {rel}: it was changed after reabridge installed it")
            continue
        backup = manifest["replaced"].get(rel)
        before = undo.place.path(backup, MANIFEST) if backup else None
        if before is not None and before.is_file():
            undo.place.check_file(path)
            undo.writes.append(FileChange(path, before.read_bytes()))
            undo.report(f"put back the {rel} that was there before reabridge")
            continue
        undo.remove(path)
        removed += 1
    undo.report(f"removed {removed} installed file(s)")


def _undo_ini(undo: _Undo, manifest: dict[str, Any]) -> None:
    resource = undo.place.root
    kb = resource / KB_INI
    doc = _read_ini(undo.place, kb) if manifest["kb_lines"] else None
    if doc is not None:
        text, n = ini.remove_lines(doc.text, manifest["kb_lines"])
        if manifest.get("kb_created") and not text.strip():
            undo.remove(kb)
            undo.report(f"removed {KB_INI} (install had made it)")
        elif n:
            undo.edit(kb, doc, text, KB_INI in manifest["unterminated"])
            undo.report(f"removed {n} line(s) from {KB_INI}")
    for name, record in manifest["ini"].items():
        path = undo.place.path(name, MANIFEST)
        doc = _read_ini(undo.place, path)
        if doc is None:
            continue
        new = doc.text
        for key, values in record.get("keys", {}).items():
            if isinstance(values, dict) and ini.get(new, SECTION, key) == values.get("set"):
                new = ini.set_value(new, SECTION, key, values.get("was"))  # a value the user changed since is theirs
        if record.get("section_created"):
            new = ini.drop_empty_section(new, SECTION)
        if record.get("created") and not new.strip():
            undo.remove(path)
            undo.report(f"removed {name} (install had made it)")
        elif new != doc.text:
            undo.edit(path, doc, new, name in manifest["unterminated"])
            undo.report(f"restored REAPER's Python settings in {name}")
    if manifest.get("startup") is not None:
        path = resource / STARTUP
        doc = _read_ini(undo.place, path)
        text = doc.text if doc is not None else ""
        start, end = text.find(STARTUP_BEGIN), text.find(STARTUP_END)
        if doc is not None and start >= 0 and end > start:
            stop = end + len(STARTUP_END)
            while stop < len(text) and text[stop] in "\r\n":
                stop += 1
            text = text[:start] + text[stop:]
            if manifest["startup"].get("created") and not text.strip():
                undo.remove(path)
            else:
                undo.edit(path, doc, text, STARTUP.as_posix() in manifest["unterminated"])
            undo.report(f"removed the start-up block from {STARTUP.as_posix()}")


def uninstall(resource: Path) -> list[str]:
    """Remove exactly what :func:`install` added (a file the user changed since is kept).

    Everything is checked before the first change, as for install.

    Raises
    ------
    InstallError
        REAPER is running, reabridge is not installed there, or a file uninstall would
        change is a link, read-only or not text it can write back.
    """
    manifest = read_manifest(resource, "uninstall")
    if manifest is None:
        raise InstallError(f"reabridge is not installed in {resource} (no reabridge/{MANIFEST}); nothing to remove")
    running = reaper_running(resource)
    if running:
        raise InstallError(f"quit REAPER first ({running}): it rewrites its action list when it quits")
    report = Report()
    place = Place(resource, "uninstall")
    undo = _Undo(place, report)
    _undo_files(undo, manifest)
    _undo_ini(undo, manifest)
    leftovers = [place.path(rel, MANIFEST) for rel in [*manifest["made"], *manifest["backups"],
                                                       f"reabridge/{MANIFEST}"]]
    folders = [place.path(rel, MANIFEST) for rel in sorted(manifest["folders"], key=lambda r: r.count("/"),
                                                          reverse=True)]
    for path in [*leftovers, *folders]:
        place.check_remove(path)

    def tidy() -> None:
        for path in leftovers:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        for folder in folders:
            with contextlib.suppress(OSError):  # a folder with anything else in it stays
                folder.rmdir()
        for rel in {Path(b).parent.as_posix() for b in manifest["backups"]}:  # manifests of earlier versions
            with contextlib.suppress(OSError):
                (resource / rel).rmdir()
                (resource / rel).parent.rmdir()

    undo.apply(tidy)
    left = reabridge_folder(resource)
    if left.is_dir() and any(left.iterdir()):
        report(f"kept {left} (the daemon's spool and REAPER's server files are there)")
    return report.lines
