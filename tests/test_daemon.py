"""The daemon end to end: request files in, status files and project bytes out; it never falls over."""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import time

import numpy as np
import soundfile as sf
from daemon_helpers import (
    EFFECT,
    cli,
    drop,
    env,
    fx_count,
    insert_request,
    midi_tracks,
    serve_once,
    song,
    start,
    status,
    stop,
    transcribe_request,
    wait_status,
)

from bridge.project import Project


def test_once_answers_every_request_file(tmp_path):
    project, keys = song(tmp_path / "song")
    spool = tmp_path / "spool"
    drop(spool, transcribe_request("tr-1", project))
    drop(spool, insert_request("fx-1", project))
    drop(spool, b'{"id": "broken", "job": ', name="broken")
    drop(spool, {"id": "bad-value", "job": "transcribe", "options": {"audio": "/a.wav", "onset_threshold": 7}})
    drop(spool, insert_request("other-id", project), name="mismatch")
    drop(spool, b"\xff\xfe\x00garbage", name="binary")
    out = serve_once(spool)
    assert out.returncode == 0, out.stderr
    assert status(spool, "tr-1")["state"] == "done" and status(spool, "fx-1")["state"] == "done"
    done = status(spool, "tr-1")
    assert done["progress"] == 1.0 and done["percent"] == 100 and done["job"] == "transcribe"
    added = done["result"]["added"]  # what a person sees added: no bookkeeping lines
    assert added[0] == "track 'Keys (MIDI)'" and len(added) == 2 and added[1].startswith("MIDI item 'keys.wav (MIDI)'")
    for stem, words in (("broken", "not valid JSON"), ("bad-value", "options.onset_threshold: must be at most 1"),
                        ("mismatch", "differs from its file name"), ("binary", "not UTF-8")):
        doc = status(spool, stem)
        assert doc["state"] == "error" and words in doc["message"], doc
        assert set(doc) >= {"id", "state", "job", "progress", "message"}
        assert (spool / "rejected" / f"{stem}.json").exists()
    assert list((spool / "requests").iterdir()) == []
    assert midi_tracks(project, "tr-1", keys) == 1 and fx_count(project, "fx-1") == 1
    names = [t.name for t in Project.load(project).tracks]
    assert names == ["Keys", "Keys (MIDI)"]
    listed = json.loads(cli("jobs", "--spool", str(spool), "--json").stdout)
    assert {d["id"]: d["state"] for d in listed} == {"tr-1": "done", "fx-1": "done", "broken": "error",
                                                     "bad-value": "error", "mismatch": "error", "binary": "error"}
    table = cli("jobs", "--spool", str(spool))
    assert table.returncode == 0 and "tr-1" in table.stdout and "no daemon running" in table.stdout
    # the same request again (a client retrying): known id, nothing happens twice
    drop(spool, transcribe_request("tr-1", project))
    assert serve_once(spool).returncode == 0
    assert midi_tracks(project, "tr-1", keys) == 1 and status(spool, "tr-1")["state"] == "done"


def test_cli_and_daemon_give_byte_identical_projects(tmp_path):
    a, _ = song(tmp_path / "a")
    b, _ = song(tmp_path / "b")
    from bridge.amp.bundled import bundled_capture

    requests = [
        transcribe_request("same-transcribe", a),
        {"id": "same-amp", "job": "amp_render", "project": {"path": str(a)}, "items": {"tracks": ["Keys"]},
         "options": {"model": str(bundled_capture("reabridge Lead"))}},
        insert_request("same-fx", a, "Keys"),
    ]
    for n, req in enumerate(requests):
        req["created"] = f"2026-11-26T10:00:0{n}Z"
        path = tmp_path / f"{req['id']}.json"
        path.write_text(json.dumps(req))
        out = cli("requests", "run", str(path))
        assert out.returncode == 0, out.stderr
    spool = tmp_path / "spool"
    for req in requests:
        drop(spool, req)
    out = serve_once(spool, "--warm", "none", "--project", str(b))
    assert out.returncode == 0, out.stderr
    assert all(status(spool, r["id"])["state"] == "done" for r in requests), [status(spool, r["id"]) for r in requests]
    assert a.read_bytes() == b.read_bytes()
    renders = sorted(p.name for p in (a.parent / "Media").iterdir())
    assert renders == sorted(p.name for p in (b.parent / "Media").iterdir()) and len(renders) == 2
    for name in renders:  # same samples (float WAV headers carry libsndfile's PEAK chunk with a time stamp)
        assert np.array_equal(sf.read(a.parent / "Media" / name)[0], sf.read(b.parent / "Media" / name)[0])


