"""NumPy-only signal processing for the mastering path: streaming FFT filters, filter design, Welch.

The mastering command streams audio several times over, so what runs per
sample must be quick and what is imported must be light: ``scipy.signal``
alone takes about a second to import here, longer than a whole pass over a
3-minute mix. Everything below needs only NumPy (its FFT releases the GIL, so
channels are filtered on two threads).

- :class:`FftFilter` applies an FIR filter to a stream (overlap-save), with
  state carried from block to block: the output is exactly that of one long
  convolution.
- :func:`iir_impulse_response` turns second-order sections into the FIR of
  their impulse response, long enough that the cut tail holds less than
  1e-20 of the energy (the K-weighting filter is applied that way).
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


def iir_impulse_response(sos: np.ndarray, rate: float, tail_energy: float = 1e-20) -> np.ndarray:
    """Impulse response of second-order sections ``[b0, b1, b2, a0, a1, a2]``, cut where it has died away.

    Computed from the frequency response on a grid long enough for the
    response to decay (time aliasing below ``tail_energy``).
    """
    n = 1 << max(12, math.ceil(math.log2(rate)) + 1)  # about 2 s: far longer than any decay here
    z = np.exp(-1j * np.pi * np.arange(n // 2 + 1) / (n // 2))
    response = np.ones(n // 2 + 1, dtype=complex)
    for b0, b1, b2, a0, a1, a2 in sos:
        response *= (b0 + b1 * z + b2 * z * z) / (a0 + a1 * z + a2 * z * z)
    h = np.fft.irfft(response, n)
    energy_after = np.cumsum((h * h)[::-1])[::-1]
    keep = int(np.argmax(energy_after < tail_energy * energy_after[0])) or n
    return h[:keep]


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
        The impulse response.
    channels : int
    """

    def __init__(self, taps: np.ndarray, channels: int) -> None:
        self.taps = np.asarray(taps, dtype=np.float64)
        self.channels = channels
        m = len(self.taps)
        self._n = 1 << max(11, math.ceil(math.log2(m)) + 1)
        self._hop = self._n - m + 1
        self._spectrum = np.fft.rfft(self.taps, self._n)
        self._history = np.zeros((channels, m - 1))

    def _channel(self, ch: int, x: np.ndarray) -> np.ndarray:
        joined = np.concatenate([self._history[ch], x])
        m1, hop, n = len(self.taps) - 1, self._hop, self._n
        count = -(-len(x) // hop)
        padded = np.zeros((count - 1) * hop + n)
        padded[:len(joined)] = joined
        out = np.empty(count * hop)
        segments = np.lib.stride_tricks.sliding_window_view(padded, n)[::hop]
        for i in range(0, count, 16):  # 16 segments per FFT call keeps the working set small
            y = np.fft.irfft(np.fft.rfft(segments[i:i + 16], axis=1) * self._spectrum, n, axis=1)
            out[i * hop:(i + len(y)) * hop] = y[:, m1:].reshape(-1)
        if m1:
            self._history[ch] = joined[-m1:]
        return out[:len(x)]

    def process(self, block: np.ndarray) -> np.ndarray:
        """Filter the next block; returns ``(frames, channels)`` float64, as many frames as given."""
        x = np.asarray(block, dtype=np.float64).reshape(len(block), -1)
        if len(x) == 0:
            return np.zeros((0, self.channels))
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
        self._carry = np.zeros(0)
        self._skip = 0  # samples of the stream to pass over before the next segment starts
        self._sum = np.zeros(nperseg // 2 + 1)
        self._count = 0

    def add(self, x: np.ndarray) -> None:
        """Take in the next 1-D block."""
        x = np.asarray(x, dtype=np.float64)
        if self._skip >= len(x):
            self._skip -= len(x)
            return
        data = np.concatenate([self._carry, x[self._skip:]]) if len(self._carry) else x[self._skip:]
        self._skip = 0
        count = (len(data) - self.nperseg) // self.hop + 1 if len(data) >= self.nperseg else 0
        if count:
            segs = np.lib.stride_tricks.sliding_window_view(data, self.nperseg)[::self.hop][:count]
            spectra = np.fft.rfft(segs * self._window, axis=1)
            self._sum += (spectra.real ** 2 + spectra.imag ** 2).sum(axis=0)
            self._count += count
        start = count * self.hop
        if start > len(data):
            self._skip, self._carry = start - len(data), np.zeros(0)
        else:
            self._carry = data[start:].copy()

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


def channel_mean(x: np.ndarray) -> np.ndarray:
    """The mean of the channels of ``(frames, channels)`` audio (column adds: a reduction over a short axis is slow)."""
    out = np.array(x[:, 0], dtype=np.float64)
    for ch in range(1, x.shape[1]):
        out += x[:, ch]
    if x.shape[1] > 1:
        out /= x.shape[1]
    return out
