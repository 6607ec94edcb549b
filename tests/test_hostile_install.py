"""Hostile and broken resource paths: install never writes outside, never through a link to REAPER's files,
never leaves half an install, and keeps every file in its own encoding.

Every refusal is one line naming the file, and leaves every byte (and every link) where it was.
"""

from __future__ import annotations

import codecs
import contextlib
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from daemon_helpers import env

from bridge.reaper import filechanges
from bridge.reaper.actions import ACTIONS
from bridge.reaper.install import STARTUP_BEGIN, InstallError, install, uninstall

USER_KB = 'SCR 4 0 RSmine "Custom: mine.lua" "Mine/mine.lua"\r\nKEY 29 84 40001 0\r\n'
USER_INI = "[audioconfig]\r\nallow_sr_override=1\r\n\r\n[reaper]\r\nautosaveint=5\r\n"
VICTIM = b"root:x:0:0:root:/root:/bin/bash\n"


def snapshot(root: Path) -> dict[str, object]:
    """Everything under ``root`` as it is: files by bytes, links by target, folders; nothing followed."""
    found: dict[str, object] = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(folder) / name
            rel = path.relative_to(root).as_posix()
            st = os.lstat(path)
            if stat.S_ISLNK(st.st_mode):
                found[rel] = ("link", os.readlink(path))
            elif stat.S_ISREG(st.st_mode):
                found[rel] = path.read_bytes()
            else:
                found[rel] = ("folder" if stat.S_ISDIR(st.st_mode) else "other", stat.S_IMODE(st.st_mode))
    return found


@pytest.fixture
def world(tmp_path):
    """A resource path REAPER has used, and a file outside it that nothing may touch."""
    resource = tmp_path / "REAPER"
    (resource / "Scripts").mkdir(parents=True)
    (resource / "reaper.ini").write_bytes(USER_INI.encode())
    (resource / "reaper-kb.ini").write_bytes(USER_KB.encode())
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "passwd").write_bytes(VICTIM)
    return resource, outside


def refused(resource: Path, outside: Path, words: str, **options: bool) -> str:
    """Install must refuse with ``words`` in its one line and change nothing, inside or outside."""
    before, before_out = snapshot(resource), snapshot(outside)
    with pytest.raises(InstallError) as info:
        install(resource, **options)
    message = str(info.value)
    assert words in message and "\n" not in message, message
    assert snapshot(resource) == before and snapshot(outside) == before_out
    return message


# -- links ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["reaper-kb.ini", "reaper.ini", "Scripts/__startup.lua"])
def test_a_link_to_a_file_outside_is_never_written_through(world, name):
    resource, outside = world
    (resource / name).unlink(missing_ok=True)
    (resource / name).symlink_to(outside / "passwd")
    message = refused(resource, outside, f"{name} is a link to {outside / 'passwd'}; install will not write "
                                         "through it", python=True)
    assert message.startswith(f"{name} is a link to")
    assert (outside / "passwd").read_bytes() == VICTIM


def test_the_command_says_it_in_one_line_and_exits_1(world):
    resource, outside = world
    (resource / "reaper-kb.ini").unlink()
    (resource / "reaper-kb.ini").symlink_to(outside / "passwd")
    out = subprocess.run([sys.executable, "-m", "bridge", "install", "--resource-path", str(resource)],
                         capture_output=True, text=True, env=env(), timeout=300)
    assert out.returncode == 1 and out.stdout == ""
    assert out.stderr.startswith(f"error: reaper-kb.ini is a link to {outside / 'passwd'}; install will not write "
                                 "through it") and out.stderr.count("\n") == 1
    assert (outside / "passwd").read_bytes() == VICTIM and not (resource / "reabridge").exists()


def test_reapers_own_files_are_not_written_through_a_link_even_inside(world):
    resource, outside = world
    real = resource / "kb-real.ini"
    (resource / "reaper-kb.ini").rename(real)
    (resource / "reaper-kb.ini").symlink_to(real)
    refused(resource, outside, "reaper-kb.ini is a link to", shortcuts=True)
    assert real.read_bytes() == USER_KB.encode()


@pytest.mark.parametrize("folder", ["Scripts", "Effects", "Scripts/reabridge", "reabridge"])
def test_a_folder_that_leads_outside_is_refused(world, folder):
    resource, outside = world
    target = outside / folder.replace("/", "_")
    target.mkdir()
    if (resource / folder).exists():
        (resource / folder).rmdir()
    (resource / folder).symlink_to(target)
    refused(resource, outside, f"{folder} is a link to {target}; install will not write through it")
    assert list(target.iterdir()) == []


