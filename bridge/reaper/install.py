"""``reabridge install`` / ``uninstall``: the actions, effects, config and token in REAPER's resource path.

Everything install adds is written down in ``<resource path>/reabridge/install.json``
(files with their checksums, the lines added to ``reaper-kb.ini``, the ``reaper.ini``
values it set and what they were before, the start-up block), so uninstall removes
exactly that and nothing else. Every ini file is backed up before it is first
changed (``reabridge/backups/``). Installing again is harmless: what is already
there is left alone, what changed is updated.

REAPER rewrites ``reaper-kb.ini`` and ``reaper.ini`` when it quits, so both commands
refuse to run while REAPER does.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import shutil
import subprocess
import sys
import sysconfig
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bridge import __version__
from bridge.errors import ReabridgeError
from bridge.fileio import write_atomic
from bridge.reaper import ini
from bridge.reaper.actions import ACTIONS, SERVER_ACTION, SHORTCUT_MODS, Action, script_source, shipped_files
from bridge.reaper.paths import reabridge_folder, scripts_folder

MANIFEST = "install.json"
CONFIG = "config.json"
TOKEN = "server.token"
KB_INI = "reaper-kb.ini"
REAPER_INI = "reaper.ini"
STARTUP = Path("Scripts") / "__startup.lua"
STARTUP_BEGIN = "-- reabridge: start the REAPER-side server (added by 'reabridge install --python')"
STARTUP_END = "-- reabridge: end"
SECTION = "reaper"  # reaper.ini's main section


class InstallError(ReabridgeError):
    """Install or uninstall cannot go ahead (nothing was changed)."""


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


# -- the manifest -------------------------------------------------------------------------------
def _text(path: Path) -> str:
    """A file's text exactly as stored (line endings kept; bytes that are not UTF-8 survive a round trip)."""
    return path.read_bytes().decode("utf-8", errors="surrogateescape")


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_manifest(resource: Path) -> dict[str, Any] | None:
    """What an earlier install wrote down (None when reabridge is not installed there)."""
    path = reabridge_folder(resource) / MANIFEST
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise InstallError(f"{path} is damaged ({exc}); move it away to install afresh") from None
    return data if isinstance(data, dict) else None


def _empty_manifest() -> dict[str, Any]:
    return {"version": 1, "reabridge": __version__, "files": {}, "folders": [], "kb_lines": [], "ini": {},
            "startup": None, "made": [], "backups": []}


class _Installer:
    def __init__(self, resource: Path, report: Report) -> None:
        self.resource = resource
        self.report = report
        self.manifest = read_manifest(resource) or _empty_manifest()
        self.stamp = time.strftime("%Y%m%d-%H%M%S")
        self.backed_up: set[str] = set()

    def rel(self, path: Path) -> str:
        return path.relative_to(self.resource).as_posix()

    def folder(self, path: Path) -> None:
        """Make a folder (and its parents), remembering the ones made."""
        missing = []
        p = path
        while not p.exists() and p != self.resource:
            missing.append(p)
            p = p.parent
        for p in reversed(missing):
            p.mkdir()
            if self.rel(p) not in self.manifest["folders"]:
                self.manifest["folders"].append(self.rel(p))

    def backup(self, path: Path) -> None:
        """Copy an ini file aside before its first change in this run."""
        if not path.exists() or self.rel(path) in self.backed_up:
            return
        target = reabridge_folder(self.resource) / "backups" / self.stamp / path.name
        self.folder(target.parent)
        shutil.copy2(path, target)
        self.backed_up.add(self.rel(path))
        self.manifest["backups"].append(self.rel(target))

    def write_file(self, path: Path, data: bytes, what: str) -> None:
        """Copy one shipped file (a file of ours that the user changed is kept as a backup first)."""
        rel = self.rel(path)
        known = rel in self.manifest["files"]
        if path.is_file() and path.read_bytes() == data:
            self.manifest["files"][rel] = _sha(data)
            return
        if path.exists() and self.manifest["files"].get(rel) != _sha(path.read_bytes()):
            self.backup(path)  # not what we installed: someone's own file or an edited copy
            self.report(f"kept a copy of the existing {rel} in reabridge/backups/{self.stamp}")
        self.folder(path.parent)
        write_atomic(path, data)
        self.manifest["files"][rel] = _sha(data)
        self.report(f"{'updated' if known else 'installed'} {what} {rel}")

    def edit_text(self, path: Path, change: Any) -> bool:
        """Apply ``change(text) -> text`` to a text file (backed up first); whether it changed."""
        old = _text(path) if path.exists() else ""
        new = change(old)
        if new == old:
            return False
        self.backup(path)
        self.folder(path.parent)
        write_atomic(path, new.encode("utf-8", errors="surrogateescape"))
        return True

    def save(self) -> None:
        self.manifest["reabridge"] = __version__
        folder = reabridge_folder(self.resource)
        self.folder(folder)
        write_atomic(folder / MANIFEST, (json.dumps(self.manifest, indent=1) + "\n").encode())


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


