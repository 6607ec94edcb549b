"""De-click: short impulsive events found in a linear predictor's residual and filled in from their surroundings.

Detection (per channel, at the file's rate):

1. a short-term linear predictor (order ~1 per 0.5 kHz, fitted every 10 ms on the
   20 ms before, autocorrelation method) gives the prediction residual: what the
   recent past does not explain. The predictors are fitted twice, the second time with
   the first pass's suspects bridged, so a click never shapes the predictor after it;
2. a sample is suspect when its residual exceeds ``threshold`` times the residual's
   robust local scale (median absolute value over ~50 ms);
3. suspects closer than 1 ms form one event. An event is a click only if
   - it lasts at most 2.5 ms (mouth clicks, vinyl ticks and digital clicks are 0.1-2 ms);
   - it dominates its surroundings: its residual peak is more than three times any other
     residual peak within 20 ms (a voice's glottal pulses repeat every pitch period,
     a plosive or a drum attack keeps the residual high: neither is isolated);
   - the signal after it is not much louder than before it (an onset starts a new
     sound; a click leaves the sound as it was);
   - it sticks out of the waveform: its largest sample is at least 2.5 times the RMS
     of the 10 ms around it.

Repair: the event (plus a quarter millisecond either side) is replaced by the
least-squares autoregressive interpolation from 20 ms of signal around it (Janssen,
Veldhuis & Vries 1986): the samples that make the predictor's error smallest.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

FRAME_S = 0.02
HOP_S = 0.01
THRESHOLD = 10.0
MERGE_S = 0.001
MAX_CLICK_S = 0.0025
ISOLATION_S = 0.02
DOMINANCE = 3.0
ONSET_RATIO = 4.0
SPIKE = 2.5
MARGIN_S = 0.00025
CONTEXT_S = 0.02


@dataclass(frozen=True)
class Click:
    """One repaired click: first sample and length (in the array it was found in)."""

    start: int
    length: int


def order_for(rate: float) -> int:
    """Predictor order: 2 per kHz of bandwidth, 12 to 40."""
    return int(np.clip(round(rate / 1000), 12, 40))


@numba.njit(cache=True)
def _levinson(r: np.ndarray, order: int) -> np.ndarray:
    a = np.zeros(order + 1)
    a[0] = 1.0
    err = r[0]
    if err <= 0:
        return a
    for i in range(1, order + 1):
        acc = r[i]
        for j in range(1, i):
            acc += a[j] * r[i - j]
        k = -acc / err
        prev = a.copy()
        for j in range(1, i):
            a[j] = prev[j] + k * prev[i - j]
        a[i] = k
        err *= 1.0 - k * k
        if err <= 1e-30:
            break
    return a


@numba.njit(cache=True)
def _residual(x: np.ndarray, fit: np.ndarray, frame: int, hop: int, order: int) -> np.ndarray:
    """Residual of ``x``; the predictor for each hop is fitted on the ``frame`` samples of ``fit`` before it."""
    n = len(x)
    e = np.zeros(n)
    win = np.hanning(frame)
    seg = np.zeros(frame)
    r = np.zeros(order + 1)
    for start in range(0, n, hop):
        c = start - frame  # the frame just before: a click never shapes the predictor that finds it
        for j in range(frame):
            idx = c + j
            seg[j] = fit[idx] * win[j] if 0 <= idx < n else 0.0
        for lag in range(order + 1):
            acc = 0.0
            for j in range(lag, frame):
                acc += seg[j] * seg[j - lag]
            r[lag] = acc
        r[0] *= 1.0 + 1e-6  # white-noise correction: a stable predictor on pure tones and silence
        r[0] += 1e-18
        a = _levinson(r, order)
        for i in range(start, min(n, start + hop)):
            acc = x[i]
            for k in range(1, order + 1):
                if i - k >= 0:
                    acc += a[k] * x[i - k]
            e[i] = acc
    return e


def _scale(e: np.ndarray, hop: int) -> np.ndarray:
    """Robust local scale of the residual per sample: median |e| per hop, smoothed over ~5 hops."""
    n = len(e)
    blocks = -(-n // hop)
    padded = np.zeros(blocks * hop)
    padded[:n] = np.abs(e)
    med = np.median(padded.reshape(blocks, hop), axis=1)
    if blocks >= 5:
        stacked = np.stack([np.roll(med, s) for s in (-2, -1, 0, 1, 2)])
        stacked[:, :2] = med[:2]
        med = np.median(stacked, axis=0)
    scale = np.repeat(med * 1.4826 + 1e-9, hop)[:n]
    return scale


def find_clicks(x: np.ndarray, rate: float, threshold: float = THRESHOLD) -> list[Click]:
    """The clicks in ``x`` (1-D), by the rules of the module description."""
    x64 = np.asarray(x, dtype=np.float64)
    n = len(x64)
    order = order_for(rate)
    frame, hop = int(round(FRAME_S * rate)), int(round(HOP_S * rate))
    if n < frame:
        return []
    e = _residual(x64, x64, frame, hop, order)
    scale = _scale(e, hop)
    suspects = np.flatnonzero(np.abs(e) > threshold * scale)
    if len(suspects):  # fit the predictors again without the suspects (a click must not shape what follows it)
        mask = np.zeros(n, dtype=bool)
        for shift in range(-order, order + 1):
            mask[np.clip(suspects + shift, 0, n - 1)] = True
        fit = x64.copy()
        keep = np.flatnonzero(~mask)
        if len(keep) >= 2:
            fit[mask] = np.interp(np.flatnonzero(mask), keep, x64[keep])
        e = _residual(x64, fit, frame, hop, order)
        scale = _scale(e, hop)
    level = np.abs(e)
    suspects = np.flatnonzero(level > threshold * scale)
    if len(suspects) == 0:
        return []
    merge = max(1, int(round(MERGE_S * rate)))
    breaks = np.flatnonzero(np.diff(suspects) > merge)
    starts = np.concatenate([[suspects[0]], suspects[breaks + 1]])
    ends = np.concatenate([suspects[breaks], [suspects[-1]]]) + 1
    longest = int(round(MAX_CLICK_S * rate))
    around = int(round(ISOLATION_S * rate))
    gap = max(1, int(round(0.001 * rate)))
    clicks = []
    for s, t in zip(starts.tolist(), ends.tolist(), strict=True):
        if t - s > longest:
            continue
        peak = level[s:t].max()
        left = level[max(0, s - around):max(0, s - gap)]
        right = level[min(n, t + gap):min(n, t + around)]
        other = max(left.max() if len(left) else 0.0, right.max() if len(right) else 0.0)
        if peak < DOMINANCE * other:
            continue
        before = x64[max(0, s - around):max(0, s - gap)]
        after = x64[min(n, t + gap):min(n, t + around)]
        e_before = float(np.mean(before ** 2)) if len(before) else 0.0
        e_after = float(np.mean(after ** 2)) if len(after) else 0.0
        if e_after > ONSET_RATIO * e_before + 1e-10:
            continue
        near = np.concatenate([x64[max(0, s - around // 2):max(0, s - gap)],
                               x64[min(n, t + gap):min(n, t + around // 2)]])
        if len(near) and np.abs(x64[s:t]).max() < SPIKE * np.sqrt(np.mean(near ** 2)):
            continue
        clicks.append(Click(s, t - s))
    return clicks


def _ar(context: np.ndarray, order: int) -> np.ndarray:
    r = np.array([np.dot(context[lag:], context[:len(context) - lag]) for lag in range(order + 1)])
    r[0] = r[0] * (1.0 + 1e-4) + 1e-18
    return _levinson(r, order)


def interpolate(x: np.ndarray, start: int, length: int, order: int, context: int) -> np.ndarray:
    """Samples ``start .. start + length`` of ``x`` re-estimated from their surroundings (LSAR).

    The AR model is fitted on ``context`` samples either side; the missing samples are the ones
    minimising the model's prediction error over the gap and ``order`` samples after it.
    """
    x = np.asarray(x, dtype=np.float64)
    lo, hi = max(0, start - context), min(len(x), start + length + context)
    left, right = x[lo:start], x[start + length:hi]
    fit = np.concatenate([left, np.zeros(order), right]) if len(left) + len(right) > 2 * order else None
    if fit is None:
        return np.linspace(x[start - 1] if start else 0.0, x[start + length] if start + length < len(x) else 0.0,
                           length + 2)[1:-1]
    a = _ar(fit, order)
    seg_lo, seg_hi = max(0, start - order), min(len(x), start + length + order)
    seg = x[seg_lo:seg_hi].copy()
    m = seg_hi - seg_lo
    rows = m - order
    matrix = np.zeros((rows, m))
    for i in range(rows):
        matrix[i, i:i + order + 1] = a[::-1]
    unknown = np.arange(start - seg_lo, start - seg_lo + length)
    known = np.setdiff1d(np.arange(m), unknown)
    au, ak = matrix[:, unknown], matrix[:, known]
    solution, *_ = np.linalg.lstsq(au, -ak @ seg[known], rcond=None)
    return solution


def declick(x: np.ndarray, rate: float, threshold: float = THRESHOLD) -> tuple[np.ndarray, list[Click]]:
    """``x`` (1-D) with its clicks repaired, and the clicks (start and length before the margins)."""
    clicks = find_clicks(x, rate, threshold)
    if not clicks:
        return np.asarray(x, dtype=np.float32), []
    y = np.asarray(x, dtype=np.float64).copy()
    order = order_for(rate)
    margin = int(round(MARGIN_S * rate))
    context = int(round(CONTEXT_S * rate))
    for c in clicks:
        s, t = max(0, c.start - margin), min(len(y), c.start + c.length + margin)
        y[s:t] = interpolate(y, s, t - s, order, context)
    return y.astype(np.float32), clicks
