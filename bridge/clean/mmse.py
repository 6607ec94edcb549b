"""The statistical speech estimator: MMSE log-spectral amplitude gains with a noise tracker that follows change.

Per STFT frame and bin (Ephraim & Malah 1985; Cohen's OMLSA form; Gerkmann & Hendriks 2012):

- the noise power is tracked with the speech-presence-probability estimator: the
  posterior probability that speech is present (fixed a-priori SNR of 15 dB under
  the speech hypothesis) weighs the noisy power against the previous estimate, with
  a guard against stagnation, so the estimate follows non-stationary noise within a
  few hundred milliseconds and does not climb on speech;
- the a-priori SNR comes from the decision-directed rule (alpha 0.98);
- the gain is the MMSE log-spectral-amplitude gain, raised to the speech-presence
  probability and floored at ``floor`` where speech is absent (OMLSA), so the
  residual noise keeps its character instead of turning into "musical" tones;
- ``absence`` is the a-priori probability that speech is absent in each frame:
  RNNoise's voice activity can set it (``1 - vad``), else it is fixed.
"""

from __future__ import annotations

import math

import numba
import numpy as np

XI_H1 = 10 ** (15 / 10)
ALPHA = 0.98
XI_MIN = 10 ** (-25 / 10)


@numba.njit(cache=True, nogil=True, fastmath=True)
def _expint(v: float) -> float:
    """The exponential integral E1(v) for v > 0 (series below 1, Abramowitz & Stegun 5.1.56 above; ~5e-5)."""
    if v < 1.0:
        return -0.5772156649 - math.log(v) + v - v * v / 4.0 + v * v * v / 18.0 - v * v * v * v / 96.0 \
            + v ** 5 / 600.0
    num = v * v + 2.334733 * v + 0.250621
    den = v * v + 3.330657 * v + 1.681534
    return math.exp(-v) / v * num / den


@numba.njit(cache=True, nogil=True, fastmath=True)
def lsa_gains(power: np.ndarray, noise0: np.ndarray, floor: float, absence: np.ndarray) -> tuple[np.ndarray,
                                                                                                  np.ndarray]:
    """Gains for every frame and bin of a power spectrogram.

    Parameters
    ----------
    power : numpy.ndarray
        ``(frames, bins)`` noisy power.
    noise0 : numpy.ndarray
        ``(bins,)`` the noise power to start from (a learned profile).
    floor : float
        The smallest gain (linear), where speech is absent.
    absence : numpy.ndarray
        ``(frames,)`` a-priori probability that speech is absent (0.05-0.95).

    Returns
    -------
    gains : numpy.ndarray
        ``(frames, bins)`` float32 in ``[floor, 1]``.
    noise : numpy.ndarray
        ``(frames, bins)`` float32, the tracked noise power.
    """
    frames, bins = power.shape
    gains = np.empty((frames, bins), dtype=np.float32)
    noise_out = np.empty((frames, bins), dtype=np.float32)
    noise = noise0.astype(np.float64).copy()
    for k in range(bins):
        if noise[k] <= 1e-20:
            noise[k] = 1e-20
    smooth_p = np.zeros(bins)
    prev_clean = np.zeros(bins)  # |S|^2 estimate of the previous frame
    c = XI_H1 / (1.0 + XI_H1)
    log_floor = math.log(floor)
    for t in range(frames):
        q = absence[t]
        prior = q / (1.0 - q)
        for k in range(bins):
            p_y = power[t, k] + 1e-20
            post = p_y / noise[k]
            ph1 = 1.0 if post > 200.0 else 1.0 / (1.0 + (1.0 + XI_H1) * math.exp(-post * c))
            smooth_p[k] = 0.9 * smooth_p[k] + 0.1 * ph1
            if smooth_p[k] > 0.99 and ph1 > 0.99:
                ph1 = 0.99
            noise[k] = 0.8 * noise[k] + 0.2 * ((1.0 - ph1) * p_y + ph1 * noise[k])
            gamma = p_y / noise[k]
            xi = ALPHA * prev_clean[k] / noise[k] + (1.0 - ALPHA) * max(gamma - 1.0, 0.0)
            if xi < XI_MIN:
                xi = XI_MIN
            v = xi / (1.0 + xi) * gamma
            if v < 1e-8:
                v = 1e-8
            ev = math.exp(-v) if v < 700.0 else 0.0
            if v < 50.0:  # E1(v) as _expint gives it, sharing exp(-v) above 1
                e1 = _expint(v) if v < 1.0 else ev / v * (v * v + 2.334733 * v + 0.250621) / (
                    v * v + 3.330657 * v + 1.681534)
                g = xi / (1.0 + xi) * math.exp(0.5 * e1)
            else:
                g = xi / (1.0 + xi)
            if g > 1.0:
                g = 1.0
            p = 1.0 / (1.0 + prior * (1.0 + xi) * ev)
            gain = math.exp(p * math.log(g) + (1.0 - p) * log_floor)  # g ** p * floor ** (1 - p), one exp
            if gain < floor:
                gain = floor
            gains[t, k] = gain
            noise_out[t, k] = noise[k]
            prev_clean[k] = g * g * p_y
    return gains, noise_out
