"""The read side: facts counted by hand in real projects."""

from __future__ import annotations

import math

import pytest
from conftest import RPP_FILES, corpus_rpp

from bridge.project import Project


def test_perlence_vst_project():
    p = Project.load(corpus_rpp("Perlence__rpp__vst.RPP"))
    assert p.version == "5.50c"
    assert p.sample_rate == 44100
    names = [t.name for t in p.tracks]
    assert names[:4] == ["5.50", "Synth", "|Beep Boop", "Boop"]
    assert names[4].startswith("0123456789 abc") and names[4].endswith("^_'{|}~")  # backtick-quoted
    assert names[5:] == ['"hey', 'hey"', "<", ">", "<>"]
    assert [t.depth for t in p.tracks][:5] == [0, 0, 0, 1, 0]
    assert p.tracks[2].is_folder
    assert [(f.kind, f.name) for f in p.tracks[0].fx] == [("VST", "ReaComp (Cockos)")]
    assert [(f.kind, f.ident) for f in p.tracks[3].fx] == [("JS", "loser/3BandEQ")]
    # marker 1 at 2 s, region 1 from 4 s to 6 s
    assert [(m.number, m.position, m.end) for m in p.markers] == [(1, 2.0, None), (1, 4.0, 6.0)]
    item = p.tracks[0].items[0]
    assert (item.position, item.length, item.name) == (0.0, 2.0, "Track untitled MIDI item")
    ppq, events = item.active_take.source.midi()
    assert ppq == 960
    notes = item.active_take.source.notes()
    assert [(n.start, n.end, n.pitch, n.velocity) for n in notes] == [
        (0, 960, 60, 10), (960, 1920, 62, 6), (1920, 2880, 64, 96), (2880, 3840, 65, 96)
    ]
    assert [e.selected for e in events[:4]] == [False, False, True, True]
    assert events[-1].tick == 3840 and events[-1].data == bytes((0xB0, 0x7B, 0))


def test_zoeb_midi_with_sysex_and_tempo_envelope():
    p = Project.load(corpus_rpp("ZoeB__midi-tools__test.RPP"))
    tm = p.tempo_map
    assert (tm.bpm, tm.numerator, tm.denominator) == (120.0, 4, 4)
    assert [(pt.time, pt.bpm) for pt in tm.points] == [(0.0, 100.0)]
    assert math.isclose(tm.qn_at(6.0), 10.0)  # the envelope's 100 BPM rules
    (_track, item), = p.selected_items()
    assert item.selected and item.length == 4.8
    _ppq, events = item.active_take.source.midi()
    sysex = [e for e in events if e.sysex]
    # <X 0>, <X 0>, e 720, E 240, E 0 (on), <X 7>, E 233, E 0 (off), <X 240>, E 6240 (end)
    assert [e.tick for e in sysex] == [0, 0, 967, 1440]
    notes = item.active_take.source.notes()
    assert [(n.start, n.end, n.pitch, n.velocity) for n in notes] == [(960, 1200, 48, 96)]
    assert events[-1].tick == 7680  # 4.8 s at 100 BPM = 8 quarter notes of 960 ticks


def test_test_track_project_tempo_fx_and_media():
    p = Project.load(corpus_rpp("exvertus__reaper-projects__test_track.rpp"))
    assert p.tempo_map.bpm == 64.0
    assert len(p.tracks) == 4
    assert sum(len(t.items) for t in p.tracks) == 101
    assert ("JS", "loser/masterLimiter") in {(f.kind, f.ident) for f in p.master_fx} | {
        (f.kind, f.ident) for t in p.tracks for f in t.fx}
    flac = [tk for _, i in p.items() for tk in i.takes if tk.source and tk.source.type == "FLAC"]
    assert len(flac) == 57
    # the media is not shipped with the corpus: every FLAC is reported missing
    assert all(tk.source.resolve().exists is False for tk in flac)


def test_time_signature_and_plugin_kinds():
    assert Project.load(corpus_rpp("Journeys_Juxtaposed.rpp")).tempo_map.numerator == 7
    assert Project.load(corpus_rpp("Journeys_Juxtaposed.rpp")).tempo_map.denominator == 8
    p = Project.load(corpus_rpp("jettisoned_stepstones.rpp"))
    kinds = {(f.kind, f.name) for t in p.tracks for f in t.fx}
    assert ("CLAPi", "Surge XT (Surge Synth Team)") in kinds
    assert ("VST3", "CHOWTapeModel (chowdsp)") in kinds
    assert len(p.tracks) == 38
    assert sum(t.is_folder for t in p.tracks) == 4


def test_folder_depths_in_a_nested_project():
    p = Project.load(corpus_rpp("gman-testspace.rpp"))
    depth = {t.name: t.depth for t in p.tracks}
    assert depth["MAIN MASTER"] == 0
    assert depth["keys"] == 1
    assert depth["keys-center-wall"] == 2
    assert depth["Bass DI"] == 2
    assert sum(t.is_folder for t in p.tracks) == 5


def test_takes_and_the_active_take():
    p = Project.load(corpus_rpp("wincing.rpp"))
    multi = [i for _, i in p.items() if len(i.takes) > 1]
    assert multi, "wincing has items with several takes"
    for item in multi:
        assert sum(t.active for t in item.takes) == 1
    # the item at 172 s lost its first take: its only take line is "TAKE SEL"
    item = next(i for _, i in p.items() if i.position == 172)
    assert [t.name for t in item.takes] == ["- 38.wav"]
    assert item.active_take.source.file == "Audio Files\\- 38.wav"


def test_frozen_items_are_not_counted_as_track_items():
    p = Project.load(corpus_rpp("soothesayer.rpp"))
    assert sum(len(t.items) for t in p.tracks) == 53  # the 7 <FREEZE blocks hold more
    types = {tk.source.type for _, i in p.items() for tk in i.takes if tk.source}
    assert {"MP3", "WAVE", "MIDI"} <= types
    assert len(p.markers) == 12


def test_item_fades_volume_offset_and_playrate():
    p = Project.load(corpus_rpp("fear-of-blank-planet.rpp"))
    item = p.tracks[0].items[0]
    assert item.fade_in == pytest.approx(0.01) and item.fade_out == pytest.approx(0.01)
    assert item.length == pytest.approx(56.36308333333334)
    take = item.active_take
    assert take.source.type == "FLAC"
    assert take.source.file == "Audio Files\\01-240309_2050.flac"
    assert take.playrate == 1.0 and take.start_offset == 0.0


@pytest.mark.parametrize("path", RPP_FILES, ids=lambda p: p.name)
def test_every_corpus_summary_has_one_entry_per_track(path):
    p = Project.load(path)
    summary = p.summary()
    assert len(summary["tracks"]) == sum(1 for _ in p.root.chunks("TRACK"))
    assert [t["index"] for t in summary["tracks"]] == list(range(len(summary["tracks"])))
