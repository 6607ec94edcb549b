"""Note segmentation: the voiced frames of a pitch track cut into notes, and slides between them.

Within each voiced run, the pitch smoothed over 175 ms (about one vibrato cycle, so
vibrato does not cut a note) is read on the semitone grid with hysteresis: a new note
starts only when the smoothed pitch has moved 0.65 semitone from the current one. Pieces
shorter than 60 ms are joined to their closer neighbour. A note's *centre* is the median
pitch of its steady frames; frames where the smoothed pitch moves faster than 8 semitones
a second are slides.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bridge.tune.track import HOP, PitchTrack

SMOOTH_FRAMES = 35
HYSTERESIS = 0.65
MIN_NOTE_FRAMES = 12
SLIDE_SLOPE = 8.0  # semitones per second


@dataclass(frozen=True)
class NoteSegment:
    """One sung note: frames ``start`` to ``stop`` (exclusive) of the track.

    Attributes
    ----------
    start, stop : int
        Frames.
    centre : float
        Median pitch of its steady frames (float MIDI note number).
    """

    start: int
    stop: int
    centre: float

    @property
    def start_time(self) -> float:
        """Seconds from the start of the audio."""
        return self.start * HOP

    @property
    def end_time(self) -> float:
        """Seconds from the start of the audio."""
        return self.stop * HOP


@dataclass
class Segmentation:
    """Notes and the per-frame reading they came from.

    Attributes
    ----------
    notes : list of NoteSegment
    smooth : numpy.ndarray
        The smoothed pitch (NaN outside notes).
    slide : numpy.ndarray
        Frames in a slide (bool).
    runs : list of tuple of int
        The voiced runs (``start``, ``stop``) holding notes.
    """

    notes: list[NoteSegment]
    smooth: np.ndarray
    slide: np.ndarray
    runs: list[tuple[int, int]]


def voiced_runs(voiced: np.ndarray, min_frames: int = MIN_NOTE_FRAMES) -> list[tuple[int, int]]:
    """``(start, stop)`` of the runs of voiced frames at least ``min_frames`` long."""
    edges = np.diff(np.concatenate([[0], voiced.astype(np.int8), [0]]))
    starts, stops = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    return [(int(a), int(b)) for a, b in zip(starts, stops, strict=True) if b - a >= min_frames]


def moving_average(x: np.ndarray, width: int) -> np.ndarray:
    """Centred moving average whose window shrinks at the ends (no padding)."""
    n = len(x)
    half = width // 2
    c = np.concatenate([[0.0], np.cumsum(x)])
    i = np.arange(n)
    lo, hi = np.maximum(i - half, 0), np.minimum(i + half + 1, n)
    return (c[hi] - c[lo]) / (hi - lo)


def _labels(smooth: np.ndarray) -> np.ndarray:
    labels = np.empty(len(smooth), dtype=int)
    current = int(round(smooth[0]))
    for i, value in enumerate(smooth):
        if abs(value - current) > HYSTERESIS:
            current = int(round(value))
        labels[i] = current
    return labels


def _pieces(labels: np.ndarray, smooth: np.ndarray) -> list[list[int]]:
    """Runs of equal labels as ``[start, stop, label]``, short ones joined to the closer neighbour."""
    cuts = np.flatnonzero(np.diff(labels)) + 1
    bounds = [0, *cuts.tolist(), len(labels)]
    pieces = [[bounds[k], bounds[k + 1], int(labels[bounds[k]])] for k in range(len(bounds) - 1)]
    while len(pieces) > 1:
        lengths = [p[1] - p[0] for p in pieces]
        k = int(np.argmin(lengths))
        if lengths[k] >= MIN_NOTE_FRAMES:
            break
        mid = float(np.median(smooth[pieces[k][0]:pieces[k][1]]))
        left = pieces[k - 1] if k > 0 else None
        right = pieces[k + 1] if k + 1 < len(pieces) else None
        into = left if right is None or (left is not None and abs(left[2] - mid) <= abs(right[2] - mid)) else right
        assert into is not None
        into[0], into[1] = min(into[0], pieces[k][0]), max(into[1], pieces[k][1])
        del pieces[k]
    return pieces


def _fold_to_centre(track: PitchTrack, start: int, stop: int, centre: float) -> None:
    """Frames of a note an octave (or more) away from its centre are octave errors: fold their f0 back."""
    midi = track.midi[start:stop]
    octaves = np.round((midi - centre) / 12.0)
    wrong = np.abs(midi - centre) > 7
    track.f0[start:stop] = np.where(wrong, track.f0[start:stop] / 2.0 ** octaves, track.f0[start:stop])


def segment(track: PitchTrack) -> Segmentation:
    """Cut the voiced frames of ``track`` into notes (see the module's description).

    Frames of a note that sit an octave or more from its centre are octave errors of the
    tracker; their f0 in ``track`` is folded back.
    """
    midi = track.midi
    smooth = np.full(len(midi), np.nan)
    slide = np.zeros(len(midi), dtype=bool)
    notes: list[NoteSegment] = []
    runs = voiced_runs(track.voiced)
    for a, b in runs:
        s = moving_average(midi[a:b], SMOOTH_FRAMES)
        smooth[a:b] = s
        slope = np.abs(np.gradient(s)) / HOP if b - a > 1 else np.zeros(b - a)
        slide[a:b] = slope > SLIDE_SLOPE
        for start, stop, _ in _pieces(_labels(s), s):
            steady = ~slide[a + start:a + stop]
            values = midi[a + start:a + stop][steady] if steady.sum() >= 3 else midi[a + start:a + stop]
            centre = float(np.median(values))
            _fold_to_centre(track, a + start, a + stop, centre)
            notes.append(NoteSegment(a + start, a + stop, centre))
    return Segmentation(notes, smooth, slide, runs)
