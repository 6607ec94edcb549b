"""The "Clean up selected items..." REAPER action under Lua 5.4, against the stand-in."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bridge.requests import parse_request
from tests.test_actions import ITEM, ITEM2, _heartbeat, _written, action, two_items

TITLE = "Clean up selected items..."


def test_the_dialog_becomes_a_clean_request_for_every_selected_item(world, tmp_path):
    w = world(live=False, project=two_items(tmp_path / "two"), selected=(ITEM, ITEM2))
    _heartbeat(w.spool)
    w.lua.answers["GetUserInputs"] = ["voice,auto,yes,yes,0.7,-16,no"]
    w.lua.run_file(action(TITLE))
    request = parse_request(json.dumps(_written(w.spool)).encode())  # exactly the daemon's schema
    assert request.job == "clean" and request.handoff and request.items.guids == [ITEM, ITEM2]
    assert request.options.model_dump(exclude_defaults=True) == {"dereverb": True, "strength": 0.7, "loudness": -16.0}
    assert w.lua.messages == [] and not any(w.lua.answers.values())


def test_preview_plays_the_first_ten_seconds_then_asks_before_cleaning_all(world, tmp_path):
    w = world(live=False, project=two_items(tmp_path / "two"), selected=(ITEM, ITEM2))
    _heartbeat(w.spool)
    played: list[tuple[str, bool]] = []
    w.lua.override("OpenMediaExplorer", lambda path, play: played.append((path, play)) or True)
    w.lua.pin("clean-p")
    w.lua.answers["GetUserInputs"] = ["broadband,off,no,no,0.5,,yes"]
    w.lua.answers["ShowMessageBox"] = [6]  # yes, clean them all like this
    w.lua.run_file(action(TITLE))
    first = parse_request(json.dumps(_written(w.spool)).encode())
    preview = str(w.resource / "reabridge" / "clean-preview.wav")
    assert first.items.guids == [ITEM] and first.options.model_dump(exclude_defaults=True) == {
        "denoise": "broadband", "dehum": "off", "declick": False, "preview": 10.0, "overwrite": True, "output": preview}
    (w.spool / "status").mkdir(parents=True, exist_ok=True)
    (w.spool / "status" / "clean-p.json").write_text(json.dumps(
        {"id": "clean-p", "job": "clean", "state": "done", "result": {"summary": "preview", "data": {}}}))
    w.lua.run(timeout=60, until=lambda: any((w.spool / "requests").glob("*.json")))
    second = parse_request(json.dumps(_written(w.spool)).encode())
    assert played == [(preview, True)]
    assert second.id == "clean-p-2" and second.items.guids == [ITEM, ITEM2]
    assert second.options.model_dump(exclude_defaults=True) == {"denoise": "broadband", "dehum": "off",
                                                                "declick": False}
    assert "Clean up the 2 selected item(s) like this?" in w.lua.messages[-1]


@pytest.mark.parametrize(("answer", "message"), [
    ("voice,auto,maybe,no,0.5,,no", "de-click: 'maybe' is not yes or no"),
    ("voice,auto,yes,no,2,,no", "strength: 2 is outside 0 to 1"),
    ("loud,auto,yes,no,0.5,,no", "denoise: 'loud' is not voice, broadband or off"),
    ("voice,55,yes,no,0.5,,no", "de-hum: '55' is not auto, 50, 60 or off"),
])
def test_mistakes_get_one_message_and_send_nothing(world, tmp_path, answer, message):
    w = world(live=False, project=two_items(tmp_path / "two"), selected=(ITEM,))
    _heartbeat(w.spool)
    w.lua.answers["GetUserInputs"] = [answer]
    w.lua.run_file(action(TITLE))
    assert w.lua.messages == [message]
    assert not (w.spool / "requests").exists() or not any((w.spool / "requests").glob("*.json"))


def test_cancelling_or_nothing_selected_sends_nothing(world, tmp_path):
    w = world(live=False, project=two_items(tmp_path / "two"), selected=())
    _heartbeat(w.spool)
    w.lua.run_file(action(TITLE))
    assert w.lua.messages == ["select an item first"]
    w2 = world(live=False, project=two_items(tmp_path / "three"), selected=(ITEM,))
    _heartbeat(w2.spool)
    w2.lua.answers["GetUserInputs"] = [None]
    w2.lua.run_file(action(TITLE))
    assert w2.lua.messages == [] and not any(Path(w2.spool / "requests").glob("*.json"))
