"""Synthetic test signals (deterministic) written to audio files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf


def tone(freqs_and_times: list[tuple[float, float, float]], sr: int, length: float, vibrato: float = 0.0,
         seed: int = 0) -> np.ndarray:
    """Sum of harmonic tones: (frequency Hz, start s, end s); optional vibrato depth in semitones."""
    t = np.arange(int(length * sr)) / sr
    out = np.zeros_like(t)
    for f0, start, end in freqs_and_times:
        active = (t >= start) & (t < end)
        local = t - start
        env = np.where(active, np.minimum(local / 0.01, 1.0) * np.exp(-local * 1.5), 0.0)
        inst = f0 * 2 ** (vibrato * np.sin(2 * np.pi * 5.5 * local) / 12)
        phase = 2 * np.pi * np.cumsum(inst) / sr
        for k in range(1, 6):
            if k * f0 < sr / 2.2:
                out += env * np.sin(k * phase) * 0.5 ** k
    rng = np.random.default_rng(seed)
    return (out * 0.4 + rng.normal(0, 1e-4, len(out))).astype(np.float32)


def midi_hz(p: float) -> float:
    return 440.0 * 2 ** ((p - 69) / 12)


def write(path: Path, data: np.ndarray, sr: int, subtype: str | None = None) -> Path:
    sf.write(path, data, sr, subtype=subtype)
    return path


def melody(sr: int, length: float = 6.0, vibrato: float = 0.0) -> np.ndarray:
    """A little melody with a held chord under it."""
    notes = [(midi_hz(p), 0.5 * i, 0.5 * i + 0.45) for i, p in enumerate([60, 62, 64, 65, 67, 69, 71, 72])]
    notes += [(midi_hz(p), 4.0, 5.8) for p in (48, 55, 64)]
    return tone(notes, sr, length, vibrato)
