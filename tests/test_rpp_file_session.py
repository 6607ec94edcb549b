"""The offline session: atomic, backed up, idempotent, lossless."""

from __future__ import annotations

import difflib

import pytest
from conftest import RPP_FILES, corpus_rpp

from bridge import rpp
from bridge.changes import (
    AddAudioItem,
    AddAudioTake,
    AddJsEffect,
    AddMarker,
    AddMidiItem,
    AddTrack,
    ChangeSet,
    ChangeSetError,
    Note,
    SetTempo,
    TempoChange,
)
from bridge.project import Project
from bridge.session import RppFileSession, backup_path


def _ops_for(session: RppFileSession, media) -> ChangeSet:
    tracks = session.project.tracks
    t = AddTrack("reabridge (MIDI)", after=tracks[0].guid if tracks else None)
    ops = [
        t,
        AddMidiItem(t.guid, 2.0, 4.0, notes=(Note(0, 1, 60, 100), Note(1, 2, 62, 80)), name="notes"),
        AddAudioItem(t.guid, str(media), 8.0, 1.0),
        AddJsEffect("master", "reabridge/master", {1: -14}),
        AddJsEffect(t.guid, "reabridge/tone", {2: 0.5}),
        AddMarker(1.0, "Intro"),
        AddMarker(2.0, "Verse", end=6.0),
    ]
    items = session.items()
    if items:
        ops.append(AddAudioTake(items[0][1].guid, str(media), "Amp"))
    return ChangeSet("corpus-test", tuple(ops))


def _only_insertions(before: str, after: str) -> list[str]:
    """Lines the edit replaced or deleted (insertions are expected)."""
    sm = difflib.SequenceMatcher(a=before.splitlines(True), b=after.splitlines(True), autojunk=False)
    return [tag for tag, *_ in sm.get_opcodes() if tag in ("replace", "delete")]


@pytest.mark.parametrize("path", RPP_FILES, ids=lambda p: p.name)
def test_apply_to_every_corpus_project(path, project_copy, tmp_path):
    target = project_copy(path.name)
    media = tmp_path / "render.wav"
    media.write_bytes(b"RIFF")
    before = target.read_bytes()
    session = RppFileSession(target)
    had_tracks = bool(session.project.tracks)
    first_item = session.items()[0][1].guid if session.items() else None
    changes = _ops_for(session, media)
    assert session.apply(changes).applied
    after = target.read_bytes()
    assert backup_path(target).read_bytes() == before
    # untouched lines stay byte-identical: the edit only inserts lines, plus the one
    # line that moves a folder end or the active-take marker where that applies
    replaced = _only_insertions(before.decode(), after.decode())
    assert len(replaced) <= 2
    # the result parses and holds what was asked
    p = Project.load(target)
    assert rpp.dumps(p.root).encode() == after
    new = p.find_track(changes.ops[0].guid)
    assert new.name == "reabridge (MIDI)"
    assert new.index == (1 if had_tracks else 0)  # directly below the first track
    midi, audio = new.items
    assert [(n.pitch, n.velocity) for n in midi.active_take.source.notes()] == [(60, 100), (62, 80)]
    assert audio.active_take.source.resolve().exists
    assert [f.ident for f in new.fx] == ["reabridge/tone"]
    assert p.master_fx[-1].ident == "reabridge/master"
    assert {(m.name, m.end) for m in p.markers} >= {("Intro", None), ("Verse", 6.0)}
    if first_item is not None:
        _, item = p.find_item(first_item)
        assert item.active_take.name == "Amp"
        assert sum(t.active for t in item.takes) == 1
    # CRLF files stay CRLF: no bare LF sneaks in
    if b"\r\n" in before:
        assert after.count(b"\n") == after.count(b"\r\n")


