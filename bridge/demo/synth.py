"""Deterministic synthesis of the demo's audio: piano phrase, guitar DI, drum loop.

Nothing is downloaded: every sample comes from these formulas and a seeded
random generator, so the demo (and tests using it) are the same everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import butter, lfilter, sosfilt

SAMPLE_RATE = 48000
BPM = 100.0
BEATS_PER_BAR = 4
BARS = 4


@dataclass(frozen=True)
class ScoreNote:
    """A note of the demo score: start and length in beats, MIDI pitch, velocity."""

    beat: float
    beats: float
    pitch: int
    velocity: int = 96


PIANO_SCORE: tuple[ScoreNote, ...] = tuple(
    ScoreNote(b, d, p, v)
    for b, d, p, v in [
        (0, 1, 60, 90), (1, 1, 64, 84), (2, 1, 67, 88), (3, 1, 72, 96),
        (4, 1.5, 71, 92), (5.5, 0.5, 67, 80), (6, 2, 64, 86),
        (8, 1, 65, 90), (9, 1, 69, 84), (10, 1, 72, 88), (11, 1, 77, 96),
        (12, 2, 76, 92), (14, 2, 72, 86),
    ]
)
GUITAR_RIFF: tuple[ScoreNote, ...] = tuple(
    ScoreNote(b, d, p, v)
    for b, d, p, v in [
        (0, 0.5, 40, 100), (0.5, 0.5, 40, 90), (1, 0.5, 43, 100), (1.5, 0.5, 45, 100),
        (2, 1, 47, 100), (3, 0.5, 45, 90), (3.5, 0.5, 43, 90),
    ]
)


def beats_to_seconds(beats: float) -> float:
    """Seconds at the demo tempo."""
    return beats * 60.0 / BPM


def duration() -> float:
    """Length of the demo arrangement in seconds."""
    return beats_to_seconds(BARS * BEATS_PER_BAR)


def _hz(pitch: float) -> float:
    return 440.0 * 2.0 ** ((pitch - 69) / 12.0)


def _canvas() -> np.ndarray:
    return np.zeros(round(duration() * SAMPLE_RATE) + SAMPLE_RATE // 2)


def piano() -> np.ndarray:
    """A piano-like phrase: decaying, slightly inharmonic partials per note."""
    out = _canvas()
    for note in PIANO_SCORE:
        start = round(beats_to_seconds(note.beat) * SAMPLE_RATE)
        length = round((beats_to_seconds(note.beats) + 0.25) * SAMPLE_RATE)
        t = np.arange(length) / SAMPLE_RATE
        f0 = _hz(note.pitch)
        tone = np.zeros(length)
        for k in range(1, 9):
            fk = k * f0 * np.sqrt(1 + 0.0004 * k * k)
            if fk > SAMPLE_RATE / 2.2:
                break
            tone += np.sin(2 * np.pi * fk * t) * k ** -1.6 * np.exp(-t * (1.2 + 0.9 * k))
        held = beats_to_seconds(note.beats)
        release = np.clip(1.0 - (t - held) / 0.25, 0.0, 1.0)
        env = np.minimum(t / 0.004, 1.0) * release
        out[start:start + length] += tone * env * (note.velocity / 127.0) * 0.35
    return out


def guitar_di() -> np.ndarray:
    """A clean guitar DI riff (Karplus-Strong plucked strings), repeated every bar."""
    rng = np.random.default_rng(7)
    out = _canvas()
    for bar in range(BARS):
        for note in GUITAR_RIFF:
            start = round(beats_to_seconds(bar * BEATS_PER_BAR + note.beat) * SAMPLE_RATE)
            length = round(beats_to_seconds(note.beats) * SAMPLE_RATE)
            period = round(SAMPLE_RATE / _hz(note.pitch))
            burst = np.zeros(length)
            burst[:period] = rng.uniform(-1, 1, period)
            burst[:period] = lfilter([0.5, 0.5], [1.0], burst[:period])
            a = np.zeros(period + 2)
            a[0], a[period], a[period + 1] = 1.0, -0.4985, -0.4985
            string = lfilter([1.0], a, burst)
            fade = np.minimum(1.0, (length - np.arange(length)) / (0.01 * SAMPLE_RATE))
            out[start:start + length] += string * fade * (note.velocity / 127.0) * 0.25
    return out


def drums() -> np.ndarray:
    """A rock drum loop: kick on 1 and 3, snare on 2 and 4, eighth-note hats."""
    rng = np.random.default_rng(11)
    out = _canvas()
    hat_sos = butter(4, 7000, "highpass", fs=SAMPLE_RATE, output="sos")
    snare_sos = butter(2, [1500, 6000], "bandpass", fs=SAMPLE_RATE, output="sos")

    def place(at_beat: float, sound: np.ndarray) -> None:
        i = round(beats_to_seconds(at_beat) * SAMPLE_RATE)
        out[i:i + len(sound)] += sound[: len(out) - i]

    t = np.arange(int(0.35 * SAMPLE_RATE)) / SAMPLE_RATE
    sweep = 45 + 75 * np.exp(-t * 30)
    kick = np.sin(2 * np.pi * np.cumsum(sweep) / SAMPLE_RATE) * np.exp(-t * 9) * 0.8
    ts = t[: int(0.2 * SAMPLE_RATE)]
    snare = (sosfilt(snare_sos, rng.normal(0, 1, len(ts))) * 0.9 + np.sin(2 * np.pi * 185 * ts) * 0.5) * np.exp(
        -ts * 22) * 0.6
    th = t[: int(0.06 * SAMPLE_RATE)]
    hat = sosfilt(hat_sos, rng.normal(0, 1, len(th))) * np.exp(-th * 70) * 0.25
    for bar in range(BARS):
        base = bar * BEATS_PER_BAR
        for b in (0, 2):
            place(base + b, kick)
        for b in (1, 3):
            place(base + b, snare)
        for k in range(8):
            place(base + k * 0.5, hat * (1.0 if k % 2 == 0 else 0.6))
    return out
