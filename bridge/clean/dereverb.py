"""De-reverb: weighted prediction error (WPE; Nakatani et al. 2010, Yoshioka & Nakatani 2012), in numpy.

In each STFT bin the late reverberation is predicted from the frames ``delay`` and
more before (``taps`` of them) and subtracted; the prediction filter is the one that
minimises the error weighted by the inverse power of the current estimate of the
direct sound, re-estimated ``iterations`` times. The direct sound and the early
reflections (the frames within ``delay``) are not touched, so speech keeps its body.
One channel at a time (the channels of a stereo recording are dereverberated alike).
"""

from __future__ import annotations

import numpy as np

TAPS = 10
DELAY = 2
ITERATIONS = 3


def wpe(spec: np.ndarray, taps: int = TAPS, delay: int = DELAY, iterations: int = ITERATIONS) -> np.ndarray:
    """Dereverberated STFT of one channel.

    Parameters
    ----------
    spec : numpy.ndarray
        ``(frames, bins)`` complex STFT.

    Returns
    -------
    numpy.ndarray
        The same shape: ``spec`` minus its predicted late reverberation.
    """
    frames, bins = spec.shape
    if frames <= delay + taps + 1:
        return spec.copy()
    y = spec.T.astype(np.complex128)  # (bins, frames)
    stacked = np.zeros((bins, frames, taps), dtype=np.complex128)
    for k in range(taps):
        shift = delay + k
        stacked[:, shift:, k] = y[:, :frames - shift]
    estimate = y
    for _ in range(iterations):
        power = np.abs(estimate) ** 2
        # the power of the direct sound, smoothed over three frames, never below a floor (silence)
        power = (np.roll(power, 1, axis=1) + power + np.roll(power, -1, axis=1)) / 3
        power = np.maximum(power, 1e-10 * power.max(axis=1, keepdims=True) + 1e-20)
        weight = 1.0 / power
        weighted = stacked * weight[:, :, None]
        corr = np.einsum("ftk,ftl->fkl", weighted.conj(), stacked)
        cross = np.einsum("ftk,ft->fk", weighted.conj(), y)
        corr += np.eye(taps)[None] * (1e-6 * np.trace(corr, axis1=1, axis2=2)[:, None, None].real / taps + 1e-20)
        filters = np.linalg.solve(corr, cross[:, :, None])[:, :, 0]
        estimate = y - np.einsum("ftk,fk->ft", stacked, filters)
    return estimate.T.astype(np.complex64)