def test_a_folder_link_inside_the_resource_path_is_followed_and_uninstalled(world):
    resource, _ = world
    (resource / "MyEffects").mkdir()
    (resource / "Effects").symlink_to(resource / "MyEffects")
    before = snapshot(resource)
    install(resource)
    assert len(list((resource / "MyEffects" / "reabridge").glob("*.jsfx"))) == 5
    uninstall(resource)
    assert snapshot(resource) == before


def test_a_link_that_names_nothing_is_refused(world):
    resource, outside = world
    (resource / "reaper-kb.ini").unlink()
    (resource / "reaper-kb.ini").symlink_to(outside / "nothing-here.ini")
    refused(resource, outside, "reaper-kb.ini is a link to")
    assert not (outside / "nothing-here.ini").exists()


# -- what is there is not a plain, writable file ----------------------------------------------------------
def test_things_that_are_not_files_or_folders_where_expected(world):
    resource, outside = world
    (resource / "reaper-kb.ini").unlink()
    (resource / "reaper-kb.ini").mkdir()
    refused(resource, outside, "reaper-kb.ini is a folder; install only writes regular files")
    (resource / "reaper-kb.ini").rmdir()
    (resource / "reaper-kb.ini").write_bytes(USER_KB.encode())
    (resource / "Effects").write_text("not a folder")
    refused(resource, outside, "Effects is a file, not a folder; install needs a folder there")
    (resource / "Effects").unlink()
    (resource / "Effects" / "reabridge").mkdir(parents=True)
    os.mkfifo(resource / "Effects" / "reabridge" / "reabridge_master_streaming.jsfx")
    refused(resource, outside, "reabridge_master_streaming.jsfx is a pipe; install only writes regular files")


@contextlib.contextmanager
def locked(path: Path):
    """Make a file or folder unwritable for this process: chattr +i as root (chmod does not stop root)."""
    if os.geteuid() == 0:
        subprocess.run(["chattr", "+i", str(path)], check=True, capture_output=True)
    else:
        path.chmod(0o555 if path.is_dir() else 0o444)
    try:
        assert not os.access(path, os.W_OK), f"could not lock {path} for the test"
        yield
    finally:
        if os.geteuid() == 0:
            subprocess.run(["chattr", "-i", str(path)], check=True, capture_output=True)
        path.chmod(0o755 if path.is_dir() else 0o644)


@pytest.mark.parametrize(("name", "words"), [
    ("reaper.ini", "reaper.ini is read-only or locked; install changed nothing"),
    ("reaper-kb.ini", "reaper-kb.ini is read-only or locked; install changed nothing"),
    ("Scripts", "Scripts cannot be written to (read-only or locked); install changed nothing"),
])
def test_a_locked_file_or_folder_stops_install_before_the_first_change(world, name, words):
    resource, outside = world
    with locked(resource / name):
        refused(resource, outside, words, python=True)


def test_a_locked_file_stops_uninstall_before_the_first_change(world):
    resource, _ = world
    install(resource, python=True)
    before = snapshot(resource)
    with locked(resource / "reaper.ini"), pytest.raises(InstallError, match=r"reaper\.ini is read-only or locked; "
                                                                           "uninstall changed nothing"):
        uninstall(resource)
    assert snapshot(resource) == before


# -- failures half-way ---------------------------------------------------------------------------------------
def _failing_write(monkeypatch, at: int, exc: BaseException) -> list[Path]:
    """Make the ``at``-th file write of a transaction fail with ``exc``; the paths written, in order."""
    real = filechanges.Transaction.write
    seen: list[Path] = []

    def write(self, change):
        seen.append(change.path)
        if len(seen) == at:
            raise exc
        return real(self, change)

    monkeypatch.setattr(filechanges.Transaction, "write", write)
    return seen


@pytest.mark.parametrize("at", [1, 2, 12, 24])
def test_a_write_that_fails_half_way_puts_everything_back(world, monkeypatch, at):
    resource, _ = world
    (resource / "Scripts" / "__startup.lua").write_text("-- mine\n")
    before = snapshot(resource)
    seen = _failing_write(monkeypatch, at, OSError(28, "No space left on device"))
    with pytest.raises(InstallError) as info:
        install(resource, python=True, shortcuts=True)
    assert str(info.value).startswith("install stopped: No space left on device; everything it had changed was "
                                      "put back")
    assert len(seen) == at
    assert snapshot(resource) == before


