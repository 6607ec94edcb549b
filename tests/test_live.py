"""The live path on the REAPER stand-in: reapy's real client, reabridge's server script, the daemon.

See ``tests/standin`` for what the stand-in is and is not.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import REPO
from daemon_helpers import (
    cli,
    drop,
    env,
    insert_request,
    serve_once,
    song,
    start,
    status,
    stop,
    transcribe_request,
    wait_status,
)

from bridge.changes import AddJsEffect, AddMarker, AddMidiItem, AddTrack, ChangeSet, Note, SetTempo, TempoChange
from bridge.session.live import LiveSession, ReaperLink
from tests.standin.host import StandIn

ITEM = "{00000000-0000-4000-8000-0000000000B1}"
FAST = 0.005  # seconds between defer ticks in these tests (REAPER's are ~0.033; the benchmark uses those)


@pytest.fixture
def reaper(tmp_path):
    """A project open in the stand-in with reabridge's server running; yields (stand-in, project, resource path)."""
    project, _ = song(tmp_path / "song", seconds=3.0)
    resource = tmp_path / "REAPER"
    stand_in = StandIn(project, resource, FAST).start()
    yield stand_in, project, resource
    stand_in.stop(save=False)


def _raw(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    head = sock.recv(8, socket.MSG_WAITALL)
    assert sock.recv(int.from_bytes(head, "little"), socket.MSG_WAITALL).startswith(b"('127.0.0.1'")  # greeting
    return sock


def _send(sock: socket.socket, data: object) -> None:
    payload = json.dumps(data).encode()
    sock.sendall(len(payload).to_bytes(8, "little") + payload)


def _frame(sock: socket.socket) -> object:
    head = sock.recv(8, socket.MSG_WAITALL)
    if len(head) < 8:
        return None
    return json.loads(sock.recv(int.from_bytes(head, "little"), socket.MSG_WAITALL))


def _closed(sock: socket.socket) -> bool:
    sock.settimeout(5)
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True


def test_the_stock_reapy_client_talks_to_the_server(reaper):
    stand_in, project, resource = reaper
    link = ReaperLink.connect(resource)  # reapy's Client, plus the token frame
    assert link.reascript("CountTracks", 0) == 1
    assert link.reascript("GetAppVersion").endswith("stand-in")
    hello = link.call("hello")
    assert hello["server"] == "reabridge" and hello["projects"] == [{"path": str(project), "id": None}]
    # what reapy's web-interface look-up reads
    from reapy.tools.network.web_interface import WebInterface

    assert WebInterface(stand_in.web.server_address[1], "127.0.0.1").get_reapy_server_port() == stand_in.port
    info = json.loads((resource / "reabridge" / "server.json").read_text())
    assert info["port"] == stand_in.port and info["token_file"] == str(stand_in.token_file)
    assert stat_mode(stand_in.token_file) == 0o600


def stat_mode(path: Path) -> int:
    return os.stat(path).st_mode & 0o777


@pytest.mark.parametrize(("first", "then", "why"), [
    (None, {"function": {"__callable__": True, "module_name": "reapy.reascript_api", "name": "CountTracks"},
            "input": {"args": [0], "kwargs": {}}}, "no token or a wrong token"),
    ({"token": "0" * 64}, None, "no token or a wrong token"),
    ("TOKEN", {"function": {"__callable__": True, "module_name": "builtins", "name": "eval"},
               "input": {"args": ["__import__('os').system('touch /tmp/pwned')"], "kwargs": {}}},
     "not allowed: builtins.eval"),
    ("TOKEN", {"function": {"__callable__": True, "module_name": "os", "name": "system"},
               "input": {"args": ["true"], "kwargs": {}}}, "not allowed: os.system"),
    ("TOKEN", {"function": {"__callable__": True, "module_name": "subprocess", "name": "run"},
               "input": {"args": [["true"]], "kwargs": {}}}, "not allowed: subprocess.run"),
    ("TOKEN", {"function": {"__callable__": True, "module_name": "importlib", "name": "import_module"},
               "input": {"args": ["os"], "kwargs": {}}}, "not allowed: importlib.import_module"),
    ("TOKEN", {"function": {"__callable__": True, "module_name": "reapy.reascript_api",
                            "name": "CountTracks.__globals__"}, "input": {"args": [], "kwargs": {}}},
     "not allowed: reapy.reascript_api.CountTracks.__globals__"),
    ("TOKEN", {"function": {"__callable__": True, "module_name": "reapy.reascript_api", "name": "ExecProcess"},
               "input": {"args": ["ls", 0], "kwargs": {}}}, "not allowed: reapy.reascript_api.ExecProcess"),
    ("TOKEN", {"function": {"__callable__": True, "module_name": "reapy.reascript_api", "name": "CountTracks"},
               "input": {"args": [{"__reapy__": True, "class": "Project", "args": [], "kwargs": {}}],
                         "kwargs": {}}}, "objects are not accepted"),
    ("TOKEN", {"function": "eval", "input": {"args": [], "kwargs": {}}}, "not a function reference"),
])
def test_the_server_refuses_and_logs_anything_else(reaper, first, then, why):
    stand_in, _, resource = reaper
    sock = _raw(stand_in.port)
    if first == "TOKEN":
        first = {"token": stand_in.token_file.read_text().strip()}
    if first is not None:
        _send(sock, first)
        if then is not None:
            assert _frame(sock)["type"] == "result"
    if then is not None:
        _send(sock, then)
    answer = _frame(sock)
    assert answer["type"] == "error" and why in answer["traceback"]
    assert _closed(sock)
    assert why in (resource / "reabridge" / "server.log").read_text()
    assert not Path("/tmp/pwned").exists()
    # the server keeps serving others
    assert ReaperLink.connect(resource).reascript("CountTracks", 0) == 1


def test_hold_never_freezes_reaper(reaper):
    _, _, resource = reaper
    holder = ReaperLink.connect(resource)
    holder.client.request("HOLD")  # reapy's inside_reaper(): the stock server would stop serving anyone else
    other = ReaperLink.connect(resource)
    t0 = time.monotonic()
    assert other.reascript("CountTracks", 0) == 1 and time.monotonic() - t0 < 1.0
    holder.client.request("RELEASE")


def _changes(request_id: str = "live-1") -> ChangeSet:
    track = AddTrack("Live", guid="{00000000-0000-4000-8000-00000000C001}")
    notes = tuple(Note(i * 0.1, i * 0.1 + 0.05, 60 + i % 12) for i in range(20))
    return ChangeSet(request_id, (
        track, AddMidiItem(track.guid, 0.5, 2.5, notes=notes, guid="{00000000-0000-4000-8000-00000000C002}"),
        AddJsEffect("master", "reabridge/x.jsfx", {1: -3.0}, guid="{00000000-0000-4000-8000-00000000C003}"),
        AddMarker(1.0, "Verse", guid="{00000000-0000-4000-8000-00000000C004}"),
        SetTempo(100.0, 4, 4, (TempoChange(0.0, 100.0), TempoChange(2.0, 110.0))),
    ), "live test", "2026-11-26T10:00:00Z")


def test_a_changeset_is_one_undo_step_that_ctrl_z_takes_back_whole(reaper):
    stand_in, project, resource = reaper
    before = stand_in.reaper.text()
    link = ReaperLink.connect(resource)
    session = LiveSession(link, {"path": str(project)}, "reabridge: Transcribe to MIDI")
    trips = link.round_trips
    assert session.apply(_changes()).applied
    assert link.round_trips - trips == 2  # read the project, apply: whatever the size
    assert stand_in.reaper.undo_names == ["reabridge: Transcribe to MIDI"]
    assert link.reascript("Undo_CanUndo2", 0) == "reabridge: Transcribe to MIDI"
    after = session.reload()
    assert [t.name for t in after.tracks] == ["Keys", "Live"] and len(after.find_track("Live").items) == 1
    assert [m.name for m in after.markers] == ["Verse"] and after.tempo_map.bpm_at(3.0) == pytest.approx(110)
    assert not session.apply(_changes()).applied  # the same id again: nothing happens
    assert len(stand_in.reaper.undo_names) == 1
    assert link.reascript("Undo_DoUndo2", 0) == 1
    assert stand_in.reaper.text() == before


def test_a_failed_operation_leaves_nothing(reaper):
    stand_in, project, resource = reaper
    before = stand_in.reaper.text()
    session = LiveSession(ReaperLink.connect(resource), {"path": str(project)}, "reabridge: Test")
    bad = ChangeSet("live-bad", (AddTrack("fine"), AddMidiItem("{00000000-0000-4000-8000-00000000DEAD}", 0, 1)))
    with pytest.raises(Exception, match="nothing was changed"):
        session.apply(bad)
    assert stand_in.reaper.text() == before and stand_in.reaper.undo_names == []


def test_the_standin_command(tmp_path):
    project, _ = song(tmp_path / "song")
    resource = tmp_path / "R"
    proc = subprocess.Popen([sys.executable, "-m", "tests.standin", str(project), "--resource-path", str(resource)],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env())
    try:
        ready = json.loads(proc.stdout.readline())
        assert set(ready) >= {"port", "token_file"} and Path(ready["token_file"]).is_file()
        session = LiveSession(ReaperLink.connect(resource), {"path": str(project)}, "reabridge: Test")
        session.apply(ChangeSet("cmd-1", (AddTrack("From the stand-in"),)))
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    assert proc.returncode == 0, proc.stderr.read()
    assert "From the stand-in" in project.read_text()  # saved on SIGTERM
    assert not (resource / "reabridge" / "server.json").exists()


def _listening(pids: set[int]) -> list[str]:
    """Local addresses of the TCP sockets these processes listen on."""
    inodes = set()
    for pid in pids:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    found = []
    for table, width in (("/proc/net/tcp", 8), ("/proc/net/tcp6", 32)):
        for line in Path(table).read_text().splitlines()[1:]:
            cols = line.split()
            if cols[3] == "0A" and cols[9] in inodes:  # LISTEN
                address = cols[1].split(":")[0]
                found.append(socket.inet_ntop(socket.AF_INET, bytes.fromhex(address)[::-1]) if width == 8
                             else address)
    return found


def test_nothing_listens_beyond_loopback(tmp_path):
    project, _ = song(tmp_path / "song")
    resource = tmp_path / "R"
    stand_in = subprocess.Popen([sys.executable, "-m", "tests.standin", str(project), "--resource-path",
                                 str(resource)], cwd=REPO, stdout=subprocess.PIPE, text=True, env=env())
    json.loads(stand_in.stdout.readline())
    spool = tmp_path / "spool"
    daemon = start(spool, "--warm", "none", "--resource-path", str(resource), workers=2)
    try:
        drop(spool, insert_request("probe", project))
        assert wait_status(spool, "probe")["state"] == "done"
        pids = {stand_in.pid, daemon.pid}
        for pid in list(pids):
            pids |= {int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()}
        addresses = _listening(pids)
        assert addresses and all(a == "127.0.0.1" for a in addresses), addresses
    finally:
        stop(daemon)
        stand_in.send_signal(signal.SIGTERM)
        stand_in.wait(30)


def _offline_copy(project: Path, where: Path) -> Path:
    where.mkdir()
    shutil.copytree(project.parent / "Media", where / "Media")
    target = where / project.name
    shutil.copyfile(project, target)
    return target


def test_the_daemon_applies_live_and_gives_the_project_the_offline_path_gives(tmp_path):
    project, _ = song(tmp_path / "live", seconds=3.0)
    offline = _offline_copy(project, tmp_path / "offline")
    resource = tmp_path / "R"
    stand_in = StandIn(project, resource, FAST).start()
    spool = tmp_path / "spool"
    requests = [transcribe_request("same-1", project),
                {"id": "same-2", "job": "amp_render", "project": {"path": str(project)}, "items": {"guids": [ITEM]},
                 "options": {"model": str(REPO / "models" / "captures" / "reabridge_Lead.nam")}},
                insert_request("same-3", project, "Keys"),
                transcribe_request("same-4", project)]  # again: replaces the first one's MIDI item
    try:
        for n, req in enumerate(requests):
            req["created"] = f"2026-11-26T10:00:0{n}Z"
            drop(spool, req)
        out = serve_once(spool, "--warm", "none", "--resource-path", str(resource))
        assert out.returncode == 0, out.stderr
        for req in requests:
            doc = status(spool, req["id"])
            assert doc["state"] == "done", doc
        log = (spool / "daemon.log").read_text()
        assert "applied in REAPER" in log and "connected to REAPER" in log
        assert stand_in.reaper.undo_names == ["reabridge: Transcribe to MIDI", "reabridge: Render through amp capture",
                                              "reabridge: Insert JSFX", "reabridge: Transcribe to MIDI"]
    finally:
        stand_in.stop(save=True)
    for req in requests:  # the same requests, offline, on the copy
        req["project"]["path"] = str(offline)
        path = tmp_path / f"{req['id']}.json"
        path.write_text(json.dumps(req))
        assert cli("requests", "run", str(path)).returncode == 0
    live_text, offline_text = project.read_text(), offline.read_text()
    assert live_text.replace(str(project.parent), "") == offline_text.replace(str(offline.parent), "")


def test_tempo_and_markers_live_match_offline_in_substance(tmp_path):
    """REAPER gives markers GUIDs of its own: the result matches the offline one marker for marker, and again-runs
    still replace them (through the mapping the server records)."""
    project, _ = song(tmp_path / "live", seconds=6.0)
    offline = _offline_copy(project, tmp_path / "offline")
    resource = tmp_path / "R"
    stand_in = StandIn(project, resource, FAST).start()
    spool = tmp_path / "spool"
    try:
        for n in (1, 2):
            drop(spool, {"id": f"tempo-{n}", "job": "tempo", "project": {"path": str(project)},
                         "items": {"guids": [ITEM]}, "options": {"apply": True, "map": True, "markers": "beats"}})
            assert serve_once(spool, "--warm", "none", "--resource-path", str(resource)).returncode == 0
            assert status(spool, f"tempo-{n}")["state"] == "done"
    finally:
        stand_in.stop(save=True)
    for n in (1, 2):
        req = tmp_path / f"t{n}.json"
        req.write_text(json.dumps({"id": f"tempo-{n}", "job": "tempo", "project": {"path": str(offline)},
                                   "items": {"guids": [ITEM]}, "options": {"apply": True, "map": True,
                                                                           "markers": "beats"}}))
        assert cli("requests", "run", str(req)).returncode == 0
    from bridge.project import Project

    live, off = Project.load(project), Project.load(offline)
    assert [(m.name, round(m.position, 6)) for m in live.markers] == [(m.name, round(m.position, 6))
                                                                         for m in off.markers]
    assert len(live.markers) > 3
    assert [(round(p.time, 6), round(p.bpm, 6)) for p in live.tempo_map.points] == \
        [(round(p.time, 6), round(p.bpm, 6)) for p in off.tempo_map.points]


def test_a_project_reaper_does_not_have_open_waits_and_the_rest_goes_on(tmp_path):
    project, _ = song(tmp_path / "open", seconds=2.0)
    closed, _ = song(tmp_path / "closed", seconds=2.0)
    resource = tmp_path / "R"
    stand_in = StandIn(project, resource, FAST).start()
    spool = tmp_path / "spool"
    daemon = start(spool, "--warm", "none", "--resource-path", str(resource))
    try:
        drop(spool, insert_request("for-closed", closed))
        waiting = wait_status(spool, "for-closed", ("queued",))
        deadline = time.monotonic() + 30
        while "waiting for song.RPP to be open in REAPER" not in (waiting.get("message") or ""):
            assert time.monotonic() < deadline, waiting
            time.sleep(0.05)
            waiting = status(spool, "for-closed")
        drop(spool, insert_request("for-open", project))
        assert wait_status(spool, "for-open")["state"] == "done"
        assert status(spool, "for-closed")["state"] == "queued"
        before = closed.read_bytes()
    finally:
        stand_in.stop(save=True)
    try:
        # REAPER is gone (it quit: no server any more): the waiting request goes to its file
        assert wait_status(spool, "for-closed", timeout=60)["state"] == "done"
        assert closed.read_bytes() != before and "reabridge_master_gentle.jsfx" in closed.read_text()
    finally:
        stop(daemon)


def test_reaper_restarting_mid_job_gets_the_result_once(tmp_path):
    project, _ = song(tmp_path / "song", seconds=120.0)  # long enough to be running still when REAPER is back
    resource = tmp_path / "R"
    first = StandIn(project, resource, FAST).start()
    spool = tmp_path / "spool"
    daemon = start(spool, "--warm", "none", "--resource-path", str(resource))
    try:
        drop(spool, transcribe_request("through-restart", project))
        wait_status(spool, "through-restart", ("running",))
        info = (resource / "reabridge" / "server.json").read_text()
        first.stop(save=True)  # REAPER goes away mid-job ...
        (resource / "reabridge" / "server.json").write_text(info)  # ... as a crash would leave it
        time.sleep(1.0)
        second = StandIn(project, resource, FAST).start()  # ... and comes back with the project
        try:
            doc = wait_status(spool, "through-restart", timeout=120)
            assert doc["state"] == "done", doc
            assert second.reaper.undo_names == ["reabridge: Transcribe to MIDI"]
            assert second.reaper.text().count("Keys (MIDI)") == 1
        finally:
            second.stop(save=True)
    finally:
        stop(daemon)
    log = (spool / "daemon.log").read_text()
    assert "lost the connection to REAPER" in log and log.count("applied in REAPER") == 1
