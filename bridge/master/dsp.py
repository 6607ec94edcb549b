"""NumPy-only signal processing for the mastering path: streaming FFT filters, filter design, Welch.

The mastering command streams audio several times over, so what runs per
sample must be quick and what is imported must be light: ``scipy.signal``
alone takes about a second to import here, longer than a whole pass over a
3-minute mix. Everything below needs only NumPy (its FFT releases the GIL, so
channels are filtered on two threads).

- :class:`FftFilter` applies an FIR filter to a stream (overlap-save), with
  state carried from block to block: the output is exactly that of one long
  convolution.
- :class:`SosFilter` runs a cascade of second-order sections (the K-weighting
  filter) over a stream as the recursion computes it, by matrix products.
- :func:`kaiser_lowpass` and :func:`design_fir` design filters (windowed sinc;
  frequency sampling with a Hann window).
- :class:`Welch` accumulates an averaged periodogram over a stream, as
  ``scipy.signal.welch`` computes it (Hann window, half overlap, one-sided
  density; no detrending).
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor

import numpy as np

_POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="reabridge-dsp")


def _state_space(sos: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """``(A, B, C, D)`` of a cascade of second-order sections (transposed direct form II state per section)."""
    a_mat, b_vec, c_vec, d = np.zeros((0, 0)), np.zeros(0), np.zeros(0), 1.0
    for b0, b1, b2, _, a1, a2 in np.asarray(sos, dtype=np.float64) / np.asarray(sos, dtype=np.float64)[:, 3:4]:
        # one section: y = s1 + b0 u; s1' = -a1 s1 + s2 + (b1 - a1 b0) u; s2' = -a2 s1 + (b2 - a2 b0) u
        sa = np.array([[-a1, 1.0], [-a2, 0.0]])
        sb = np.array([b1 - a1 * b0, b2 - a2 * b0])
        sc = np.array([1.0, 0.0])
        # its input u is the cascade so far: u = c_vec s + d x
        n = len(b_vec)
        joined = np.zeros((n + 2, n + 2))
        joined[:n, :n] = a_mat
        joined[n:, :n] = np.outer(sb, c_vec)
        joined[n:, n:] = sa
        a_mat, b_vec = joined, np.concatenate([b_vec, sb * d])
        c_vec, d = np.concatenate([b0 * c_vec, sc]), b0 * d
    return a_mat, b_vec, c_vec, float(d)


class SosFilter:
    """A cascade of second-order sections over a stream of ``(frames, channels)`` blocks, as matrix products.

    The output is that of the recursion itself (``scipy.signal.sosfilt`` with
    its state carried from block to block, to rounding), but a sample-by-sample
    loop in Python would take minutes. The cascade is a linear system with a
    state of ``2 * sections`` values, so a block of ``L`` samples is its
    zero-state response (one ``L x L`` Toeplitz matrix of the impulse response)
    plus the free response of the state at the block's start. Those states
    follow ``s[k+1] = s[k] M + u[k]``, solved for ``P`` blocks at a time by two
    more matrix products, which leaves one small Python step per ``L * P``
    samples.

    Parameters
    ----------
    sos : numpy.ndarray
        ``(sections, 6)``: ``[b0, b1, b2, a0, a1, a2]`` per section.
    channels : int
    """

    L = 32
    P = 32

    def __init__(self, sos: np.ndarray, channels: int) -> None:
        a_mat, b_vec, c_vec, d = _state_space(sos)
        n, length, groups = len(b_vec), self.L, self.P
        powers = [np.eye(n)]
        for _ in range(length):
            powers.append(a_mat @ powers[-1])
        self.channels = channels
        self._order = n
        self._powers_t = np.array([p.T for p in powers])  # (A^i)^T: states are rows
        h = np.array([d] + [c_vec @ powers[m - 1] @ b_vec for m in range(1, length)])
        index = np.arange(length)
        lag = index[None, :] - index[:, None]
        self._toeplitz = np.where(lag >= 0, h[np.clip(lag, 0, None)], 0.0)  # block out = block in @ this
        self._free = np.stack([c_vec @ powers[i] for i in range(length)], axis=1)  # (n, L): state -> block out
        self._drive = np.stack([powers[length - 1 - j] @ b_vec for j in range(length)])  # (L, n): block in -> u
        step = self._powers_t[length]
        steps = [np.eye(n)]
        for _ in range(groups):
            steps.append(steps[-1] @ step)
        self._step = step
        self._group_step = steps[groups]
        # states at the P block starts of a group from its first state (R) and the group's inputs (Q);
        # W takes the inputs to the next group's first state
        self._from_start = np.concatenate(steps[:groups], axis=1)
        self._within = np.zeros((groups * n, groups * n))
        for q in range(groups):
            for p in range(q + 1, groups):
                self._within[q * n:(q + 1) * n, p * n:(p + 1) * n] = steps[p - 1 - q]
        self._to_next = np.concatenate([steps[groups - 1 - q] for q in range(groups)], axis=0)
        self._state = np.zeros((channels, n))

    def process(self, block: np.ndarray) -> np.ndarray:
        """Filter the next block; returns ``(frames, channels)`` float64, as many frames as given."""
        return self.process_channels(block).T

    def process_channels(self, block: np.ndarray) -> np.ndarray:
        """Filter the next ``(frames, channels)`` block; returns ``(channels, frames)`` float64."""
        frames = len(block)
        x = np.empty((self.channels, frames))
        x[...] = np.asarray(block).reshape(frames, -1).T
        n, length, groups = self._order, self.L, self.P
        full = frames // length
        out = np.empty((self.channels, frames))
        z = self._state
        if full:
            xb = x[:, :full * length].reshape(self.channels, full, length)
            u = xb @ self._drive
            starts = np.empty((self.channels, full, n))
            whole = full // groups
            if whole:
                uf = u[:, :whole * groups].reshape(self.channels, whole, groups * n)
                nxt = uf @ self._to_next
                firsts = np.empty((self.channels, whole, n))
                for g in range(whole):
                    firsts[:, g] = z
                    z = z @ self._group_step + nxt[:, g]
                starts[:, :whole * groups] = (firsts @ self._from_start + uf @ self._within).reshape(
                    self.channels, -1, n)
            for k in range(whole * groups, full):
                starts[:, k] = z
                z = z @ self._step + u[:, k]
            y = out[:, :full * length].reshape(self.channels, full, length)
            np.matmul(xb, self._toeplitz, out=y)
            y += starts @ self._free
        rest = frames - full * length
        if rest:
            tail = x[:, full * length:]
            out[:, full * length:] = tail @ self._toeplitz[:rest, :rest] + z @ self._free[:, :rest]
            z = z @ self._powers_t[rest] + tail @ self._drive[length - rest:]
        self._state = z
        return out


def kaiser_lowpass(taps: int, cutoff: float, beta: float) -> np.ndarray:
    """Windowed-sinc low-pass with unit DC gain; ``cutoff`` as a fraction of Nyquist."""
    m = np.arange(taps) - (taps - 1) / 2
    h = cutoff * np.sinc(cutoff * m) * np.kaiser(taps, beta)
    return h / h.sum()


def design_fir(freqs: np.ndarray, gains: np.ndarray, taps: int, rate: float) -> np.ndarray:
    """Linear-phase FIR (odd ``taps``) whose magnitude follows ``gains`` at ``freqs`` (Hz), Hann-windowed."""
    grid = 1 << max(10, math.ceil(math.log2(taps)) + 2)
    f = np.linspace(0, rate / 2, grid // 2 + 1)
    magnitude = np.interp(f, freqs, gains)
    h = np.fft.irfft(magnitude, grid)  # zero phase: centred on sample 0
    half = taps // 2
    h = np.concatenate([h[-half:], h[:half + 1]])
    return h * np.hanning(taps + 2)[1:-1]


class FftFilter:
    """A causal FIR filter over a stream of ``(frames, channels)`` blocks (overlap-save).

    Parameters
    ----------
    taps : numpy.ndarray
        The impulse response, or one per channel (``(channels, taps)``).
    channels : int
    """

    BATCH = 4  # segments per FFT call: the working set stays in the cache

    def __init__(self, taps: np.ndarray, channels: int) -> None:
        self.taps = np.asarray(taps, dtype=np.float64)
        self.channels = channels
        m = self.taps.shape[-1]
        self._n = 1 << max(11, math.ceil(math.log2(m)) + 1)
        self._hop = self._n - m + 1
        spectra = np.fft.rfft(self.taps, self._n)
        self._spectra = spectra if spectra.ndim == 2 else np.broadcast_to(spectra, (channels, len(spectra)))
        self._history = np.zeros((channels, m - 1))

    def _channel(self, ch: int, x: np.ndarray) -> np.ndarray:
        joined = np.concatenate([self._history[ch], x])
        m1, hop, n = self._history.shape[1], self._hop, self._n
        count = -(-len(x) // hop)
        padded = np.zeros((count - 1) * hop + n)
        padded[:len(joined)] = joined
        out = np.empty(count * hop)
        segments = np.lib.stride_tricks.sliding_window_view(padded, n)[::hop]
        spectrum = self._spectra[ch]
        for i in range(0, count, self.BATCH):
            y = np.fft.irfft(np.fft.rfft(segments[i:i + self.BATCH], axis=1) * spectrum, n, axis=1)
            out[i * hop:(i + len(y)) * hop] = y[:, m1:].reshape(-1)
        if m1:
            self._history[ch] = joined[-m1:]
        return out[:len(x)]

    def process(self, block: np.ndarray) -> np.ndarray:
        """Filter the next block; returns ``(frames, channels)`` float64, as many frames as given."""
        x = np.asarray(block, dtype=np.float64).reshape(len(block), -1)
        if len(x) == 0:
            return np.zeros((0, self.channels))
        if self.channels == 1:
            return self._channel(0, x[:, 0])[:, None]
        columns = list(_POOL.map(lambda ch: self._channel(ch, x[:, ch]), range(self.channels)))
        return np.stack(columns, axis=1)


class Welch:
    """Averaged periodogram of a stream, as ``scipy.signal.welch(x, fs, nperseg=..., detrend=False)`` gives it.

    Segments are not detrended (the mean only reaches the lowest two bins,
    below 11 Hz at 44.1 kHz, which nothing here looks at). With ``hop`` larger
    than half a segment, segments are spread evenly instead of overlapping:
    an average spectrum of a song needs a few hundred segments, not every one.

    Parameters
    ----------
    rate : float
    nperseg : int
        Segment length (Hann window).
    hop : int, optional
        Distance between segment starts (default: half a segment, as SciPy).
    """

    def __init__(self, rate: float, nperseg: int, hop: int | None = None) -> None:
        self.rate = rate
        self.nperseg = nperseg
        self.hop = max(1, hop or nperseg // 2)
        self._window = np.hanning(nperseg + 1)[:-1]  # periodic Hann, as scipy's get_window
        self._pos = 0  # stream position of the next block's first sample
        self._next = 0  # stream position where the next segment starts
        self._carry: np.ndarray | None = None  # the stream from self._next on, when that is before self._pos
        self._sum = np.zeros(nperseg // 2 + 1)
        self._count = 0

    def add(self, x: np.ndarray, weights: np.ndarray | None = None) -> None:
        """Take in the next block: 1-D, or ``(frames, channels)`` with ``weights`` (the signal is ``x @ weights``).

        Only the samples the segments need are combined and copied: spread
        segments of a long file skip most of each block.
        """
        x = np.asarray(x)
        first, end = self._pos, self._pos + len(x)
        self._pos = end
        if self._carry is not None:  # segments that started in an earlier block
            head = np.concatenate([self._carry, x[:self.nperseg]])
            starts = np.arange(self._next, min(first, end - self.nperseg + 1), self.hop)
            self._take(head, starts - self._next, weights)
            self._next += len(starts) * self.hop
            if self._next < first:
                self._carry = np.concatenate([self._carry[self._next - (first - len(self._carry)):], x])
                return
            self._carry = None
        starts = np.arange(self._next, end - self.nperseg + 1, self.hop)
        self._take(x, starts - first, weights)
        self._next += len(starts) * self.hop
        if self._next < end:
            self._carry = x[self._next - first:].copy()

    def _take(self, data: np.ndarray, starts: np.ndarray, weights: np.ndarray | None) -> None:
        if len(starts) == 0:
            return
        segs = np.lib.stride_tricks.sliding_window_view(data, self.nperseg, axis=0)[starts]
        segs = segs.astype(np.float64) if weights is None else np.moveaxis(segs, -1, 1) @ weights
        spectra = np.fft.rfft(segs * self._window, axis=1)
        self._sum += (spectra.real ** 2 + spectra.imag ** 2).sum(axis=0)
        self._count += len(starts)

    def result(self) -> tuple[np.ndarray, np.ndarray]:
        """Frequencies (Hz) and one-sided power spectral density."""
        freqs = np.fft.rfftfreq(self.nperseg, 1 / self.rate)
        if self._count == 0:
            return freqs, np.zeros_like(freqs)
        psd = self._sum / self._count / (self.rate * np.sum(self._window ** 2))
        psd[1:-1 if self.nperseg % 2 == 0 else None] *= 2
        return freqs, psd


MAX_SEGMENTS = 400


def spread_hop(frames: int, nperseg: int) -> int:
    """A hop that spreads at most :data:`MAX_SEGMENTS` segments over ``frames`` (never closer than half a segment)."""
    return max(nperseg // 2, (frames - nperseg) // MAX_SEGMENTS + 1)


def segment_length(frames: int) -> int:
    """Welch segment length for a signal of ``frames`` samples (8192, or shorter for short input)."""
    return 8192 if frames >= 8192 else max(256, frames)


def running_max(x: np.ndarray, radius: int) -> np.ndarray:
    """Maximum over ``[i - radius, i + radius]`` at each ``i`` (zero outside the signal)."""
    if radius <= 0 or len(x) == 0:
        return x.copy()
    padded = np.concatenate([np.zeros(radius, x.dtype), x, np.zeros(radius, x.dtype)])
    out = x.copy()
    for shift in range(2 * radius + 1):  # radius is a few bins: shifting beats a sliding window
        np.maximum(out, padded[shift:shift + len(x)], out=out)
    return out


def moving_average(x: np.ndarray, size: int) -> np.ndarray:
    """Centred mean over ``size`` samples (edges repeat the end values)."""
    if size <= 1 or len(x) == 0:
        return x.copy()
    left = size // 2
    padded = np.concatenate([np.full(left, x[0]), x, np.full(size - 1 - left, x[-1])])
    c = np.concatenate([[0.0], np.cumsum(padded, dtype=np.float64)])
    return (c[size:] - c[:-size]) / size


def bin_reduce(ufunc: np.ufunc, values: np.ndarray, first: int, size: int, out: np.ndarray) -> None:
    """Combine ``values`` (of samples ``first, first + 1, ...``) into ``out`` per bin of ``size`` samples.

    ``ufunc`` is ``np.maximum`` or ``np.add``; bins past the end of ``out`` are dropped.
    """
    if len(values) == 0:
        return
    b0, b1 = first // size, (first + len(values) - 1) // size
    starts = np.arange(b0, b1 + 1) * size - first
    starts[0] = 0
    reduced = ufunc.reduceat(values, starts)
    stop = min(b1 + 1, len(out))
    if b0 < stop:
        ufunc(out[b0:stop], reduced[:stop - b0], out=out[b0:stop])
