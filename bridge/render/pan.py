"""REAPER's panners and pan laws.

What is documented (REAPER's API: ``I_PANMODE``, ``D_PANLAW``, ``I_PANLAW_FLAGS``): the
pan modes (0 = REAPER 3.x balance, 3 = stereo balance / mono pan, the default,
5 = stereo pan, 6 = dual pan), the pan law as the gain each side gets at centre
(1.0 = 0 dB, the default; 0.707 = -3 dB; above 1 = gain-compensated), and the
taper flags (0 sine, 2 linear, 3 hybrid, the default). What is not: the curve
between centre and the edges. For the default hybrid taper reabridge uses a
third-party measurement of REAPER's output (its shape ``g`` below); every other
taper, a gain-compensated law and the 3.x balance are approximations, and the
render report says so when a project uses them off centre.
"""

from __future__ import annotations

import math

import numpy as np

BALANCE_3X, BALANCE, STEREO_PAN, DUAL_PAN = 0, 3, 5, 6
SINE, HYBRID_OLD, LINEAR, HYBRID = 0, 1, 2, 3
MODES = {BALANCE_3X: "REAPER 3.x balance", BALANCE: "stereo balance / mono pan", STEREO_PAN: "stereo pan",
         DUAL_PAN: "dual pan"}

#: the hybrid taper's shape at |pan| = 0, 0.02, ... 1 (measured; 1 at centre, 0 at the edge)
_HYBRID_G = np.array([
    1.00000, .99970, .99881, .99732, .99523, .99253, .98924, .98533, .98081, .97567, .96991, .96351, .95647,
    .94878, .94042, .93140, .92169, .91129, .90018, .88834, .87576, .86242, .84831, .83339, .81766, .80109,
    .78365, .76532, .74606, .72586, .70468, .68248, .65923, .63488, .60941, .58276, .55488, .52573, .49526,
    .46339, .43008, .39526, .35885, .32077, .28096, .23931, .19574, .15014, .10239, .05239, 0.0])
_STEPS = np.linspace(0.0, 1.0, len(_HYBRID_G))


def _shape(a: float, taper: int) -> float:
    if taper == LINEAR:
        return 1.0 - a
    return float(np.interp(a, _STEPS, _HYBRID_G))


def pan_gains(pan: float, law: float = 1.0, taper: int = HYBRID) -> tuple[float, float]:
    """Left and right gains of REAPER's panner at ``pan`` (-1 left ... 1 right) with pan law ``law``.

    At centre both sides get ``law`` (1.0: unity); hard left/right gives 1 on that
    side and 0 on the other. ``law`` 0.5 (-6 dB) is a straight line.
    """
    p = min(1.0, max(-1.0, float(pan)))
    if law > 1.0:  # gain-compensated: the uncompensated law scaled so the centre is unity
        left, right = pan_gains(p, 1.0 / law, taper)
        return left * law, right * law
    if abs(law - 0.5) < 1e-9:
        return (1.0 - p) / 2.0, (1.0 + p) / 2.0
    theta = (1.0 + p) * math.pi / 4.0
    k = math.sqrt(2.0) * law if taper == SINE else 1.0 + (law * math.sqrt(2.0) - 1.0) * _shape(abs(p), taper)
    left, right = k * math.cos(theta), k * math.sin(theta)
    return (0.0 if p >= 1.0 else left), (0.0 if p <= -1.0 else right)


def balance_gains(pan: float) -> tuple[float, float]:
    """A plain balance: the far side falls linearly to 0, the near side stays at 1.

    What take pan does in every pan mode (measured), and REAPER 3.x's balance.
    """
    p = min(1.0, max(-1.0, float(pan)))
    return min(1.0, 1.0 - p), min(1.0, 1.0 + p)


def documented(mode: int, pan: float, law: float, taper: int) -> bool:
    """Whether REAPER's gains here are documented or measured (False: the render report lists an approximation)."""
    if pan == 0.0 and mode in (BALANCE, BALANCE_3X):
        return True
    if abs(pan) >= 1.0 and mode == BALANCE:
        return True
    return mode == BALANCE and taper == HYBRID and 0.5 <= law <= 1.0


def matrix(mode: int, pan: float, law: float, taper: int, width: float = 1.0,
           dual: tuple[float, float] = (-1.0, 1.0)) -> np.ndarray:
    """The panner as a 2x2 matrix: ``[left, right] @ matrix`` gives the panned pair."""
    return stereo(np.eye(2), mode, pan, law, taper, width, dual)


def stereo(block: np.ndarray, mode: int, pan: float, law: float, taper: int, width: float = 1.0,
           dual: tuple[float, float] = (-1.0, 1.0)) -> np.ndarray:
    """Pan channels 1/2 of ``block`` (frames, channels >= 2) in place and return it.

    Balance modes scale each side; stereo pan and dual pan place each input
    channel as a mono source at its own position and sum the two.
    """
    left, right = block[:, 0].copy(), block[:, 1].copy()
    if mode == BALANCE_3X:
        gl, gr = balance_gains(pan)
        block[:, 0], block[:, 1] = left * gl, right * gr
        return block
    if mode in (STEREO_PAN, DUAL_PAN):
        if mode == STEREO_PAN:
            spread = (1.0 - abs(pan)) * width
            positions = (pan - spread, pan + spread)
        else:
            positions = dual
        (ll, lr), (rl, rr) = (pan_gains(q, law, taper) for q in positions)
        block[:, 0] = left * ll + right * rl
        block[:, 1] = left * lr + right * rr
        return block
    gl, gr = pan_gains(pan, law, taper)
    block[:, 0], block[:, 1] = left * gl, right * gr
    return block
