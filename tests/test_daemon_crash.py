"""Exactly once: the daemon killed (SIGKILL) anywhere, restarted, and every request applied exactly once.

Deterministic crash points (see ``bridge/daemon/failpoints.py``) kill it right
after a request is queued but before its file is removed, after a ChangeSet is
recorded but before it is applied, and after it is applied but before the queue
knows; random kills (``REABRIDGE_CRASH_ITERATIONS`` rounds, 12 by default) hit
everything in between: intake, start-up, jobs, applies.
"""

from __future__ import annotations

import os
import random
import signal
import time

import pytest
from daemon_helpers import (
    drop,
    fx_count,
    insert_request,
    midi_tracks,
    serve_once,
    song,
    start,
    status,
    transcribe_request,
    wait_status,
)

from bridge import rpp
from bridge.changes import derived_guid
from bridge.changes.extstate import applied_ids
from bridge.project import Project

ITEM = "{00000000-0000-4000-8000-0000000000B1}"
ITERATIONS = int(os.environ.get("REABRIDGE_CRASH_ITERATIONS", "12"))


def _requests(project, prefix: str, n: int) -> list[dict]:
    out = []
    for i in range(n):
        rid = f"{prefix}-{i}"
        out.append(transcribe_request(rid, project) if i % 3 == 0 else insert_request(rid, project,
                                                                                     "master" if i % 2 else "Keys"))
    return out


def _check_exactly_once(project, keys_guid, requests, spool) -> None:
    root = rpp.load(project)  # still a valid project
    applied = applied_ids(root)
    text = project.read_text()
    for req in requests:
        rid = req["id"]
        doc = status(spool, rid)
        assert doc is not None and doc["state"] == "done", (rid, doc)
        assert rid in applied
        assert text.count(f"applied.{rid} ") == 1, rid
        if req["job"] != "transcribe":
            track = req["options"]["track"]
            assert fx_count(project, rid, "master" if track == "master" else keys_guid) == 1, rid
    # transcribing the same item again replaces its MIDI item: one MIDI track, one item, from one of the requests
    transcribed = [r["id"] for r in requests if r["job"] == "transcribe"]
    midi = [t for t in Project.load(project).tracks if t.name == "Keys (MIDI)"]
    assert len(midi) == (1 if transcribed else 0)
    if not transcribed:
        return
    assert len(midi[0].items) == 1
    assert midi[0].items[0].guid in {derived_guid(rid, "midi", ITEM) for rid in transcribed}
    assert sum(midi_tracks(project, rid, keys_guid) for rid in transcribed) == 1


@pytest.mark.parametrize("point", ["queued", "before_apply", "after_apply"])
def test_killed_at_a_crash_point_then_restarted(tmp_path, point):
    project, keys = song(tmp_path / "song")
    spool = tmp_path / "spool"
    requests = _requests(project, point, 3)
    daemon = start(spool, failpoint=point)
    for req in requests:
        drop(spool, req)
    assert daemon.wait(120) == -signal.SIGKILL  # it died at the point
    out = serve_once(spool)
    assert out.returncode == 0, out.stderr
    _check_exactly_once(project, keys, requests, spool)
    assert list((spool / "requests").iterdir()) == []


def test_killed_at_random_moments_over_many_rounds(tmp_path):
    project, keys = song(tmp_path / "song", seconds=2.0)
    spool = tmp_path / "spool"
    rng = random.Random(1234)
    requests: list[dict] = []
    for round_ in range(ITERATIONS):
        batch = _requests(project, f"r{round_}", 3)
        requests += batch
        daemon = start(spool)
        for req in batch:
            drop(spool, req)
            time.sleep(rng.uniform(0, 0.2))
        time.sleep(rng.uniform(0, 1.5))
        daemon.kill()
        daemon.wait(30)
    out = serve_once(spool)
    assert out.returncode == 0, out.stderr
    _check_exactly_once(project, keys, requests, spool)


def test_two_hundred_requests_at_once_a_quarter_malformed(tmp_path):
    project, keys = song(tmp_path / "song", seconds=2.0)
    spool = tmp_path / "spool"
    good, bad = [], []
    for i in range(200):
        if i % 4 == 3:
            bad.append(drop(spool, f'{{"id": "bad-{i}", "job": "jsfx_insert", "options": {{"block": '.encode(),
                            name=f"bad-{i}"))
        else:
            good.append(insert_request(f"load-{i}", project, "master" if i % 2 else "Keys"))
            drop(spool, good[-1])
    daemon = start(spool, workers=2)
    try:
        for req in good:
            wait_status(spool, req["id"], timeout=300)
        for stem in bad:
            assert wait_status(spool, stem)["state"] == "error"
        peaks = {}
        for pid in [daemon.pid, *_children(daemon.pid)]:
            with open(f"/proc/{pid}/status") as fh:
                peaks[pid] = next(int(line.split()[1]) for line in fh if line.startswith("VmHWM"))
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(60)
    assert daemon.returncode == 0
    _check_exactly_once(project, keys, good, spool)
    # memory stays bounded: the daemon holds no audio, workers only what a job needs
    assert peaks[daemon.pid] < 250_000, peaks  # kB
    assert all(kb < 1_500_000 for kb in peaks.values()), peaks


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as fh:
            return [int(p) for p in fh.read().split()]
    except FileNotFoundError:
        return []
