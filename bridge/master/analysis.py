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

import copy
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from bridge.audio.reader import collect_warnings, warn
from bridge.audio.source import AudioSource
from bridge.master.dsp import Welch, segment_length, spread_hop
from bridge.master.loudness import LoudnessMeter, LoudnessReport

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


@dataclass
class Survey:
    """One pass over a mix or reference: loudness, levels, clipping, mid and side spectra."""

    loudness: LoudnessReport
    analysis: Analysis
    side_spectrum: tuple[np.ndarray, np.ndarray] = field(repr=False)
    clipped_runs: int = 0
    first_clip_s: float = 0.0


def _clip_runs(flags: np.ndarray) -> np.ndarray:
    """Indices ``i`` where ``flags[i - 2 : i + 1]`` are all set."""
    return np.flatnonzero(flags[:-2] & flags[1:-1] & flags[2:]) + 2


_SURVEYS: OrderedDict[tuple[object, ...], tuple[Survey, list[str]]] = OrderedDict()
_SURVEY_SLOTS = 8
_surveys_lock = threading.Lock()


def survey(source: AudioSource, progress: Callable[[float], None] | None = None,
           nperseg: int | None = None, true_peak: bool = True, side: bool = False) -> Survey:
    """Measure a stream once: BS.1770 loudness (with true peak), RMS and peak, clipped runs, Welch spectra.

    The side channel's spectrum (``side``) is only needed to match a reference.
    A process keeps the surveys of the last few files it measured (by path,
    size, modification time and inode), so a warm daemon's second try at the
    same mix or reference skips this pass; the warnings reading raised come again.
    """
    key = (source.key, nperseg, true_peak, side) if source.key is not None else None
    with _surveys_lock:
        known = _SURVEYS.get(key) if key is not None else None
        if known is not None:
            _SURVEYS.move_to_end(key)
    if known is not None:
        for message in known[1]:
            warn(message)
        if progress:
            progress(1.0)
        return copy.deepcopy(known[0])
    with collect_warnings() as warnings:
        result = _survey(source, progress, nperseg, true_peak, side)
    for message in warnings:
        warn(message)
    if key is not None:
        with _surveys_lock:
            _SURVEYS[key] = (copy.deepcopy(result), list(warnings))
            while len(_SURVEYS) > _SURVEY_SLOTS:
                _SURVEYS.popitem(last=False)
    return result


def _survey(source: AudioSource, progress: Callable[[float], None] | None, nperseg: int | None, true_peak: bool,
            side: bool) -> Survey:
    meter = LoudnessMeter(source.rate, source.channels, true_peak)
    nperseg = nperseg or segment_length(source.frames)
    hop = spread_hop(source.frames, nperseg)
    mid, side_welch = Welch(source.rate, nperseg, hop), Welch(source.rate, nperseg, hop)
    mid_weights = np.full(source.channels, 1 / source.channels)
    side_weights = np.array([0.5, -0.5])
    square_sum, peak, frames = 0.0, 0.0, 0
    runs, first_clip = 0, -1
    tail = np.zeros(0, dtype=bool)
    for block in source.blocks():
        x = np.asarray(block).reshape(len(block), -1)
        meter.add(x)
        mid.add(x, mid_weights)
        if side and x.shape[1] > 1:
            side_welch.add(x[:, :2], side_weights)
        level = np.abs(x[:, 0])
        square_sum += float(np.dot(level.astype(np.float64), level))
        for ch in range(1, x.shape[1]):
            column = np.abs(x[:, ch])
            square_sum += float(np.dot(column.astype(np.float64), column))
            np.maximum(level, column, out=level)
        peak = max(peak, float(level.max())) if len(x) else peak
        flags = np.concatenate([tail, level >= 0.999])
        found = _clip_runs(flags)
        if len(found) and first_clip < 0:
            first_clip = frames - len(tail) + int(found[0])
        runs += len(found)
        tail = flags[-2:]
        frames += len(x)
        if progress:
            progress(frames / max(1, source.frames))
    rms = float(np.sqrt(square_sum / max(1, frames * source.channels)))
    freqs, psd = mid.result()
    analysis = Analysis(20 * np.log10(max(rms, 1e-12)), 20 * np.log10(max(peak, 1e-12)), 0.0, freqs,
                        10 * np.log10(psd + 1e-20))
    analysis.crest_db = analysis.peak_db - analysis.rms_db
    return Survey(meter.report(), analysis, side_welch.result(), runs, max(0, first_clip) / source.rate)


def analyse(audio: np.ndarray, rate: float) -> Analysis:
    """Spectrum (mid channel, Welch) and level statistics of ``(frames, channels)`` audio in memory."""
    return survey(AudioSource.from_array(audio, rate)).analysis


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
