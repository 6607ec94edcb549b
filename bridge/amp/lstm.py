"""The time steps of an LSTM layer, compiled with numba (an LSTM cannot be computed a block at a time).

PyTorch's ``nn.LSTM`` equations, gates in its order (input, forget, cell, output)::

    g = x_t W_ih^T + b + h W_hh^T
    c = sigmoid(g_f) * c + sigmoid(g_i) * tanh(g_g)
    h = sigmoid(g_o) * tanh(c)

in double precision (closer to exact arithmetic than neural-amp-modeler's float32).
Compiled once per machine (numba's cache beside this file, or in numba's user cache).
"""

from __future__ import annotations

import math

import numba
import numpy as np


@numba.njit(cache=True, nogil=True)
def _steps(gates: np.ndarray, w_hh_t: np.ndarray, h: np.ndarray, c: np.ndarray, out: np.ndarray) -> None:
    n, four = gates.shape
    hidden = four // 4
    g = np.empty(four)
    for t in range(n):
        for r in range(four):
            g[r] = gates[t, r]
        for k in range(hidden):  # column by column: the inner loop runs along a row, in SIMD
            hk = h[k]
            for r in range(four):
                g[r] += w_hh_t[k, r] * hk
        for k in range(hidden):
            i = 1.0 / (1.0 + math.exp(-g[k]))
            f = 1.0 / (1.0 + math.exp(-g[hidden + k]))
            cell = math.tanh(g[2 * hidden + k])
            o = 1.0 / (1.0 + math.exp(-g[3 * hidden + k]))
            c[k] = f * c[k] + i * cell
            h[k] = o * math.tanh(c[k])
            out[t, k] = h[k]


def run_layer(gates: np.ndarray, w_hh: np.ndarray, h: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Run one layer over a block.

    Parameters
    ----------
    gates : numpy.ndarray
        ``(n, 4 * hidden)`` float64: each step's input contribution plus the bias.
    w_hh : numpy.ndarray
        ``(4 * hidden, hidden)`` float64, C-contiguous: the recurrent weights.
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
