"""Short-time Fourier transforms that keep a signal's length and alignment.

Frames are centred on multiples of the hop (the signal is padded by half a frame
each side), analysed and resynthesised with a square-root Hann window at 50 %
overlap, which reconstructs the input exactly when nothing is changed. So a
stage that works on the spectrum has no latency to compensate.
"""

from __future__ import annotations

import math

import numpy as np


def frame_length(rate: float, seconds: float = 0.032) -> int:
    """The power of two nearest ``seconds`` at ``rate`` (512 at 16 kHz, 1024 at 44.1/48 kHz)."""
    return int(2 ** round(math.log2(max(16.0, seconds * rate))))


def window(n: int) -> np.ndarray:
    """Square-root periodic Hann window (its square overlap-adds to 1 at hop ``n / 2``)."""
    return np.sqrt(0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n) / n)).astype(np.float32)


def stft(x: np.ndarray, n: int) -> np.ndarray:
    """Spectra of ``x`` (1-D) in frames of ``n`` samples every ``n / 2``.

    Returns
    -------
    numpy.ndarray
        complex64 ``(frames, n // 2 + 1)``; frame ``i`` is centred on sample ``i * n / 2``.
    """
    hop = n // 2
    frames = len(x) // hop + 2
    padded = np.zeros((frames + 1) * hop, dtype=np.float32)
    padded[hop:hop + len(x)] = x
    view = np.lib.stride_tricks.sliding_window_view(padded, n)[::hop][:frames]
    return np.fft.rfft(view * window(n), axis=1).astype(np.complex64)


def istft(spec: np.ndarray, n: int, length: int) -> np.ndarray:
    """The signal of ``length`` samples whose :func:`stft` is ``spec`` (overlap-add, float32)."""
    hop = n // 2
    frames = np.fft.irfft(spec, n=n, axis=1).astype(np.float32) * window(n)
    out = np.zeros((len(frames) + 1) * hop, dtype=np.float32)
    out[: len(frames) * hop] += frames[:, :hop].reshape(-1)
    out[hop: (len(frames) + 1) * hop] += frames[:, hop:].reshape(-1)
    return out[hop:hop + length]
