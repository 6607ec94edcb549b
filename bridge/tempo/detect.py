"""Tempo and beats (librosa), with the usual half/double-tempo doubt made explicit.

The estimate is librosa's prior-weighted tempogram tempo (a log-normal prior
around 120 BPM). Half, double, two-thirds and three-halves of it are scored the
same way (tempogram strength near that tempo times the prior) and reported as
alternatives, so an octave error is visible rather than hidden. Beats come from
librosa's dynamic-programming tracker at the chosen tempo, each moved to the
strongest onset-envelope peak within 35 ms and then to the steepest rise of
the signal's energy just before it (sub-millisecond, although the tracker works
on 23 ms frames) (where the hit is heard); the final BPM is the
least-squares slope through the beat times.

librosa's beat tracker is compiled by numba on first use in a process (about
3 s with numba's cache warm, more the very first time). :class:`TempoDetector`
pays that once, on a short synthetic signal, and records how long it took.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from bridge.audio.reader import AudioError

SAMPLE_RATE = 22050
HOP = 512
AC_SECONDS = 8.0
SNAP_SECONDS = 0.035
ALTERNATIVE_FACTORS = (0.5, 2.0 / 3.0, 1.5, 2.0)
MIN_BPM, MAX_BPM = 30.0, 300.0


@dataclass(frozen=True)
class TempoResult:
    """What :meth:`TempoDetector.detect` found.

    Attributes
    ----------
    bpm : float
        Tempo in beats per minute.
    confidence : float
        Share (0-1) of the chosen tempo's score among the chosen and alternative tempi.
    beats : tuple of float
        Beat times in seconds.
    alternatives : tuple of (float, float)
        ``(bpm, score)`` of other plausible tempi (half, double...), scores on
        the same scale as :attr:`confidence`.
    duration : float
        Seconds analysed.
    analysis_seconds, warmup_seconds : float
        Time spent analysing, and on the one-off numba warm-up in this process.
    """

    bpm: float
    confidence: float
    beats: tuple[float, ...]
    alternatives: tuple[tuple[float, float], ...]
    duration: float
    analysis_seconds: float = 0.0
    warmup_seconds: float = 0.0

    def to_dict(self) -> dict[str, object]:
        """The ``--json`` object."""
        return {
            "bpm": round(self.bpm, 3),
            "confidence": round(self.confidence, 3),
            "beats": [round(b, 4) for b in self.beats],
            "alternatives": [{"bpm": round(b, 3), "score": round(s, 3)} for b, s in self.alternatives],
            "duration": round(self.duration, 3),
            "timing": {"analysis_s": round(self.analysis_seconds, 3), "warmup_s": round(self.warmup_seconds, 3)},
        }


def _prior(bpm: np.ndarray | float) -> np.ndarray:
    return np.exp(-0.5 * np.log2(np.asarray(bpm) / 120.0) ** 2)


@dataclass
class TempoDetector:
    """Tempo and beat detection, warm (numba compiled) after construction.

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
            self._analyse(clicks)
            self.warmup_seconds = time.perf_counter() - t0

    def detect(self, samples: np.ndarray, sample_rate: float) -> TempoResult:
        """Detect tempo and beats in mono audio.

        Raises
        ------
        AudioError
            Too short (under 2 s) or silent: there is no tempo to find.
        """
        import librosa

        t0 = time.perf_counter()
        y = np.asarray(samples, dtype=np.float32)
        if sample_rate != SAMPLE_RATE:
            y = librosa.resample(y, orig_sr=sample_rate, target_sr=SAMPLE_RATE, res_type="soxr_hq")
        duration = len(y) / SAMPLE_RATE
        if duration < 2.0:
            raise AudioError(f"{duration:.1f} s of audio is too short to find a tempo (need at least 2 s)")
        if not np.any(np.abs(y) > 1e-5):
            raise AudioError("the audio is silent: there is no tempo to find")
        bpm, confidence, beats, alternatives = self._analyse(y)
        return TempoResult(bpm, confidence, beats, alternatives, duration,
                           time.perf_counter() - t0, self.warmup_seconds)

    @staticmethod
    def _analyse(y: np.ndarray) -> tuple[float, float, tuple[float, ...], tuple[tuple[float, float], ...]]:
        import librosa

        oenv = librosa.onset.onset_strength(y=y, sr=SAMPLE_RATE, hop_length=HOP)
        # one tempogram (librosa.feature.tempo's own 8 s window) serves the estimate and the alternatives
        win = int(librosa.time_to_frames(AC_SECONDS, sr=SAMPLE_RATE, hop_length=HOP))
        tempogram = librosa.feature.tempogram(onset_envelope=oenv, sr=SAMPLE_RATE, hop_length=HOP, win_length=win)
        strength = tempogram.mean(axis=1)
        freqs = librosa.tempo_frequencies(len(strength), sr=SAMPLE_RATE, hop_length=HOP)
        estimate = float(librosa.feature.tempo(tg=tempogram, sr=SAMPLE_RATE, hop_length=HOP, ac_size=AC_SECONDS)[0])

        def score(bpm: float) -> float:
            near = (freqs > bpm / 1.04) & (freqs < bpm * 1.04)
            return float(np.max(strength[near]) * _prior(bpm)) if near.any() else 0.0

        candidates = [estimate] + [estimate * f for f in ALTERNATIVE_FACTORS if MIN_BPM <= estimate * f <= MAX_BPM]
        scores = np.array([score(c) for c in candidates])
        total = float(scores.sum()) or 1.0
        _, beat_frames = librosa.beat.beat_track(onset_envelope=oenv, sr=SAMPLE_RATE, hop_length=HOP,
                                                 bpm=estimate, units="frames")
        beats = _attacks(y, _snap(beat_frames, oenv))
        bpm = _slope_bpm(beats, estimate)
        alternatives = tuple((float(c), float(s / total)) for c, s in zip(candidates[1:], scores[1:], strict=True))
        alternatives = tuple(sorted(alternatives, key=lambda a: -a[1]))
        return bpm, float(scores[0] / total), tuple(float(b) for b in beats), alternatives


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
