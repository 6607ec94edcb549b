"""The bundled example: generated deterministically, processed on a copy."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
import soundfile as sf

from bridge import rpp
from bridge.demo import build, synth
from bridge.demo.run import run_demo
from bridge.master.loudness import measure_array
from bridge.project import Project


def _digest(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted((folder / "Media").iterdir())}


def test_demo_audio_is_deterministic_and_sane(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    build.build(a)
    build.build(b)
    assert _digest(a) == _digest(b)
    for track in build.TRACKS:
        audio, rate = sf.read(a / "Media" / track.file)
        assert rate == synth.SAMPLE_RATE
        assert len(audio) / rate >= synth.duration()
        assert 0.05 < np.max(np.abs(audio)) < 1.0, track.name
    # the projects only differ in the applied-at stamp and fresh take GUIDs
    pa, pb = Project.load(build.project_path(a)), Project.load(build.project_path(b))
    assert [t.guid for t in pa.tracks] == [t.guid for t in pb.tracks]


def test_demo_project_plays_its_media(tmp_path):
    path = build.build(tmp_path)
    p = Project.load(path)
    assert [t.name for t in p.tracks] == ["Piano", "Gtr DI", "Drums"]
    assert p.tempo_map.bpm == synth.BPM and p.sample_rate == synth.SAMPLE_RATE
    for _, item in p.items():
        found = item.active_take.source.resolve()
        assert found.exists and found.path.parent == tmp_path / "Media"
        assert item.length == synth.duration()


def test_run_demo_writes_processed_copy_and_leaves_the_example(tmp_path):
    source = build.build(tmp_path)
    before = source.read_bytes()
    out = run_demo(folder=tmp_path)
    assert out == tmp_path / "out" / "demo-processed.RPP"
    assert source.read_bytes() == before
    p = Project.load(out)
    assert [t.name for t in p.tracks] == ["Piano", "Piano (MIDI)", "Gtr DI", "Drums", "Mix (bounce)"]
    assert p.tempo_map.bpm_at(5.0) == pytest.approx(synth.BPM, rel=0.005)
    bars = [m for m in p.markers if m.name.startswith("Bar ")]
    assert len(bars) >= 3
    midi = p.find_track("Piano (MIDI)").items[0].active_take.source.notes()
    assert {60, 64, 67, 72} <= {n.pitch for n in midi}
    for _, item in p.items():
        if item.active_take.source.is_audio:
            assert item.active_take.source.resolve().exists
    master = p.find_track("Mix (bounce)").items[0].active_take
    assert master.name == "Master (streaming)"
    final = measure_array(sf.read(master.source.resolve().path)[0], synth.SAMPLE_RATE)
    assert abs(final.integrated + 14) <= 0.1 and final.true_peak <= -1.0
    assert (tmp_path / "out" / "master-report").is_dir()
    js = p.root.chunk("MASTERFXLIST").chunk("JS")
    assert js.params[0] == "reabridge/reabridge_master_demo-processed_streaming.jsfx"
    assert (tmp_path / "out" / "reabridge-jsfx" / "reabridge_master_demo-processed_streaming.jsfx").exists()
    assert p.root.chunk("MASTERFXLIST").line("BYPASS").values[0] == "1"
    assert rpp.dumps(p.root).encode() == out.read_bytes()
