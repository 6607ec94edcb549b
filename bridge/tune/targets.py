"""The target of each note, and the pitch shift of every frame that takes it there.

A note's target is decided once, from its centre (the nearest note of the scale, or the
guide's note under it), never frame by frame, so a wobble cannot flip between two
targets. Then, frame by frame:

- the deviation from the target is the pitch itself (flattening vibrato: the hard-tune
  sound) or, with ``keep_vibrato``, the pitch smoothed over a vibrato cycle (the vibrato
  and small movements stay, centred on the target; slides between notes keep their shape,
  their ends moved with the notes);
- ``humanize`` leaves up to that many cents of it alone; ``strength`` scales the rest;
- ``speed`` (ms) is how long the correction takes to get 95 % of the way to what is
  asked (a one-pole glide, restarted at each voiced run): 0 is instant.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from bridge.tune.notes import NoteSegment, Segmentation
from bridge.tune.scales import Scale
from bridge.tune.track import HOP, PitchTrack


@dataclass(frozen=True)
class Settings:
    """How hard and how fast notes are pulled to their targets."""

    speed_ms: float = 50.0
    strength: float = 1.0
    humanize_cents: float = 0.0
    keep_vibrato: bool = False


@dataclass(frozen=True)
class GuideNote:
    """A note of a guide melody, in seconds from the start of the audio."""

    start: float
    end: float
    pitch: int


#: chooses a note's target (a MIDI note) or None to leave it as sung
Chooser = Callable[[NoteSegment], int | None]


def scale_chooser(scale: Scale) -> Chooser:
    """Targets: the nearest note of ``scale`` to each note's centre."""
    return lambda note: scale.nearest(note.centre)


def guide_chooser(guide: list[GuideNote]) -> Chooser:
    """Targets: the guide note overlapping the sung note most, in the octave closest to what was sung.

    A sung note under no guide note is left as sung.
    """
    starts = np.array([g.start for g in guide])
    ends = np.array([g.end for g in guide])

    def choose(note: NoteSegment) -> int | None:
        overlap = np.minimum(ends, note.end_time) - np.maximum(starts, note.start_time)
        if len(overlap) == 0 or overlap.max() <= 0:
            return None
        pitch = guide[int(np.argmax(overlap))].pitch
        return pitch + 12 * int(round((note.centre - pitch) / 12))

    return choose


@dataclass(frozen=True)
class Decision:
    """What was done to one note.

    Attributes
    ----------
    note : NoteSegment
    target : int or None
        None: left as sung (no guide note under it).
    correction_cents : float
        Mean shift applied over the note's frames.
    """

    note: NoteSegment
    target: int | None
    correction_cents: float


@dataclass
class Plan:
    """The shift of every frame (semitones; 0 where nothing changes) and the per-note decisions."""

    shift: np.ndarray
    decisions: list[Decision] = field(default_factory=list)


def _interpolate_slides(values: np.ndarray, slide: np.ndarray) -> np.ndarray:
    """Inside a run, replace slide frames by a straight line between the steady frames around them."""
    steady = np.flatnonzero(~slide)
    if len(steady) == 0 or len(steady) == len(values):
        return values
    return np.interp(np.arange(len(values)), steady, values[steady])


def _glide(asked: np.ndarray, speed_ms: float) -> np.ndarray:
    """One-pole approach to ``asked`` from 0, 95 % of a step within ``speed_ms``."""
    if speed_ms <= 0:
        return asked.copy()
    alpha = 1.0 - np.exp(-HOP * 3.0 / (speed_ms / 1000.0))
    out = np.empty_like(asked)
    value = 0.0
    for i, target in enumerate(asked):
        value += alpha * (target - value)
        out[i] = value
    return out


def plan(track: PitchTrack, segmentation: Segmentation, choose: Chooser, settings: Settings) -> Plan:
    """The per-frame shift taking each note to its target, under ``settings``."""
    midi = track.midi
    shift = np.zeros(len(midi))
    decisions: list[Decision] = []
    humanize = settings.humanize_cents / 100.0
    by_run: dict[int, list[tuple[NoteSegment, int | None]]] = {i: [] for i in range(len(segmentation.runs))}
    run_starts = np.array([a for a, _ in segmentation.runs])
    for note in segmentation.notes:
        index = int(np.searchsorted(run_starts, note.start, side="right") - 1)
        by_run[index].append((note, choose(note)))
    for index, (a, b) in enumerate(segmentation.runs):
        asked = np.zeros(b - a)
        reference = segmentation.smooth[a:b] if settings.keep_vibrato else midi[a:b]
        for note, target in by_run[index]:
            if target is None:
                continue
            lo, hi = note.start - a, note.stop - a
            deviation = reference[lo:hi] - target
            kept = np.clip(deviation, -humanize, humanize)
            asked[lo:hi] = (kept - deviation) * settings.strength
        if settings.keep_vibrato:
            asked = _interpolate_slides(asked, segmentation.slide[a:b])
        shift[a:b] = _glide(asked, settings.speed_ms)
    for pairs in by_run.values():
        decisions += [Decision(note, target, float(np.mean(shift[note.start:note.stop])) * 100.0)
                      for note, target in pairs]
    return Plan(shift, decisions)
