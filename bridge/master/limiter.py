"""A lookahead limiter that holds a true-peak ceiling.

pedalboard's ``BrickwallLimiter(true_peak=True)`` overshoots (a -1 dBTP ceiling
measured -0.51 dBTP here), so reabridge limits on its own true-peak estimate:

1. every sample's true peak is estimated from a 4x oversampled copy of the
   signal (the same interpolator as the meter);
2. the gain reduction each sample needs is held for the lookahead time ahead
   of it and averaged over the lookahead (a max-hold then a moving average:
   the average never falls below what any sample needs, and ramps smoothly);
3. the reduction recovers at a constant rate in dB: 10 dB per release time.

Offline, "lookahead" needs no delay: the hold and the average look both ways
in time, so the output stays sample-aligned with the input.

The caller checks the final true peak with the meter and lowers the ceiling
by any remaining overshoot (see :mod:`bridge.master.engine`).
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import maximum_filter1d, uniform_filter1d
from scipy.signal import resample_poly

OVERSAMPLE = 4


def true_peak_envelope(x: np.ndarray) -> np.ndarray:
    """Per-sample true-peak estimate (max over channels of the oversampled magnitude)."""
    up = np.abs(resample_poly(x, OVERSAMPLE, 1, axis=0))
    n = len(x)
    # sample i covers oversampled points 4i-2 .. 4i+1 (its neighbourhood on both sides)
    padded = np.concatenate([np.zeros((2, up.shape[1])), up, np.zeros((OVERSAMPLE, up.shape[1]))])
    blocks = padded[: OVERSAMPLE * n].reshape(n, OVERSAMPLE, up.shape[1])
    env = blocks.max(axis=(1, 2))
    return np.maximum(env, np.abs(x).max(axis=1))


def limit(x: np.ndarray, rate: float, ceiling_db: float, lookahead_ms: float = 5.0,
          release_ms: float = 80.0) -> tuple[np.ndarray, float]:
    """Limit ``(frames, channels)`` audio to a true-peak ceiling.

    Returns
    -------
    y : numpy.ndarray
        The limited audio, same shape and alignment.
    max_reduction_db : float
        The deepest gain reduction applied.
    """
    ceiling = 10 ** (ceiling_db / 20)
    env = true_peak_envelope(x)
    with np.errstate(divide="ignore"):
        need = np.maximum(0.0, 20 * np.log10(np.maximum(env, 1e-12) / ceiling))
    look = max(1, int(round(lookahead_ms * rate / 1000)))
    # hold each need over the `look` samples before it, then average over `look`: never below the need
    held = maximum_filter1d(need, size=2 * look + 1, origin=0, mode="constant")
    smooth = uniform_filter1d(held, size=look + 1, mode="nearest")
    smooth = np.maximum(smooth, need)
    # release: recover at most `rate_db` per sample
    rate_db = 10.0 / max(1.0, release_ms * rate / 1000)
    idx = np.arange(len(smooth))
    reduction = np.maximum.accumulate(smooth + rate_db * idx) - rate_db * idx
    gain = 10 ** (-reduction / 20)
    return x * gain[:, None], float(reduction.max()) if len(reduction) else 0.0
