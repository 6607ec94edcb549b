"""The "Split selected item by speaker" REAPER action under Lua 5.4, against the stand-in."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bridge.project.project import Project
from bridge.requests import parse_request
from tests.test_actions import ITEM, ITEM2, _heartbeat, _written, action, two_items

TITLE = "Split selected item by speaker"


@pytest.mark.parametrize(("pick", "options"), [(1, {"split": True}), (3, {"split": True, "speakers": 3})])
def test_the_action_asks_for_the_count_and_sends_a_split_request(world, tmp_path, pick, options):
    project = two_items(tmp_path / "two")
    w = world(live=False, project=project, selected=(ITEM,))
    _heartbeat(w.spool)
    w.lua.answers["showmenu"] = [pick]
    w.lua.run_file(action(TITLE))
    request = parse_request(json.dumps(_written(w.spool)).encode())  # exactly the daemon's schema
    assert request.job == "speakers" and request.handoff
    assert request.options.model_dump(exclude_defaults=True) == options
    assert request.items.guids == [ITEM] and request.project.path == str(project)
    snapshot = Project.loads(Path(request.project.snapshot).read_text(), project)
    assert [t.name for t in snapshot.tracks] == ["Keys", "Amp"]
    assert w.lua.messages == [] and not any(w.lua.answers.values())


@pytest.mark.parametrize(("selected", "message"), [((), "select an item first"), ((ITEM, ITEM2), "select just one")])
def test_one_item_or_one_message(world, tmp_path, selected, message):
    w = world(live=False, project=two_items(tmp_path / "two"), selected=selected)
    _heartbeat(w.spool)
    w.lua.run_file(action(TITLE))
    assert len(w.lua.messages) == 1 and message in w.lua.messages[0]
    assert not (w.spool / "requests").exists() or not any((w.spool / "requests").glob("*.json"))


def test_cancelling_the_menu_sends_nothing(world, tmp_path):
    w = world(live=False, project=two_items(tmp_path / "two"), selected=(ITEM,))
    _heartbeat(w.spool)
    w.lua.answers["showmenu"] = [0]
    w.lua.run_file(action(TITLE))
    assert w.lua.messages == [] and not any((w.spool / "requests").glob("*.json"))
