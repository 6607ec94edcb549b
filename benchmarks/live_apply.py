"""A 10,000-note MIDI item into the project open in "REAPER": reabridge's live session against the naive way.

Both run on the REAPER stand-in (``tests/standin``: a fake ``reaper_python`` with
reabridge's real server script, its defer loop ticking at REAPER's ~30 Hz), through
python-reapy's real client, in one process:

- reabridge: one ChangeSet (a new track and a MIDI item holding 10,000 notes) applied by
  ``LiveSession.apply``: the project's state read once, the whole ChangeSet sent in one call,
  applied inside one undo block. Anchor (issue 12): at most 5 round trips and under 0.5 s.
- naive: what a reapy script does without a server-side apply: one ReaScript call per note
  (``MIDI_InsertNote`` through reapy's client), each a round trip that waits for a defer tick.
  Run for 300 notes and scaled to 10,000 (every call costs the same; the scale-up is stated).

Run: ``.venv/bin/python benchmarks/live_apply.py``
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

from _common import REPO

sys.path.insert(0, str(REPO))

from bridge.changes import AddMidiItem, AddTrack, ChangeSet, Note
from bridge.changes.chunks import empty_project
from bridge.session.live import LiveSession, ReaperLink
from tests.standin.host import REAPER_TICK, StandIn

NOTES = 10_000
NAIVE_NOTES = 300


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        project = tmp / "song.RPP"
        project.write_text(empty_project(48000, 120.0))
        stand_in = StandIn(project, tmp / "REAPER", REAPER_TICK).start()
        try:
            t0 = time.perf_counter()
            link = ReaperLink.connect(tmp / "REAPER")
            connect = time.perf_counter() - t0
            session = LiveSession(link, {"path": str(project)}, "reabridge: Transcribe to MIDI")
            track = AddTrack("Piano (MIDI)")
            notes = tuple(Note(i * 0.03, i * 0.03 + 0.02, 36 + i % 60, 64 + i % 60) for i in range(NOTES))
            changes = ChangeSet("bench-live", (track, AddMidiItem(track.guid, 0.0, NOTES * 0.03 + 1, notes=notes)))
            trips = link.round_trips
            t0 = time.perf_counter()
            assert session.apply(changes).applied
            wall = time.perf_counter() - t0
            trips = link.round_trips - trips
            from bridge.project import Project

            saved = Project.loads(stand_in.reaper.text())
            stored = len(saved.find_track("Piano (MIDI)").items[0].active_take.source.notes())
            print(f"reabridge live session: {NOTES} notes in one ChangeSet: {trips} round trips, {wall:.3f} s "
                  f"(connect and token: {connect:.3f} s, 2 round trips, once per daemon) -> one undo step "
                  f"{stand_in.reaper.undo_names}; {stored} notes in the project")

            tr = link.reascript("GetTrack", 0, 0)
            item = link.reascript("CreateNewMIDIItemInProj", tr, 0.0, NAIVE_NOTES * 0.03 + 1, False)
            take = link.reascript("GetActiveTake", item)
            calls = link.round_trips
            t0 = time.perf_counter()
            for i in range(NAIVE_NOTES):
                link.reascript("MIDI_InsertNote", take, False, False, float(i * 28.8), float(i * 28.8 + 19.2), 0,
                               36 + i % 60, 64 + i % 60, True)
            naive_wall = time.perf_counter() - t0
            calls = link.round_trips - calls
            per_call = naive_wall / NAIVE_NOTES
            print(f"naive, one reapy call per note: {NAIVE_NOTES} notes in {naive_wall:.2f} s = {calls} round trips "
                  f"({1 / per_call:.0f} calls/s); 10,000 notes would take {per_call * NOTES:.0f} s and 10,000 "
                  f"round trips (scaled from {NAIVE_NOTES})")
            print(f"-> {per_call * NOTES / wall:.0f}x faster, {NOTES // trips}x fewer round trips "
                  f"(goal: <= 5 round trips, < 0.5 s)")
        finally:
            stand_in.stop(save=False)
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
