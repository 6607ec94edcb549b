"""Tempo, beats, metre and downbeats, with the half/double-tempo doubt made explicit.

Tempo: the periodicity of the onset envelope (:mod:`bridge.tempo.features`; spectral flux with
the median over mel bands, as librosa's beat tracker has it) is scored at every tempo from 30
to 300 BPM, together with a log-normal preference around 110 BPM; the best score wins and
half, double, two-thirds and three-halves of it are scored the same way and reported as
alternatives with confidences (a softmax of the scores), so an octave doubt is visible and the
user can pick. ``bpm_range`` and ``prefer_bpm`` say which metrical level the user counts: the
estimate moves to its octave (or 3/2 relative) in the range, nearest the preferred tempo. The
preference was tuned on synthetic arrangements and half of a set of annotated recordings, and
checked on the rest (``benchmarks/tempo_accuracy.py``).

Beats: librosa's dynamic-programming tracker at the chosen tempo, each beat moved to the
strongest onset-envelope peak within 35 ms and then to the steepest rise of the signal's
energy just before it (where the hit is heard); the final BPM is the least-squares slope
through the beat times. Metre and downbeats: :mod:`bridge.tempo.metre`.

librosa's beat tracker is compiled by numba on first use in a process (about 3 s with
numba's cache warm). :class:`TempoDetector` pays that once, on a short synthetic signal,
and records how long it took; the daemon builds its detector when it starts.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from bridge.audio.reader import AudioError
from bridge.tempo.features import HOP, SAMPLE_RATE, Features, analyse
from bridge.tempo.metre import Metre, find_metre

SNAP_SECONDS = 0.035
MIN_BPM, MAX_BPM = 30.0, 300.0
RELATIONS = {"half": 0.5, "two-thirds": 2.0 / 3.0, "three-halves": 1.5, "double": 2.0}
SIMPLE = ((1.0, True), (2.0, True), (0.5, True), (4.0, True), (0.25, True), (1.5, False), (2.0 / 3.0, False),
          (3.0, False), (1.0 / 3.0, False))  # metrical relatives, simplest first (octave or not)
GRID = MIN_BPM / 2 * 2.0 ** (np.arange(0, int(np.log2(MAX_BPM / MIN_BPM * 4) * 96) + 1) / 96.0)  # 15-600 BPM
# tuned on the tuning half of benchmarks/tempo_accuracy.py (see there for the held-out figures); the
# low end's own periodicity and a small classifier over several periodicity features were tried too and
# did no better on the tuning set
CENTER_BPM, WIDTH_OCTAVES = 110.0, 0.9
PREFER_WIDTH_OCTAVES = 0.35
FLOOR = 1e-3


@dataclass(frozen=True)
class Alternative:
    """Another plausible tempo: its BPM, how it relates to the estimate, and a confidence (0-1)."""

    bpm: float
    relation: str
    confidence: float


@dataclass(frozen=True)
class TempoResult:
    """What :meth:`TempoDetector.detect` found.

    Attributes
    ----------
    bpm : float
        Tempo in beats per minute (the beat of the metre: the dotted quarter in 6/8).
    confidence : float
        Share (0-1) of the chosen tempo among it and its alternatives.
    beats : tuple of float
        Beat times in seconds.
    alternatives : tuple of Alternative
        Half, double, 2/3 and 3/2 of the tempo (those in range), most likely first.
    duration : float
        Seconds analysed.
    beats_per_bar, metre, subdivision, downbeats, metre_confidence
        The bar length in beats, the time signature to write (``4/4``, ``3/4``, ``2/4``), whether
        beats divide in 2 or 3 (shuffle, swing, compound metres), the times of the bars' first
        beats, and how clearly the bar length stood out (0-1).
    analysis_seconds, warmup_seconds : float
        Time spent analysing, and on the one-off numba warm-up in this process.
    """

    bpm: float
    confidence: float
    beats: tuple[float, ...]
    alternatives: tuple[Alternative, ...]
    duration: float
    beats_per_bar: int = 4
    metre: str = "4/4"
    subdivision: int = 2
    downbeats: tuple[float, ...] = ()
    metre_confidence: float = 0.0
    analysis_seconds: float = 0.0
    warmup_seconds: float = 0.0

    @property
    def close_call(self) -> bool:
        """Whether the best alternative is nearly as likely as the estimate (worth asking the user)."""
        return bool(self.alternatives) and self.alternatives[0].confidence >= 0.6 * self.confidence

    def to_dict(self) -> dict[str, object]:
        """The ``--json`` object."""
        return {
            "bpm": round(self.bpm, 3),
            "confidence": round(self.confidence, 3),
            "alternatives": [{"bpm": round(a.bpm, 3), "relation": a.relation, "confidence": round(a.confidence, 3)}
                             for a in self.alternatives],
            "close_call": self.close_call,
            "metre": self.metre,
            "beats_per_bar": self.beats_per_bar,
            "subdivision": self.subdivision,
            "metre_confidence": round(self.metre_confidence, 3),
            "beats": [round(b, 4) for b in self.beats],
            "downbeats": [round(b, 4) for b in self.downbeats],
            "duration": round(self.duration, 3),
            "timing": {"analysis_s": round(self.analysis_seconds, 3), "warmup_s": round(self.warmup_seconds, 3)},
        }


def tempo_scores(features: Features, bpm: np.ndarray, prefer_bpm: float | None = None) -> np.ndarray:
    """Log score of each tempo: the periodicity of the onset envelope plus the preference."""
    center, width = (prefer_bpm, PREFER_WIDTH_OCTAVES) if prefer_bpm else (CENTER_BPM, WIDTH_OCTAVES)
    prior = -0.5 * (np.log2(np.asarray(bpm) / center) / width) ** 2
    return np.log(features.salience(bpm) + FLOOR) + prior


def _estimate(features: Features, lo: float, hi: float, prefer_bpm: float | None) -> float:
    """The best-scoring tempo in ``[lo, hi]`` (parabolic refinement between grid points)."""
    inside = (lo <= GRID) & (hi >= GRID)
    grid = GRID[inside] if inside.any() else np.array([float(np.clip(120.0, lo, hi))])
    scores = tempo_scores(features, grid, prefer_bpm)
    k = int(np.argmax(scores))
    bpm = float(grid[k])
    if 0 < k < len(grid) - 1:  # log-spaced grid: refine in octaves
        a, b, c = scores[k - 1], scores[k], scores[k + 1]
        denom = a - 2 * b + c
        if denom < 0:
            bpm *= 2.0 ** (0.5 * (a - c) / denom / 96.0)
    return bpm


def _relative(bpm: float, lo: float, hi: float, prefer_bpm: float | None) -> float | None:
    """The metrical relative of ``bpm`` (an octave first, then 3/2, 2/3, 3, 1/3) in ``[lo, hi]`` that the user
    asked for: nearest to ``prefer_bpm`` (an octave winning unless a 3/2 relative is much nearer), else the
    simplest; None when none is in range."""
    inside = [(bpm * f, octave) for f, octave in SIMPLE if lo <= bpm * f <= hi]
    if not inside:
        return None
    if prefer_bpm is None:
        return inside[0][0]
    return min(inside, key=lambda c: abs(np.log2(c[0] / prefer_bpm)) + (0.0 if c[1] else 0.25))[0]


def choose_tempo(features: Features, bpm_range: tuple[float, float] | None = None,
                 prefer_bpm: float | None = None) -> tuple[float, float, tuple[Alternative, ...]]:
    """The tempo, its confidence, and its alternatives.

    With ``bpm_range`` or ``prefer_bpm`` the user knows something the audio cannot say -- which
    metrical level they count: the estimate is moved to its octave (or 3/2 relative) in the range,
    nearest the preferred tempo; only when no relative fits is the range searched on its own.
    """
    bpm = _estimate(features, MIN_BPM, MAX_BPM, None)
    lo, hi = bpm_range or (float(GRID[0]), float(GRID[-1]))
    if bpm_range is not None or prefer_bpm is not None:
        moved = _relative(bpm, lo, hi, prefer_bpm)
        bpm = moved if moved is not None else _estimate(features, lo, hi, prefer_bpm)

    def best_near(target: float) -> float:
        near = GRID[(target / 1.04 < GRID) & (target * 1.04 > GRID)]
        return float(np.max(tempo_scores(features, near, prefer_bpm))) if len(near) else -np.inf

    candidates = [("estimate", bpm, best_near(bpm))]
    candidates += [(name, float(bpm * f), best_near(bpm * f)) for name, f in RELATIONS.items() if lo <= bpm * f <= hi]
    scores = np.array([sc for _, _, sc in candidates])
    weights = np.exp(scores - scores.max()) if np.isfinite(scores).any() else np.ones(len(scores))
    weights /= weights.sum()
    alternatives = tuple(sorted((Alternative(b, name, float(w)) for (name, b, _), w
                                 in zip(candidates[1:], weights[1:], strict=True)), key=lambda a: -a.confidence))
    return bpm, float(weights[0]), alternatives


@dataclass
class TempoDetector:
    """Tempo, beat, metre and downbeat detection, warm (numba compiled) after construction.

    Parameters
    ----------
    warm_up : bool
        Compile librosa's numba functions now (on 4 s of clicks) rather than on
        the first real call.
    """

    warm_up: bool = True
    warmup_seconds: float = field(default=0.0, init=False)

    def __post_init__(self) -> None:
        if self.warm_up:
            t0 = time.perf_counter()
            clicks = np.zeros(SAMPLE_RATE * 4, dtype=np.float32)
            clicks[:: SAMPLE_RATE // 2] = 1.0
            self._analyse(clicks, None, None)
            self.warmup_seconds = time.perf_counter() - t0

    def detect(self, samples: np.ndarray, sample_rate: float, *, bpm_range: tuple[float, float] | None = None,
               prefer_bpm: float | None = None) -> TempoResult:
        """Detect tempo, beats, metre and downbeats in mono audio.

        Parameters
        ----------
        bpm_range : (float, float), optional
            Only tempi in this range (inclusive) are considered.
        prefer_bpm : float, optional
            The tempo the user expects: the estimate leans towards it (and its octave).

        Raises
        ------
        AudioError
            Too short (under 2 s) or silent: there is no tempo to find.
        """
        import librosa

        lo, hi = bpm_range or (MIN_BPM, MAX_BPM)
        if not (MIN_BPM / 2 <= lo < hi <= MAX_BPM * 2):
            raise AudioError(f"the tempo range must be a low and a high tempo between {MIN_BPM / 2:g} and "
                             f"{MAX_BPM * 2:g} BPM, low first; got {lo:g}-{hi:g}")
        if prefer_bpm is not None and not (MIN_BPM / 2 <= prefer_bpm <= MAX_BPM * 2):
            raise AudioError(f"the preferred tempo must be between {MIN_BPM / 2:g} and {MAX_BPM * 2:g} BPM, "
                             f"got {prefer_bpm:g}")
        t0 = time.perf_counter()
        y = np.asarray(samples, dtype=np.float32)
        if sample_rate != SAMPLE_RATE:
            y = librosa.resample(y, orig_sr=sample_rate, target_sr=SAMPLE_RATE, res_type="soxr_hq")
        duration = len(y) / SAMPLE_RATE
        if duration < 2.0:
            raise AudioError(f"{duration:.1f} s of audio is too short to find a tempo (need at least 2 s)")
        if not np.any(np.abs(y) > 1e-5):
            raise AudioError("the audio is silent: there is no tempo to find")
        result = self._analyse(y, bpm_range, prefer_bpm)
        return TempoResult(**{**result, "duration": duration, "analysis_seconds": time.perf_counter() - t0,
                              "warmup_seconds": self.warmup_seconds})

    @staticmethod
    def _analyse(y: np.ndarray, bpm_range: tuple[float, float] | None, prefer_bpm: float | None) -> dict:
        import librosa

        features = analyse(y)
        estimate, confidence, alternatives = choose_tempo(features, bpm_range, prefer_bpm)
        _, frames = librosa.beat.beat_track(onset_envelope=features.onset, sr=SAMPLE_RATE, hop_length=HOP,
                                            bpm=estimate, units="frames")
        frames = np.asarray(frames, dtype=int)
        beats = _attacks(y, _snap(frames, features.onset))
        bpm = _slope_bpm(beats, estimate)
        if abs(bpm - estimate) > 0.04 * estimate:  # the tracker drifted (tempo changes): keep the estimate
            bpm = estimate
        metre: Metre = find_metre(features, frames)
        return {"bpm": bpm, "confidence": confidence, "beats": tuple(float(b) for b in beats),
                "alternatives": alternatives, "beats_per_bar": metre.beats_per_bar, "metre": metre.name,
                "subdivision": metre.subdivision,
                "downbeats": tuple(float(b) for b in metre.downbeats(beats)),
                "metre_confidence": metre.confidence}


def _snap(frames: np.ndarray, oenv: np.ndarray) -> np.ndarray:
    """Move each beat to the strongest onset-envelope peak within SNAP_SECONDS."""
    reach = int(round(SNAP_SECONDS * SAMPLE_RATE / HOP))
    out = []
    for f in np.asarray(frames, dtype=int):
        lo, hi = max(0, f - reach), min(len(oenv), f + reach + 1)
        out.append(lo + int(np.argmax(oenv[lo:hi])))
    return np.asarray(out) * HOP / SAMPLE_RATE


def _attacks(y: np.ndarray, beats: np.ndarray) -> np.ndarray:
    """Move each beat to the steepest rise of the signal's 1 ms envelope in the 50 ms before it.

    The onset envelope peaks a little after a transient starts (its frames are
    93 ms long); the steepest rise of a short energy envelope is where a
    musician hears the hit.
    """
    smooth = max(1, SAMPLE_RATE // 1000)
    energy = np.sqrt(np.convolve(y.astype(np.float64) ** 2, np.ones(smooth) / smooth, mode="same"))
    rise = np.diff(energy, prepend=energy[0])
    out = []
    for b in beats:
        hi = min(len(rise), int(b * SAMPLE_RATE) + int(0.01 * SAMPLE_RATE))
        lo = max(0, hi - int(0.06 * SAMPLE_RATE))
        out.append((lo + int(np.argmax(rise[lo:hi]))) / SAMPLE_RATE if hi > lo else b)
    return np.asarray(out)


def _slope_bpm(beats: np.ndarray, fallback: float) -> float:
    if len(beats) < 4:
        return fallback
    idx = np.arange(len(beats))
    slope = np.polyfit(idx, beats, 1)[0]
    return float(60.0 / slope) if slope > 0 else fallback
