"""A synthetic song for the stems tests: a sung "voice" (formants over a pulse train) and a drum-and-bass loop.

Only numpy, and a seeded PCG64 generator, so the same samples come out everywhere (the TensorFlow
reference values in ``tests/data/stems_reference.npz`` were computed from this function's output).
"""

from __future__ import annotations

import numpy as np

RATE = 44100


def _resonate(x: np.ndarray, freq: float, bandwidth: float, rate: int) -> np.ndarray:
    """A two-pole resonator (direct form, float64)."""
    r = np.exp(-np.pi * bandwidth / rate)
    a1, a2 = -2 * r * np.cos(2 * np.pi * freq / rate), r * r
    y = np.zeros_like(x)
    y1 = y2 = 0.0
    gain = 1 - r
    for i, v in enumerate(x.tolist()):
        y0 = gain * v - a1 * y1 - a2 * y2
        y[i] = y0
        y2, y1 = y1, y0
    return y


def voice(seconds: float, rate: int = RATE) -> np.ndarray:
    """Mono float64: three sung syllables (vowels /a/, /i/, /o/) with vibrato and pauses."""
    n = int(seconds * rate)
    t = np.arange(n) / rate
    f0 = 220.0 * 2 ** ((np.floor(t / 0.6) % 3) * 2 / 12) * (1 + 0.01 * np.sin(2 * np.pi * 5.5 * t))
    phase = np.cumsum(f0) / rate
    pulses = (phase % 1.0) - 0.5  # a sawtooth: every harmonic
    formants = [(730, 1090, 2440), (270, 2290, 3010), (570, 840, 2410)]
    out = np.zeros(n)
    syllable = (t // 0.6).astype(int)
    for k, (f1, f2, f3) in enumerate(formants):
        part = np.where(syllable % 3 == k, pulses, 0.0)
        out += _resonate(part, f1, 90, rate) + 0.6 * _resonate(part, f2, 110, rate) + 0.3 * _resonate(part, f3, 160,
                                                                                                      rate)
    envelope = np.clip(np.minimum((t % 0.6) / 0.04, (0.5 - t % 0.6) / 0.04), 0, 1)
    out *= envelope
    return 0.3 * out / (np.max(np.abs(out)) + 1e-12)


def drums_and_bass(seconds: float, rate: int = RATE) -> np.ndarray:
    """Stereo float64: kick on the beat, hi-hats on the eighths, a bass line (120 BPM)."""
    n = int(seconds * rate)
    t = np.arange(n) / rate
    rng = np.random.default_rng(24)
    beat = t % 0.5
    kick = np.sin(2 * np.pi * (50 + 80 * np.exp(-beat * 40)) * beat) * np.exp(-beat * 12)
    eighth = t % 0.25
    hat = rng.standard_normal(n) * np.exp(-eighth * 60)
    hat = np.diff(hat, prepend=0.0)  # brighter
    notes = np.array([55.0, 55.0, 65.4, 73.4])[(t // 1.0).astype(int) % 4]
    bass = np.tanh(3 * np.sin(2 * np.pi * np.cumsum(notes) / rate)) * 0.5
    left = 0.5 * kick + 0.12 * hat + 0.35 * bass
    right = 0.5 * kick + 0.08 * hat + 0.35 * bass
    return 0.5 * np.stack([left, right], axis=1)


def song(seconds: float = 2.5, rate: int = RATE) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(mixture, voice, accompaniment)``, stereo float32 (the voice centred)."""
    v = voice(seconds, rate)
    vs = np.stack([v, v], axis=1)
    a = drums_and_bass(seconds, rate)
    return (vs + a).astype(np.float32), vs.astype(np.float32), a.astype(np.float32)
