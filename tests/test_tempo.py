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
from bridge.tempo.tempo_map import bar_numbers, tempo_map_ops


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
    alts = {a.relation: a.bpm for a in r.alternatives}
    assert alts["double"] == pytest.approx(200, abs=5) and alts["half"] == pytest.approx(50, abs=2)
    assert 0 < r.confidence <= 1 and r.confidence + sum(a.confidence for a in r.alternatives) == pytest.approx(1)
    assert r.beats_per_bar == 4 and r.metre == "4/4"


@pytest.mark.parametrize(("bpm", "sr"), [(128.0, 44100), (87.0, 48000), (140.0, 16000)])
def test_click_tracks(detector, bpm, sr):
    """The tempo, or -- when half of it scores as well (140 with an accent every 4 clicks reads as 70 about as
    strongly) -- a close call that offers it first, so the user is asked."""
    r = detector.detect(clicks(bpm, 12, sr), sr)
    if r.bpm == pytest.approx(bpm, rel=0.005):
        assert abs(r.beats[1] - r.beats[0] - 60 / bpm) < 0.01
    else:
        assert r.close_call and r.alternatives[0].bpm == pytest.approx(bpm, rel=0.005), (r.bpm, r.alternatives)


def test_octave_doubt_is_reported_on_a_sung_phrase(detector):
    y, sr = sf.read(CORPUS / "tempo" / "basic-pitch-ts__vocal-da-80bpm.22050.wav", dtype="float32")
    r = detector.detect(y, sr)
    candidates = [r.bpm] + [a.bpm for a in r.alternatives[:1]]
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
    op = tempo_map_ops(list(beats), 120.0, tolerance=0.002, min_beats=1)
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
    downbeats = job.data["downbeats"]
    assert [m.position for m in bars] == pytest.approx(downbeats, abs=1e-4) and len(bars) >= 3
    numbers = [int(m.name.split()[1]) for m in bars]  # named as REAPER's ruler numbers those bars
    assert numbers == list(range(numbers[0], numbers[0] + len(numbers)))
    assert numbers[0] == 1 + round(tm.qn_at(downbeats[0]) / 4)
    assert all(on_bar_line(tm, d) for d in downbeats)  # the project's bars start on the detected downbeats


def _map(op):
    from bridge.project.tempo import TempoMap, TempoPoint

    return TempoMap(op.bpm, op.numerator, op.denominator,
                    tuple(TempoPoint(p.time, p.bpm, p.linear, p.numerator, p.denominator) for p in op.points))


def on_bar_line(tm, seconds: float, tol: float = 0.005) -> bool:
    """Whether ``seconds`` is a bar line of the map (bars restart at every time-signature point)."""
    signatures = [p for p in tm.points if p.numerator and p.time <= seconds + 1e-9] or [None]
    last = signatures[-1]
    start, per_bar = (tm.qn_at(last.time), last.numerator) if last else (0.0, tm.numerator)
    beats = tm.qn_at(seconds) - start
    return abs(beats / per_bar - round(beats / per_bar)) * per_bar < tol * tm.bpm_at(seconds) / 60


def test_a_steady_performance_gets_one_tempo_not_hundreds():
    rng = np.random.default_rng(5)
    beats = 1.0 + 0.5 * np.arange(96) + rng.uniform(-0.006, 0.006, 96)  # a drummer within +-6 ms of 120 BPM
    op = tempo_map_ops(list(beats), 120.0)
    assert len(op.points) <= 2 and op.bpm == pytest.approx(120.0, rel=0.01)


def test_rubato_is_followed_with_few_points_and_within_the_tolerance():
    periods = 60.0 / np.concatenate([np.linspace(100, 125, 48), np.linspace(125, 90, 48)])
    beats = 0.8 + np.concatenate([[0.0], np.cumsum(periods)])
    for tolerance, min_beats in ((0.015, 4), (0.005, 8), (0.04, 2)):
        op = tempo_map_ops(list(beats), 110.0, tolerance=tolerance, min_beats=min_beats)
        tm = _map(op)
        assert len(op.points) <= len(beats) // min_beats + 2
        starts = [p.time for p in op.points[1:]]
        assert np.all(np.diff(starts) >= min_beats * 60 / 125 - 1e-6)  # never closer than min_beats beats
        off = np.array([abs(tm.qn_at(b) - round(tm.qn_at(b))) * 60 / tm.bpm_at(b) for b in beats])
        assert np.all(off < 0.25 * 60 / 125)  # every beat on its grid beat
        if min_beats <= 4:  # short enough stretches to follow the drift within the tolerance
            assert np.mean(off <= tolerance + 1e-6) > 0.9, (tolerance, np.mean(off <= tolerance))


