"""Matching a reference track's tonal balance (mid and side apart) and loudness.

As Matchering does, the mix and the reference are compared in mid/side form:
their average spectra (Welch) give a correction curve for each of mid and
side, smoothed over 1/3 octave and limited to +/-12 dB, applied by a
linear-phase FIR filter (so nothing moves in time). The loudness target
becomes the reference's integrated loudness unless the user sets one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from bridge.master.analysis import Survey
from bridge.master.dsp import FftFilter, design_fir

MAX_CORRECTION_DB = 12.0
TAPS = 4097
SMOOTHING_OCTAVES = 1 / 3


@dataclass
class ReferenceMatch:
    """The correction curves (dB over frequency) and the reference's spectrum and loudness."""

    freqs: np.ndarray = field(repr=False)
    mid_db: np.ndarray = field(repr=False)
    side_db: np.ndarray = field(repr=False)
    reference_spectrum: tuple[np.ndarray, np.ndarray] = field(repr=False)
    reference_lufs: float = float("-inf")

    def describe(self) -> str:
        """One line for the report."""
        def span(curve: np.ndarray) -> str:
            return f"{np.min(curve):+.1f} to {np.max(curve):+.1f} dB"
        return (f"matched the reference's tonal balance: mid corrected by {span(self.mid_db)}, side by "
                f"{span(self.side_db)} (1/3-octave smoothed, limited to +/-{MAX_CORRECTION_DB:g} dB, linear phase)")


def _smooth_log(freqs: np.ndarray, values_db: np.ndarray) -> np.ndarray:
    """Mean over +/- half of :data:`SMOOTHING_OCTAVES` around each frequency (DC takes the first band's)."""
    c = np.concatenate([[0.0], np.cumsum(values_db)])
    half = 2 ** (SMOOTHING_OCTAVES / 2)
    lo = np.searchsorted(freqs, freqs / half, side="left")
    hi = np.searchsorted(freqs, freqs * half, side="right")
    out = (c[hi] - c[lo]) / np.maximum(hi - lo, 1)
    if len(out) > 1 and freqs[0] <= 0:
        out[0] = out[1]
    return out


def _median(values: np.ndarray) -> float:
    """``np.median`` of a 1-D array (which imports ``numpy.ma``: 30 ms at start-up)."""
    ordered = np.sort(values)
    half = len(ordered) // 2
    return float(ordered[half]) if len(ordered) % 2 else float((ordered[half - 1] + ordered[half]) / 2)


def _curve(freqs: np.ndarray, p_mix: np.ndarray, p_ref: np.ndarray) -> np.ndarray:
    floor = 1e-12
    ratio_db = 10 * np.log10((p_ref + floor) / (p_mix + floor))
    # keep the overall level out of the EQ (loudness is matched separately): centre on 200 Hz-4 kHz
    core = (freqs >= 200) & (freqs <= 4000)
    ratio_db -= _median(ratio_db[core]) if core.any() else 0.0
    curve = np.clip(_smooth_log(freqs, ratio_db), -MAX_CORRECTION_DB, MAX_CORRECTION_DB)
    # silent bands (e.g. a mono mix's side) get no correction
    curve[(p_mix < floor * 10) | (p_ref < floor * 10)] = 0.0
    return curve


def analyse_reference(mix: Survey, reference: Survey) -> ReferenceMatch:
    """Correction curves that move the mix's mid and side spectra to the reference's.

    Both surveys must be at the same sample rate and segment length.
    """
    freqs = mix.analysis.freqs
    mid_mix, mid_ref = 10 ** (mix.analysis.spectrum_db / 10), 10 ** (reference.analysis.spectrum_db / 10)
    mid_db = _curve(freqs, mid_mix, mid_ref)
    side_db = _curve(freqs, mix.side_spectrum[1], reference.side_spectrum[1])
    return ReferenceMatch(freqs, mid_db, side_db, (reference.analysis.freqs, reference.analysis.spectrum_db),
                          reference.loudness.integrated)


def _fir(freqs: np.ndarray, curve_db: np.ndarray, rate: float) -> np.ndarray:
    return design_fir(freqs, 10 ** (curve_db / 20), TAPS, rate)


class ReferenceFilter:
    """Mid and side through their correction filters, as a stream; the output is aligned with the input.

    The linear-phase filters delay by ``(TAPS - 1) / 2`` samples: the first
    that many outputs are dropped and :meth:`flush` gives the last ones.
    """

    def __init__(self, match: ReferenceMatch, rate: float, channels: int) -> None:
        self.channels = channels
        taps = [_fir(match.freqs, match.mid_db, rate)]
        if channels > 1:
            taps.append(_fir(match.freqs, match.side_db, rate))
        self._filter = FftFilter(np.stack(taps), len(taps))  # mid and side filtered side by side
        self._skip = (TAPS - 1) // 2

    def _run(self, x: np.ndarray) -> np.ndarray:
        if self.channels == 1:
            y = self._filter.process(x.mean(axis=1))
        else:
            mid_side = np.empty((len(x), 2))
            np.add(x[:, 0], x[:, 1], out=mid_side[:, 0])
            np.subtract(x[:, 0], x[:, 1], out=mid_side[:, 1])
            mid_side *= 0.5
            filtered = self._filter.process(mid_side)
            y = np.empty((len(x), 2))
            np.add(filtered[:, 0], filtered[:, 1], out=y[:, 0])
            np.subtract(filtered[:, 0], filtered[:, 1], out=y[:, 1])
        drop = min(self._skip, len(y))
        self._skip -= drop
        return y[drop:]

    def process(self, block: np.ndarray) -> np.ndarray:
        """The next ``(frames, channels)`` block (the first blocks come out shorter by the delay)."""
        return self._run(np.asarray(block, dtype=np.float64).reshape(len(block), -1))

    def flush(self) -> np.ndarray:
        """The last ``(TAPS - 1) / 2`` frames."""
        return self._run(np.zeros(((TAPS - 1) // 2, self.channels)))
