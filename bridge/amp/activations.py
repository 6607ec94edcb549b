"""The activation functions NAM captures use, by the names ``.nam`` files give them.

Each takes and returns a ``(channels, time)`` float32 array and may overwrite
its input (the networks hand them temporaries). ``Fasttanh`` (the C++ core's
approximation) is computed exactly, as reabridge promises exact output. The
formulas are PyTorch's (neural-amp-modeler's training code runs on it), in NumPy.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from bridge.amp.nam_file import NamError

Activation = Callable[[np.ndarray], np.ndarray]


def _tanh_(x: np.ndarray) -> np.ndarray:
    """tanh in place through NumPy's SIMD kernel (within 1e-7 of torch's)."""
    return np.tanh(x, out=x)


def _relu_(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, np.float32(0), out=x)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    """1 / (1 + e^-x) without overflow: e^-|x| is never above 1."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(np.float32, copy=False)


def _silu(x: np.ndarray) -> np.ndarray:
    return x * _sigmoid(x)


def _relu6_over_6(x: np.ndarray) -> np.ndarray:
    return np.clip(x + np.float32(3), np.float32(0), np.float32(6)) / np.float32(6)


def _gelu(x: np.ndarray) -> np.ndarray:
    """PyTorch's exact GELU, x/2 (1 + erf(x/sqrt 2))."""
    from scipy.special import erf  # only captures that use GELU pay for the import

    return (np.float32(0.5) * x * (1 + erf(x * np.float32(1 / np.sqrt(2))))).astype(np.float32, copy=False)


def _elu(alpha: float = 1.0) -> Activation:
    return lambda x: np.where(x > 0, x, np.float32(alpha) * np.expm1(np.minimum(x, np.float32(0))))


def _leaky_relu(negative_slope: float = 0.01) -> Activation:
    return lambda x: np.where(x > 0, x, x * np.float32(negative_slope))


def _hardtanh(min_val: float = -1.0, max_val: float = 1.0) -> Activation:
    return lambda x: np.clip(x, np.float32(min_val), np.float32(max_val))


def _leaky_hardtanh(min_val: float = -1.0, max_val: float = 1.0, min_slope: float = 0.01,
                    max_slope: float = 0.01) -> Activation:
    lo, hi, s_lo, s_hi = (np.float32(v) for v in (min_val, max_val, min_slope, max_slope))

    def f(x: np.ndarray) -> np.ndarray:
        out = np.where(x < lo, (x - lo) * s_lo + lo, x)
        return np.where(out > hi, (out - hi) * s_hi + hi, out)
    return f


def _prelu(negative_slope: float = 0.25, negative_slopes: list[float] | None = None,
           num_parameters: int | None = None) -> Activation:
    slopes = np.asarray(negative_slopes if negative_slopes else [negative_slope], dtype=np.float32)[:, None]
    return lambda x: np.where(x >= 0, x, x * slopes)


_SIMPLE: dict[str, Callable[..., Activation]] = {
    "Tanh": lambda: _tanh_,
    "Fasttanh": lambda: _tanh_,
    "ReLU": lambda: _relu_,
    "Sigmoid": lambda: _sigmoid,
    "SiLU": lambda: _silu,
    "Hardswish": lambda: (lambda x: x * _relu6_over_6(x)),
    "Hardsigmoid": lambda: _relu6_over_6,
    "GELU": lambda: _gelu,
    "ELU": _elu,
    "Identity": lambda: (lambda x: x),
    "Softsign": lambda: (lambda x: x / (1 + np.abs(x))),
    "Softsigmoid": lambda: (lambda x: np.float32(0.5) * (1 + x / (1 + np.abs(x)))),
    "LeakyReLU": _leaky_relu,
    "Hardtanh": _hardtanh,
    "LeakyHardtanh": _leaky_hardtanh,
    "PReLU": _prelu,
}
SUPPORTED = tuple(sorted(_SIMPLE))


def activation(spec: Any) -> Activation:
    """An activation from its ``.nam`` description (a name, or ``{"type": name, ...}``).

    Raises
    ------
    NamError
        An activation this program does not know.
    """
    if isinstance(spec, str):
        name, kwargs = spec, {}
    elif isinstance(spec, dict):
        kwargs = dict(spec)
        name = kwargs.pop("type", kwargs.pop("name", None))
    else:
        raise NamError(f"activation {spec!r} is neither a name nor an object")
    if name not in _SIMPLE:
        raise NamError(f"activation {name!r} is not supported; supported: {', '.join(SUPPORTED)}")
    try:
        return _SIMPLE[name](**kwargs)
    except TypeError as exc:
        raise NamError(f"activation {name}: {exc}") from None


def paired(primary: Activation, secondary: Activation, mode: str) -> Activation:
    """Gating (``"gated"``: primary(a) * secondary(b)) or blending over two channel halves."""
    if mode == "gated":
        def gated(x: np.ndarray) -> np.ndarray:
            half = x.shape[0] // 2
            return primary(x[:half]) * secondary(x[half:])  # each half is the activations' to overwrite
        return gated
    if mode == "blended":
        def blended(x: np.ndarray) -> np.ndarray:
            half = x.shape[0] // 2
            a = x[:half]
            blend = secondary(x[half:])
            return blend * primary(a.copy()) + (1 - blend) * a
        return blended
    raise NamError(f"gating mode {mode!r} is not supported (none, gated, blended)")
