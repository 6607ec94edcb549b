"""``reabridge install | uninstall | doctor``: what lands in REAPER's resource path, and that it all goes again."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from daemon_helpers import env, song

from bridge.reaper.actions import ACTIONS
from bridge.reaper.install import STARTUP_BEGIN, InstallError, install, uninstall
from bridge.reaper.paths import resource_path
from tests.standin.host import StandIn

USER_INI = b"[audioconfig]\r\nallow_sr_override=1\r\n\r\n[reaper]\r\nautosaveint=5\r\n"
USER_KB = b'SCR 4 0 RSmine "Custom: mine.lua" "Mine/mine.lua"\r\nKEY 29 84 40001 0\r\n'
USER_STARTUP = b"-- my own start-up code\nreaper.ShowConsoleMsg('hi')\n"


def reabridge(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bridge", *args], capture_output=True, text=True, env=env(),
                          timeout=300)


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def resource(tmp_path):
    """A resource path REAPER has used: its ini files, a key map with the user's own lines, a start-up script."""
    root = tmp_path / "REAPER"
    (root / "Scripts").mkdir(parents=True)
    (root / "reaper.ini").write_bytes(USER_INI)
    (root / "reaper-kb.ini").write_bytes(USER_KB)
    (root / "Scripts" / "__startup.lua").write_bytes(USER_STARTUP)
    return root


def test_install_then_uninstall_leaves_exactly_what_was_there(resource):
    before = tree(resource)
    out = reabridge("install", "--resource-path", str(resource), "--shortcuts", "--python")
    assert out.returncode == 0, out.stderr
    assert "Ctrl+Alt+Shift+T is already bound in your key map; left as it is" in out.stdout

    kb = (resource / "reaper-kb.ini").read_bytes()
    assert kb.startswith(USER_KB) and b"\r\n" in kb[len(USER_KB):]  # the user's lines first, CRLF kept
    for a in ACTIONS:
        assert f'SCR 4 0 {a.command_id} "{a.description}" "reabridge/{a.file}"\r\n'.encode() in kb
        assert (resource / "Scripts" / "reabridge" / a.file).is_file()
    assert kb.count(b"KEY 29 84 ") == 1  # Ctrl+Alt+Shift+T stays the user's
    assert b"KEY 29 77 _" + ACTIONS[3].command_id.encode() + b" 0\r\n" in kb  # Ctrl+Alt+Shift+M: master

    ini = (resource / "reaper.ini").read_bytes()
    assert ini.startswith(b"[audioconfig]\r\nallow_sr_override=1\r\n\r\n[reaper]\r\nautosaveint=5\r\n")
    assert b"reascript=1\r\n" in ini and b"pythonlibdll64=libpython3" in ini
    startup = (resource / "Scripts" / "__startup.lua").read_bytes()
    assert startup.startswith(USER_STARTUP) and STARTUP_BEGIN.encode() in startup
    backups = list((resource / "reabridge" / "backups").rglob("*"))
    assert {p.name: p.read_bytes() for p in backups if p.is_file()} == {
        "reaper.ini": USER_INI, "reaper-kb.ini": USER_KB, "__startup.lua": USER_STARTUP}

    config = json.loads((resource / "reabridge" / "config.json").read_text())
    assert config["daemon_command"][:4] == [sys.executable, "-m", "bridge", "serve"]
    assert {p["name"] for p in config["presets"]} >= {"streaming", "club"}
    token = resource / "reabridge" / "server.token"
    assert len(token.read_text().strip()) == 64 and token.stat().st_mode & 0o777 == 0o600

    installed = tree(resource)
    again = reabridge("install", "--resource-path", str(resource), "--shortcuts", "--python")
    assert again.returncode == 0 and "reabridge is installed and up to date; nothing to do" in again.stdout
    assert tree(resource) == installed  # idempotent

    out = reabridge("uninstall", "--resource-path", str(resource))
    assert out.returncode == 0, out.stderr
    assert tree(resource) == before
    assert sorted(p.relative_to(resource).as_posix() for p in resource.rglob("*")) == [
        "Scripts", "Scripts/__startup.lua", "reaper-kb.ini", "reaper.ini"]


def test_command_ids_are_stable():
    """Shortcuts and toolbar buttons people make point at these ids: they must not change between versions."""
    assert ACTIONS[0].command_id == "RS86deac88eb6c4fe9eb7bfc33f5dca497b2630126"
    assert len({a.command_id for a in ACTIONS}) == len(ACTIONS)
    assert all(len(a.command_id) == 42 for a in ACTIONS)


