"""De-hum: find the mains frequency (45-65 Hz) and subtract it and its harmonics, tracked in amplitude and phase.

Detection works on long spectra (4 s Hann windows, 0.25 Hz apart) of stretches
spread over the file. A harmonic's *prominence* in a stretch is its peak over the
median of the spectrum 1.5-6 Hz either side; hum is what stays prominent in most
stretches, so a bass note near 50 or 60 Hz (which comes and goes) is not taken for
it. The fundamental is the candidate whose harmonics are most prominent, refined to
0.01 Hz by interpolating the strongest harmonic's peak.

Removal is a tracked subtraction rather than a filter: each harmonic ``k`` is
shifted to 0 Hz (multiplied by ``exp(-2 pi i k f0 t)``), averaged over one mains
period, smoothed with a 1 s Hann window (zero phase: no delay) and subtracted back
at its frequency. That is a notch about 1 Hz wide that follows the hum's level and
phase (and a drift of a few hundredths of a hertz), and leaves a note 2 Hz away
within a fraction of a decibel.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numba
import numpy as np

LOW, HIGH = 45.0, 65.0
SEGMENT_S = 4.0
TOP_HZ = 2600.0
MAX_HARMONICS = 40
#: a harmonic is hum when it stands this far above its neighbourhood in most stretches
PRESENT_DB = 10.0
KEEP_DB = 6.0
SMOOTH_S = 1.0


@dataclass(frozen=True)
class Hum:
    """Hum found in a recording.

    Attributes
    ----------
    f0 : float
        Mains fundamental (Hz).
    harmonics : tuple of int
        The multiples of ``f0`` that are removed.
    levels_db : tuple of float
        Level of each removed harmonic before (dBFS, a sine's RMS in the spectrum).
    prominence_db : tuple of float
        How far each stands above its neighbourhood (median over stretches).
    """

    f0: float
    harmonics: tuple[int, ...]
    levels_db: tuple[float, ...]
    prominence_db: tuple[float, ...]


class HumSurvey:
    """Long spectra of stretches of a signal, gathered block by block, for :func:`find_hum`.

    Parameters
    ----------
    rate : float
    frames : int
        Length of the whole signal (stretches are spread over it, at most ``most`` of them).
    """

    def __init__(self, rate: float, frames: int, most: int = 240) -> None:
        self.rate = rate
        duration = frames / rate
        self.seconds = min(SEGMENT_S, max(0.5, duration / 2))
        self.size = int(round(self.seconds * rate))
        count = max(1, frames // self.size)
        self.every = max(1, math.ceil(count / most))
        self.top = min(int(TOP_HZ * self.seconds) + 1, self.size // 2 + 1)
        self.spectra: list[np.ndarray] = []
        self._carry = np.zeros(0, dtype=np.float32)
        self._index = 0
        self._window = np.hanning(self.size + 2)[1:-1].astype(np.float32)
        self._norm = float(np.sum(self._window) ** 2)

    def add(self, mono: np.ndarray) -> None:
        """The next samples of the (mono) signal."""
        data = np.concatenate([self._carry, np.asarray(mono, dtype=np.float32)])
        pos = 0
        while pos + self.size <= len(data):
            if self._index % self.every == 0:
                spec = np.fft.rfft(data[pos:pos + self.size] * self._window)[: self.top]
                self.spectra.append((2 * (spec.real ** 2 + spec.imag ** 2) / self._norm).astype(np.float32))
            self._index += 1
            pos += self.size
        self._carry = data[pos:]

    def matrix(self) -> np.ndarray:
        """``(stretches, bins)`` power spectra (a sine of amplitude ``a`` peaks at ``a**2 / 2``)."""
        if not self.spectra:
            return np.zeros((0, self.top), dtype=np.float32)
        return np.stack(self.spectra)


def _prominence(spectra: np.ndarray, res: float, freq: float) -> tuple[np.ndarray, np.ndarray]:
    """Per stretch: the peak power at ``freq`` (within half a bin either side) and its prominence (dB)."""
    centre = freq / res
    lo, hi = int(math.floor(centre - 0.5)), int(math.ceil(centre + 0.5))
    peak = spectra[:, max(lo, 0):hi + 1].max(axis=1)
    near = [int(round(centre + d / res)) for d in np.arange(-6.0, 6.0 + 1e-9, res) if abs(d) >= 1.5]
    near = [b for b in near if 0 <= b < spectra.shape[1]]
    floor = np.median(spectra[:, near], axis=1) if near else np.full(len(spectra), 1e-20)
    return peak, 10 * np.log10((peak + 1e-20) / (floor + 1e-20))


def _median_prominences(spectra: np.ndarray, res: float, freqs: np.ndarray) -> np.ndarray:
    """``median(_prominence(spectra, res, f)[1])`` for every ``f`` of ``freqs``, the same numbers in one pass.

    Frequencies whose peak or neighbourhood reaches past the spectra's edges go through
    :func:`_prominence` itself.
    """
    bins = spectra.shape[1]
    centre = freqs / res
    lo, hi = np.floor(centre - 0.5).astype(np.int64), np.ceil(centre + 0.5).astype(np.int64)
    offsets = np.array([d / res for d in np.arange(-6.0, 6.0 + 1e-9, res) if abs(d) >= 1.5])
    near = np.rint(centre[:, None] + offsets[None, :]).astype(np.int64)
    inside = (lo >= 0) & (hi < bins) & (near.min(axis=1, initial=0) >= 0) & (near.max(axis=1, initial=0) < bins)
    out = np.empty(len(freqs))
    if inside.any() and len(offsets):
        # the peak spans 2 or 3 bins (lo..hi); repeating bin lo + 1 when it spans 2 leaves the maximum alone
        peak = np.maximum(np.maximum(spectra[:, lo[inside]], spectra[:, lo[inside] + 1]), spectra[:, hi[inside]])
        floor = np.median(spectra[:, near[inside]], axis=2)
        prom = 10 * np.log10((peak + 1e-20) / (floor + 1e-20))
        out[inside] = np.median(prom, axis=0)
    for i in np.flatnonzero(~inside if len(offsets) else np.ones(len(freqs), dtype=bool)):
        out[i] = float(np.median(_prominence(spectra, res, float(freqs[i]))[1]))
    return out


def find_hum(survey: HumSurvey, mode: str = "auto") -> Hum | None:
    """The hum in the surveyed signal, or None when there is none.

    Parameters
    ----------
    mode : str
        ``"auto"`` (any fundamental from 45 to 65 Hz), ``"50"`` or ``"60"`` (within 0.5 Hz of it).
    """
    spectra = survey.matrix()
    if len(spectra) == 0:
        return None
    res = 1.0 / survey.seconds
    nyquist = survey.rate / 2
    low, high = (LOW, HIGH) if mode == "auto" else (float(mode) - 0.5, float(mode) + 0.5)
    candidates = np.arange(low, high + 1e-9, res / 2)
    scores = np.zeros(len(candidates))
    for k in range(1, 9):
        live = k * candidates < min(TOP_HZ, nyquist)
        if live.any():
            prom = _median_prominences(spectra, res, k * candidates[live])
            scores[live] += np.maximum(0.0, prom - 3.0) / k ** 0.5
    f0 = float(candidates[int(np.argmax(scores))])
    found = []
    for k in range(1, MAX_HARMONICS + 1):
        if k * f0 >= min(TOP_HZ, nyquist - 10):
            break
        peak, prom = _prominence(spectra, res, k * f0)
        found.append((k, float(np.median(prom)), float(np.median(peak))))
    # mains hum always has a strong fundamental, second or third harmonic (a tone that is merely some
    # multiple of a frequency in 45-65 Hz is not hum)
    if not found or max(p for k, p, _ in found if k <= 3) < PRESENT_DB:
        return None
    # refine on the strongest harmonic: parabolic interpolation of the median spectrum's peak
    k_best = max(found, key=lambda h: h[1])[0]
    median = np.median(spectra, axis=0)
    b = int(round(k_best * f0 / res))
    b = b - 1 + int(np.argmax(median[b - 1:b + 2])) if 1 <= b < len(median) - 1 else b
    if 1 <= b < len(median) - 1:
        y0, y1, y2 = np.log(median[b - 1:b + 2] + 1e-30)
        shift = 0.5 * (y0 - y2) / (y0 - 2 * y1 + y2) if (y0 - 2 * y1 + y2) < 0 else 0.0
        f0 = (b + float(np.clip(shift, -0.5, 0.5))) * res / k_best
    kept = [(k, p, lv) for k, p, lv in found if p >= KEEP_DB]
    return Hum(round(f0, 4), tuple(k for k, _, _ in kept), tuple(round(10 * math.log10(lv + 1e-20), 2)
                                                                    for _, _, lv in kept),
               tuple(round(p, 2) for _, p, _ in kept))


@numba.njit(cache=True, nogil=True, fastmath=True)
def _demodulate(x: np.ndarray, step: float, start: float, period: int, boxes: int) -> np.ndarray:
    """Mean of ``x * exp(-i phase)`` over each box of ``period`` samples (phase = start + step * n)."""
    out = np.zeros(boxes, dtype=np.complex128)
    c, s = math.cos(step), math.sin(step)
    re, im = math.cos(start), -math.sin(start)
    n = len(x)
    for b in range(boxes):
        acc_re = 0.0
        acc_im = 0.0
        count = 0
        for j in range(b * period, min(n, (b + 1) * period)):
            acc_re += x[j] * re
            acc_im += x[j] * im
            count += 1
            re, im = re * c + im * s, im * c - re * s
        if count:
            out[b] = complex(acc_re / count, acc_im / count)
        if b % 64 == 63:  # keep the phasor on the unit circle
            mag = math.sqrt(re * re + im * im)
            re /= mag
            im /= mag
    return out


@numba.njit(cache=True, nogil=True, fastmath=True)
def _subtract(y: np.ndarray, env: np.ndarray, step: float, start: float, period: int) -> None:
    """``y -= 2 Re(env(n) exp(i phase))`` with ``env`` interpolated linearly between box centres."""
    n = len(y)
    c, s = math.cos(step), math.sin(step)
    re, im = math.cos(start), math.sin(start)
    half = (period - 1) / 2.0
    boxes = len(env)
    for j in range(n):
        pos = (j - half) / period
        b = int(math.floor(pos))
        frac = pos - b
        if b < 0:
            e = env[0]
        elif b >= boxes - 1:
            e = env[boxes - 1]
        else:
            e = env[b] * (1.0 - frac) + env[b + 1] * frac
        y[j] -= 2.0 * (e.real * re - e.imag * im)
        re, im = re * c - im * s, im * c + re * s
        if j % 4096 == 4095:
            mag = math.sqrt(re * re + im * im)
            re /= mag
            im /= mag


def remove_hum(x: np.ndarray, rate: float, hum: Hum, first: int = 0) -> np.ndarray:
    """``x`` (1-D) with the hum's harmonics subtracted.

    Parameters
    ----------
    first : int
        Index of ``x[0]`` in the whole signal (blocks of one signal keep one phase reference).
    """
    source = np.asarray(x, dtype=np.float64)
    y = source.copy()
    period = max(1, int(round(rate / hum.f0)))
    boxes = -(-len(y) // period)
    taps = max(3, int(round(SMOOTH_S * hum.f0)) | 1)
    window = np.hanning(taps + 2)[1:-1]
    weight = np.convolve(np.ones(boxes), window, mode="same")
    for k in hum.harmonics:
        step = 2 * math.pi * k * hum.f0 / rate
        start = (step * first) % (2 * math.pi)
        env = _demodulate(source, step, start, period, boxes)
        smooth = (np.convolve(env.real, window, mode="same") + 1j * np.convolve(env.imag, window, mode="same"))
        _subtract(y, smooth / weight, step, start, period)
    return y.astype(np.float32)
