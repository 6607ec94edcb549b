"""The "Split selected item into vocals and accompaniment" REAPER action under Lua 5.4, against the stand-in."""

from __future__ import annotations

import json

from bridge.requests import parse_request
from tests.test_actions import ITEM, ITEM2, _heartbeat, _written, action, two_items

TITLE = "Split selected item into vocals and accompaniment"


def test_the_action_sends_a_stems_request_for_the_selected_items(world, tmp_path):
    project = two_items(tmp_path / "two")
    w = world(live=False, project=project, selected=(ITEM, ITEM2))
    _heartbeat(w.spool)
    w.lua.run_file(action(TITLE))
    request = parse_request(json.dumps(_written(w.spool)).encode())  # exactly the daemon's schema
    assert request.job == "stems" and request.handoff
    assert request.options.model_dump(exclude_defaults=True) == {}
    assert request.items.guids == [ITEM, ITEM2] and request.project.path == str(project)
    assert w.lua.messages == []


def test_nothing_selected_is_one_message_and_no_request(world, tmp_path):
    w = world(live=False, project=two_items(tmp_path / "two"), selected=())
    _heartbeat(w.spool)
    w.lua.run_file(action(TITLE))
    assert len(w.lua.messages) == 1 and "select an item first" in w.lua.messages[0]
    assert not (w.spool / "requests").exists() or not any((w.spool / "requests").glob("*.json"))
