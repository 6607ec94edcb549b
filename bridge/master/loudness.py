"""Loudness and peak measurement: ITU-R BS.1770-4, EBU R128 / Tech 3342, true peak.

Everything is computed in one streaming pass over blocks of audio, so an hour
of audio is measured in constant memory:

- K-weighting: BS.1770's high-shelf pre-filter and RLB high-pass, designed for
  the actual sample rate (the same bilinear-transform design pyloudnorm and
  libebur128 use), run as the recursive filter itself with its state carried
  across blocks (:class:`bridge.master.dsp.SosFilter`: matrix products, no
  ``scipy.signal`` import);
- mean square per 100 ms step; momentary (400 ms) and short-term (3 s) windows
  are sums of those steps;
- integrated loudness: 400 ms blocks, 75 % overlap, absolute gate -70 LUFS,
  relative gate -10 LU (BS.1770-4);
- loudness range: short-term values every 100 ms, absolute gate -70 LUFS,
  relative gate -20 LU, 10th to 95th percentile (EBU Tech 3342);
- true peak: 4x oversampling with BS.1770-4's kind of interpolator (see
  :mod:`bridge.master.truepeak`), carried across blocks so no sample is missed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from bridge.errors import ReabridgeError
from bridge.master.dsp import SosFilter
from bridge.master.truepeak import TruePeakTracker

ABSOLUTE_GATE = -70.0
STEP_S = 0.1


class LoudnessError(ReabridgeError):
    """Audio that cannot be measured or mastered (silent, too short, invalid)."""


def _k_weighting(rate: float) -> np.ndarray:
    """Second-order sections of the K-weighting filter for ``rate`` (BS.1770-4)."""
    # stage 1: high shelf, +4 dB above ~1.5 kHz
    g, q, fc = 3.999843853973347, 0.7071752369554196, 1681.974450955533
    k = math.tan(math.pi * fc / rate)
    vh, vb = 10 ** (g / 20), (10 ** (g / 20)) ** 0.4996667741545416
    a0 = 1 + k / q + k * k
    shelf = [(vh + vb * k / q + k * k) / a0, 2 * (k * k - vh) / a0, (vh - vb * k / q + k * k) / a0,
             1.0, 2 * (k * k - 1) / a0, (1 - k / q + k * k) / a0]
    # stage 2: RLB high-pass at ~38 Hz
    q2, fc2 = 0.5003270373238773, 38.13547087602444
    k2 = math.tan(math.pi * fc2 / rate)
    a02 = 1 + k2 / q2 + k2 * k2
    highpass = [1.0, -2.0, 1.0, 1.0, 2 * (k2 * k2 - 1) / a02, (1 - k2 / q2 + k2 * k2) / a02]
    return np.array([shelf, highpass])


def k_weighting(rate: float, channels: int) -> SosFilter:
    """The K-weighting filter for a stream of ``channels`` channels at ``rate``."""
    return SosFilter(_k_weighting(rate), channels)


def channel_weights(channels: int) -> np.ndarray:
    """BS.1770 channel weights: 1.0, and 1.41 for the surround pair of a 5.1 layout."""
    weights = np.ones(channels)
    if channels == 6:
        weights[4:6] = 1.41
    return weights


def weighted_energy(filtered: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Channel-weighted sum of squares per sample of ``(channels, frames)`` K-weighted audio."""
    energy = filtered[0] * filtered[0]
    if weights[0] != 1:
        energy *= weights[0]
    for ch in range(1, len(filtered)):  # channel by channel: a reduction over a short axis is slow
        square = filtered[ch] * filtered[ch]
        if weights[ch] != 1:
            square *= weights[ch]
        energy += square
    return energy


def _lufs(mean_square: np.ndarray | float) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return -0.691 + 10 * np.log10(mean_square)


@dataclass
class LoudnessReport:
    """Measurements of one piece of audio.

    Attributes
    ----------
    integrated : float
        Integrated loudness, LUFS (``-inf`` when everything is gated out).
    lra : float
        Loudness range, LU.
    sample_peak, true_peak : float
        dBFS and dBTP.
    short_term : numpy.ndarray
        Short-term loudness (3 s window) every 100 ms, LUFS.
    duration : float
        Seconds.
    """

    integrated: float
    lra: float
    sample_peak: float
    true_peak: float
    short_term: np.ndarray = field(repr=False)
    duration: float = 0.0

    def to_dict(self) -> dict[str, float]:
        """Figures for the JSON report (rounded to 0.01)."""
        return {"integrated_lufs": round(self.integrated, 2), "lra_lu": round(self.lra, 2),
                "sample_peak_dbfs": round(self.sample_peak, 2), "true_peak_dbtp": round(self.true_peak, 2),
                "duration_s": round(self.duration, 3)}


