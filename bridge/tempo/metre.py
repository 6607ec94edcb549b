"""Metre and downbeats from beat-synchronous evidence.

Given the beats, every beat gets three numbers: how hard the low end (kick, bass) hits on it,
how hard everything hits on it, and how much the harmony changes from the beat before
(chords tend to change on the "1"). For every bar length (2, 3 or 4 beats) and every phase,
the beats that would be downbeats are compared with the others; the bar length and phase
whose downbeats stand out most win, with a prior for 4 (most music) over 3 over 2. Whether
beats divide in two or in three (straight, or shuffle, swing and compound metres such as
6/8) comes from the onsets a third and two thirds into each beat against those half-way; it
is reported, not used for the bar (on the evaluation set it flags shuffles and swing, and
some straight songs too).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from bridge.tempo.features import Features

# tuned on the tuning half of benchmarks/tempo_accuracy.py (downbeat F-measure and bar length)
W_LOW, W_ONSET, W_CHANGE = 1.0, 0.0, 1.0
PRIOR = {4: 0.4, 3: 0.0, 2: -0.5}  # added to a bar length's contrast (in standard deviations)
TRIPLE = 1.3  # onsets at a third of the beat must be this much stronger than at the half to call it compound


@dataclass(frozen=True)
class Metre:
    """Beats per bar, their subdivision (2 or 3), which beat is the first downbeat, and how sure."""

    beats_per_bar: int
    subdivision: int
    first_downbeat: int
    confidence: float

    @property
    def name(self) -> str:
        """The time signature written into a project: beats per bar over 4 (a 6/8 bar counted in its two
        dotted-quarter beats is 2/4 at the dotted-quarter tempo; :attr:`subdivision` says 3)."""
        return f"{self.beats_per_bar}/4"

    def downbeats(self, beats: np.ndarray) -> np.ndarray:
        return np.asarray(beats)[self.first_downbeat::self.beats_per_bar]


def _z(x: np.ndarray) -> np.ndarray:
    sd = float(np.std(x))
    return (x - float(np.mean(x))) / sd if sd > 1e-12 else np.zeros_like(x)


def beat_evidence(features: Features, frames: np.ndarray) -> np.ndarray:
    """Per beat: the weighted, normalised sum of low-end hit, full-band hit and harmonic change."""
    n = len(features.onset)
    frames = np.clip(np.asarray(frames, dtype=int), 0, n - 1)
    reach = 2

    def peak(envelope: np.ndarray) -> np.ndarray:
        return np.array([envelope[max(0, f - reach):f + reach + 1].max() for f in frames])

    chroma = features.chroma
    last = min(chroma.shape[1], frames[-1] + (frames[-1] - frames[-2] if len(frames) > 1 else 1))
    edges = [*frames, last]
    spans = np.stack([chroma[:, a:max(a + 1, b)].mean(axis=1) for a, b in itertools.pairwise(edges)])
    norms = np.linalg.norm(spans, axis=1) + 1e-9
    similarity = np.sum(spans[1:] * spans[:-1], axis=1) / (norms[1:] * norms[:-1])
    change = np.concatenate([[0.0], 1.0 - similarity])
    return W_LOW * _z(peak(features.low)) + W_ONSET * _z(peak(features.onset)) + W_CHANGE * _z(change)


def subdivision(features: Features, frames: np.ndarray) -> int:
    """3 when the onsets between beats fall on thirds rather than on the half, else 2."""
    if len(frames) < 4:
        return 2
    at = np.arange(len(features.onset))
    starts, spans = frames[:-1].astype(float), np.diff(frames).astype(float)

    def level(fraction: float) -> float:
        return float(np.mean(np.interp(starts + fraction * spans, at, features.onset)))

    thirds, half = (level(1 / 3) + level(2 / 3)) / 2, level(0.5)
    return 3 if thirds > TRIPLE * half else 2


def find_metre(features: Features, frames: np.ndarray, lengths: tuple[int, ...] = (2, 3, 4)) -> Metre:
    """The bar length, phase and subdivision that fit the beats at ``frames`` best."""
    frames = np.asarray(frames, dtype=int)
    sub = subdivision(features, frames)
    if len(frames) < 8:
        return Metre(4 if sub == 2 else 2, sub, 0, 0.0)
    evidence = beat_evidence(features, frames)
    scores: list[tuple[float, int, int]] = []
    for m in lengths:
        for phase in range(m):
            on = np.arange(len(evidence)) % m == phase
            contrast = float(evidence[on].mean() - evidence[~on].mean())
            scores.append((contrast + PRIOR.get(m, 0.0) - 1e-6 * phase, m, phase))  # a tie: the earlier bar
    scores.sort(reverse=True)
    best, m, phase = scores[0]
    runner = next((s for s, mm, _ in scores[1:] if mm != m), best)
    confidence = float(1.0 / (1.0 + np.exp(-(best - runner) * 4.0)))
    return Metre(m, sub, phase, confidence)
