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
from scipy.signal import firwin2, oaconvolve, welch

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


def _mid_side(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if x.shape[1] == 1:
        return x[:, 0], np.zeros(len(x))
    return (x[:, 0] + x[:, 1]) / 2, (x[:, 0] - x[:, 1]) / 2


def _spectrum(x: np.ndarray, rate: float) -> tuple[np.ndarray, np.ndarray]:
    freqs, psd = welch(x, fs=rate, nperseg=min(8192, max(256, len(x))))
    return freqs, psd


def _smooth_log(freqs: np.ndarray, values_db: np.ndarray) -> np.ndarray:
    out = np.empty_like(values_db)
    for i, f in enumerate(freqs):
        if f <= 0:
            out[i] = values_db[min(1, len(values_db) - 1)]
            continue
        lo, hi = f * 2 ** (-SMOOTHING_OCTAVES / 2), f * 2 ** (SMOOTHING_OCTAVES / 2)
        band = (freqs >= lo) & (freqs <= hi)
        out[i] = np.mean(values_db[band])
    return out


def _curve(mix: np.ndarray, ref: np.ndarray, rate: float) -> tuple[np.ndarray, np.ndarray]:
    freqs, p_mix = _spectrum(mix, rate)
    _, p_ref = _spectrum(ref, rate)
    floor = 1e-12
    ratio_db = 10 * np.log10((p_ref + floor) / (p_mix + floor))
    # keep the overall level out of the EQ (loudness is matched separately): centre on 200 Hz-4 kHz
    core = (freqs >= 200) & (freqs <= 4000)
    ratio_db -= np.median(ratio_db[core]) if core.any() else 0.0
    curve = np.clip(_smooth_log(freqs, ratio_db), -MAX_CORRECTION_DB, MAX_CORRECTION_DB)
    # silent bands (e.g. a mono mix's side) get no correction
    curve[(p_mix < floor * 10) | (p_ref < floor * 10)] = 0.0
    return freqs, curve


def analyse_reference(mix: np.ndarray, reference: np.ndarray, rate: float, reference_lufs: float) -> ReferenceMatch:
    """Correction curves that move the mix's mid and side spectra to the reference's."""
    mix_mid, mix_side = _mid_side(mix)
    ref_mid, ref_side = _mid_side(reference)
    freqs, mid_db = _curve(mix_mid, ref_mid, rate)
    _, side_db = _curve(mix_side, ref_side, rate)
    ref_freqs, ref_psd = _spectrum(ref_mid, rate)
    return ReferenceMatch(freqs, mid_db, side_db, (ref_freqs, 10 * np.log10(ref_psd + 1e-20)), reference_lufs)


def _fir(freqs: np.ndarray, curve_db: np.ndarray, rate: float) -> np.ndarray:
    nyquist = rate / 2
    f = np.clip(freqs, 0, nyquist)
    gains = 10 ** (curve_db / 20)
    f, idx = np.unique(f, return_index=True)
    gains = gains[idx]
    if f[0] > 0:
        f, gains = np.concatenate([[0.0], f]), np.concatenate([[gains[0]], gains])
    if f[-1] < nyquist:
        f, gains = np.concatenate([f, [nyquist]]), np.concatenate([gains, [gains[-1]]])
    return firwin2(TAPS, f, gains, fs=rate)


def apply_reference(audio: np.ndarray, match: ReferenceMatch, rate: float) -> np.ndarray:
    """Filter mid and side with their correction curves (linear phase, aligned)."""
    mid, side = _mid_side(audio)
    mid = oaconvolve(mid, _fir(match.freqs, match.mid_db, rate), mode="same")
    if audio.shape[1] == 1:
        return mid[:, None]
    side = oaconvolve(side, _fir(match.freqs, match.side_db, rate), mode="same")
    return np.stack([mid + side, mid - side], axis=1)
