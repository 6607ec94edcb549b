"""``reabridge doctor``: is everything in place for the REAPER actions? One line per check, with the fix.

A check that fails (``FAIL``) stops the actions from working; a warning (``warn``)
costs something (live results without the Python server, say) but the actions
still work. The exit code is 0 when nothing failed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bridge.reaper import ini
from bridge.reaper.actions import ACTIONS, SERVER_ACTION, script_source, shipped_files
from bridge.reaper.install import CONFIG, KB_INI, MANIFEST, REAPER_INI, SECTION, STARTUP, STARTUP_BEGIN, TOKEN
from bridge.reaper.paths import is_resource_path, reabridge_folder, scripts_folder

OK, WARN, FAIL = "ok", "warn", "FAIL"
#: a daemon whose heartbeat is older than this is not running
HEARTBEAT_STALE = 15.0


@dataclass(frozen=True)
class Check:
    """One line of the doctor's report."""

    status: str
    name: str
    detail: str
    fix: str = ""

    def __str__(self) -> str:
        line = f"{self.status:<4}  {self.name}: {self.detail}"
        return f"{line}\n      fix: {self.fix}" if self.fix and self.status != OK else line


def _read(path: Path) -> str:
    """A text file in its own encoding (what install reads and writes); empty when it cannot be read."""
    try:
        return ini.decode(path.read_bytes(), path.name).text
    except (OSError, ini.IniEncodingError):
        return ""


def _unusable(path: Path) -> str | None:
    """Why install could not edit one of REAPER's files (a link, not text it can write back), or None."""
    if path.is_symlink():
        return f"{path.name} is a link to {os.path.realpath(path)}; reabridge install will not write through it"
    try:
        ini.decode(path.read_bytes(), path.name)
    except FileNotFoundError:
        return None
    except OSError as exc:
        return f"{path.name} cannot be read ({exc.strerror})"
    except ini.IniEncodingError as exc:
        return str(exc)
    return None


def check_resource(resource: Path, how: str) -> Check:
    if not resource.is_dir():
        return Check(FAIL, "resource path", f"{resource} ({how}) does not exist",
                     "start REAPER once, or pass --resource-path DIR (REAPER: Options > Show REAPER resource path; "
                     "a portable install: the folder holding reaper.ini)")
    if not is_resource_path(resource):
        return Check(WARN, "resource path", f"{resource} ({how}) has no reaper.ini; REAPER has not run with it",
                     "start REAPER once, or pass --resource-path with the folder REAPER shows under Options > "
                     "Show REAPER resource path")
    return Check(OK, "resource path", f"{resource} ({how})")


def check_scripts(resource: Path) -> Check:
    folder = scripts_folder(resource)
    missing = [n for n in shipped_files() if not (folder / n).is_file()]
    if len(missing) == len(shipped_files()):
        return Check(FAIL, "scripts", f"not installed in {folder}", "reabridge install")
    if missing:
        return Check(FAIL, "scripts", f"{len(missing)} missing in {folder} ({missing[0]}...)", "reabridge install")
    stale = [n for n in shipped_files() if (folder / n).read_bytes() != script_source(n)]
    if stale:
        return Check(WARN, "scripts", f"{len(stale)} differ from this reabridge's ({stale[0]})",
                     "reabridge install (updates them)")
    return Check(OK, "scripts", f"{len(shipped_files())} files in {folder}")


def check_registered(resource: Path) -> Check:
    problem = _unusable(resource / KB_INI)
    if problem is not None:
        return Check(FAIL, "actions", problem, "replace it with a plain UTF-8 file (REAPER's own form; the link's "
                     "target or a copy), quit REAPER, then reabridge install")
    text = _read(resource / KB_INI)
    rows = ini.lines(text)
    missing = [a for a in ACTIONS if not any(r.startswith("SCR ") and f" {a.command_id} " in r for r in rows)]
    if missing:
        return Check(FAIL, "actions", f"{len(missing)} of {len(ACTIONS)} not in {resource / KB_INI} "
                     f"('{missing[0].description}')", "quit REAPER, then reabridge install")
    keys = sum(1 for r in rows if r.startswith("KEY ") and any(f"_{a.command_id}" in r.split() for a in ACTIONS))
    return Check(OK, "actions", f"{len(ACTIONS)} registered in {KB_INI}" + (f", {keys} shortcut(s)" if keys else ""))


