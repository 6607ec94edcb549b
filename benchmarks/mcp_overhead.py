"""``reabridge mcp``: what a tool call costs over the same job through the daemon and the command line, and how
many round trips a 10,000-note result takes against one call per note. One run.

1. Overhead. The same requests, in one run, with one warm daemon (``--warm transcribe``):
   - spool (the anchor): the request file dropped into the spool as the REAPER actions do, until its
     status says ``done``;
   - MCP: ``tools/call`` through the official SDK's stdio client to ``reabridge mcp`` (session already
     open), until the result comes back; the server checks the request, submits it to the same daemon
     and follows its status;
   - CLI: the one-shot ``reabridge transcribe --project`` (process start to exit), for scale.
   Jobs: ``transcribe`` of a 10 s item (the corpus recording ``audio/basic-pitch-ts__C_major.mp3``) and
   ``jsfx_insert`` of a shipped effect (a job that costs almost nothing, so the overhead shows alone).
   Each run works on a fresh copy of the project.

2. Round trips for a 10,000-note result. reabridge: one ``tools/call`` whatever the size of the result;
   the daemon applies the job's ChangeSet (a track and a MIDI item of 10,000 notes) with
   ``LiveSession.apply``, measured here on the REAPER stand-in (``tests/standin``, reabridge's real
   server script, REAPER's ~30 Hz defer tick): link round trips and the ReaScript calls REAPER's side
   made (the stand-in counts them). danishaft/reaper-mcp (read at commit b4c0487, not run: it needs
   REAPER): its ``add_midi_note`` tool inserts one note per call through its file bridge (a request
   file polled by a Lua defer loop, the answer polled by Python every 50 ms); each call reads every
   note of the take back three times (two duplicate checks and the reply, 5 ReaScript calls per note
   read: ``MIDI_GetNote``, 2 ``MIDI_GetProjQNFromPPQPos``, 2 ``TimeMap2_QNToTime``) and spends about 5 on
   the insertion (``musical_range``, 2 ``MIDI_GetPPQPosFromProjQN``, ``MIDI_InsertNote``) and 4 on
   ``finalize_midi_take_mutation``. Its batched ``add_midi_notes`` (added later) takes all notes in one
   call: 5 per note inserted plus 5 per note read back. These counts are lower bounds from the code.

Run: ``.venv/bin/python benchmarks/mcp_overhead.py`` (about two minutes).
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
from typing import Any

import anyio
from _common import CORPUS, REPO, VENV_BIN

sys.path.insert(0, str(REPO))

from mcp import ClientSession, StdioServerParameters, stdio_client

from bridge.assets import jsfx_dir
from bridge.changes import AddAudioItem, AddMidiItem, AddTrack, ChangeSet, Note
from bridge.changes.chunks import empty_project
from bridge.session import RppFileSession
from bridge.session.live import LiveSession, ReaperLink
from tests.standin.host import REAPER_TICK, StandIn

RUNS = 5
CLI_RUNS = 3
NOTES = 10_000
ITEM = "{00000000-0000-4000-8000-0000000000B1}"
EFFECT = jsfx_dir() / "reabridge_master_gentle.jsfx"


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


def request(job: str, project: Path) -> dict[str, Any]:
    if job == "transcribe":
        return {"project": {"path": str(project)}, "items": {"guids": [ITEM]}}
    return {"project": {"path": str(project)}, "options": {"effect": str(EFFECT), "install": False}}


def through_spool(spool: Path, rid: str, job: str, project: Path) -> float:
    """The anchor: a request file into the spool, until its status is final."""
    data = {"id": rid, "job": job, **request(job, project)}
    status = spool / "status" / f"{rid}.json"
    t0 = time.perf_counter()
    tmp = spool / "requests" / f".{rid}.tmp"
    tmp.write_text(json.dumps(data))
    os.replace(tmp, spool / "requests" / f"{rid}.json")
    while True:
        try:
            state = json.loads(status.read_text())["state"]
            if state in ("done", "error", "cancelled"):
                assert state == "done", status.read_text()
                return time.perf_counter() - t0
        except (FileNotFoundError, ValueError):
            pass
        time.sleep(0.001)


def start_daemon(spool: Path) -> subprocess.Popen[bytes]:
    (spool / "requests").mkdir(parents=True, exist_ok=True)
    daemon = subprocess.Popen([str(VENV_BIN / "reabridge"), "serve", "--spool", str(spool), "--warm", "transcribe"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline:
        log = spool / "daemon.log"
        if log.exists() and "ready;" in log.read_text():
            return daemon
        time.sleep(0.05)
    raise RuntimeError("the daemon did not get ready")


async def through_mcp(spool: Path, plan: list[tuple[str, str, Path]]) -> tuple[dict[str, list[float]], float]:
    """The MCP calls of ``plan`` (label, job, project) in one session; their times, and the session's start."""
    params = StdioServerParameters(command=str(VENV_BIN / "reabridge"), args=["mcp", "--spool", str(spool)],
                                   env={**os.environ})
    times: dict[str, list[float]] = {}
    t0 = time.perf_counter()
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        await session.list_tools()
        opened = time.perf_counter() - t0
        for label, job, project in plan:
            t1 = time.perf_counter()
            result = await session.call_tool(job, request(job, project))
            times.setdefault(label, []).append(time.perf_counter() - t1)
            assert not result.is_error, result.content
    return times, opened


