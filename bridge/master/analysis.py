"""What the mix needs: tonal balance against a target curve, and its crest factor.

Tonal balance is the mix's (mid channel's) power per octave band relative to
the 250 Hz-2 kHz region, compared with a target: equal power per octave (pink
noise) with a gentle tilt, the usual reference for finished masters. An
``"auto"`` EQ gain moves half-way towards the target, within the stage's
``max_gain_db``. An ``"auto"`` compressor threshold sits above the mix's RMS by
the part of its crest factor beyond 8 dB, so dynamic mixes are caught only on
their peaks and dense mixes are barely touched.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.signal import welch

REFERENCE_BAND = (250.0, 2000.0)
TARGET_TILT_DB_PER_OCTAVE = -1.0  # relative to 1 kHz, per octave


@dataclass
class Analysis:
    """Measurements that set ``"auto"`` parameters, and the reasons."""

    rms_db: float
    peak_db: float
    crest_db: float
    freqs: np.ndarray = field(repr=False)
    spectrum_db: np.ndarray = field(repr=False)
    decisions: list[str] = field(default_factory=list)

    def band_deviation(self, low: float, high: float) -> float:
        """How far the band sits above (+) or below (-) the target curve, dB."""
        return _band_level(self.freqs, self.spectrum_db, low, high) - _target_level(low, high)


def _band_level(freqs: np.ndarray, spec_db: np.ndarray, low: float, high: float) -> float:
    ref = (freqs >= REFERENCE_BAND[0]) & (freqs < REFERENCE_BAND[1])
    band = (freqs >= low) & (freqs < high)
    if not band.any() or not ref.any():
        return 0.0
    power = 10 ** (spec_db / 10)
    per_octave_band = np.sum(power[band]) / np.log2(high / low)
    per_octave_ref = np.sum(power[ref]) / np.log2(REFERENCE_BAND[1] / REFERENCE_BAND[0])
    return float(10 * np.log10(per_octave_band / per_octave_ref + 1e-30))


def _target_level(low: float, high: float) -> float:
    centre = np.sqrt(low * high)
    ref_centre = np.sqrt(REFERENCE_BAND[0] * REFERENCE_BAND[1])
    return float(TARGET_TILT_DB_PER_OCTAVE * np.log2(centre / ref_centre))


def analyse(audio: np.ndarray, rate: float) -> Analysis:
    """Spectrum (mid channel, Welch) and level statistics of ``(frames, channels)`` audio."""
    mid = audio.mean(axis=1)
    freqs, psd = welch(mid, fs=rate, nperseg=8192 if len(mid) >= 8192 else max(256, len(mid)))
    spec_db = 10 * np.log10(psd + 1e-20)
    rms = float(np.sqrt(np.mean(audio ** 2)))
    peak = float(np.max(np.abs(audio)))
    rms_db = 20 * np.log10(max(rms, 1e-12))
    peak_db = 20 * np.log10(max(peak, 1e-12))
    return Analysis(rms_db, peak_db, peak_db - rms_db, freqs, spec_db)


EQ_BANDS = {"low_shelf": lambda fc: (20.0, fc * 1.5), "high_shelf": lambda fc: (fc / 1.5, 20000.0),
            "peak": lambda fc: (fc / 1.41, fc * 1.41)}


def auto_gain(analysis: Analysis, stage_type: str, cutoff: float, max_gain: float) -> float:
    """EQ gain half-way towards the target curve, limited to ``max_gain``; records why."""
    low, high = EQ_BANDS[stage_type](cutoff)
    deviation = analysis.band_deviation(low, high)
    gain = float(np.clip(-deviation / 2, -max_gain, max_gain))
    analysis.decisions.append(
        f"{stage_type} at {cutoff:g} Hz: the {low:.0f}-{high:.0f} Hz band is {deviation:+.1f} dB from the target "
        f"curve, so {gain:+.1f} dB (half-way, limit +/-{max_gain:g} dB)")
    return gain


def auto_threshold(analysis: Analysis) -> float:
    """Compressor threshold from RMS and crest factor; records why."""
    above = float(np.clip(analysis.crest_db - 8.0, 2.0, 12.0))
    threshold = float(np.clip(analysis.rms_db + above, -60.0, 0.0))
    analysis.decisions.append(
        f"compressor threshold {threshold:.1f} dB: RMS {analysis.rms_db:.1f} dBFS plus {above:.1f} dB "
        f"(crest factor {analysis.crest_db:.1f} dB less 8 dB, kept within 2-12 dB)")
    return threshold
