"""True peak by 4x oversampling, as ITU-R BS.1770-4 Annex 2 describes it.

A 128-tap windowed-sinc interpolator is split into four 32-tap phase filters;
each phase is one short convolution at the original rate, so the
oversampled signal is never stored. :class:`TruePeakTracker` keeps the
running maximum of a stream (what the meter reports); :class:`PeakBins`
keeps the maximum per bin of a few dozen samples over a whole stream (what
the limiter works on, see :mod:`bridge.master.limiter`).
"""

from __future__ import annotations

import numpy as np

from bridge.master.dsp import bin_reduce, kaiser_lowpass

OVERSAMPLE = 4
TAPS = 128
_H = kaiser_lowpass(TAPS, 1.0 / OVERSAMPLE, 8.0) * OVERSAMPLE
K = TAPS // OVERSAMPLE  # 32 input samples per phase filter
# an interpolated value from the window ending at input sample n lies about 16.9 samples before n
LAG = 17

# the four phase filters as one (32, 4) matrix, reversed so a sliding window times it is a convolution
_BANK = np.stack([_H[p::OVERSAMPLE][::-1] for p in range(OVERSAMPLE)], axis=1).astype(np.float32)
_CHUNK = 1 << 16


def _oversampled_max(col: np.ndarray) -> np.ndarray:
    """Largest |value| of the four phases for each window of 32 samples of ``col``.

    Sliding windows times the (32, 4) filter bank: one float32 matrix product
    per chunk (BLAS), several times faster than four convolutions; float32
    keeps about 1e-6 dB.
    """
    windows = np.lib.stride_tricks.sliding_window_view(np.asarray(col, dtype=np.float32), K)
    out = np.empty(len(windows), dtype=np.float32)
    for i in range(0, len(windows), _CHUNK):
        y = np.abs(windows[i:i + _CHUNK] @ _BANK)
        # elementwise maxima of the four columns: much faster than a reduction over an axis of 4
        np.maximum(np.maximum(y[:, 0], y[:, 1]), np.maximum(y[:, 2], y[:, 3]), out=out[i:i + _CHUNK])
    return out


# no phase filter can give more than this times the largest |sample| in its window
_GAIN_BOUND = float(np.abs(_BANK).sum(axis=0).max())


class TruePeakTracker:
    """Running true peak of audio arriving in blocks.

    Only windows that could beat the peak found so far are interpolated: a
    window whose largest sample times :data:`_GAIN_BOUND` is below it cannot,
    so the result is exact and quiet passages cost almost nothing.
    """

    def __init__(self, channels: int) -> None:
        self._history = np.zeros((K, channels), dtype=np.float32)
        self.peak = 0.0

    def add(self, x: np.ndarray) -> None:
        """Take the next ``(frames, channels)`` block into account."""
        if len(x) == 0:
            return
        joined = np.concatenate([self._history, np.asarray(x, dtype=np.float32)])
        self.peak = max(self.peak, float(x.max()), -float(x.min()))
        chunks = -(-len(joined) // K)
        for ch in range(joined.shape[1]):
            col = joined[:, ch]
            level = np.zeros(chunks * K + K, dtype=np.float32)
            np.abs(col, out=level[:len(col)])
            chunk_max = level.reshape(-1, K).max(axis=1)
            # windows starting in chunk c lie within chunks c and c + 1
            reach = np.maximum(chunk_max[:-1], chunk_max[1:]) * _GAIN_BOUND
            candidates = np.flatnonzero(reach > self.peak)
            if len(candidates) == 0:
                continue
            starts = (candidates[:, None] * K + np.arange(K)).ravel()
            starts = starts[starts <= len(col) - K]
            windows = np.lib.stride_tricks.sliding_window_view(col, K)[starts]
            for i in range(0, len(windows), _CHUNK):
                y = windows[i:i + _CHUNK] @ _BANK
                self.peak = max(self.peak, float(y.max()), -float(y.min()))
        self._history = joined[-K:]

    def finish(self) -> float:
        """Flush the interpolator's tail; the true peak as a linear magnitude."""
        self.add(np.zeros_like(self._history))
        return self.peak


def true_peak(x: np.ndarray, block: int = 1 << 18) -> float:
    """True peak of ``(frames, channels)`` audio held in memory, as a linear magnitude."""
    tracker = TruePeakTracker(x.shape[1])
    for i in range(0, len(x), block):
        tracker.add(x[i:i + block])
    return tracker.finish()


class PeakBins:
    """Per-bin maxima of the true-peak envelope (all channels) of a stream of ``frames`` samples.

    Every oversampled value counts for the sample it lies nearest to and that
    sample's neighbours, so the interpolator's fractional delay can never hide
    a peak from the bin it belongs to.
    """

    def __init__(self, channels: int, frames: int, size: int) -> None:
        self.size = size
        self.bins = np.zeros(frames // size + 1, dtype=np.float32)
        self._history = np.zeros((K, channels), dtype=np.float32)
        self._pos = 0

    def add(self, x: np.ndarray) -> None:
        """The next ``(frames, channels)`` block."""
        if len(x) == 0:
            return
        x = np.asarray(x, dtype=np.float32)
        joined = np.concatenate([self._history, x])
        over = _oversampled_max(joined[:, 0])
        for ch in range(1, joined.shape[1]):
            np.maximum(over, _oversampled_max(joined[:, ch]), out=over)
        # window j ends at stream sample pos - K + j + K - 1 and its values lie ~LAG samples earlier
        first = self._pos - LAG
        for shift in (-1, 0, 1):
            start = first + shift
            skip = max(0, -start)
            bin_reduce(np.maximum, over[skip:], start + skip, self.size, self.bins)
        bin_reduce(np.maximum, np.abs(x).max(axis=1), self._pos, self.size, self.bins)
        self._history = joined[-K:]
        self._pos += len(x)

    def finish(self) -> np.ndarray:
        """Flush the interpolator's tail; the per-bin maxima (linear)."""
        pos = self._pos
        self.add(np.zeros_like(self._history))
        self._pos = pos
        return self.bins
