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

from bridge.master.truepeak import envelope


def gain_curve(env: np.ndarray, rate: float, ceiling_db: float, lookahead_ms: float = 5.0,
               release_ms: float = 80.0) -> tuple[np.ndarray, float]:
    """The limiter's gain for each sample, from the input's true-peak envelope.

    The envelope of ``g * x`` is ``g`` times that of ``x``, so a caller trying
    several input gains computes the envelope once.

    Returns
    -------
    gain : numpy.ndarray
        Linear gain per sample (at most 1).
    max_reduction_db : float
    """
    ceiling = 10 ** (ceiling_db / 20)
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
    return 10 ** (-reduction / 20), float(reduction.max()) if len(reduction) else 0.0


def limit(x: np.ndarray, rate: float, ceiling_db: float, lookahead_ms: float = 5.0,
          release_ms: float = 80.0) -> tuple[np.ndarray, float]:
    """Limit ``(frames, channels)`` audio to a true-peak ceiling (same shape and alignment).

    Returns the limited audio and the deepest gain reduction (dB).
    """
    gain, reduction = gain_curve(envelope(x), rate, ceiling_db, lookahead_ms, release_ms)
    return x * gain[:, None], reduction