def test_a_failed_update_puts_back_the_earlier_install(world, monkeypatch):
    resource, _ = world
    install(resource, python=True)
    script = resource / "Scripts" / "reabridge" / ACTIONS[1].file
    manifest = resource / "reabridge" / "install.json"
    data = json.loads(manifest.read_text())
    script.write_text("-- an older version\n")  # as an earlier reabridge installed it
    data["files"][f"Scripts/reabridge/{ACTIONS[1].file}"] = filechanges_sha(script)
    manifest.write_text(json.dumps(data))
    before = snapshot(resource)
    _failing_write(monkeypatch, 3, OSError(5, "Input/output error"))
    with pytest.raises(InstallError, match="everything it had changed was put back"):
        install(resource, python=True)
    assert snapshot(resource) == before


def filechanges_sha(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_ctrl_c_half_way_puts_everything_back_and_still_stops(world, monkeypatch):
    resource, _ = world
    before = snapshot(resource)
    _failing_write(monkeypatch, 6, KeyboardInterrupt())
    with pytest.raises(KeyboardInterrupt):
        install(resource)
    assert snapshot(resource) == before


CRASH = """
import os, sys
from pathlib import Path
from bridge.reaper import filechanges
from bridge.reaper.install import install
real, count = filechanges.Transaction.write, [0]
def write(self, change):
    count[0] += 1
    if count[0] == int(sys.argv[2]):
        os._exit(9)  # as kill -9 would: no clean-up of any kind
    return real(self, change)
filechanges.Transaction.write = write
install(Path(sys.argv[1]), python=True, shortcuts=True)
"""


@pytest.mark.parametrize("at", [2, 9, 20])
def test_uninstall_after_a_crash_half_way_leaves_what_was_there(world, at):
    resource, _ = world
    (resource / "Scripts" / "__startup.lua").write_bytes(b"-- mine\r\n")
    before = snapshot(resource)
    crash = subprocess.run([sys.executable, "-c", CRASH, str(resource), str(at)], capture_output=True, env=env(),
                           timeout=300)
    assert crash.returncode == 9, crash.stderr
    manifest = json.loads((resource / "reabridge" / "install.json").read_text())
    assert manifest["complete"] is False  # written first: it lists what the crashed install was doing
    assert snapshot(resource) != before
    lines = uninstall(resource)
    assert snapshot(resource) == before, lines


# -- encodings and line endings -----------------------------------------------------------------------------
FORMS = {
    "utf-8": (b"", "utf-8"),
    "utf-8 with BOM": (codecs.BOM_UTF8, "utf-8"),
    "utf-16 LE": (codecs.BOM_UTF16_LE, "utf-16-le"),
    "utf-16 BE": (codecs.BOM_UTF16_BE, "utf-16-be"),
    "utf-32 LE": (codecs.BOM_UTF32_LE, "utf-32-le"),
}


@pytest.mark.parametrize("eol", ["\r\n", "\n", "\r"], ids=["CRLF", "LF", "CR"])
@pytest.mark.parametrize("form", sorted(FORMS))
def test_ini_files_keep_their_encoding_and_line_endings(world, form, eol):
    resource, _ = world
    bom, codec = FORMS[form]
    kb_text = 'SCR 4 0 RSmine "Custom: Ärger – ♪.lua" "Mine/mine.lua"\nKEY 29 84 40001 0\n'.replace("\n", eol)
    ini_text = "[audioconfig]\nname=Ωmega\n\n[reaper]\nautosaveint=5\n".replace("\n", eol)
    kb, ini = resource / "reaper-kb.ini", resource / "reaper.ini"
    kb.write_bytes(bom + kb_text.encode(codec))
    ini.write_bytes(bom + ini_text.encode(codec))
    before = snapshot(resource)
    install(resource, python=True)
    for path, original in ((kb, kb_text), (ini, ini_text)):
        data = path.read_bytes()
        assert data.startswith(bom)
        text = data[len(bom):].decode(codec)  # strictly: one encoding all through
        assert text.startswith(original.split(eol)[0] + eol)
        assert eol in text and (eol == "\r\n" or "\r\n" not in text) and (eol != "\r" or "\n" not in text)
    assert f'SCR 4 0 {ACTIONS[0].command_id} "{ACTIONS[0].description}" "reabridge/{ACTIONS[0].file}"{eol}' in \
        kb.read_bytes()[len(bom):].decode(codec)
    assert f"{eol}reascript=1{eol}" in ini.read_bytes()[len(bom):].decode(codec)
    uninstall(resource)
    assert snapshot(resource) == before


def test_mixed_line_endings_and_a_last_line_without_one_stay_as_they_were(world):
    resource, _ = world
    kb = resource / "reaper-kb.ini"
    kb.write_bytes(b'SCR 4 0 RSa "A" "a.lua"\r\nKEY 29 84 40001 0\nSCR 4 0 RSb "B\x0cC" "b.lua"')
    (resource / "Scripts" / "__startup.lua").write_bytes(b"-- no line end")
    before = snapshot(resource)
    install(resource, python=True)
    data = kb.read_bytes()
    assert data.startswith(b'SCR 4 0 RSa "A" "a.lua"\r\nKEY 29 84 40001 0\nSCR 4 0 RSb "B\x0cC" "b.lua"\r\n')
    assert (resource / "Scripts" / "__startup.lua").read_bytes().startswith(b"-- no line end\n" +
                                                                           STARTUP_BEGIN.encode())
    uninstall(resource)
    assert snapshot(resource) == before


@pytest.mark.parametrize(("data", "words"), [
    (b"SCR 4 0 RSa \"caf\xe9\" \"a.lua\"\r\n", "reaper-kb.ini is not UTF-8 text (byte 0xe9 at offset 16)"),
    ('SCR 4 0 RSa "a" "a.lua"\r\n'.encode("utf-16-le"), "reaper-kb.ini holds NUL bytes (UTF-16 without a "
                                                         "byte-order mark?)"),
    (codecs.BOM_UTF16_LE + 'SCR 4 0 RSa "a" "a.lua"\r\n'.encode("utf-16-le") + b"\x41",
     "reaper-kb.ini is not UTF-16-LE text"),
    (codecs.BOM_UTF16_LE + b"\x00\xd8\x41\x00", "reaper-kb.ini is not UTF-16-LE text"),  # a lone surrogate
])
def test_files_that_cannot_be_written_back_the_same_are_refused(world, data, words):
    resource, outside = world
    (resource / "reaper-kb.ini").write_bytes(data)
    message = refused(resource, outside, words)
    assert "save it as UTF-8" in message


def test_doctor_names_a_key_map_install_cannot_edit(world):
    from bridge.reaper.doctor import FAIL, check_registered

    resource, outside = world
    (resource / "reaper-kb.ini").write_bytes(b"caf\xe9\n")
    check = check_registered(resource)
    assert check.status == FAIL and "reaper-kb.ini is not UTF-8 text" in check.detail
    (resource / "reaper-kb.ini").unlink()
    (resource / "reaper-kb.ini").symlink_to(outside / "passwd")
    assert "will not write through it" in check_registered(resource).detail


# -- a manifest someone else wrote -------------------------------------------------------------------------
@pytest.mark.parametrize(("field", "value"), [
    ("made", ["../outside/passwd"]),
    ("backups", ["/etc/hostname"]),
    ("files", {"../../outside/passwd": "0" * 64}),
    ("folders", ["Scripts/../../outside"]),
    ("replaced", {"Scripts/reabridge/x.lua": "../outside/passwd"}),
    ("made", "reabridge/config.json"),
])
def test_a_manifest_naming_paths_outside_is_refused_before_anything_happens(world, field, value):
    resource, outside = world
    install(resource)
    manifest = resource / "reabridge" / "install.json"
    data = json.loads(manifest.read_text())
    data[field] = value
    manifest.write_text(json.dumps(data))
    before, before_out = snapshot(resource), snapshot(outside)
    for run in (uninstall, install):
        with pytest.raises(InstallError, match=r"install\.json"):
            run(resource)
    assert snapshot(resource) == before and snapshot(outside) == before_out


def test_uninstall_never_removes_through_a_folder_moved_outside(world):
    resource, outside = world
    install(resource)
    moved = outside / "scripts"
    (resource / "Scripts").rename(moved)
    (resource / "Scripts").symlink_to(moved)
    before, before_out = snapshot(resource), snapshot(outside)
    with pytest.raises(InstallError, match=r"^Scripts is a link to .*; uninstall will not write through it"):
        uninstall(resource)
    assert snapshot(resource) == before and snapshot(outside) == before_out


def test_a_file_of_the_users_that_install_replaced_comes_back_on_uninstall(world):
    resource, _ = world
    mine = resource / "Effects" / "reabridge" / "reabridge_master_streaming.jsfx"
    mine.parent.mkdir(parents=True)
    mine.write_text("desc: my own effect of the same name\n")
    before = snapshot(resource)
    lines = install(resource)
    assert "kept a copy of the existing Effects/reabridge/reabridge_master_streaming.jsfx" in " ".join(lines)
    assert mine.read_text().startswith("desc:") and "my own" not in mine.read_text()
    lines = uninstall(resource)
    assert "put back the Effects/reabridge/reabridge_master_streaming.jsfx that was there before reabridge" in lines
    assert snapshot(resource) == before
