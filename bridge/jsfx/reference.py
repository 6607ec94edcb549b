"""The generated chain's DSP in Python (numba): what the JSFX must compute, sample for sample.

Same formulas, same order of operations, same state; the tests run the
generated JSFX through reabridge's runner and require this output within 1e-6.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from bridge.jsfx.chain import ChainSpec

KINDS = {"highpass": 0, "low_shelf": 1, "high_shelf": 2, "peak": 3, "compressor": 4, "saturation": 5, "limiter": 6}
SQRT_HALF = 0.7071067811865476


def _biquad(kind: str, f: float, g: float, q: float, rate: float) -> list[float]:
    """RBJ cookbook coefficients ``[b0, b1, b2, a1, a2]`` (normalised), as the JSFX computes them."""
    w = 2 * math.pi * f / rate
    cs, al = math.cos(w), math.sin(w) / (2 * q)
    a = 10 ** (g / 40)
    sq = 2 * math.sqrt(a) * al
    if kind == "highpass":
        c = [(1 + cs) / 2, -(1 + cs), (1 + cs) / 2, 1 + al, -2 * cs, 1 - al]
    elif kind == "low_shelf":
        c = [a * (((a + 1) - ((a - 1) * cs)) + sq), 2 * a * ((a - 1) - ((a + 1) * cs)),
             a * (((a + 1) - ((a - 1) * cs)) - sq), ((a + 1) + ((a - 1) * cs)) + sq,
             -2 * ((a - 1) + ((a + 1) * cs)), ((a + 1) + ((a - 1) * cs)) - sq]
    elif kind == "high_shelf":
        c = [a * (((a + 1) + ((a - 1) * cs)) + sq), -2 * a * ((a - 1) + ((a + 1) * cs)),
             a * (((a + 1) + ((a - 1) * cs)) - sq), ((a + 1) - ((a - 1) * cs)) + sq,
             2 * ((a - 1) - ((a + 1) * cs)), ((a + 1) - ((a - 1) * cs)) - sq]
    else:
        c = [1 + (al * a), -2 * cs, 1 - (al * a), 1 + (al / a), -2 * cs, 1 - (al / a)]
    return [c[0] / c[3], c[1] / c[3], c[2] / c[3], c[4] / c[3], c[5] / c[3]]


def stage_table(spec: ChainSpec, rate: float, values: dict[str, float] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Kinds and per-stage parameters (slider values applied) for :func:`_run`."""
    values = values or {}
    kinds = np.zeros(len(spec.stages), dtype=np.int64)
    table = np.zeros((len(spec.stages), 8))
    for i, stage in enumerate(spec.stages):
        p = {k: values.get(f"{stage.prefix}_{k}", v) for k, v in stage.params.items()}
        kinds[i] = KINDS[stage.type]
        if stage.type in ("highpass", "low_shelf", "high_shelf", "peak"):
            q = SQRT_HALF if stage.type == "highpass" else p["q"]
            table[i, :5] = _biquad(stage.type, p["cutoff_hz"], p.get("gain_db", 0.0), q, rate)
        elif stage.type == "compressor":
            table[i, :4] = [p["threshold_db"], p["ratio"], math.exp(-1 / (p["attack_ms"] * 0.001 * rate)),
                            math.exp(-1 / (p["release_ms"] * 0.001 * rate))]
        elif stage.type == "saturation":
            table[i, :2] = [10 ** (p["drive_db"] / 20), p["mix"]]
        else:
            table[i, :4] = [10 ** (p["input_db"] / 20), 10 ** (p["ceiling_db"] / 20),
                            1 - math.exp(-1 / (p["release_ms"] * 0.001 * rate)),
                            max(1.0, math.floor((p["lookahead_ms"] * rate / 1000) + 0.5))]
    return kinds, table


@njit(cache=True)
def _softclip(x: float) -> float:
    z = min(max(x, -20.0), 20.0)
    e2 = math.exp(2 * z)
    return (e2 - 1) / (e2 + 1)