def test_a_running_daemon_picks_up_cancels_and_stops_cleanly(tmp_path):
    project, _ = song(tmp_path / "song", seconds=8.0)
    spool = tmp_path / "spool"
    daemon = start(spool)
    try:
        long = {"id": "train", "job": "amp_capture", "project": {"path": str(project)},
                "options": {"output": str(project.parent / "new.nam"), "size": "nano", "epochs": 500,
                            "di_item": Project.load(project).items()[0][1].guid,
                            "reamp_item": Project.load(project).items()[0][1].guid}}
        drop(spool, long)
        running = wait_status(spool, "train", ("running",))
        assert running["worker"] and running["position"] is None
        drop(spool, insert_request("behind", project))
        queued = wait_status(spool, "behind", ("queued",))
        assert queued["position"] == 1
        out = cli("cancel", "behind", "--spool", str(spool))
        assert out.returncode == 0 and "cancelled" in out.stdout, out.stdout + out.stderr
        assert status(spool, "behind")["state"] == "cancelled"
        # wait until training reports progress, then cancel it: nothing is left behind
        deadline = time.monotonic() + 120
        while (status(spool, "train") or {}).get("stage") != "training" and time.monotonic() < deadline:
            assert status(spool, "train")["state"] == "running", status(spool, "train")
            time.sleep(0.05)
        out = cli("cancel", "train", "--spool", str(spool))
        assert out.returncode == 0, out.stderr
        doc = wait_status(spool, "train")
        assert doc["state"] == "cancelled", doc
        assert not (project.parent / "new.nam").exists()
        assert fx_count(project, "behind") == 0
        # the same worker keeps serving
        drop(spool, insert_request("after", project))
        assert wait_status(spool, "after")["state"] == "done"
        assert fx_count(project, "after") == 1
        assert cli("cancel", "after", "--spool", str(spool)).stdout.startswith("after had already ended: done")
        bad = cli("cancel", "nobody", "--spool", str(spool))
        assert bad.returncode == 1 and "no request with id nobody" in bad.stderr
        second = subprocess.run([sys.executable, "-m", "bridge", "serve", "--spool", str(spool), "--warm", "none"],
                                capture_output=True, text=True, timeout=60, env=env())
        assert second.returncode == 1
        assert f"another reabridge daemon (pid {daemon.pid}) is serving" in second.stderr
    finally:
        stop(daemon)
    assert daemon.returncode == 0, daemon.stderr
    log = (spool / "daemon.log").read_text()
    assert "train: cancelled" in log and "stopped" in log


def test_crashed_and_killed_workers_become_errors(tmp_path):
    project, _ = song(tmp_path / "song", seconds=8.0)
    guid = Project.load(project).items()[0][1].guid
    spool = tmp_path / "spool"
    daemon = start(spool)
    try:
        for n, (sig, words) in enumerate(((signal.SIGSEGV, "crashed (SIGSEGV"), (signal.SIGKILL, "out of memory"))):
            rid = f"victim-{n}"
            drop(spool, {"id": rid, "job": "amp_capture", "project": {"path": str(project)},
                         "options": {"output": str(project.parent / f"{rid}.nam"), "size": "nano", "epochs": 500,
                                     "di_item": guid, "reamp_item": guid}})
            worker = wait_status(spool, rid, ("running",))["worker"]
            os.kill(worker, sig)
            doc = wait_status(spool, rid)
            assert doc["state"] == "error" and words in doc["message"], doc
            drop(spool, insert_request(f"next-{n}", project))
            assert wait_status(spool, f"next-{n}")["state"] == "done"
    finally:
        stop(daemon)
    assert daemon.returncode == 0


def test_job_errors_and_refused_paths_keep_it_serving(tmp_path):
    project, _ = song(tmp_path / "song")
    (tmp_path / "song" / "Media" / "keys.wav").unlink()  # media vanished since the project was saved
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (project.parent / "link-out").symlink_to(outside)
    audio = project.parent / "take.wav"
    from audio_signals import melody, write

    write(audio, melody(22050, 2.0), 22050)
    other_id = "{11111111-2222-4333-8444-555555555555}"
    spool = tmp_path / "spool"
    cases = {
        "missing-media": (transcribe_request("missing-media", project), "keys.wav, which is missing"),
        "not-this-project": ({**insert_request("not-this-project", project),
                              "project": {"path": str(project), "id": other_id}}, None),
        "out-of-folder": ({"id": "out-of-folder", "job": "transcribe",
                           "options": {"audio": str(audio), "output": str(outside / "x.mid")}},
                          "outside the folders this request may write to"),
        "dotdot": ({"id": "dotdot", "job": "transcribe",
                    "options": {"audio": str(audio), "output": str(project.parent / ".." / "elsewhere" / "y.mid")}},
                   "outside the folders"),
        "symlink-out": ({"id": "symlink-out", "job": "transcribe",
                         "options": {"audio": str(audio), "output": str(project.parent / "link-out" / "z.mid")}},
                        "outside the folders"),
        "device": ({"id": "device", "job": "transcribe", "options": {"audio": str(audio), "output": "/dev/null"}},
                   "/dev/null is a device"),
        "relative": ({"id": "relative", "job": "transcribe", "options": {"audio": "take.wav"}},
                     "must be an absolute path"),
        "no-project": (insert_request("no-project", tmp_path / "nowhere" / "x.RPP"), "cannot read"),
        "good": ({"id": "good", "job": "transcribe", "options": {"audio": str(audio)}}, None),
    }
    for data, _ in cases.values():
        drop(spool, data)
    out = serve_once(spool)
    assert out.returncode == 0, out.stderr
    for rid, (_, words) in cases.items():
        doc = status(spool, rid)
        if rid == "good":
            assert doc["state"] == "done" and (project.parent / "take.mid").exists()
        elif rid == "not-this-project":
            assert doc["state"] == "done"  # the file records no id: nothing to contradict
        else:
            assert doc["state"] == "error" and words in doc["message"], (rid, doc)
            assert "\n" not in doc["message"]
    assert list(outside.iterdir()) == []


