"""Synthetic music for the library tests: seeded songs, melodies, drum hits, and the issue's modifications."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

SR = 22050
SCALE = np.array([0, 2, 4, 5, 7, 9, 11])


def _tone(freq: float, seconds: float, *, harmonics: int = 6, decay: float = 3.0, bright: float = 0.6,
          vibrato: float = 0.0, rng: np.random.Generator | None = None) -> np.ndarray:
    n = int(seconds * SR)
    t = np.arange(n) / SR
    f = freq * (1.0 + vibrato * np.sin(2 * np.pi * 5.5 * t))
    phase = 2 * np.pi * np.cumsum(f) / SR
    y = sum(bright ** (k - 1) * np.sin(k * phase) for k in range(1, harmonics + 1))
    env = np.exp(-decay * t) * np.minimum(1.0, t / 0.01)
    env[-min(n, 200):] *= np.linspace(1, 0, min(n, 200))
    return (y * env).astype(np.float32)


def _hz(midi: float) -> float:
    return 440.0 * 2 ** ((midi - 69) / 12)


def melody_notes(seed: int, count: int = 40) -> list[tuple[float, float]]:
    """A seeded tune: ``(MIDI pitch, beats)`` pairs, stepwise in a major scale with a few leaps."""
    rng = np.random.default_rng(seed)
    degree = 7
    out = []
    for _ in range(count):
        degree = int(np.clip(degree + rng.choice([-2, -1, -1, 1, 1, 2, 3, -3]), 0, 13))
        pitch = 60 + 12 * (degree // 7) + SCALE[degree % 7]
        out.append((float(pitch), float(rng.choice([0.5, 1.0, 1.0, 1.5, 2.0]))))
    return out


def render_melody(notes: list[tuple[float, float]], bpm: float, *, transpose: float = 0.0, harmonics: int = 6,
                  bright: float = 0.6, vibrato: float = 0.0, decay: float = 2.0) -> np.ndarray:
    """Notes one after the other at ``bpm``."""
    beat = 60.0 / bpm
    total = sum(b for _, b in notes) * beat + 0.5
    y = np.zeros(int(total * SR), dtype=np.float32)
    t = 0.0
    for pitch, beats in notes:
        tone = _tone(_hz(pitch + transpose), beats * beat * 0.95, harmonics=harmonics, decay=decay, bright=bright,
                     vibrato=vibrato)
        start = int(t * SR)
        y[start:start + len(tone)] += tone
        t += beats * beat
    return y / max(1e-9, float(np.max(np.abs(y)))) * 0.5


def song(seed: int, seconds: float = 24.0) -> np.ndarray:
    """A seeded arrangement: melody, chords, bass, kick and hats (different for every seed)."""
    rng = np.random.default_rng(1000 + seed)
    bpm = float(rng.uniform(84, 136))
    beat = 60.0 / bpm
    n = int(seconds * SR)
    y = np.zeros(n + SR, dtype=np.float32)
    root = int(rng.integers(0, 12))
    t = 0.0
    notes = melody_notes(seed, 400)
    k = 0
    while t < seconds:
        pitch, beats = notes[k % len(notes)]
        tone = 0.5 * _tone(_hz(pitch + root), beats * beat, harmonics=5, decay=2.5, bright=0.5)
        s = int(t * SR)
        y[s:s + len(tone)] += tone[: len(y) - s]
        t += beats * beat
        k += 1
    bar = 4 * beat
    chords = rng.integers(0, 7, size=64)
    for b in range(int(seconds / bar) + 1):
        degree = int(chords[b])
        for step in (0, 2, 4):
            d = degree + step
            pitch = 48 + root + 12 * (d // 7) + SCALE[d % 7]
            tone = 0.18 * _tone(_hz(pitch), bar, harmonics=4, decay=1.0, bright=0.4)
            s = int(b * bar * SR)
            if s < len(y):
                y[s:s + len(tone)] += tone[: len(y) - s]
        for e in range(8):  # an arpeggio in eighths
            d = degree + (0, 2, 4, 7, 9, 7, 4, 2)[e]
            pitch = 60 + root + 12 * (d // 7) + SCALE[d % 7]
            tone = 0.22 * _tone(_hz(pitch), beat / 2, harmonics=6, decay=5.0, bright=0.6)
            s = int((b * bar + e * beat / 2) * SR)
            if s < len(y):
                y[s:s + len(tone)] += tone[: len(y) - s]
        bass = 0.35 * _tone(_hz(36 + root + SCALE[degree % 7]), bar / 2, harmonics=3, decay=2.0)
        for half in (0, 1):
            s = int((b * bar + half * bar / 2) * SR)
            if s < len(y):
                y[s:s + len(bass)] += bass[: len(y) - s]
    hits = np.arange(0.0, seconds, beat)
    for i, h in enumerate(hits):
        s = int(h * SR)
        if i % 2 == 0:
            kick = kick_sound(rng.uniform(0.9, 1.1))
            y[s:s + len(kick)] += 0.6 * kick[: len(y) - s]
        hat = hat_sound(rng)
        s2 = int((h + beat / 2) * SR)
        if s2 < len(y):
            y[s2:s2 + len(hat)] += 0.15 * hat[: len(y) - s2]
    y = y[:n]
    return (y / max(1e-9, float(np.max(np.abs(y)))) * 0.8).astype(np.float32)


def kick_sound(tune: float = 1.0, seconds: float = 0.4) -> np.ndarray:
    """A sine kick sweeping down from ~150 Hz."""
    t = np.arange(int(seconds * SR)) / SR
    f = 50 * tune + 110 * tune * np.exp(-t * 30)
    return (np.sin(2 * np.pi * np.cumsum(f) / SR) * np.exp(-t * 9)).astype(np.float32)


def hat_sound(rng: np.random.Generator, seconds: float = 0.08) -> np.ndarray:
    """A short bright noise burst."""
    t = np.arange(int(seconds * SR)) / SR
    noise = rng.standard_normal(len(t))
    return (np.diff(noise, prepend=0.0) * np.exp(-t * 60)).astype(np.float32)


def snare_sound(rng: np.random.Generator, seconds: float = 0.3) -> np.ndarray:
    """Noise with a 190 Hz body."""
    t = np.arange(int(seconds * SR)) / SR
    return ((0.7 * rng.standard_normal(len(t)) + np.sin(2 * np.pi * 190 * t)) * np.exp(-t * 14)).astype(np.float32)


def pad_sound(root: float, seconds: float = 2.0) -> np.ndarray:
    """A slow-attack sustained chord."""
    t = np.arange(int(seconds * SR)) / SR
    y = sum(_tone(_hz(root + i), seconds, harmonics=4, decay=0.1, bright=0.5) for i in (0, 4, 7))
    return (y * np.minimum(1.0, t / 0.6)).astype(np.float32)


def write(path: Path, y: np.ndarray, rate: int = SR, **kw: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), y, rate, **kw)
    return path


# -- the modifications, at test scale ------------------------------------------------------------
def white_noise(y: np.ndarray, snr_db: float, seed: int = 0) -> np.ndarray:
    n = np.random.default_rng(seed).standard_normal(len(y)).astype(np.float32)
    return (y + n * np.sqrt(np.mean(y ** 2) / np.mean(n ** 2) / 10 ** (snr_db / 10))).astype(np.float32)


def band_pass(y: np.ndarray, lo: float = 300.0, hi: float = 3400.0) -> np.ndarray:
    from scipy.signal import butter, sosfiltfilt

    sos = butter(6, [lo, hi], btype="band", fs=SR, output="sos")
    return sosfiltfilt(sos, y).astype(np.float32)


def speed(y: np.ndarray, factor: float) -> np.ndarray:
    """Varispeed: pitch and tempo together (``factor`` 1.05 plays 5 % faster)."""
    import soxr

    return soxr.resample(y, SR * factor, SR).astype(np.float32)


def tempo(y: np.ndarray, factor: float) -> np.ndarray:
    """Faster or slower with the pitch kept (Rubber Band, through pedalboard)."""
    from pedalboard import time_stretch

    return time_stretch(y[None, :].astype(np.float32), SR, stretch_factor=factor)[0].astype(np.float32)


def pitch(y: np.ndarray, semitones: float) -> np.ndarray:
    """Transposed with the tempo kept (Rubber Band, through pedalboard)."""
    from pedalboard import time_stretch

    return time_stretch(y[None, :].astype(np.float32), SR, stretch_factor=1.0,
                        pitch_shift_in_semitones=semitones)[0].astype(np.float32)


def mp3(y: np.ndarray, folder: Path) -> np.ndarray:
    """Through an MP3 encoder and back (libsndfile's LAME, lowest quality setting)."""
    path = folder / "clip.mp3"
    sf.write(str(path), y, SR, format="MP3", compression_level=0.99)
    z, _ = sf.read(str(path), dtype="float32")
    return z if z.ndim == 1 else z.mean(axis=1)
