"""REAPER's item fade curves: seven shapes, each bent by a curve amount from -1 to 1.

A fade is one cubic Bezier from (0, 0) to (1, 1) (fade-in; a fade-out runs from
(0, 1) to (1, 0)): x is the position in the fade, y the gain. Its two inner
control points come from preset pairs blended by the curve amount -- the model
Cockos supplied to the SWS extension (``Breeder/BR_Util.cpp``, "code bits
courtesy of Cockos"), which REAPER's own fades follow. The gain at a position is
found by solving the Bezier for x (Newton steps on a monotone curve).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

#: inner control points (x1, y1, x2, y2) of the preset curves
_P = {
    "0": (0.5, 0.5, 0.5, 0.5), "1": (0.25, 0.5, 0.625, 1.0), "2": (0.375, 0.0, 0.75, 0.5),
    "3": (0.25, 1.0, 0.5, 1.0), "4": (0.5, 0.0, 0.75, 0.0), "4i": (0.0, 1.0, 0.125, 1.0),
    "5": (0.375, 0.0, 0.625, 1.0), "50": (0.25, 0.25, 0.25, 1.0), "51": (0.75, 0.0, 0.75, 0.75),
    "6": (0.875, 0.0, 0.125, 1.0), "60": (0.375, 0.25, 0.0, 1.0), "61": (1.0, 0.0, 0.625, 0.75),
    "7": (0.25, 0.375, 0.625, 1.0),
}
#: shape -> (preset at curve 0, pair for a negative curve, pair for a positive curve)
_SHAPES = {
    1: ("1", ("4i", "1"), ("1", "4")),
    2: ("0", ("1", "0"), ("0", "2")),
    5: ("5", ("50", "5"), ("5", "51")),
    6: ("6", ("60", "6"), ("6", "61")),
    7: ("7", ("4i", "7"), ("7", "4")),
}
_OTHER = ("0", ("3", "0"), ("0", "4"))  # shapes 0, 3, 4


def control_points(shape: int, curve: float, fade_out: bool) -> tuple[float, float, float, float]:
    """The inner control points of a fade's Bezier, in the fade-in orientation of its own direction."""
    d = -curve if fade_out else curve
    d = min(1.0, max(-1.0, d))
    flat, negative, positive = _SHAPES.get(int(shape), _OTHER)
    if d == 0.0:
        points = _P[flat]
    else:
        (a, b), (wa, wb) = (negative, (-d, 1.0 + d)) if d < 0 else (positive, (1.0 - d, d))
        points = tuple(wa * pa + wb * pb for pa, pb in zip(_P[a], _P[b], strict=True))  # type: ignore[assignment]
    x1, y1, x2, y2 = points
    if fade_out and points != _P["0"]:
        x1, x2, y1, y2 = 1.0 - x2, 1.0 - x1, y2, y1
    return x1, y1, x2, y2


def _bezier(t: np.ndarray, p1: float, p2: float) -> np.ndarray:
    u = 1.0 - t
    return 3.0 * u * u * t * p1 + 3.0 * u * t * t * p2 + t * t * t


@lru_cache(maxsize=64)
def _table(shape: int, curve: float, fade_out: bool) -> tuple[np.ndarray, np.ndarray]:
    """The curve sampled densely enough that linear interpolation is exact to float precision."""
    x1, y1, x2, y2 = control_points(shape, curve, fade_out)
    t = np.linspace(0.0, 1.0, 1 << 15)
    x = _bezier(t, x1, x2)
    if fade_out:  # from (0, 1) to (1, 0)
        u = 1.0 - t
        y = u * u * u + 3.0 * u * u * t * y1 + 3.0 * u * t * t * y2
    else:
        y = _bezier(t, y1, y2)
    order = np.argsort(x, kind="stable")
    return x[order], y[order]


def fade_gain(u: np.ndarray, shape: int, curve: float, fade_out: bool) -> np.ndarray:
    """Gain at positions ``u`` (0 = start of the fade, 1 = its end).

    A fade-in rises from 0 to 1, a fade-out falls from 1 to 0.
    """
    x, y = _table(int(shape), float(curve), bool(fade_out))
    return np.interp(np.clip(u, 0.0, 1.0), x, y)
