"""Operations on existing items (copies, mute, notes, take markers) and empty items with notes.

Each one is applied three ways -- spliced into the ``.RPP`` offline, sent to REAPER's Python (the
server script in the stand-in), and applied by the Lua library as a handed-off result -- and the
three projects must be the same, byte for byte.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from daemon_helpers import song

from bridge.changes import ChangeSet
from bridge.changes.ops import (
    AddItemCopy,
    AddNotesItem,
    AddTakeMarker,
    AddTrack,
    ChangeSetError,
    RemoveTakeMarker,
    SetItemMute,
    SetItemNotes,
)
from bridge.project import Project
from bridge.session.handoff import handoff_document
from bridge.session.live import LiveSession, ReaperLink
from bridge.session.rpp_file import RppFileSession
from tests.standin.host import StandIn
from tests.standin.lua import LuaReaper

ITEM = "{00000000-0000-4000-8000-0000000000B1}"
KEYS = "{00000000-0000-4000-8000-00000000000A}"
NEW_TRACK = "{00000000-0000-4000-8000-0000000000C1}"
COPY = "{00000000-0000-4000-8000-0000000000C2}"
NOTES = "{00000000-0000-4000-8000-0000000000C3}"
SCRIPTS = Path(__file__).resolve().parents[1] / "reaper_scripts"
FAST = 0.005


def _first() -> ChangeSet:
    return ChangeSet("items-1", (
        AddTrack("S1", after=KEYS, guid=NEW_TRACK),
        AddItemCopy(ITEM, NEW_TRACK, 1.0, 0.75, offset=1.0, fade_in=0.01, fade_out=0.02, name="S1 turn",
                    guid=COPY),
        AddNotesItem(NEW_TRACK, 2.0, 0.5, "Hello, \"world\"\nsecond line | with a bar", guid=NOTES),
        SetItemMute(ITEM, True),
        SetItemNotes(ITEM, "from take 3 at 0:01.2"),
        AddTakeMarker(ITEM, 1.25, "later words"),
        AddTakeMarker(ITEM, 0.5, "first words"),
        AddTakeMarker(ITEM, 0.75, "S2: in between", color=0x1FF0000),
    ), "items", "2026-11-26T10:00:00Z")


def _second() -> ChangeSet:
    return ChangeSet("items-2", (
        RemoveTakeMarker(ITEM, 0.75, "S2: in between"),
        RemoveTakeMarker(ITEM, 9.0, "never there"),
        SetItemNotes(ITEM, ""),
        SetItemMute(ITEM, False),
    ), "items again", "2026-11-26T10:00:01Z")


def _copy(project: Path, where: Path) -> Path:
    where.mkdir()
    shutil.copytree(project.parent / "Media", where / "Media")
    return Path(shutil.copy(project, where / project.name))


def test_offline_result_reads_back(tmp_path):
    project, _ = song(tmp_path / "song", seconds=3.0)
    session = RppFileSession(project)
    assert session.apply(_first()).applied
    p = Project.load(project)
    _, item = p.find_item(ITEM)
    assert item.mute and item.notes == "from take 3 at 0:01.2"
    assert item.active_take.markers == [(0.5, "first words"), (0.75, "S2: in between"), (1.25, "later words")]
    track = p.find_track("S1")
    copy, notes = track.items
    assert (copy.guid, copy.position, copy.length, copy.fade_in, copy.fade_out) == (COPY, 1.0, 0.75, 0.01, 0.02)
    assert copy.active_take.start_offset == pytest.approx(1.0) and copy.active_take.name == "S1 turn"
    assert copy.active_take.guid != item.active_take.guid and not copy.selected and not copy.mute
    assert copy.active_take.source.file == item.active_take.source.file
    assert notes.takes == [] and notes.notes == "Hello, \"world\"\nsecond line | with a bar"
    text = project.read_text()
    assert '      TKM 0.5 "first words" 0\n' in text and "      <NOTES\n        |Hello" in text
    assert RppFileSession(project).apply(_second()).applied
    _, item = Project.load(project).find_item(ITEM)
    assert not item.mute and item.notes == "" and "<NOTES" not in _item_text(project, ITEM)
    assert item.active_take.markers == [(0.5, "first words"), (1.25, "later words")]


def _item_text(project: Path, guid: str) -> str:
    from bridge import rpp
    from bridge.changes.splice import find_item_chunk

    return rpp.dumps(find_item_chunk(rpp.load(project), guid))


def test_a_copy_follows_the_play_rate_and_refuses_stretch_markers(tmp_path):
    project, _ = song(tmp_path / "song", seconds=3.0)
    text = project.read_text().replace("PLAYRATE 1 1 0 -1 0 0.0025", "PLAYRATE 2 0 0 -1 0 0.0025", 1)
    project.write_text(text)
    RppFileSession(project).apply(ChangeSet("rate", (AddItemCopy(ITEM, KEYS, 0.0, 0.5, offset=0.5, guid=COPY),),
                                            created="2026-11-26T10:00:00Z"))
    _, copy = Project.load(project).find_item(COPY)
    assert copy.active_take.start_offset == pytest.approx(1.0)  # half a second of item at rate 2
    project.write_text(text.replace("    GUID ", "    SM 0 0 + 1 1\n    GUID ", 1))
    with pytest.raises(ChangeSetError, match="stretch markers"):
        RppFileSession(project).apply(ChangeSet("sm", (AddItemCopy(ITEM, KEYS, 0.0, 0.5, guid=COPY),),
                                                created="2026-11-26T10:00:00Z"))


@pytest.mark.parametrize("op, words", [
    (lambda: AddNotesItem(KEYS, 0.0, 1.0, "   "), "needs some text"),
    (lambda: AddTakeMarker(ITEM, 1.0, "two\nlines"), "line break"),
    (lambda: SetItemNotes(ITEM, "nul\x00"), "NUL"),
    (lambda: AddItemCopy(ITEM, KEYS, 0.0, 0.0), "positive"),
])
def test_bad_operations_are_explained(op, words):
    with pytest.raises(ChangeSetError, match=words):
        op()


def test_marking_an_empty_item_or_a_missing_item_is_refused(tmp_path):
    project, _ = song(tmp_path / "song", seconds=3.0)
    before = project.read_bytes()
    with pytest.raises(ChangeSetError, match="no take"):
        RppFileSession(project).apply(ChangeSet("empty", (
            AddNotesItem(KEYS, 5.0, 1.0, "words", guid=NOTES), AddTakeMarker(NOTES, 0.0, "x")),
            created="2026-11-26T10:00:00Z"))
    with pytest.raises(ChangeSetError, match="no item with GUID"):
        RppFileSession(project).apply(ChangeSet("gone", (SetItemMute(COPY, True),), created="2026-11-26T10:00:00Z"))
    assert project.read_bytes() == before


def test_live_offline_and_lua_give_the_same_project(tmp_path):
    project, _ = song(tmp_path / "live", seconds=3.0)
    offline = _copy(project, tmp_path / "offline")
    by_lua = _copy(project, tmp_path / "lua")
    for changes in (_first(), _second()):
        assert RppFileSession(offline).apply(changes).applied

    resource = tmp_path / "R"
    stand_in = StandIn(project, resource, FAST).start()
    try:
        for changes in (_first(), _second()):
            session = LiveSession(ReaperLink.connect(resource), {"path": str(project)}, "reabridge: Test")
            assert session.apply(changes).applied
        assert stand_in.reaper.undo_names == ["reabridge: Test", "reabridge: Test"]
    finally:
        stand_in.stop(save=True)

    stand_in = StandIn(by_lua, tmp_path / "R2", FAST)
    stand_in.load_script()
    try:
        lua = LuaReaper(stand_in.reaper)
        rb = lua.lua.globals().dofile(str(SCRIPTS / "reabridge_lib.lua"))
        for changes in (_first(), _second()):
            doc = handoff_document(changes, Project.loads(stand_in.reaper.text(), by_lua), {"path": str(by_lua)},
                                   "reabridge: Test")
            assert rb.apply(rb.json_decode(json.dumps(doc))) is True  # as the action reads a status file
        stand_in.reaper.save()
    finally:
        stand_in.stop(save=False)
    want = offline.read_text().replace(str(offline.parent), "")
    assert project.read_text().replace(str(project.parent), "") == want
    assert by_lua.read_text().replace(str(by_lua.parent), "") == want