@pytest.mark.parametrize(("first", "down_index", "bar"), [(1.3, 1, 2), (2.9, 2, 3), (0.5, 2, 2), (0.5, 0, 2)])
def test_bars_start_on_the_downbeat(first, down_index, bar):
    """Bars start on the downbeat; REAPER's ruler numbers it ``bar`` (whole bars or a pickup before it)."""
    beats = list(first + 0.5 * np.arange(32))
    op = tempo_map_ops(beats, 120.0, 4, 4, downbeat=beats[down_index])
    tm = _map(op)
    downbeats = beats[down_index::4]
    assert bar_numbers(op, downbeats) == list(range(bar, bar + len(downbeats)))
    assert all(on_bar_line(tm, beats[k]) for k in range(down_index, 32, 4))
    assert not any(on_bar_line(tm, beats[k]) for k in range(down_index + 1, 32, 4))
    for b in beats:
        assert abs(tm.qn_at(b) - round(tm.qn_at(b))) < 0.01


def _tone(freq: float, seconds: float, sr: int, decay: float = 6.0) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return np.sin(2 * np.pi * freq * t) * np.exp(-t * decay)


@pytest.mark.parametrize("per_bar", [3, 4])
def test_metre_and_downbeats(detector, per_bar):
    """A bass note and a kick on every "1" (a new chord each bar), hats on the other beats."""
    sr, bpm = 22050, 132.0
    period = 60.0 / bpm
    y = np.zeros(int(24 * sr), dtype=np.float32)
    roots = [55.0, 73.4, 65.4, 82.4]
    first = 0.4
    k = 0
    while first + k * period < 23.5:
        at = int((first + k * period) * sr)
        if k % per_bar == 0:
            root = roots[(k // per_bar) % 4]
            sound = 0.6 * _tone(root, 0.5, sr, 5) + 0.3 * _tone(root * 2.52, 0.5, sr, 4) + 0.5 * _tone(60, 0.5, sr, 25)
        else:
            n = int(0.05 * sr)
            sound = 0.15 * np.random.default_rng(k).normal(0, 1, n) * np.exp(-np.arange(n) / 200)
        y[at:at + len(sound)] += sound[: len(y) - at].astype(np.float32)
        k += 1
    r = detector.detect(y, sr)
    assert r.bpm == pytest.approx(bpm, rel=0.02)
    assert r.beats_per_bar == per_bar and r.metre == f"{per_bar}/4"
    bars = first + per_bar * period * np.arange(20)
    assert len(r.downbeats) >= 5
    assert all(np.min(np.abs(bars - d)) < 0.03 for d in r.downbeats)


def test_bpm_range_and_preferred_tempo_decide_the_octave(detector):
    """The demo drum loop at 100 BPM (eighth-note hats, kick on 1 and 3): 50 and 200 are both plausible."""
    y = synth.drums().astype(np.float32)
    assert detector.detect(y, synth.SAMPLE_RATE).bpm == pytest.approx(100, rel=0.005)
    assert detector.detect(y, synth.SAMPLE_RATE, bpm_range=(140, 260)).bpm == pytest.approx(200, rel=0.01)
    assert detector.detect(y, synth.SAMPLE_RATE, bpm_range=(30, 70)).bpm == pytest.approx(50, rel=0.01)
    assert detector.detect(y, synth.SAMPLE_RATE, prefer_bpm=190).bpm == pytest.approx(200, rel=0.01)
    assert detector.detect(y, synth.SAMPLE_RATE, prefer_bpm=55).bpm == pytest.approx(50, rel=0.01)
    with pytest.raises(AudioError, match="low first"):
        detector.detect(y, synth.SAMPLE_RATE, bpm_range=(140, 90))


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--bpm-range", "140", "90"], "the low tempo comes first"),
     (["--bpm-range", "5", "90"], "--bpm-range.0: must be at least 15.0, not 5.0"),
     (["--prefer-bpm", "60", "--bpm-range", "90", "140"], "--prefer-bpm: 60 is outside bpm_range 90-140"),
     (["--tolerance-ms", "0"], "--tolerance-ms: must be at least 0.5")],
)
def test_cli_refuses_bad_tempo_options_in_one_line(tmp_path, args, message):
    media = write(tmp_path / "c.wav", clicks(110, 4, 22050), 22050)
    out = subprocess.run([sys.executable, "-m", "bridge", "tempo", str(media), *args], capture_output=True,
                         text=True, timeout=300)
    assert out.returncode != 0 and message in out.stderr and "Traceback" not in out.stderr, out.stderr


def test_cli_json(tmp_path):
    media = write(tmp_path / "c.wav", clicks(110, 8, 44100), 44100)
    out = subprocess.run([sys.executable, "-m", "bridge", "tempo", str(media), "--json"], capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert set(data) >= {"bpm", "confidence", "beats", "alternatives"}
    assert data["bpm"] == pytest.approx(110, rel=0.005)
    assert all({"bpm", "relation", "confidence"} <= set(a) for a in data["alternatives"])
    assert {"metre", "beats_per_bar", "downbeats", "close_call", "subdivision"} <= set(data)
