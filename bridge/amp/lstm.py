"""The time steps of an LSTM layer, compiled with numba (an LSTM cannot be computed a block at a time).

PyTorch's ``nn.LSTM`` equations, gates in its order (input, forget, cell, output)::

    g = x_t W_ih^T + b + h W_hh^T
    c = sigmoid(g_f) * c + sigmoid(g_i) * tanh(g_g)
    h = sigmoid(g_o) * tanh(c)

in double precision (closer to exact arithmetic than neural-amp-modeler's float32).
A step is a handful of short loops over the gates that the compiler turns into SIMD
instructions; that includes the exponential behind every sigmoid and tanh
(:func:`_exp_into`: range reduction by ln 2, a degree-12 Taylor polynomial, the power
of two put in the exponent bits; within 5e-16 of ``numpy.exp``), which libm's scalar
``exp`` would not allow (it cost three quarters of the time). Compiled once per
machine (numba's cache beside this file, or in numba's user cache).
"""

from __future__ import annotations

import numba
import numpy as np

_LN2_HI = 6.93147180369123816490e-01  # ln 2 in two parts: k * _LN2_HI is exact for the k used here
_LN2_LO = 1.90821492927058770002e-10
_LOG2E = 1.4426950408889634
_ROUND = 6755399441055744.0  # 1.5 * 2**52: x + _ROUND - _ROUND rounds x to the nearest integer
_TWO52 = 4503599627370496.0  # 2**52: 2**52 + m holds the integer m in a double's low mantissa bits


@numba.njit(cache=True, nogil=True, inline="always")
def _exp_into(x: np.ndarray, out: np.ndarray, work: np.ndarray) -> None:
    """``out = exp(x)`` elementwise (arguments clamped to +-700), in SIMD-friendly loops."""
    n = x.shape[0]
    for r in range(n):
        v = min(max(x[r], -700.0), 700.0)
        k = (v * _LOG2E + _ROUND) - _ROUND
        red = (v - k * _LN2_HI) - k * _LN2_LO  # |red| <= ln(2) / 2
        p = 1.0 / 479001600.0
        p = p * red + 1.0 / 39916800.0
        p = p * red + 1.0 / 3628800.0
        p = p * red + 1.0 / 362880.0
        p = p * red + 1.0 / 40320.0
        p = p * red + 1.0 / 5040.0
        p = p * red + 1.0 / 720.0
        p = p * red + 1.0 / 120.0
        p = p * red + 1.0 / 24.0
        p = p * red + 1.0 / 6.0
        p = p * red + 0.5
        p = p * red + 1.0
        out[r] = p * red + 1.0
        work[r] = k + 1023.0 + _TWO52  # the biased exponent of 2**k, in the low bits
    bits = work.view(np.int64)
    for r in range(n):
        bits[r] = bits[r] << 52  # ... moved into the exponent field: the double 2**k
    scale = bits.view(np.float64)
    for r in range(n):
        out[r] *= scale[r]


@numba.njit(cache=True, nogil=True)
def _steps(gates: np.ndarray, w_hh_t: np.ndarray, h: np.ndarray, c: np.ndarray, out: np.ndarray) -> None:
    n, four = gates.shape
    hidden = four // 4
    g, e, work = np.empty(four), np.empty(four), np.empty(four)
    # sigmoid(x) = 1 / (1 + e^-x) and tanh(x) = 1 - 2 / (1 + e^2x): one exponential for every gate
    scale, first, second = np.empty(four), np.empty(four), np.empty(four)
    for r in range(four):
        cell = 2 * hidden <= r < 3 * hidden
        scale[r], first[r], second[r] = (2.0, 1.0, -2.0) if cell else (-1.0, 0.0, 1.0)
    twice_c, ec, work_c = np.empty(hidden), np.empty(hidden), np.empty(hidden)
    for t in range(n):
        for r in range(four):
            g[r] = gates[t, r]
        for k in range(hidden):  # column by column: the inner loop runs along a row
            hk = h[k]
            for r in range(four):
                g[r] += w_hh_t[k, r] * hk
        for r in range(four):
            g[r] *= scale[r]
        _exp_into(g, e, work)
        for r in range(four):
            g[r] = first[r] + second[r] / (1.0 + e[r])
        for k in range(hidden):
            c[k] = g[hidden + k] * c[k] + g[k] * g[2 * hidden + k]
            twice_c[k] = 2.0 * c[k]
        _exp_into(twice_c, ec, work_c)
        for k in range(hidden):
            h[k] = g[3 * hidden + k] * (1.0 - 2.0 / (1.0 + ec[k]))
            out[t, k] = h[k]


def run_layer(gates: np.ndarray, w_hh: np.ndarray, h: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Run one layer over a block.

    Parameters
    ----------
    gates : numpy.ndarray
        ``(n, 4 * hidden)`` float64: each step's input contribution plus the bias.
    w_hh : numpy.ndarray
        ``(4 * hidden, hidden)`` float64: the recurrent weights.
    h, c : numpy.ndarray
        ``(hidden,)`` float64 state, carried over (updated in place).

    Returns
    -------
    numpy.ndarray
        ``(n, hidden)`` float64: the hidden state after each step.
    """
    out = np.empty((gates.shape[0], h.shape[0]))
    _steps(np.ascontiguousarray(gates), np.ascontiguousarray(w_hh.T), h, c, out)
    return out
