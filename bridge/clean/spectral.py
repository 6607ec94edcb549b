"""Broadband (music-safe) denoise: spectral gating against a learned noise profile.

The profile is the noise's mean power per STFT bin, learned from the quietest
stretches of the recording, or from a time range or another item the user names
(RX's "learn"). Each bin's gain is a Wiener-style gate on power smoothed over three
frames and three bins (noise counted 2.5 times over), never below ``floor``, opened at
once and closed over about 50 ms, so notes keep their attacks and tails and the residual noise stays smooth
rather than "musical".
"""

from __future__ import annotations

import numpy as np

OVERSUBTRACT = 2.5
RELEASE_S = 0.05


def noise_profile(power: np.ndarray, quietest: float = 0.1) -> np.ndarray:
    """Mean power per bin over the quietest ``quietest`` share of frames (by total power)."""
    if len(power) == 0:
        return np.zeros(power.shape[1], dtype=np.float32)
    totals = power.sum(axis=1)
    count = max(1, int(round(len(power) * quietest)))
    quiet = np.argsort(totals)[:count]
    return power[quiet].mean(axis=0).astype(np.float32)


def _smooth3(a: np.ndarray, axis: int) -> np.ndarray:
    padded = np.concatenate([a.take([0], axis=axis), a, a.take([-1], axis=axis)], axis=axis)
    n = a.shape[axis]
    return (padded.take(range(0, n), axis=axis) + padded.take(range(1, n + 1), axis=axis)
            + padded.take(range(2, n + 2), axis=axis)) / 3.0


def gate_gains(power: np.ndarray, profile: np.ndarray, floor: float, hop_s: float) -> np.ndarray:
    """Gains ``(frames, bins)`` in ``[floor, 1]`` for a power spectrogram against a noise profile."""
    smoothed = _smooth3(_smooth3(power, 0), 1)
    wanted = np.clip(1.0 - OVERSUBTRACT * profile[None, :] / np.maximum(smoothed, 1e-20), floor * floor, 1.0)
    wanted = np.sqrt(wanted).astype(np.float32)
    fall = np.float32(np.exp(-hop_s / RELEASE_S))
    gains = np.empty_like(wanted)
    current = wanted[0].copy() if len(wanted) else np.zeros(power.shape[1], dtype=np.float32)
    for t in range(len(wanted)):
        current = np.maximum(wanted[t], current * fall + wanted[t] * (1 - fall))
        gains[t] = current
    return np.maximum(gains, np.float32(floor))