class LoudnessMeter:
    """Streaming BS.1770-4 meter: feed blocks of ``(frames, channels)`` audio, then :meth:`report`.

    Parameters
    ----------
    rate : float
    channels : int
    """

    def __init__(self, rate: float, channels: int, true_peak: bool = True) -> None:
        self.rate = rate
        self.channels = channels
        self._filter = k_weighting(rate, channels)
        self._weights = channel_weights(channels)
        self._step = int(round(STEP_S * rate))
        self._carry = np.zeros(0)
        self._steps: list[float] = []  # weighted channel sum of mean squares per 100 ms step
        self._frames = 0
        self._sample_peak = 0.0
        self._tracker = TruePeakTracker(channels) if true_peak else None

    def add(self, block: np.ndarray) -> None:
        """Measure the next block (``(frames,)`` or ``(frames, channels)``, float)."""
        x = np.asarray(block)
        if x.dtype.kind != "f":
            x = x.astype(np.float64)
        if x.ndim == 1:
            x = x[:, None]
        if not np.isfinite(x).all():
            raise LoudnessError("the audio holds invalid samples (NaN or infinity)")
        if len(x) == 0:
            return
        self._frames += len(x)
        self._sample_peak = max(self._sample_peak, float(x.max()), -float(x.min()))
        if self._tracker is not None:
            self._tracker.add(x)
        energy = weighted_energy(self._filter.process_channels(x), self._weights)
        data = np.concatenate([self._carry, energy]) if len(self._carry) else energy
        whole = (len(data) // self._step) * self._step
        if whole:
            self._steps.extend((data[:whole].reshape(-1, self._step).sum(axis=1) / self._step).tolist())
        self._carry = data[whole:]

    def report(self) -> LoudnessReport:
        """All measurements so far."""
        steps = np.asarray(self._steps)
        momentary = window_means(steps, 4)
        integrated = gated_loudness(momentary, -10.0)
        short_term_ms = window_means(steps, 30)
        short_term = _lufs(short_term_ms)
        lra = _loudness_range(short_term)
        true_peak = self._tracker.finish() if self._tracker is not None else self._sample_peak
        return LoudnessReport(integrated, lra, _db(self._sample_peak), _db(true_peak), short_term,
                              self._frames / self.rate)


def _db(linear: float) -> float:
    return 20 * math.log10(linear) if linear > 0 else float("-inf")


def window_means(steps: np.ndarray, n: int) -> np.ndarray:
    """Mean of every ``n`` consecutive 100 ms steps (a window every 100 ms)."""
    if len(steps) < n:
        return np.zeros(0)
    c = np.concatenate([[0.0], np.cumsum(steps)])
    return (c[n:] - c[:-n]) / n


def gated_loudness(blocks: np.ndarray, relative: float) -> float:
    """BS.1770 two-stage gating over block mean squares; loudness of what passes."""
    if len(blocks) == 0:
        return float("-inf")
    loud = _lufs(blocks)
    above = blocks[loud > ABSOLUTE_GATE]
    if len(above) == 0:
        return float("-inf")
    gate = float(_lufs(np.mean(above))) + relative
    kept = above[_lufs(above) > gate]
    return float(_lufs(np.mean(kept))) if len(kept) else float("-inf")


def _loudness_range(short_term: np.ndarray) -> float:
    """EBU Tech 3342 loudness range from short-term loudness values (LUFS)."""
    values = short_term[short_term > ABSOLUTE_GATE]
    if len(values) == 0:
        return 0.0
    power = np.mean(10 ** (values / 10))
    gate = 10 * math.log10(power) - 20.0
    kept = values[values > gate]
    if len(kept) == 0:
        return 0.0
    low, high = _percentiles(kept, (10 / 100, 95 / 100))
    return float(high - low)


def _percentiles(values: np.ndarray, quantiles: tuple[float, ...]) -> list[float]:
    """``np.percentile``'s linear interpolation, step for step (it imports ``numpy.ma``: 30 ms at start-up)."""
    ordered = np.sort(values)
    n = len(ordered)
    out = []
    for q in quantiles:
        virtual = (n - 1) * q
        if virtual >= n - 1:
            out.append(float(ordered[-1]))
            continue
        below = math.floor(virtual)
        t = virtual - below
        a, b = float(ordered[below]), float(ordered[below + 1])
        out.append(b - (b - a) * (1 - t) if t >= 0.5 else a + (b - a) * t)
    return out


def measure_array(audio: np.ndarray, rate: float, block: int = 1 << 18, true_peak: bool = True) -> LoudnessReport:
    """Measure audio held in memory (``(frames,)`` or ``(frames, channels)``).

    ``true_peak=False`` skips the oversampling (the true peak then reads as the sample peak).
    """
    x = audio if audio.ndim == 2 else audio[:, None]
    meter = LoudnessMeter(rate, x.shape[1], true_peak)
    for i in range(0, len(x), block):
        meter.add(x[i:i + block])
    return meter.report()