def test_same_changeset_twice_is_a_no_op(project_copy):
    target = project_copy("ZoeB__midi-tools__test.RPP")
    session = RppFileSession(target)
    changes = ChangeSet("once", (AddTrack("New"),))
    assert session.apply(changes).applied
    first = target.read_bytes()
    result = RppFileSession(target).apply(changes)
    assert not result.applied
    assert target.read_bytes() == first
    assert Project.load(target).tracks[-1].name == "New"
    assert len(Project.load(target).tracks) == 2
    assert "once" in RppFileSession(target).applied()


def test_failed_changeset_writes_nothing(project_copy):
    target = project_copy("ZoeB__midi-tools__test.RPP")
    before = target.read_bytes()
    gone = "{00000000-0000-4000-8000-00000000DEAD}"
    changes = ChangeSet("bad", (AddTrack("ok"), AddAudioTake(gone, str(target), "x")))
    with pytest.raises(ChangeSetError, match="step 2"):
        RppFileSession(target).apply(changes)
    assert target.read_bytes() == before
    assert not backup_path(target).exists()
    assert sorted(p.name for p in target.parent.iterdir()) == [target.name]


def test_missing_media_is_refused(project_copy):
    target = project_copy("ZoeB__midi-tools__test.RPP")
    item = Project.load(target).items()[0][1]
    with pytest.raises(ChangeSetError, match="does not exist"):
        RppFileSession(target).apply(ChangeSet("m", (AddAudioTake(item.guid, "/no/such.wav"),)))


def test_track_added_after_the_last_track_of_a_folder_stays_in_it(project_copy):
    target = project_copy("gman-testspace.rpp")
    before = Project.load(target)
    last_keys = next(t for t in before.tracks if t.name == "keys-accents-R")
    assert last_keys.folder_delta == -1
    RppFileSession(target).apply(ChangeSet("f", (AddTrack("keys (MIDI)", after=last_keys.guid),)))
    after = Project.load(target)
    names = [t.name for t in after.tracks]
    i = names.index("keys (MIDI)")
    assert names[i - 1] == "keys-accents-R"
    assert after.tracks[i].depth == 2
    assert after.tracks[i + 1].name == "Guitar Master Bus" and after.tracks[i + 1].depth == 1
    assert [t.depth for t in after.tracks if t.name != "keys (MIDI)"] == [t.depth for t in before.tracks]


def test_tempo_map_is_written(project_copy):
    target = project_copy("Perlence__rpp__empty.RPP")
    RppFileSession(target).apply(ChangeSet("t", (SetTempo(
        90.0, 6, 8, (TempoChange(0, 90), TempoChange(4.0, 120, linear=True), TempoChange(8.0, 100, False, 7, 8))),)))
    tm = Project.load(target).tempo_map
    assert (tm.bpm, tm.numerator, tm.denominator) == (90.0, 6, 8)
    assert [(p.time, p.bpm, p.linear, p.numerator) for p in tm.points] == [
        (0.0, 90.0, False, None), (4.0, 120.0, True, None), (8.0, 100.0, False, 7)]
    text = target.read_bytes().decode()
    assert "  TEMPO 90 6 8\r\n" in text and "    PT 8 100 1 524295\r\n" in text


def test_a_failed_write_leaves_the_project_and_no_temp_files(project_copy, monkeypatch):
    target = project_copy("ZoeB__midi-tools__test.RPP")
    before = target.read_bytes()
    import bridge.rpp.parse as parse

    real_replace = parse.os.replace

    def disk_full(src, dst):
        if str(dst) == str(target):
            raise OSError(28, "No space left on device")
        return real_replace(src, dst)

    monkeypatch.setattr(parse.os, "replace", disk_full)
    with pytest.raises(OSError, match="No space"):
        RppFileSession(target).apply(ChangeSet("full", (AddTrack("x"),)))
    assert target.read_bytes() == before
    # the backup written just before is taken back too: the folder is as it was
    assert sorted(p.name for p in target.parent.iterdir()) == [target.name]


def test_corpus_file_is_never_touched():
    path = corpus_rpp("Perlence__rpp__vst.RPP")
    before = path.read_bytes()
    Project.load(path).summary()
    assert path.read_bytes() == before
