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


def _block_filters() -> tuple[np.ndarray, np.ndarray]:
    """The filter bank as two ``(32, 128)`` matrices over consecutive 32-sample chunks.

    The 32 windows starting in chunk ``c`` span chunks ``c`` and ``c + 1``, so
    their four phases are ``chunk[c] @ T0 + chunk[c + 1] @ T1`` (column
    ``p * 32 + r`` is phase ``p`` of the window starting at ``32 c + r``): two
    plain matrix products over the signal as it lies in memory, where a
    sliding-window view would be copied 32 times over first.
    """
    first, second = np.zeros((K, OVERSAMPLE * K), np.float32), np.zeros((K, OVERSAMPLE * K), np.float32)
    for p in range(OVERSAMPLE):
        for r in range(K):
            for k in range(K):
                target = first if r + k < K else second
                target[(r + k) % K, p * K + r] = _BANK[k, p]
    return first, second


_T0, _T1 = _block_filters()
_ROWS = 1024  # chunks per matrix product: the working set stays in the cache


def _window_peaks(chunks: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
    """Largest |value| of the four phases of each window, ``(rows, 32)``, from ``(n + 1, 32)`` chunks.

    ``rows`` picks the chunks whose windows are wanted (default: all but the last chunk).
    """
    count = len(chunks) - 1 if rows is None else len(rows)
    out = np.empty((count, K), dtype=np.float32)
    for i in range(0, count, _ROWS):
        j = min(count, i + _ROWS)
        if rows is None:
            y = chunks[i:j] @ _T0
            y += chunks[i + 1:j + 1] @ _T1
        else:
            y = chunks[rows[i:j]] @ _T0
            y += chunks[rows[i:j] + 1] @ _T1
        np.abs(y, out=y)
        # elementwise maxima of the four phases: much faster than a reduction over an axis of 4
        np.maximum(np.maximum(y[:, :K], y[:, K:2 * K]), np.maximum(y[:, 2 * K:3 * K], y[:, 3 * K:]), out=out[i:j])
    return out


def _chunks(history: np.ndarray, col: np.ndarray) -> tuple[np.ndarray, int]:
    """``history`` then ``col`` as 32-sample chunks, zeros after (one chunk more than the windows need).

    Returns the chunks and the number of windows.
    """
    n = len(history) + len(col)
    windows = n - K + 1
    rows = -(-windows // K)
    padded = np.zeros((rows + 1) * K, dtype=np.float32)
    padded[:len(history)] = history
    padded[len(history):n] = col
    return padded.reshape(rows + 1, K), windows


# no phase filter can give more than this times the largest |sample| in its window
_GAIN_BOUND = float(np.abs(_BANK).sum(axis=0).max())


class TruePeakTracker:
    """Running true peak of audio arriving in blocks.

    Only windows that could beat the peak found so far are interpolated: a
    window whose largest sample times :data:`_GAIN_BOUND` is below it cannot,
    so the result is exact and quiet passages cost almost nothing.
    """

    def __init__(self, channels: int) -> None:
        self._history = np.zeros((channels, K), dtype=np.float32)  # the last samples of each channel
        self.peak = 0.0

    def add(self, x: np.ndarray) -> None:
        """Take the next ``(frames, channels)`` block into account."""
        if len(x) == 0:
            return
        self.peak = max(self.peak, float(x.max()), -float(x.min()))
        for ch in range(x.shape[1]):
            chunks, windows = _chunks(self._history[ch], x[:, ch])
            chunk_max = np.abs(chunks).max(axis=1)
            # windows starting in chunk c lie within chunks c and c + 1
            reach = np.maximum(chunk_max[:-1], chunk_max[1:]) * _GAIN_BOUND
            # the chunks that could reach highest first: the peak rises fast and rules out most of the rest
            candidates = np.flatnonzero(reach > self.peak)
            candidates = candidates[np.argsort(-reach[candidates], kind="stable")]
            last = len(chunks) - 2
            while len(candidates):
                batch, candidates = candidates[:_ROWS], candidates[_ROWS:]
                peaks = _window_peaks(chunks, batch)
                edge = np.flatnonzero(batch == last)
                if len(edge):  # windows that would run past the block wait for the next one
                    peaks[edge[0], windows - last * K:] = 0.0
                self.peak = max(self.peak, float(peaks.max()))
                candidates = candidates[reach[candidates] > self.peak]
            self._history[ch] = chunks.ravel()[windows - 1:windows - 1 + K]

    def finish(self) -> float:
        """Flush the interpolator's tail; the true peak as a linear magnitude."""
        self.add(np.zeros_like(self._history.T))
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
        self._history = np.zeros((channels, K), dtype=np.float32)  # the last samples of each channel
        self._pos = 0

    def add(self, x: np.ndarray) -> None:
        """The next ``(frames, channels)`` block."""
        if len(x) == 0:
            return
        over = None
        for ch in range(x.shape[1]):
            chunks, windows = _chunks(self._history[ch], x[:, ch])
            peaks = _window_peaks(chunks).ravel()[:windows]
            over = peaks if over is None else np.maximum(over, peaks, out=over)
            self._history[ch] = chunks.ravel()[windows - 1:windows - 1 + K]
        assert over is not None
        # window j ends at stream sample pos - K + j + K - 1 and its values lie ~LAG samples earlier
        first = self._pos - LAG
        for shift in (-1, 0, 1):
            start = first + shift
            skip = max(0, -start)
            bin_reduce(np.maximum, over[skip:], start + skip, self.size, self.bins)
        level = np.abs(x[:, 0])
        for ch in range(1, x.shape[1]):  # column by column: a reduction over a short axis is slow
            np.maximum(level, np.abs(x[:, ch]), out=level)
        bin_reduce(np.maximum, level, self._pos, self.size, self.bins)
        self._pos += len(x)

    def finish(self) -> np.ndarray:
        """Flush the interpolator's tail; the per-bin maxima (linear)."""
        pos = self._pos
        self.add(np.zeros_like(self._history.T))
        self._pos = pos
        return self.bins