def _libpython_version(path: Path) -> str | None:
    """Load a libpython in a separate process and ask its version (None: it does not load)."""
    code = ("import ctypes,sys; lib=ctypes.CDLL(sys.argv[1]); f=lib.Py_GetVersion; "
            "f.restype=ctypes.c_char_p; print(f().decode().split()[0])")
    try:
        out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 and out.stdout.strip() else None


def check_python(resource: Path) -> Check:
    text = _read(resource / REAPER_INI)
    fix = "quit REAPER, then reabridge install --python (the actions work without it; results are applied by them)"
    if ini.get(text, SECTION, "reascript") != "1":
        return Check(WARN, "REAPER's Python", "not enabled (reaper.ini: reascript is not 1)", fix)
    folder, name = ini.get(text, SECTION, "pythonlibpath64"), ini.get(text, SECTION, "pythonlibdll64")
    if not folder or not name:
        return Check(WARN, "REAPER's Python", "enabled, but no library set (pythonlibpath64/pythonlibdll64)", fix)
    library = Path(folder) / name
    if not library.is_file():
        return Check(WARN, "REAPER's Python", f"{library} does not exist", fix)
    version = _libpython_version(library)
    if version is None:
        return Check(WARN, "REAPER's Python", f"{library} does not load as a Python library", fix)
    if tuple(int(p) for p in version.split(".")[:2] if p.isdigit()) < (3, 8):
        return Check(WARN, "REAPER's Python", f"{library} is Python {version}; the server needs 3.8 or later", fix)
    startup = _read(resource / STARTUP)
    registered = f" {SERVER_ACTION.command_id} " in _read(resource / KB_INI)
    if STARTUP_BEGIN not in startup or not registered:
        return Check(WARN, "REAPER's Python", f"Python {version} ({library}), but the server does not start with "
                     "REAPER", fix)
    return Check(OK, "REAPER's Python", f"Python {version} ({library}); the server starts with REAPER")


def check_server(resource: Path) -> Check:
    from bridge.session.live import ReaperLink, ReaperUnavailableError, server_info

    if server_info(resource) is None:
        return Check(WARN, "server", "not running (REAPER is closed, or its Python server did not start)",
                     "start REAPER; with reabridge install --python it starts the server (see "
                     f"{reabridge_folder(resource) / 'server.log'})")
    try:
        link = ReaperLink.connect(resource)
    except ReaperUnavailableError as exc:
        return Check(WARN, "server", f"published but does not answer ({exc})",
                     "restart REAPER; see " + str(reabridge_folder(resource) / "server.log"))
    if link is None:
        return Check(WARN, "server", "not running", "start REAPER")
    try:
        hello = link.call("hello")
    except ReaperUnavailableError as exc:
        return Check(WARN, "server", f"refused us ({exc})", f"check {reabridge_folder(resource) / TOKEN}")
    finally:
        link.close()
    return Check(OK, "server", f"answers on 127.0.0.1:{link.port} (REAPER {hello.get('reaper', '?')})")


def check_token(resource: Path) -> Check:
    path = reabridge_folder(resource) / TOKEN
    try:
        text = path.read_text(encoding="ascii").strip()
        mode = path.stat().st_mode & 0o777
    except FileNotFoundError:
        return Check(FAIL, "token", f"{path} does not exist", "reabridge install")
    except (OSError, UnicodeDecodeError) as exc:
        return Check(FAIL, "token", f"{path} cannot be read ({exc})", f"delete {path}, then reabridge install")
    if len(text) < 32:
        return Check(FAIL, "token", f"{path} is too short to be a secret", f"delete {path}, then reabridge install")
    if os.name == "posix" and mode & 0o077:
        return Check(WARN, "token", f"{path} is readable by others (mode {mode:o})", f"chmod 600 '{path}'")
    return Check(OK, "token", f"{path} (owner only)")


