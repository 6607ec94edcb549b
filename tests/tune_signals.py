"""Voice-like test signals with a known f0, and an f0 reading that does not use reabridge's tracker.

The voice is a glottal pulse train (the derivative of a raised-sine open phase, 60 % of
each period) through three formant resonators (700, 1220, 2600 Hz: an "ah"), so it has a
voice's harmonics and envelope; its f0 is given sample by sample.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import lfilter

FORMANTS = ((700.0, 80.0), (1220.0, 90.0), (2600.0, 120.0))


def hz(midi: float) -> float:
    """The frequency of a (float) MIDI note."""
    return 440.0 * 2.0 ** ((midi - 69.0) / 12.0)


def voice(f0: np.ndarray, rate: int, formants: tuple[tuple[float, float], ...] = FORMANTS) -> np.ndarray:
    """A sung vowel following ``f0`` (Hz per sample; 0 = silence), peak 0.3."""
    f0 = np.asarray(f0, dtype=float)
    frac = np.cumsum(f0 / rate) % 1.0
    pulse = np.where(frac < 0.6, np.sin(np.pi * frac / 0.6) ** 2, 0.0)
    y = np.diff(pulse, prepend=pulse[0])
    for centre, width in formants:
        r = np.exp(-np.pi * width / rate)
        y = lfilter([1 - r], [1, -2 * r * np.cos(2 * np.pi * centre / rate), r * r], y)
    y = np.where(f0 > 0, y, 0.0)
    return 0.3 * y / np.max(np.abs(y))


def notes_f0(notes: list[tuple[float, float]], rate: int, length: float = 0.6, gap: float = 0.1,
             vibrato: tuple[float, float] = (0.0, 0.0)) -> np.ndarray:
    """f0 per sample for ``(midi, cents off)`` notes of ``length`` s separated by ``gap`` s of silence.

    ``vibrato`` is ``(rate Hz, depth in cents)``.
    """
    parts = []
    for midi, cents in notes:
        t = np.arange(int(length * rate)) / rate
        wobble = vibrato[1] * np.sin(2 * np.pi * vibrato[0] * t) if vibrato[1] else 0.0
        parts += [hz(midi + (cents + wobble) / 100.0) * np.ones(len(t)), np.zeros(int(gap * rate))]
    return np.concatenate(parts)


def steady_pitch(x: np.ndarray, rate: int, start: float, stop: float, near: float) -> float:
    """The f0 (float MIDI) of a steady stretch, from the peaks of its first five harmonics in a long FFT."""
    seg = x[int(start * rate):int(stop * rate)]
    n = 1 << 20
    spectrum = np.abs(np.fft.rfft(seg * np.hanning(len(seg)), n))
    freqs = np.fft.rfftfreq(n, 1.0 / rate)
    guesses = []
    for k in range(1, 6):
        lo, hi = np.searchsorted(freqs, [k * hz(near) * 0.95, k * hz(near) * 1.05])
        peak = lo + int(np.argmax(spectrum[lo:hi]))
        guesses.append(freqs[peak] / k)
    return float(69.0 + 12.0 * np.log2(np.median(guesses) / 440.0))


def contour(x: np.ndarray, rate: int) -> tuple[np.ndarray, np.ndarray]:
    """Times and f0 (float MIDI, NaN unvoiced) by WORLD's Harvest every 5 ms (not reabridge's own tracker)."""
    from bridge.tune.track import pyworld

    pw = pyworld()
    f0, t = pw.harvest(np.ascontiguousarray(x, dtype=np.float64), rate, f0_floor=60.0, f0_ceil=1000.0,
                       frame_period=5.0)
    with np.errstate(divide="ignore"):
        return t, np.where(f0 > 0, 69.0 + 12.0 * np.log2(np.maximum(f0, 1e-9) / 440.0), np.nan)
