"""The REAPER action 'Tune selected items...' under Lua 5.4 against the stand-in: its menu, dialogs and requests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_actions import ITEM, ITEM2, _heartbeat, _nothing_sent, _written, action, two_items

from bridge.changes import AddMarker, AddMidiItem, ChangeSet
from bridge.changes.ops import Note
from bridge.requests import parse_request
from bridge.session import RppFileSession

TITLE = "Tune selected items..."
MIDI = "{00000000-0000-4000-8000-0000000000D7}"
KEYS_TRACK = "{00000000-0000-4000-8000-00000000000A}"
#: the menu without a project key or a MIDI item: chromatic, 12 major keys, 12 minor keys, "Other key or scale..."
A_MINOR, OTHER = 1 + 12 + 10, 1 + 12 + 12 + 1



def _project(tmp_path: Path, *, marker: str | None = None, midi: bool = False) -> Path:
    project = two_items(tmp_path / "two")
    ops: list = []
    if marker:
        ops.append(AddMarker(0.0, marker, guid="{00000000-0000-4000-8000-0000000000D8}"))
    if midi:
        ops.append(AddMidiItem(KEYS_TRACK, 0.0, 2.0, (Note(0.0, 1.0, 64),), name="Melody", guid=MIDI))
    if ops:
        RppFileSession(project).apply(ChangeSet("more", tuple(ops), created="2026-01-01T00:00:00Z"))
        project.with_name(project.name + "-bak").unlink()
    return project


def _press(w, answers: dict) -> dict | None:
    _heartbeat(w.spool)
    w.lua.answers.update({k: list(v) for k, v in answers.items()})
    w.lua.run_file(action(TITLE))
    assert not any(w.lua.answers.values()), "the action did not ask everything the test expected"
    if _nothing_sent(w):
        return None
    data = _written(w.spool)
    request = parse_request(json.dumps(data).encode())  # exactly the daemon's schema
    assert request.job == "tune" and request.handoff
    return {"options": request.options.model_dump(exclude_defaults=True),
            "items": request.items.guids if request.items else None}


@pytest.mark.parametrize(("marker", "midi", "selected", "answers", "options"), [
    (None, False, (ITEM,), {"showmenu": [A_MINOR], "GetUserInputs": ["0,n"]}, {"key": "A minor", "speed": 0.0}),
    (None, False, (ITEM, ITEM2), {"showmenu": [1], "GetUserInputs": ["35,y"]},
     {"scale": "chromatic", "speed": 35.0, "keep_vibrato": True}),
    ("Key: F#m", False, (ITEM,), {"showmenu": [1], "GetUserInputs": ["50,y"]}, {"key": "F#m", "keep_vibrato": True}),
    (None, False, (ITEM,), {"showmenu": [OTHER], "GetUserInputs": ["Bb dorian", "20,n"]},
     {"key": "Bb dorian", "speed": 20.0}),
    (None, True, (ITEM, MIDI), {"showmenu": [1], "GetUserInputs": ["0,y"]},
     {"guide_item": MIDI, "speed": 0.0, "keep_vibrato": True}),
])
def test_the_menu_and_dialog_make_the_request(world, tmp_path, marker, midi, selected, answers, options):
    w = world(live=False, project=_project(tmp_path, marker=marker, midi=midi), selected=selected)
    sent = _press(w, answers)
    assert sent == {"options": options, "items": [g for g in selected if g != MIDI]}
    assert w.lua.messages == []


@pytest.mark.parametrize(("midi", "selected", "answers", "message"), [
    (False, (ITEM,), {"showmenu": [1], "GetUserInputs": ["fast,y"]}, "retune speed: 'fast' is not a number"),
    (False, (ITEM,), {"showmenu": [1], "GetUserInputs": ["5000,y"]}, "retune speed: 5000 is outside 0 to 2000"),
    (False, (ITEM,), {"showmenu": [1], "GetUserInputs": ["0,maybe"]}, "keep vibrato: answer y or n, not 'maybe'"),
    (True, (MIDI,), {}, "select the audio items to tune (a MIDI item selected with them is the melody to follow)"),
    (False, (), {}, "select an item first"),
])
def test_mistakes_get_one_message_and_send_nothing(world, tmp_path, midi, selected, answers, message):
    w = world(live=False, project=_project(tmp_path, midi=midi), selected=selected)
    assert _press(w, answers) is None
    assert w.lua.messages == [message]


@pytest.mark.parametrize("answers", [{"showmenu": [0]}, {"showmenu": [1], "GetUserInputs": [None]},
                                     {"showmenu": [OTHER], "GetUserInputs": [None]}])
def test_cancelling_the_menu_or_a_dialog_does_nothing(world, tmp_path, answers):
    w = world(live=False, project=_project(tmp_path))
    assert _press(w, answers) is None and w.lua.messages == []
