"""Tempo and beats: known tempi, octave alternatives, tempo maps in projects."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf
from audio_signals import write
from conftest import CORPUS, run_job

from bridge.audio.reader import AudioError
from bridge.changes import AddAudioItem, AddTrack, ChangeSet
from bridge.changes.chunks import empty_project
from bridge.demo import synth
from bridge.project import Project
from bridge.session import RppFileSession
from bridge.tempo import TempoDetector
from bridge.tempo.tempo_map import tempo_map_ops


@pytest.fixture(scope="module")
def detector():
    return TempoDetector()


def clicks(bpm: float, seconds: float, sr: int, start: float = 0.25) -> np.ndarray:
    y = np.zeros(int(seconds * sr), dtype=np.float32)
    t = np.arange(int(0.03 * sr)) / sr
    click = (np.sin(2 * np.pi * 1800 * t) * np.exp(-t * 150)).astype(np.float32)
    for i, when in enumerate(np.arange(start, seconds - 0.05, 60.0 / bpm)):
        at = int(round(when * sr))
        y[at:at + len(click)] += click * (1.0 if i % 4 == 0 else 0.6)
    return y


def test_warm_up_is_measured_and_reported(detector):
    assert detector.warmup_seconds > 0
    result = detector.detect(clicks(120, 6, 22050), 22050)
    assert result.warmup_seconds == detector.warmup_seconds
    assert result.to_dict()["timing"]["warmup_s"] == round(detector.warmup_seconds, 3)
    assert TempoDetector(warm_up=False).warmup_seconds == 0.0


def test_demo_drum_loop(detector):
    y = synth.drums()
    r = detector.detect(y.astype(np.float32), synth.SAMPLE_RATE)
    assert r.bpm == pytest.approx(100.0, rel=0.005)
    grid = np.arange(0, 9.6, 0.6)
    for b in r.beats:
        assert np.min(np.abs(grid - b)) < 0.005
    alts = [a for a, _ in r.alternatives]
    assert any(abs(a - 200) < 5 for a in alts) and any(abs(a - 50) < 2 for a in alts)
    assert 0 < r.confidence <= 1


@pytest.mark.parametrize(("bpm", "sr"), [(128.0, 44100), (87.0, 48000), (140.0, 16000)])
def test_click_tracks(detector, bpm, sr):
    r = detector.detect(clicks(bpm, 12, sr), sr)
    assert r.bpm == pytest.approx(bpm, rel=0.005)
    assert abs(r.beats[1] - r.beats[0] - 60 / bpm) < 0.01


def test_octave_doubt_is_reported_on_a_sung_phrase(detector):
    y, sr = sf.read(CORPUS / "tempo" / "basic-pitch-ts__vocal-da-80bpm.22050.wav", dtype="float32")
    r = detector.detect(y, sr)
    candidates = [r.bpm] + [a for a, _ in r.alternatives[:1]]
    assert any(abs(c - 80) / 80 < 0.03 for c in candidates), (r.bpm, r.alternatives)


@pytest.mark.parametrize("seconds", [0.0, 1.0])
def test_too_short_is_a_clear_error(detector, seconds):
    with pytest.raises(AudioError, match="too short"):
        detector.detect(np.zeros(int(seconds * 22050), np.float32) + 0.1, 22050)


def test_silence_is_a_clear_error(detector):
    with pytest.raises(AudioError, match="silent"):
        detector.detect(np.zeros(22050 * 4, np.float32), 22050)


def test_tempo_map_puts_the_grid_on_the_beats():
    rng = np.random.default_rng(3)
    beats = np.cumsum(np.r_[0.73, np.full(8, 0.5), np.full(8, 0.45), np.linspace(0.45, 0.6, 8)])
    beats += rng.normal(0, 0.0005, len(beats))
    op = tempo_map_ops(list(beats), 120.0)
    from bridge.project.tempo import TempoMap, TempoPoint

    tm = TempoMap(op.bpm, points=tuple(TempoPoint(p.time, p.bpm, p.linear) for p in op.points))
    for b in beats:
        qn = tm.qn_at(b)
        assert abs(qn - round(qn)) * 60 / tm.bpm_at(b) < 0.0025
    assert len(op.points) < len(beats)


def test_project_apply_map_and_bar_markers(tmp_path, engines):
    media = write(tmp_path / "drums.wav", synth.drums(), synth.SAMPLE_RATE)
    path = tmp_path / "song.RPP"
    path.write_text(empty_project(48000, 120.0))
    t = AddTrack("Drums")
    RppFileSession(path).apply(ChangeSet("setup", (t, AddAudioItem(t.guid, str(media), 2.0, 9.6))))
    project = Project.load(path)
    guid = project.items()[0][1].guid
    job = run_job("tempo", path, {"guids": [guid]}, engines, apply=True, map=True, markers="bars")
    assert job.applied
    beats = job.data["beats"]
    after = Project.load(path)
    tm = after.tempo_map
    assert tm.bpm_at(5.0) == pytest.approx(100.0, rel=0.005)
    for b in beats:
        qn = tm.qn_at(b)
        assert abs(qn - round(qn)) < 0.005
    bars = [m for m in after.markers if m.name.startswith("Bar ")]
    assert len(bars) == len(beats[::4]) and bars[0].position == pytest.approx(2.6, abs=0.005)


def test_cli_json(tmp_path):
    media = write(tmp_path / "c.wav", clicks(110, 8, 44100), 44100)
    out = subprocess.run([sys.executable, "-m", "bridge", "tempo", str(media), "--json"], capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert set(data) >= {"bpm", "confidence", "beats", "alternatives"}
    assert data["bpm"] == pytest.approx(110, rel=0.005)
    assert all({"bpm", "score"} <= set(a) for a in data["alternatives"])