def ten_thousand_notes(tmp: Path) -> dict[str, float]:
    """The daemon's apply of a 10,000-note result into "REAPER" (the stand-in): round trips, ReaScript calls."""
    project = tmp / "notes" / "song.RPP"
    project.parent.mkdir()
    project.write_text(empty_project(48000, 120.0))
    stand_in = StandIn(project, tmp / "REAPER", REAPER_TICK).start()
    try:
        link = ReaperLink.connect(tmp / "REAPER")
        assert link is not None
        session = LiveSession(link, {"path": str(project)}, "reabridge: Transcribe to MIDI")
        track = AddTrack("Piano (MIDI)")
        notes = tuple(Note(i * 0.03, i * 0.03 + 0.02, 36 + i % 60, 64 + i % 60) for i in range(NOTES))
        changes = ChangeSet("notes-1", (track, AddMidiItem(track.guid, 0.0, NOTES * 0.03 + 1, notes=notes)))
        trips, calls = link.round_trips, stand_in.reaper.calls
        t0 = time.perf_counter()
        assert session.apply(changes).applied
        wall = time.perf_counter() - t0
        return {"round_trips": link.round_trips - trips, "reascript": stand_in.reaper.calls - calls, "wall": wall}
    finally:
        stand_in.stop(save=False)


def danishaft_counts(n: int) -> dict[str, int]:
    """Lower bounds from danishaft/reaper-mcp's code (see the module documentation)."""
    per_call = [3 * 5 * k + 5 + 5 + 4 for k in range(n)]  # k notes already in the take at call k
    return {"calls_one_per_note": n, "reascript_one_per_note": sum(per_call),
            "calls_batched": 1, "reascript_batched": 5 * n + 5 * n + 4}


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        cli = []
        for n in range(CLI_RUNS):
            project = make_project(tmp / f"cli{n}")
            t0 = time.perf_counter()
            subprocess.run([str(VENV_BIN / "reabridge"), "transcribe", "--project", str(project), "--item", ITEM],
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            cli.append(time.perf_counter() - t0)
        spool = tmp / "spool"
        daemon = start_daemon(spool)
        try:
            through_spool(spool, "warm-up", "transcribe", make_project(tmp / "warm-up"))
            anchor: dict[str, list[float]] = {"transcribe": [], "jsfx_insert": []}
            plan = []
            for n in range(RUNS):  # interleaved, so both paths see the same machine
                for job in ("transcribe", "jsfx_insert"):
                    anchor[job].append(through_spool(spool, f"spool-{job}-{n}", job,
                                                     make_project(tmp / f"spool-{job}-{n}")))
                    plan.append((job, job, make_project(tmp / f"mcp-{job}-{n}")))
            mcp, opened = anyio.run(through_mcp, spool, plan)
        finally:
            daemon.terminate()
            daemon.wait(60)
        notes = ten_thousand_notes(tmp)

    def med(values: list[float]) -> str:
        return f"{1000 * statistics.median(values):7.1f} ms"

    print(f"MCP session start (server process, initialize, tools/list): {opened:.2f} s")
    print(f"{'job':12} {'spool (anchor)':>15} {'MCP tools/call':>15} {'overhead':>10}   (medians of {RUNS})")
    for job in ("transcribe", "jsfx_insert"):
        extra = 1000 * (statistics.median(mcp[job]) - statistics.median(anchor[job]))
        each = f"spool {', '.join(f'{1000 * t:.0f}' for t in anchor[job])}; MCP " + \
            ", ".join(f"{1000 * t:.0f}" for t in mcp[job])
        print(f"{job:12} {med(anchor[job]):>15} {med(mcp[job]):>15} {extra:+8.1f} ms   ({each})")
    print(f"one-shot CLI transcribe (process start to exit), median of {CLI_RUNS}: {statistics.median(cli):.2f} s")
    ours, theirs = notes, danishaft_counts(NOTES)
    print(f"\n{NOTES:,}-note result into the open project:")
    print(f"  reabridge mcp: 1 tool call; the daemon's apply: {ours['round_trips']:.0f} round trips to REAPER, "
          f"{ours['reascript']:.0f} ReaScript calls in REAPER, {ours['wall']:.2f} s at REAPER's defer tick")
    print(f"  danishaft/reaper-mcp add_midi_note (one call per note): {theirs['calls_one_per_note']:,} tool calls "
          f"and file round trips, >= {theirs['reascript_one_per_note']:,} ReaScript calls in REAPER")
    print(f"  danishaft/reaper-mcp add_midi_notes (batched): {theirs['calls_batched']} tool call, "
          f">= {theirs['reascript_batched']:,} ReaScript calls in REAPER")


if __name__ == "__main__":
    sys.exit(main())
