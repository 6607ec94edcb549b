"""The library's REAPER actions under Lua 5.4 against the stand-in: the requests they send, and what they do
with the answer (a message, the projects listed, a similar sound inserted at the edit cursor)."""

from __future__ import annotations

import json

import pytest

from bridge.project.project import Project
from bridge.requests import parse_request
from tests.test_actions import ITEM, World, _heartbeat, _written, action


def _finish(w: World, rid: str, result: dict) -> None:
    """The daemon's status for the request: done, with this result."""
    (w.spool / "status").mkdir(parents=True, exist_ok=True)
    (w.spool / "status" / f"{rid}.json").write_text(json.dumps(
        {"id": rid, "job": "library_find", "state": "done", "result": result}))
    w.lua.run(timeout=60)


@pytest.mark.parametrize(("title", "options"), [
    ("Identify selected item in library", {}),
    ("Find projects using the selected item's source", {"mode": "projects"}),
    ("Find similar sounds to the selected item", {"mode": "similar", "top": 10}),
])
def test_library_actions_send_a_request_the_daemon_accepts(world, title, options):
    w = world(live=False)
    _heartbeat(w.spool)
    w.lua.pin("lib-a")
    w.lua.run_file(action(title))
    request = parse_request(json.dumps(_written(w.spool)).encode())
    assert request.job == "library_find" and request.handoff and request.id == "lib-a"
    assert request.options.model_dump(exclude_defaults=True) == options
    assert request.items.guids == [ITEM]


def test_identify_shows_the_answer(world):
    w = world(live=False)
    _heartbeat(w.spool)
    w.lua.pin("lib-b")
    w.lua.run_file(action("Identify selected item in library"))
    _written(w.spool)
    _finish(w, "lib-b", {"summary": "1 of 1 item(s) found in the library",
                         "done": ["item 'keys' at 0.00 s on track 'Keys': from /lib/take3.wav at 1:23.4"]})
    assert w.lua.messages == ["item 'keys' at 0.00 s on track 'Keys': from /lib/take3.wav at 1:23.4"]


def test_projects_are_listed_or_none_said_plainly(world):
    w = world(live=False)
    _heartbeat(w.spool)
    for rid, matches, shown in [
        ("lib-c", [{"project": "/songs/a.RPP", "media": "/lib/kick.wav", "how": "same file"}],
         "/songs/a.RPP\n    /lib/kick.wav (same file)"),
        ("lib-d", [], "no indexed project uses this item's source"),
    ]:
        w.lua.pin(rid)
        w.lua.run_file(action("Find projects using the selected item's source"))
        _written(w.spool)
        _finish(w, rid, {"summary": "", "data": {"matches": matches}})
        assert w.lua.messages[-1] == shown


def test_similar_lists_the_sounds_and_inserts_the_pick_at_the_edit_cursor(world, tmp_path):
    w = world(live=False)
    _heartbeat(w.spool)
    w.lua.override("GetCursorPositionEx", lambda proj: 2.5)
    w.lua.override("GetSelectedTrack", lambda proj, idx: w.fake.module().RPR_GetTrack(proj, 0))
    w.lua.override("UpdateArrange", lambda: None)
    w.lua.pin("lib-e")
    w.lua.run_file(action("Find similar sounds to the selected item"))
    _written(w.spool)
    matches = [{"file": "/kit/kick1.wav", "offset": 0.0, "score": 0.99, "duration": 0.4},
               {"file": "/kit/kick|2.wav", "offset": 0.0, "score": 0.97, "duration": 0.5}]
    w.lua.answers["showmenu"] = [2]
    _finish(w, "lib-e", {"summary": "", "data": {"matches": matches}})
    assert w.lua.drawn[-1] == "kick1.wav  (0.99)|kick/2.wav  (0.97)"
    assert w.lua.messages == []
    items = [(i.position, i.length, i.active_take.source.file) for _, i in Project.loads(w.fake.text()).items()]
    assert (2.5, 0.5, "/kit/kick|2.wav") in items
    assert "Undo_EndBlock2" in w.lua.calls


def test_nothing_similar_is_said_plainly(world):
    w = world(live=False)
    _heartbeat(w.spool)
    w.lua.pin("lib-f")
    w.lua.run_file(action("Find similar sounds to the selected item"))
    _written(w.spool)
    _finish(w, "lib-f", {"summary": "", "data": {"matches": []}})
    assert w.lua.messages == ["nothing similar in the library"]