@njit(cache=True)
def _run(x: np.ndarray, kinds: np.ndarray, table: np.ndarray) -> np.ndarray:
    n = x.shape[0]
    y = np.empty((n, 2))
    stages = len(kinds)
    z = np.zeros((stages, 2, 2))
    env = np.zeros(stages)
    la = 1
    for s in range(stages):
        if kinds[s] == 6:
            la = int(table[s, 3])
    dl = np.zeros((2, la))
    rq = np.ones(la + 1)
    hh = np.ones(la + 1)
    hsum, g, pos, dpos = la + 1.0, 1.0, 0, 0
    for i in range(n):
        left, right = x[i, 0], x[i, 1]
        for s in range(stages):
            k, t = kinds[s], table[s]
            if k <= 3:
                b0, b1, b2, a1, a2 = t[0], t[1], t[2], t[3], t[4]
                yl = (b0 * left) + z[s, 0, 0]
                z[s, 0, 0] = ((b1 * left) - (a1 * yl)) + z[s, 0, 1]
                z[s, 0, 1] = (b2 * left) - (a2 * yl)
                yr = (b0 * right) + z[s, 1, 0]
                z[s, 1, 0] = ((b1 * right) - (a1 * yr)) + z[s, 1, 1]
                z[s, 1, 1] = (b2 * right) - (a2 * yr)
                left, right = yl, yr
            elif k == 4:
                over = (20 * math.log10(max(max(abs(left), abs(right)), 0.000000001))) - t[0]
                gr = over * (1 - (1 / t[1])) if over > 0 else 0.0
                if gr > env[s]:
                    env[s] = (t[2] * env[s]) + ((1 - t[2]) * gr)
                else:
                    env[s] = (t[3] * env[s]) + ((1 - t[3]) * gr)
                cg = 10 ** (-env[s] / 20)
                left *= cg
                right *= cg
            elif k == 5:
                d, mix = t[0], t[1]
                left = ((1 - mix) * left) + (mix * (_softclip(d * left) / d))
                right = ((1 - mix) * right) + (mix * (_softclip(d * right) / d))
            else:
                left *= t[0]
                right *= t[0]
                pk = max(abs(left), abs(right))
                rq[pos] = t[1] / pk if pk > t[1] else 1.0
                h = 1.0
                for j in range(la + 1):
                    h = min(h, rq[j])
                hsum += h - hh[pos]
                hh[pos] = h
                pos += 1
                if pos > la:
                    pos = 0
                g = min(hsum / (la + 1), g + ((1 - g) * t[2]))
                g = min(g, rq[pos])
                ol, o_r = dl[0, dpos], dl[1, dpos]
                dl[0, dpos] = left
                dl[1, dpos] = right
                dpos += 1
                if dpos >= la:
                    dpos = 0
                left = ol * g
                right = o_r * g
        y[i, 0] = left
        y[i, 1] = right
    return y


def render_reference(spec: ChainSpec, audio: np.ndarray, rate: float,
                     values: dict[str, float] | None = None) -> np.ndarray:
    """The chain applied to ``(frames, 1 or 2)`` audio, as the generated JSFX does (latency not compensated)."""
    x = np.asarray(audio, dtype=np.float64)
    x = x[:, None] if x.ndim == 1 else x
    stereo = np.zeros((len(x), 2))
    stereo[:, : min(2, x.shape[1])] = x[:, :2]
    kinds, table = stage_table(spec, rate, values)
    y = _run(stereo, kinds, table)
    return y[:, : x.shape[1]] if x.shape[1] < 2 else y


def latency(spec: ChainSpec, rate: float) -> int:
    """The limiter's lookahead in samples (what the JSFX reports as ``pdc_delay``)."""
    return next((max(1, math.floor((s.params["lookahead_ms"] * rate / 1000) + 0.5)) for s in spec.stages
                 if s.type == "limiter"), 0)