def install(resource: Path, *, shortcuts: bool = False, python: bool = False) -> list[str]:
    """Install reabridge's actions, effects, config and token into REAPER's resource path.

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
        The resource path is missing, REAPER is running, or this Python cannot serve REAPER.
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
    job = _Installer(resource, report)

    # the actions and the effects
    from bridge.jsfx.install import SUBFOLDER, shipped_effects

    for name in shipped_files():
        job.write_file(scripts_folder(resource) / name, script_source(name), "action script")
    for effect in shipped_effects():
        job.write_file(resource / "Effects" / SUBFOLDER / effect.name, effect.read_bytes(), "effect")

    # the action list (and shortcuts)
    wanted = [_kb_script_line(a) for a in ACTIONS] + ([_kb_script_line(SERVER_ACTION)] if python else [])
    kb = resource / KB_INI
    bound = set()
    for row in ini.lines(_text(kb)) if kb.exists() else []:
        parts = row.split()
        if len(parts) >= 5 and parts[0] == "KEY":
            bound.add((parts[1], parts[2], parts[4]))
    if shortcuts:
        for a in ACTIONS:
            if a.key is None:
                continue
            line = f"KEY {SHORTCUT_MODS} {_vk(a.key)} _{a.command_id} 0"
            if (str(SHORTCUT_MODS), str(_vk(a.key)), "0") in bound and line not in job.manifest["kb_lines"]:
                report(f"{a.shortcut} is already bound in your key map; left as it is ({a.description} has no "
                       "shortcut)", change=False)
                continue
            wanted.append(line)
    # lines an earlier version of reabridge added for the same command (a renamed action) go
    ids = {line.split()[3] for line in wanted if line.startswith("SCR ")}
    stale = [line for line in job.manifest["kb_lines"] if line.startswith("SCR ") and line.split()[3] in ids
             and line not in wanted]
    new = [line for line in wanted if line not in job.manifest["kb_lines"]]
    if job.manifest.get("kb_created") is None:
        job.manifest["kb_created"] = not kb.exists()
    if job.edit_text(kb, lambda text: ini.add_lines(ini.remove_lines(text, stale)[0], wanted)):
        report(f"registered {len(new) or len(wanted)} action(s)/shortcut(s) in {KB_INI}")
    job.manifest["kb_lines"] = list(dict.fromkeys([*(k for k in job.manifest["kb_lines"] if k not in stale),
                                                   *wanted]))

    # REAPER's Python and the start-up action
    if library is not None:
        values = {"reascript": "1", "pythonlibpath64": str(library.parent), "pythonlibdll64": library.name}
        path = resource / REAPER_INI
        text = _text(path) if path.exists() else ""
        record = job.manifest["ini"].setdefault(REAPER_INI, {"created": not path.exists(), "keys": {},
                                                             "section_created": not ini.has_section(text, SECTION)})
        for key, value in values.items():
            if key not in record["keys"]:
                record["keys"][key] = {"was": ini.get(text, SECTION, key), "set": value}
            record["keys"][key]["set"] = value

        def set_all(text: str) -> str:
            for key, value in values.items():
                text = ini.set_value(text, SECTION, key, value)
            return text

        if job.edit_text(path, set_all):
            report(f"set REAPER's Python in {REAPER_INI}: {library}")
        startup = resource / STARTUP
        if job.manifest["startup"] is None:
            job.manifest["startup"] = {"created": not startup.exists()}

        def add_block(text: str) -> str:
            if STARTUP_BEGIN in text:
                return text
            eol = ini.newline(text) if text else "\n"
            return text + ("" if not text or text.endswith(("\n", "\r")) else eol) + _startup_block(eol)

        if job.edit_text(startup, add_block):
            report(f"REAPER starts reabridge's server with itself ({STARTUP.as_posix()})")

    # config and token
    folder = reabridge_folder(resource)
    job.folder(folder)
    config = {"version": 1, "resource_path": str(resource), "spool": str(folder / "spool"),
              "daemon_command": default_daemon_command(resource), "presets": _presets(), "reabridge": __version__}
    config_path = folder / CONFIG
    data = (json.dumps(config, indent=1, ensure_ascii=False) + "\n").encode()
    if not config_path.is_file() or config_path.read_bytes() != data:
        write_atomic(config_path, data)
        report(f"wrote reabridge/{CONFIG} (the daemon runs as: {' '.join(config['daemon_command'][:3])} ...)")
    if "reabridge/" + CONFIG not in job.manifest["made"]:
        job.manifest["made"].append("reabridge/" + CONFIG)
    token = folder / TOKEN
    if not token.exists():
        fd = os.open(token, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32) + "\n")
        job.manifest["made"].append("reabridge/" + TOKEN)
        report(f"made the server's secret token reabridge/{TOKEN} (readable by you only)")
    job.save()
    if not report.changes:
        report("reabridge is installed and up to date; nothing to do", change=False)
    return report.lines


def uninstall(resource: Path) -> list[str]:
    """Remove exactly what :func:`install` added (a file the user changed since is kept).

    Raises
    ------
    InstallError
        REAPER is running, or reabridge is not installed there.
    """
    manifest = read_manifest(resource)
    if manifest is None:
        raise InstallError(f"reabridge is not installed in {resource} (no reabridge/{MANIFEST}); nothing to remove")
    running = reaper_running(resource)
    if running:
        raise InstallError(f"quit REAPER first ({running}): it rewrites its action list when it quits")
    report = Report()
    for rel, sha in manifest["files"].items():
        path = resource / rel
        if not path.is_file():
            continue
        if _sha(path.read_bytes()) != sha:
            report(f"kept {rel}: it was changed after reabridge installed it")
            continue
        path.unlink()
    report(f"removed {len(manifest['files'])} installed file(s)")
    kb = resource / KB_INI
    if kb.exists() and manifest["kb_lines"]:
        text, n = ini.remove_lines(_text(kb), manifest["kb_lines"])
        if manifest.get("kb_created") and not text.strip():
            kb.unlink()
            report(f"removed {KB_INI} (install had made it)")
        elif n:
            write_atomic(kb, text.encode("utf-8", errors="surrogateescape"))
            report(f"removed {n} line(s) from {KB_INI}")
    for name, record in manifest["ini"].items():
        path = resource / name
        if not path.exists():
            continue
        text = _text(path)
        new = text
        for key, values in record["keys"].items():
            if ini.get(new, SECTION, key) == values["set"]:  # a value the user changed since is theirs
                new = ini.set_value(new, SECTION, key, values["was"])
        if record.get("section_created"):
            new = ini.drop_empty_section(new, SECTION)
        if record.get("created") and not new.strip():
            path.unlink()
            report(f"removed {name} (install had made it)")
        elif new != text:
            write_atomic(path, new.encode("utf-8", errors="surrogateescape"))
            report(f"restored REAPER's Python settings in {name}")
    if manifest.get("startup") is not None:
        path = resource / STARTUP
        if path.exists():
            text = _text(path)
            start, end = text.find(STARTUP_BEGIN), text.find(STARTUP_END)
            if start >= 0 and end > start:
                stop = end + len(STARTUP_END)
                while stop < len(text) and text[stop] in "\r\n":
                    stop += 1
                text = text[:start] + text[stop:]
                if manifest["startup"].get("created") and not text.strip():
                    path.unlink()
                else:
                    write_atomic(path, text.encode("utf-8", errors="surrogateescape"))
                report(f"removed the start-up block from {STARTUP.as_posix()}")
    for rel in [*manifest["made"], *manifest["backups"], f"reabridge/{MANIFEST}"]:
        with contextlib.suppress(FileNotFoundError):
            (resource / rel).unlink()
    for rel in sorted(manifest["folders"], key=lambda r: r.count("/"), reverse=True):
        with contextlib.suppress(OSError):  # a folder with anything else in it stays
            (resource / rel).rmdir()
    for rel in {str(Path(b).parent.as_posix()) for b in manifest["backups"]}:
        with contextlib.suppress(OSError):
            (resource / rel).rmdir()
            (resource / rel).parent.rmdir()
    left = reabridge_folder(resource)
    if left.is_dir() and any(left.iterdir()):
        report(f"kept {left} (the daemon's spool and REAPER's server files are there)")
    return report.lines
