"""Daemon latency and load: warm daemon against the one-shot command line, same project and item, one run.

Input: a project with one item playing the corpus recording ``audio/basic-pitch-ts__C_major.mp3``
(10.07 s, a sung C major scale). Anchors (issue 10):

- request pick-up (the request file renamed into ``requests/`` until its status says
  ``running``) under 100 ms;
- a warm transcription of the 10 s item at least 3x faster end to end (request file to
  ``done``, project written) than the one-shot ``reabridge transcribe --project ... --item``
  (process start to exit, project written).

Then 200 requests dropped at once (a quarter malformed) into a daemon with two workers:
wall time until every one is answered, and the peak resident memory of the daemon and each worker.

Run: ``.venv/bin/python benchmarks/daemon_latency.py``
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import CORPUS, VENV_BIN

from bridge.changes import AddAudioItem, AddTrack, ChangeSet
from bridge.changes.chunks import empty_project
from bridge.session import RppFileSession

RUNS = 5
ITEM = "{00000000-0000-4000-8000-0000000000B1}"


def make_project(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    media = folder / "C_major.mp3"
    shutil.copy(CORPUS / "audio" / "basic-pitch-ts__C_major.mp3", media)
    path = folder / "song.RPP"
    path.write_text(empty_project(44100, 120.0))
    track = AddTrack("Voice", guid="{00000000-0000-4000-8000-00000000000A}")
    RppFileSession(path).apply(ChangeSet("setup", (track, AddAudioItem(track.guid, str(media), 0.0, 10.0,
                                                                       guid=ITEM))))
    return path


def drop(spool: Path, data: dict | bytes, name: str) -> float:
    """Write a request as a client does; returns the moment it became visible."""
    tmp = spool / "requests" / f".{name}.tmp"
    tmp.write_bytes(data if isinstance(data, bytes) else json.dumps(data).encode())
    os.replace(tmp, spool / "requests" / f"{name}.json")
    return time.perf_counter()


def wait(spool: Path, rid: str, states: tuple[str, ...], timeout: float = 300) -> float:
    path = spool / "status" / f"{rid}.json"
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        try:
            if json.loads(path.read_text())["state"] in states:
                return time.perf_counter()
        except (FileNotFoundError, ValueError):
            pass
        time.sleep(0.001)
    raise RuntimeError(f"{rid} never reached {states}")


def start_daemon(spool: Path, *args: str) -> subprocess.Popen:
    daemon = subprocess.Popen([str(VENV_BIN / "reabridge"), "serve", "--spool", str(spool), *args],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    log = spool / "daemon.log"
    deadline = time.time() + 120
    while time.time() < deadline:
        if log.exists() and log.read_text().count("ready;") >= (2 if "--workers" in args else 1):
            return daemon
        time.sleep(0.05)
    raise RuntimeError("the daemon did not get ready")


def peak_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith("VmHWM"))


def workers(pid: int) -> list[int]:
    """The daemon's worker processes (not multiprocessing's resource tracker)."""
    with open(f"/proc/{pid}/task/{pid}/children") as fh:
        kids = [int(p) for p in fh.read().split()]
    return [k for k in kids if b"resource_tracker" not in Path(f"/proc/{k}/cmdline").read_bytes()]


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        cli_times = []
        for n in range(RUNS):
            project = make_project(tmp / f"cli{n}")
            t0 = time.perf_counter()
            subprocess.run([str(VENV_BIN / "reabridge"), "transcribe", "--project", str(project), "--item", ITEM],
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            cli_times.append(time.perf_counter() - t0)

        spool = tmp / "spool"
        (spool / "requests").mkdir(parents=True)
        t0 = time.perf_counter()
        daemon = start_daemon(spool, "--warm", "transcribe,tempo,jsfx")
        ready = time.perf_counter() - t0
        pickups, dones = [], []
        try:
            for n in range(RUNS):
                project = make_project(tmp / f"warm{n}")
                rid = f"warm-{n}"
                req = {"id": rid, "job": "transcribe", "project": {"path": str(project)},
                       "items": {"guids": [ITEM]}}
                visible = drop(spool, req, rid)
                running = wait(spool, rid, ("running", "done", "error"))
                done = wait(spool, rid, ("done", "error"))
                assert json.loads((spool / "status" / f"{rid}.json").read_text())["state"] == "done"
                pickups.append(running - visible)
                dones.append(done - visible)
                time.sleep(0.2)
        finally:
            daemon.terminate()
            daemon.wait(60)
        log = (spool / "daemon.log").read_text()
        warm_line = next(line for line in log.splitlines() if "ready;" in line)

        cli_med, warm_med = statistics.median(cli_times), statistics.median(dones)
        print(f"daemon start to ready: {ready:.2f} s ({warm_line.split('ready; ')[1]})")
        print(f"pick-up (request visible -> status running): median {1000 * statistics.median(pickups):.1f} ms, "
              f"max {1000 * max(pickups):.1f} ms (goal < 100 ms)")
        print(f"10 s transcription into the project, end to end: one-shot CLI median {cli_med:.2f} s "
              f"({', '.join(f'{t:.2f}' for t in cli_times)}); warm daemon median {warm_med:.3f} s "
              f"({', '.join(f'{t:.3f}' for t in dones)}) -> {cli_med / warm_med:.1f}x (goal >= 3x)")

        load_dir = tmp / "load"
        project = make_project(load_dir)
        spool = tmp / "spool-load"
        (spool / "requests").mkdir(parents=True)
        effect = Path(__import__("bridge.assets", fromlist=["jsfx_dir"]).jsfx_dir()) / "reabridge_master_gentle.jsfx"
        daemon = start_daemon(spool, "--warm", "none", "--workers", "2")
        try:
            t0 = time.perf_counter()
            ids = []
            for i in range(200):
                name = f"load-{i}"
                if i % 4 == 3:
                    drop(spool, b'{"id": "' + name.encode() + b'", "job": "jsfx_insert", "options": {', name)
                elif i % 8 == 0:
                    drop(spool, {"id": name, "job": "transcribe", "project": {"path": str(project)},
                                 "items": {"guids": [ITEM]}}, name)
                else:
                    drop(spool, {"id": name, "job": "jsfx_insert", "project": {"path": str(project)},
                                 "options": {"effect": str(effect), "install": False}}, name)
                ids.append(name)
            states = {}
            for name in ids:
                wait(spool, name, ("done", "error", "cancelled"))
                states[name] = json.loads((spool / "status" / f"{name}.json").read_text())["state"]
            wall = time.perf_counter() - t0
            peaks = {"daemon": peak_kb(daemon.pid), **{f"worker {i + 1}": peak_kb(p)
                                                       for i, p in enumerate(workers(daemon.pid))}}
        finally:
            daemon.terminate()
            daemon.wait(60)
        counts = {s: list(states.values()).count(s) for s in sorted(set(states.values()))}
        print(f"200 requests at once (50 malformed, 25 transcriptions, 125 JSFX inserts), 2 workers: all answered "
              f"in {wall:.1f} s {counts}; peak memory " + ", ".join(f"{k} {v / 1024:.0f} MB" for k, v in peaks.items()))


if __name__ == "__main__":
    sys.exit(main())