def test_a_project_with_another_identity_is_refused(tmp_path):
    from bridge import rpp
    from bridge.changes.extstate import set_project_id

    project, _ = song(tmp_path / "song")
    root = rpp.load(project)
    set_project_id(root, "{AAAAAAAA-0000-4000-8000-000000000001}")
    rpp.dump(root, project)
    before = project.read_bytes()
    spool = tmp_path / "spool"
    drop(spool, {**insert_request("wrong", project),
                 "project": {"path": str(project), "id": "{BBBBBBBB-0000-4000-8000-000000000002}"}})
    drop(spool, {**insert_request("right", project),
                 "project": {"path": str(project), "id": "{aaaaaaaa-0000-4000-8000-000000000001}"}})
    assert serve_once(spool).returncode == 0
    wrong = status(spool, "wrong")
    assert wrong["state"] == "error" and "not the project this request was made for" in wrong["message"]
    assert status(spool, "right")["state"] == "done" and project.read_bytes() != before


def _limit_file_size() -> None:
    resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))


def test_a_full_disk_is_an_error_not_a_crash(tmp_path):
    """Files cannot grow past 1 MB in this daemon (RLIMIT_FSIZE): writes fail as on a full disk."""
    from audio_signals import melody, write

    folder = tmp_path / "song"
    folder.mkdir()
    big = write(folder / "long.wav", melody(44100, 30.0), 44100)  # 2.6 MB of 16-bit audio
    spool = tmp_path / "spool"
    drop(spool, {"id": "too-big", "job": "jsfx_render",
                 "options": {"effect": str(EFFECT), "audio": str(big), "output": str(folder / "out.wav")}})
    drop(spool, {"id": "fits", "job": "transcribe", "options": {"audio": str(big)}})
    out = subprocess.run([sys.executable, "-m", "bridge", "serve", "--spool", str(spool), "--once", "--warm", "none"],
                         env=env(), capture_output=True, text=True, timeout=300, preexec_fn=_limit_file_size)
    assert out.returncode == 0, out.stderr
    doc = status(spool, "too-big")
    assert doc["state"] == "error" and "could not write out.wav" in doc["message"], doc
    assert "file too large" in doc["message"] and "nothing was written" in doc["message"]
    assert not (folder / "out.wav").exists() and not list(folder.glob(".*"))
    assert status(spool, "fits")["state"] == "done"


def test_submit_and_wait(tmp_path):
    project, keys = song(tmp_path / "song")
    spool = tmp_path / "spool"
    out = cli("submit", "jsfx_insert", str(EFFECT), "--project", str(project), "--track", "Keys", "--no-install",
              "--spool", str(spool), "--json")
    assert out.returncode == 0, out.stderr
    receipt = json.loads(out.stdout)
    rid = receipt["id"]
    assert receipt["spool"] == str(spool) and (spool / "requests" / f"{rid}.json").exists()
    bad = cli("submit", "transcribe", "--project", str(project), "--spool", str(spool))
    assert bad.returncode == 1 and "say which items" in bad.stderr and bad.stderr.count("\n") == 1
    daemon = start(spool)
    try:
        waited = cli("submit", "transcribe", "--project", str(project), "--track", "Keys", "--spool", str(spool),
                     "--wait")
        assert waited.returncode == 0, waited.stderr
        assert "added 1 MIDI track" in waited.stdout
        failing = cli("submit", "transcribe", "--project", str(project), "--track", "Nope", "--spool", str(spool),
                      "--wait")
        assert failing.returncode == 1 and "no track named 'Nope'" in failing.stdout
        assert wait_status(spool, rid)["state"] == "done" and fx_count(project, rid, keys) == 1
    finally:
        stop(daemon)


def test_requests_run_and_check(tmp_path):
    project, _ = song(tmp_path / "song")
    req = tmp_path / "r.json"
    req.write_text(json.dumps(insert_request("direct", project)))
    checked = cli("requests", "check", str(req))
    assert checked.returncode == 0 and "valid jsfx_insert request" in checked.stdout
    ran = cli("requests", "run", str(req), "--json")
    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout)["applied"] is True and fx_count(project, "direct") == 1
    again = cli("requests", "run", str(req))
    assert again.returncode == 0 and "already had this result" in again.stdout and fx_count(project, "direct") == 1
    req.write_text('{"id": "x", "job": "transcribe", "options": {"onset_threshold": 2}}')
    bad = cli("requests", "check", str(req))
    assert bad.returncode == 1 and "options.onset_threshold" in bad.stderr
