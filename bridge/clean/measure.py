"""Figures of a recording before and after clean-up: noise floor, SNR estimate, hum per harmonic, reverberation.

All of them come from streams of 50 ms RMS levels and the hum survey's long spectra,
so an hour costs a few hundred kilobytes:

- *noise floor*: the 10th percentile of the 50 ms levels (dBFS);
- *estimated SNR*: the 95th percentile (the signal when present) minus the floor;
- *hum per harmonic*: each removed harmonic's level in the long spectra, before and after;
- *reverberation estimate*: a blind decay time from the level's free decays (after a
  peak, 10 ms levels falling steadily for at least 80 ms): the median of the fastest
  fifth of those decays, extrapolated to 60 dB. It reads the room, not the voice, only
  roughly: it is a trend to compare before and after, not an RT60 measurement.
"""

from __future__ import annotations

import math

import numpy as np

LEVEL_S = 0.05
DECAY_S = 0.01


class Levels:
    """RMS levels (dBFS) of consecutive windows of a mono stream."""

    def __init__(self, rate: float, seconds: float = LEVEL_S) -> None:
        self.size = max(1, int(round(seconds * rate)))
        self.seconds = seconds
        self._carry = np.zeros(0, dtype=np.float32)
        self._db: list[np.ndarray] = []

    def add(self, mono: np.ndarray) -> None:
        """The next samples."""
        data = np.concatenate([self._carry, np.asarray(mono, dtype=np.float32)])
        whole = len(data) // self.size * self.size
        if whole:
            ms = np.mean(data[:whole].astype(np.float64).reshape(-1, self.size) ** 2, axis=1)
            self._db.append(10 * np.log10(ms + 1e-20))
        self._carry = data[whole:]

    @property
    def db(self) -> np.ndarray:
        """All levels so far."""
        return np.concatenate(self._db) if self._db else np.zeros(0)


def noise_floor(levels: np.ndarray) -> float:
    """The 10th percentile of the levels (dBFS)."""
    return float(np.percentile(levels, 10)) if len(levels) else float("-inf")


def snr_estimate(levels: np.ndarray) -> float:
    """95th minus 10th percentile of the levels (dB)."""
    if len(levels) == 0:
        return 0.0
    return float(np.percentile(levels, 95) - np.percentile(levels, 10))


def decay_time(levels: np.ndarray, seconds: float = DECAY_S) -> float | None:
    """Blind decay-time estimate (s to fall 60 dB) from 10 ms levels; None when no free decay was found."""
    need = int(round(0.08 / seconds))
    slopes = []
    i, n = 1, len(levels)
    while i < n - need:
        if levels[i] >= levels[i - 1] and levels[i] > levels[i + 1]:
            j = i
            while j + 1 < n and levels[j + 1] < levels[j] + 0.5:
                j += 1
            if j - i >= need and levels[i] - levels[j] >= 10:
                t = np.arange(j - i + 1) * seconds
                slope = float(np.polyfit(t, levels[i:j + 1], 1)[0])
                if slope < 0:
                    slopes.append(slope)
            i = max(j, i + 1)
        else:
            i += 1
    if len(slopes) < 3:
        return None
    fastest = np.sort(slopes)[: max(1, len(slopes) // 5)]
    return round(float(-60.0 / np.median(fastest)), 3)


def harmonic_levels(spectra: np.ndarray, seconds: float, f0: float, harmonics: tuple[int, ...]) -> list[float]:
    """Median level (dBFS) of each harmonic of ``f0`` in long spectra (peak within half a bin)."""
    res = 1.0 / seconds
    out = []
    for k in harmonics:
        centre = k * f0 / res
        lo, hi = int(math.floor(centre - 0.5)), int(math.ceil(centre + 0.5))
        if len(spectra) == 0 or hi >= spectra.shape[1]:
            out.append(float("nan"))
            continue
        peak = spectra[:, max(0, lo):hi + 1].max(axis=1)
        out.append(round(10 * math.log10(float(np.median(peak)) + 1e-20), 2))
    return out