def test_uninstall_keeps_what_the_user_changed_and_values_they_set(resource):
    install(resource, python=True)
    script = resource / "Scripts" / "reabridge" / ACTIONS[0].file
    script.write_text("-- my edits\n")
    ini = resource / "reaper.ini"
    ini.write_bytes(ini.read_bytes().replace(b"reascript=1", b"reascript=0"))  # the user turned Python off since
    lines = uninstall(resource)
    assert f"kept Scripts/reabridge/{ACTIONS[0].file}: it was changed after reabridge installed it" in lines
    assert script.read_text() == "-- my edits\n"
    assert b"reascript=0" in ini.read_bytes() and b"pythonlib" not in ini.read_bytes()


def test_refuses_while_reaper_runs_and_without_a_resource_path(resource, tmp_path):
    project, _ = song(tmp_path / "song")
    stand_in = StandIn(project, resource, 0.005).start()
    try:
        before = tree(resource)
        with pytest.raises(InstallError, match=r"^quit REAPER first \(REAPER's reabridge server runs \(pid \d+\)\)"):
            install(resource)
        assert tree(resource) == before
    finally:
        stand_in.stop(save=False)
    out = reabridge("install", "--resource-path", str(tmp_path / "nowhere"))
    assert out.returncode == 1 and out.stdout == ""
    assert out.stderr.strip() == (f"error: REAPER's resource path {tmp_path / 'nowhere'} does not exist: start REAPER "
                                  "once, or pass --resource-path (REAPER shows it under Options > Show REAPER "
                                  "resource path)")
    out = reabridge("uninstall", "--resource-path", str(resource))
    assert out.returncode == 1 and "reabridge is not installed in" in out.stderr


def test_portable_install_folder_is_followed(tmp_path):
    portable = tmp_path / "REAPER-portable"
    (portable / "REAPER").mkdir(parents=True)
    (portable / "REAPER" / "reaper.ini").write_text("[reaper]\n")
    assert resource_path(portable) == (portable / "REAPER", "given (--resource-path), its REAPER folder")
    assert resource_path(portable / "REAPER")[0] == portable / "REAPER"


# -- doctor -------------------------------------------------------------------------------------------
def _lines(out: subprocess.CompletedProcess) -> dict[str, str]:
    found = {}
    for line in out.stdout.splitlines():
        if line[:4] in ("ok  ", "warn", "FAIL"):
            found[line[6:].split(":")[0]] = line[:4].strip()
    return found


def test_doctor_before_and_after_install(resource, tmp_path):
    out = reabridge("doctor", "--resource-path", str(resource))
    assert out.returncode == 1
    status = _lines(out)
    assert status["resource path"] == "ok" and status["scripts"] == "FAIL" and status["actions"] == "FAIL"
    assert status["token"] == "FAIL" and status["models"] == "ok"
    assert "      fix: reabridge install" in out.stdout
    assert out.stdout.rstrip().endswith("problem(s) to fix")

    install(resource, python=True)
    out = reabridge("doctor", "--resource-path", str(resource))
    assert out.returncode == 0, out.stdout
    status = _lines(out)
    assert status == {"resource path": "ok", "scripts": "ok", "actions": "ok", "REAPER's Python": "ok",
                      "server": "warn", "token": "ok", "daemon": "warn", "models": "ok", "training": "ok",
                      "ffmpeg": "ok"}

    project, _ = song(tmp_path / "song")
    stand_in = StandIn(project, resource, 0.005).start()
    try:
        out = reabridge("doctor", "--resource-path", str(resource))
    finally:
        stand_in.stop(save=False)
    assert _lines(out)["server"] == "ok" and "answers on 127.0.0.1:" in out.stdout

    ini = resource / "reaper.ini"
    ini.write_bytes(ini.read_bytes().replace(b"pythonlibdll64=libpython3", b"pythonlibdll64=libnothing"))
    (resource / "reabridge" / "server.token").chmod(0o644)
    out = reabridge("doctor", "--resource-path", str(resource))
    status = _lines(out)
    assert status["REAPER's Python"] == "warn" and "does not exist" in out.stdout
    assert status["token"] == "warn" and "chmod 600" in out.stdout
    assert out.returncode == 0  # warnings: the actions still work


def test_doctor_names_a_missing_resource_path(tmp_path):
    out = reabridge("doctor", "--resource-path", str(tmp_path / "nowhere"))
    assert out.returncode == 1
    assert out.stdout.splitlines()[0] == f"FAIL  resource path: {tmp_path / 'nowhere'} (given (--resource-path)) " \
                                         "does not exist"


def test_doctor_finds_a_daemon_command_that_cannot_run(resource):
    install(resource)
    config_path = resource / "reabridge" / "config.json"
    config = json.loads(config_path.read_text())
    config["daemon_command"][0] = "/nonexistent/python3"
    config_path.write_text(json.dumps(config))
    out = reabridge("doctor", "--resource-path", str(resource))
    assert out.returncode == 1
    assert "FAIL  daemon: the actions start it with /nonexistent/python3, which does not exist" in out.stdout
    assert os.access(sys.executable, os.X_OK)
