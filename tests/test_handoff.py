"""Results handed back to the REAPER action (REAPER without a working Python), seen from the daemon.

The Lua side that applies them is tested in test_actions.py; here: what the daemon
reads (the snapshot, confined to the spool), what it writes (nothing in the project
file; the chunk text in the status file), and its heartbeat and stop file.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from daemon_helpers import drop, insert_request, song, start, stop, wait_status

from bridge.requests import RequestError, parse_request
from tests.standin.host import StandIn


def _handoff(rid: str, project: Path, snapshot: Path | None) -> dict:
    data = insert_request(rid, project)
    data["handoff"] = True
    if snapshot is not None:
        data["project"]["snapshot"] = str(snapshot)
    return data


def _snapshot(spool: Path, rid: str, text: str) -> Path:
    folder = spool / "snapshots"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{rid}.RPP"
    path.write_text(text)
    return path


def test_handoff_reads_the_snapshot_and_leaves_the_file_alone(tmp_path):
    project, _ = song(tmp_path / "song")
    spool = tmp_path / "spool"
    before = project.read_bytes()
    # REAPER holds an unsaved track the file does not have yet: the job must see it
    track = '<TRACK\n    NAME "Unsaved"\n    TRACKID {00000000-0000-4000-8000-0000000000EE}\n  >\n  '
    unsaved = before.decode().replace("<TRACK", track + "<TRACK", 1)
    snapshot = _snapshot(spool, "fx-handoff", unsaved)
    data = _handoff("fx-handoff", project, snapshot)
    data["options"]["track"] = "Unsaved"
    daemon = start(spool, "--resource-path", str(tmp_path / "no-reaper"))
    try:
        drop(spool, data)
        doc = wait_status(spool, "fx-handoff")
    finally:
        stop(daemon)
    assert doc["state"] == "done", doc
    assert project.read_bytes() == before  # the action applies it, not the daemon
    handoff = doc["apply"]
    assert handoff["change_id"] == "fx-handoff" and handoff["undo_name"] == "reabridge: Insert JSFX"
    assert handoff["project"]["path"] == str(project)
    [op] = handoff["ops"]
    assert op["kind"] == "add_js_effect" and op["target"] == "{00000000-0000-4000-8000-0000000000EE}"
    assert "<JS reabridge" in op["text"] or "<JS " in op["text"].splitlines()[1]
    assert doc["result"]["applied"] is None
    assert "applied by the REAPER action that asked for it" in doc["result"]["notices"]
    assert not snapshot.exists()  # gone once the request ended


def test_a_snapshot_outside_the_spool_is_refused(tmp_path):
    project, _ = song(tmp_path / "song")
    spool = tmp_path / "spool"
    elsewhere = tmp_path / "elsewhere.RPP"
    elsewhere.write_text(project.read_text())
    daemon = start(spool, "--resource-path", str(tmp_path / "no-reaper"))
    try:
        drop(spool, _handoff("fx-outside", project, elsewhere))
        doc = wait_status(spool, "fx-outside")
    finally:
        stop(daemon)
    assert doc["state"] == "error"
    assert doc["message"] == f"project.snapshot must be an .RPP file in {spool / 'snapshots'} (got {elsewhere})"
    assert elsewhere.exists()


def test_handoff_when_reaper_runs_without_the_project_open(tmp_path):
    """REAPER's server answers but does not have the project: the action's own REAPER applies it, no wait."""
    project, _ = song(tmp_path / "song")
    resource = tmp_path / "REAPER"
    stand_in = StandIn(project, resource, 0.005).start()
    stand_in.reaper.open = False
    spool = tmp_path / "spool"
    daemon = start(spool, "--resource-path", str(resource))
    try:
        drop(spool, _handoff("fx-closed", project, None))
        doc = wait_status(spool, "fx-closed", timeout=60)
    finally:
        stop(daemon)
        stand_in.stop(save=False)
    assert doc["state"] == "done" and doc["apply"]["ops"][0]["kind"] == "add_js_effect"


def test_handoff_needs_a_project():
    for data, message in [
        ({"id": "a", "job": "tempo", "handoff": True, "options": {"audio": "/x.wav"}}, "handoff: only used with a "
         "project"),
        ({"id": "a", "job": "tempo", "project": {"path": "/x.RPP", "snapshot": "/s.RPP"}, "items": {"selected": True}},
         "project.snapshot: only used with handoff (otherwise the project file is what jobs read and change)"),
    ]:
        with pytest.raises(RequestError) as caught:
            parse_request(json.dumps(data).encode())
        assert str(caught.value) == message


def test_heartbeat_and_stop_file(tmp_path):
    spool = tmp_path / "spool"
    spool.mkdir()
    (spool / "stop").write_text("")  # left from before: not for this daemon
    daemon = start(spool)
    try:
        deadline = time.monotonic() + 60
        while not (spool / "daemon.json").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        beat = json.loads((spool / "daemon.json").read_text())
        assert beat["pid"] == daemon.pid and abs(beat["updated"] - time.time()) < 10
        assert daemon.poll() is None
        (spool / "stop").write_text("")
        assert daemon.wait(30) == 0
    finally:
        stop(daemon)
    assert not (spool / "daemon.json").exists() and not (spool / "stop").exists()
