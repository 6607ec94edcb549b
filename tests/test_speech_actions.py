"""The speech actions under real Lua against the stand-in: the request they send, finding words, exporting SRT.

The project's transcript is put in place with the operations the speech job writes (regions,
markers, a take marker, a notes item, and the job's records), so these tests need no model.
"""

from __future__ import annotations

import json

import pytest
from daemon_helpers import song

from bridge.changes import AddMarker, AddTrack, ChangeSet
from bridge.changes.ops import AddNotesItem, AddTakeMarker
from bridge.project.made import Made
from bridge.requests import parse_request
from bridge.session import RppFileSession
from tests.test_actions import ITEM, _heartbeat, _written, action

TRACK = "{00000000-0000-4000-8000-0000000000A9}"
GUIDS = [f"{{00000000-0000-4000-8000-0000000001{n:02d}}}" for n in range(5)]


def _with_transcript(folder):
    """The song project plus a transcript of its item in all four forms, as the speech job leaves it."""
    project, _ = song(folder, seconds=3.0)
    made = [
        (AddMarker(1.5, "S1: Ask not what your country can do", 2.5, guid=GUIDS[0]), "regions"),
        (AddMarker(0.25, "S2: And so, my fellow Americans", guid=GUIDS[1]), "markers"),
        (AddMarker(2.75, "S1: for your country.", guid=GUIDS[2]), "markers"),
        (AddMarker(0.5, "Chorus", 1.0, guid=GUIDS[3]), None),  # a region of the user's own: not transcript
    ]
    ops: list = [AddTrack("Keys (transcript)", after="{00000000-0000-4000-8000-00000000000A}", guid=TRACK)]
    for op, key in made:
        ops.append(op)
        if key:
            ops.append(Made(op.guid, "speech", ITEM, None, key).record())
    ops += [AddNotesItem(TRACK, 2.0, 0.5, "what you can do", guid=GUIDS[4]),
            Made(GUIDS[4], "speech", ITEM, None, "notes").record(),
            AddTakeMarker(ITEM, 1.0, "ask what", None),
            Made("{00000000-0000-4000-8000-0000000001FF}", "speech", ITEM, None, "take-marker 1.0 ask%20what").record()]
    RppFileSession(project).apply(ChangeSet("transcript", tuple(ops), created="2026-01-01T00:00:00Z"))
    project.with_name(project.name + "-bak").unlink()
    return project



@pytest.mark.parametrize(("menus", "options"), [
    ([1, 1], {}),  # regions, no speakers (the request's defaults)
    ([4, 2], {"as": "notes", "speakers": "auto"}),
    ([3, 4], {"as": "take-markers", "speakers": 3}),
])
def test_transcribe_action_asks_how_results_land_and_sends_the_request(world, menus, options):
    w = world(live=False)
    _heartbeat(w.spool)
    w.lua.answers["showmenu"] = list(menus)
    w.lua.run_file(action("Transcribe speech in selected items..."))
    request = parse_request(json.dumps(_written(w.spool)).encode())
    assert request.job == "speech" and request.handoff and request.items.guids == [ITEM]
    options = {"as": "regions", **options}
    assert request.options.model_dump(exclude_defaults=True) == options
    assert w.lua.messages == [] and not any(w.lua.answers.values())


def test_find_moves_the_cursor_to_the_next_match_and_wraps(world, tmp_path):
    w = world(live=False, project=_with_transcript(tmp_path / "t"))
    cursor = [0.0]
    w.lua.override("GetCursorPositionEx", lambda proj: cursor[0])
    w.lua.override("SetEditCurPos2", lambda proj, t, view, seek: cursor.__setitem__(0, t))
    found = []
    for _ in range(3):
        w.lua.answers["GetUserInputs"] = ["Your COUNTRY"]
        w.lua.run_file(action("Find in transcript..."))
        found.append(cursor[0])
    assert found == [1.5, 2.75, 1.5]  # region, then marker, then back to the first
    w.lua.answers["GetUserInputs"] = ["ask what"]  # a take marker (item at 0 s, source offset 0)
    w.lua.run_file(action("Find in transcript..."))
    assert cursor[0] == 1.0
    w.lua.answers["GetUserInputs"] = ["chorus"]  # the user's own region is not transcript
    w.lua.run_file(action("Find in transcript..."))
    assert w.lua.messages == ["'chorus' is not in the transcript"] and cursor[0] == 1.0


def test_export_writes_the_transcript_as_srt_in_project_time(world, tmp_path):
    w = world(live=False, project=_with_transcript(tmp_path / "t"))
    out = tmp_path / "show.srt"
    w.lua.answers["GetUserInputs"] = [str(out)]
    w.lua.run_file(action("Export transcript as SRT..."))
    assert out.read_text() == (
        "1\n00:00:00,250 --> 00:00:01,000\nS2: And so, my fellow Americans\n\n"
        "2\n00:00:01,000 --> 00:00:01,500\nask what\n\n"
        "3\n00:00:01,500 --> 00:00:02,500\nS1: Ask not what your country can do\n\n"
        "4\n00:00:02,000 --> 00:00:02,500\nwhat you can do\n\n"
        "5\n00:00:02,750 --> 00:00:07,750\nS1: for your country.\n")
    assert w.lua.messages == [f"wrote 5 subtitles to {out}"]


def test_no_transcript_yet_is_one_message(world):
    w = world(live=False)
    for title in ("Find in transcript...", "Export transcript as SRT..."):
        w.lua.run_file(action(title))
    assert w.lua.messages == ["this project has no transcript yet: run 'Transcribe speech in selected items' first"] * 2
