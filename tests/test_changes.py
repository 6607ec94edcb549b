"""ChangeSets: plain data, JSON, and the chunk text the writer makes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bridge import rpp
from bridge.changes import (
    AddAudioTake,
    AddJsEffect,
    AddMarker,
    AddMidiItem,
    AddTrack,
    ChangeSet,
    ChangeSetError,
    ControlChange,
    Note,
    PitchBend,
    RemoveItem,
    RemoveJsEffect,
    RemoveMarker,
    RemoveTake,
    SetExtState,
    SetTempo,
    TempoChange,
)
from bridge.changes.chunks import PPQ, js_effect_lines, midi_item_chunk, track_chunk
from bridge.project.items import Item
from bridge.project.midi import pair_notes, read_events
from bridge.project.tempo import TempoMap, TempoPoint


def _full_changeset() -> ChangeSet:
    t = AddTrack('Gtr "DI" (MIDI)', after="{0000ABC0-0000-4000-8000-000000000000}")
    return ChangeSet("req-42", (
        t,
        AddMidiItem(t.guid, 1.5, 2.0, notes=(Note(0, 0.5, 60, 100),), pitch_bends=(PitchBend(0.1, -300),),
                    ccs=(ControlChange(0.0, 64, 127),)),
        AddAudioTake("{000017E4-0000-4000-8000-000000000000}", "/tmp/x.wav", "Amp"),
        RemoveTake("{000017E4-0000-4000-8000-000000000000}", "{0000CAFE-0000-4000-8000-000000000000}"),
        RemoveItem("{00001D00-0000-4000-8000-000000000000}"),
        RemoveMarker("{0000AAAA-0000-4000-8000-000000000000}"),
        RemoveJsEffect("master", "{0000BBBB-0000-4000-8000-000000000000}"),
        SetExtState("made.{0000CCCC-0000-4000-8000-000000000000}", "transcribe x - -"),
        AddJsEffect("master", "reabridge/master", {1: -14.0, 2: 0.5}),
        SetTempo(128.0, 3, 4, (TempoChange(0, 128), TempoChange(8, 140, True, 7, 8))),
        AddMarker(3.0, "Drop", end=5.0),
    ), "everything")


def test_changeset_round_trips_through_json():
    cs = _full_changeset()
    again = ChangeSet.from_json(cs.to_json())
    assert again == cs
    assert again.ops[8].sliders == {1: -14.0, 2: 0.5}


@pytest.mark.parametrize(
    ("payload", "words"),
    [
        ('{"id": "x", "ops": [{"op": "explode"}]}', "unknown kind"),
        ('{"id": "x", "ops": [{"op": "add_track", "nme": "a"}]}', "unknown field 'nme'"),
        ('{"id": "x", "ops": [{"op": "add_midi_item", "track": 0, "position": -1, "length": 1}]}', "non-negative"),
        ('{"id": "x", "ops": [{"op": "add_midi_item", "track": 0, "position": 0, "length": 1,'
         ' "notes": [{"start": 0, "end": 1, "pitch": 128}]}]}', "pitch"),
        ('{"id": "a b", "ops": []}', "id"),
        ('{"id": "x", "ops": [{"op": "add_track", "name": "a", "guid": "not-a-guid"}]}', "must be a GUID"),
        ('{"id": "x", "ops": [{"op": "add_audio_take", "item": "not-a-guid", "file": "a.wav"}]}', "must be a GUID"),
        ('{"id": "x", "ops": [{"op": "add_midi_item", "track": "master", "position": 0, "length": 1}]}',
         "track GUID, a 0-based track number"),
        ("not json", "not valid JSON"),
    ],
)
def test_bad_changesets_are_explained(payload, words):
    with pytest.raises(ChangeSetError, match=words):
        ChangeSet.from_json(payload)


def test_track_chunk_quotes_names_and_parses():
    text = track_chunk('Gtr "DI" it\'s', "{G}")
    chunk = rpp.loads(text)
    assert chunk.tag == "TRACK" and chunk.values("NAME") == ['Gtr "DI" it\'s']
    assert chunk.values("TRACKID") == ["{G}"]
    assert "NAME `Gtr \"DI\" it's`" in text


def _decode(text: str) -> tuple[int, list]:
    item = Item(rpp.loads(text), None, ())
    return read_events(item.active_take.source.chunk)


def test_midi_chunk_decodes_back_to_the_same_notes():
    tempo = TempoMap(120.0)
    notes = (Note(0.0, 0.5, 60, 100), Note(0.5, 1.0, 60, 90), Note(0.25, 1.75, 67, 64, channel=2))
    op = AddMidiItem(0, 10.0, 2.0, notes=notes, pitch_bends=(PitchBend(0.3, 4096), PitchBend(0.6, -8192)),
                     ccs=(ControlChange(0.0, 1, 33),))
    text = midi_item_chunk(op, tempo, 7)
    ppq, events = _decode(text)
    assert ppq == PPQ
    got = [(n.start, n.end, n.pitch, n.velocity, n.channel) for n in pair_notes(events)]
    assert got == [(0, 960, 60, 100, 0), (480, 3360, 67, 64, 2), (960, 1920, 60, 90, 0)]
    bends = [(e.tick, e.data) for e in events if e.data and e.data[0] & 0xF0 == 0xE0]
    assert bends == [(576, bytes((0xE0, 0x00, 0x60))), (1152, bytes((0xE0, 0x00, 0x00)))]
    assert events[0].data == bytes((0xB0, 1, 33))
    # the source ends with all-notes-off at the item's end: 2 s at 120 BPM = 4 QN
    assert events[-1].tick == 4 * PPQ and events[-1].data == bytes((0xB0, 0x7B, 0))
    # a repeated pitch: the note-off of the first comes before the note-on of the second
    at_960 = [e.data[0] & 0xF0 for e in events if e.tick == 960 and e.data[1] == 60]
    assert at_960 == [0x80, 0x90]
    assert "\n    E 0 b0 01 21\n" in text  # REAPER's form: key, delta, lower-case hex


def test_midi_ticks_follow_the_project_tempo_map():
    tempo = TempoMap(120.0, points=(TempoPoint(0, 120), TempoPoint(2.0, 60)))
    op = AddMidiItem(0, 1.0, 3.0, notes=(Note(0.0, 2.0, 60, 100),))  # item at 1 s, note to 3 s
    _ppq, events = _decode(midi_item_chunk(op, tempo, 1))
    (note,) = pair_notes(events)
    # 1 s..2 s at 120 BPM = 2 QN, 2 s..3 s at 60 BPM = 1 QN
    assert (note.start, note.end) == (0, 3 * PPQ)


@given(st.lists(st.tuples(st.floats(0, 5), st.floats(0.01, 2), st.integers(0, 127), st.integers(1, 127)),
                max_size=30))
def test_any_notes_survive_the_writer(raw):
    tempo = TempoMap(97.0)
    notes = tuple(Note(s, s + d, p, v) for s, d, p, v in raw)
    _ppq, events = _decode(midi_item_chunk(AddMidiItem(0, 3.0, 8.0, notes=notes), tempo, 1))
    got = sorted((n.pitch, n.velocity) for n in pair_notes(events))
    assert got == sorted((n.pitch, n.velocity) for n in notes)
    for n in pair_notes(events):
        assert n.end > n.start


def test_js_effect_lines_have_slider_values_and_ids():
    text = js_effect_lines(AddJsEffect(0, "reabridge/master chain", {1: -14.0, 3: 0.25}, name="Master"))
    nodes = rpp.loads_nodes(text)
    assert nodes[0].raw == "BYPASS 0 0 0"
    js = nodes[1]
    assert js.tag == "JS" and js.params == ["reabridge/master chain", "Master"]
    values = js.children[0].tokens
    assert len(values) == 64 and values[:4] == ["-14", "-", "0.25", "-"]
    assert [n.key for n in nodes[2:]] == ["FLOATPOS", "FXID", "WAK"]


def test_jsfx_path_cannot_inject_lines():
    with pytest.raises(ChangeSetError):
        AddJsEffect(0, 'x"\n>\n<EVIL')