def check_daemon(resource: Path) -> Check:
    folder = reabridge_folder(resource)
    try:
        config = json.loads((folder / CONFIG).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return Check(FAIL, "daemon", f"no usable {folder / CONFIG}", "reabridge install")
    command = config.get("daemon_command")
    if not isinstance(command, list) or not command or not all(isinstance(c, str) for c in command):
        return Check(FAIL, "daemon", f"{folder / CONFIG} has no daemon command", "reabridge install")
    exe = shutil.which(command[0]) or (command[0] if Path(command[0]).is_file() else None)
    if exe is None:
        return Check(FAIL, "daemon", f"the actions start it with {command[0]}, which does not exist",
                     "reabridge install (run it with the Python that has reabridge)")
    try:
        beat = json.loads((Path(config.get("spool", folder / "spool")) / "daemon.json").read_text(encoding="utf-8"))
        age = time.time() - float(beat["updated"])
    except (OSError, ValueError, KeyError, TypeError):
        age = None
    if age is not None and age < HEARTBEAT_STALE:
        return Check(OK, "daemon", f"running (pid {beat.get('pid')})")
    probe = subprocess.run([exe, *command[1:3], "--version"], capture_output=True, text=True, timeout=120) \
        if command[1:3] == ["-m", "bridge"] else None
    if probe is not None and probe.returncode != 0:
        last = (probe.stderr.strip().splitlines() or ["no output"])[-1]
        return Check(FAIL, "daemon", f"{' '.join(command[:3])} does not run ({last})",
                     "reabridge install (with the Python that has reabridge installed)")
    return Check(WARN, "daemon", "not running (the actions start it when pressed)", "or start it now: "
                 + " ".join(command))


def check_models() -> Check:
    from bridge.assets import captures_dir, presets_dir

    problems = []
    try:
        from bridge.transcribe.model import model_path

        if not Path(model_path()).is_file():
            problems.append(f"basic-pitch's model {model_path()}")
    except Exception as exc:  # an import that fails is the answer
        problems.append(f"basic-pitch ({type(exc).__name__}: {exc})")
    if not any(captures_dir().glob("*.nam")):
        problems.append(f"amp captures in {captures_dir()}")
    if not any(presets_dir().glob("*.toml")):
        problems.append(f"mastering presets in {presets_dir()}")
    if problems:
        return Check(FAIL, "models", "missing: " + "; ".join(problems),
                     "reinstall reabridge (make install; basic-pitch goes in with --no-deps)")
    return Check(OK, "models", "basic-pitch's model, amp captures and mastering presets are present")


def check_training() -> Check:
    from bridge.amp.capture import TRAIN_EXTRA, missing_training

    missing = missing_training()
    if missing:
        return Check(WARN, "training", f"{', '.join(missing)} not installed: 'amp capture' (creating captures) "
                     "cannot run; rendering through captures and every other job work",
                     f"{TRAIN_EXTRA} (PyTorch and neural-amp-modeler; about 1.1 GB)")
    return Check(OK, "training", "PyTorch and neural-amp-modeler are installed ('amp capture' can train captures)")


def check_ffmpeg() -> Check:
    found = shutil.which("ffmpeg")
    if found is None:
        return Check(WARN, "ffmpeg", "not found (optional: reading AAC/M4A media, and cross-checking loudness "
                     "with an independent meter)",
                     "install ffmpeg (Debian: apt install ffmpeg; macOS: brew install ffmpeg)")
    return Check(OK, "ffmpeg", found)


def doctor(resource: Path, how: str) -> list[Check]:
    """Every check, in the order a user fixes them."""
    first = check_resource(resource, how)
    if first.status == FAIL:
        return [first, check_models(), check_training(), check_ffmpeg()]
    checks: list[Callable[[], Check]] = [
        lambda: check_scripts(resource), lambda: check_registered(resource), lambda: check_python(resource),
        lambda: check_server(resource), lambda: check_token(resource), lambda: check_daemon(resource),
        check_models, check_training, check_ffmpeg,
    ]
    return [first, *(c() for c in checks)]


__all__ = ["MANIFEST", "Check", "doctor"]
