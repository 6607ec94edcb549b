"""A lookahead limiter that holds a true-peak ceiling.

pedalboard's ``BrickwallLimiter(true_peak=True)`` overshoots (a -1 dBTP ceiling
measured -0.51 dBTP here), so reabridge limits on its own true-peak estimate:

1. the true-peak envelope (4x oversampled, the meter's interpolator) is kept
   as its maximum per bin of about a quarter of the lookahead
   (:class:`bridge.master.truepeak.PeakBins`), so an hour of audio needs a
   few megabytes and the gain search runs on bins, not samples;
2. the gain reduction each bin needs is held for the lookahead time either
   side and averaged over the lookahead (a max-hold then a moving average:
   never below what any bin or its neighbours need, and ramps smoothly);
3. the reduction recovers at a constant rate in dB: 10 dB per release time;
4. per sample, the gain is interpolated linearly between bin centres. Each
   bin's gain satisfies its neighbours' needs too, so the interpolated gain
   never lets a peak through.

Offline, "lookahead" needs no delay: the hold and the average look both ways
in time, so the output stays sample-aligned with the input.

The caller checks the final true peak with the meter and lowers the ceiling
by any remaining overshoot (see :mod:`bridge.master.engine`).
"""

from __future__ import annotations

import math

import numpy as np

from bridge.master.dsp import moving_average, running_max
from bridge.master.truepeak import PeakBins


def bin_size(rate: float, lookahead_ms: float) -> int:
    """Samples per envelope bin: about a quarter of the lookahead."""
    return max(1, int(lookahead_ms * rate / 1000) // 4)


def bin_reduction(peaks: np.ndarray, size: int, rate: float, ceiling_db: float, lookahead_ms: float = 5.0,
                  release_ms: float = 80.0) -> np.ndarray:
    """Gain reduction (dB, >= 0) per bin that keeps bins with these true peaks under ``ceiling_db``.

    The envelope of ``g * x`` is ``g`` times that of ``x``, so a caller trying
    several input gains passes ``g * peaks``.
    """
    with np.errstate(divide="ignore"):
        need = np.maximum(0.0, 20 * np.log10(np.maximum(peaks.astype(np.float64), 1e-12)) - ceiling_db)
    need = running_max(need, 1)  # each bin also serves its neighbours: interpolation stays under the ceiling
    look = max(1, math.ceil(lookahead_ms * rate / 1000 / size))
    held = running_max(need, look)
    smooth = np.maximum(moving_average(held, look + 1), need)
    per_bin = 10.0 / max(1.0, release_ms * rate / 1000) * size  # release: 10 dB per release time
    ramp = per_bin * np.arange(len(smooth))
    return np.maximum.accumulate(smooth + ramp) - ramp


def sample_gain(reduction_db: np.ndarray, size: int, first: int, frames: int) -> np.ndarray:
    """Linear gain for samples ``first .. first + frames - 1``, interpolated between bin centres."""
    centres = (np.arange(len(reduction_db)) + 0.5) * size - 0.5
    gain_bins = 10 ** (-reduction_db / 20)
    return np.interp(np.arange(first, first + frames, dtype=np.float64), centres, gain_bins)


def limit(x: np.ndarray, rate: float, ceiling_db: float, lookahead_ms: float = 5.0,
          release_ms: float = 80.0) -> tuple[np.ndarray, float]:
    """Limit ``(frames, channels)`` audio to a true-peak ceiling (same shape and alignment).

    Returns the limited audio and the deepest gain reduction (dB).
    """
    size = bin_size(rate, lookahead_ms)
    bins = PeakBins(x.shape[1], len(x), size)
    bins.add(x)
    reduction = bin_reduction(bins.finish(), size, rate, ceiling_db, lookahead_ms, release_ms)
    gain = sample_gain(reduction, size, 0, len(x))
    return x * gain[:, None], float(reduction.max()) if len(reduction) else 0.0
