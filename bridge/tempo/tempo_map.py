"""Beats to a REAPER tempo map (and markers), as ChangeSet operations.

The map puts the project's beat grid on the detected beats and its bar lines on the detected
downbeats:

- a first tempo from the project start, chosen so the first detected beat falls on a whole
  beat (when that needs less than a 1.5x tempo change) -- and, when a downbeat is known, so
  that the number of beats before it is a whole number of bars; when the music starts too
  early for that, the first bar is a short one (a pickup: ``1/4`` to ``3/4``) and the
  detected metre starts on the downbeat;
- then a new tempo point wherever the beats stop following a straight line within
  ``tolerance`` seconds (the line fitted by least squares, so a drummer's few milliseconds
  either way do not start new tempi), but never after fewer than ``min_beats`` beats, so
  live playing gets one point every few bars, not hundreds of tiny ones.

Between points every detected beat is within the tolerance of a grid beat (except inside a
stretch held to its minimum length).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import numpy as np

from bridge.changes.ops import AddMarker, SetTempo, TempoChange, derived_guid

TOLERANCE_S = 0.015
MIN_BEATS = 4
MAX_LEAD_CHANGE = 1.5


def segments(beats: Sequence[float], tolerance: float = TOLERANCE_S, min_beats: int = MIN_BEATS
             ) -> list[tuple[float, float, int]]:
    """``(time, seconds per beat, first beat index)`` of each straight-line stretch of the beats.

    Each stretch starts where the previous one's grid ends and takes the least-squares beat
    length from there, growing while every beat in it stays within ``tolerance`` of its grid
    beat (but to at least ``min_beats`` beats); a short tail joins the last stretch.
    """
    b = np.asarray(beats, dtype=float)
    n = len(b)
    out: list[tuple[float, float, int]] = []
    start, t0 = 0, float(b[0])
    while start < n - 1:
        end = start + 1
        period = float(b[end] - t0)
        while end + 1 < n:
            k = np.arange(1, end + 2 - start, dtype=float)
            trial = float(np.dot(k, b[start + 1:end + 2] - t0) / np.dot(k, k))
            fits = float(np.max(np.abs(t0 + k * trial - b[start + 1:end + 2]))) <= tolerance
            if not fits and end - start >= min_beats:
                break
            end, period = end + 1, trial
        if n - 1 - end < min_beats and end < n - 1:  # a short tail joins this stretch
            k = np.arange(1, n - start, dtype=float)
            end, period = n - 1, float(np.dot(k, b[start + 1:] - t0) / np.dot(k, k))
        out.append((t0, period, start))
        t0, start = t0 + (end - start) * period, end
    return out


def _lead(first_time: float, first_bpm: float, beats_before_downbeat: int | None, per_bar: int) -> tuple[float, int]:
    """Tempo and beat count from the project start to the first detected beat."""
    whole = round(first_time * first_bpm / 60.0)
    options = [whole]
    if beats_before_downbeat is not None:  # also the counts that put the downbeat on a bar line
        options = sorted(range(max(1, whole - per_bar), whole + per_bar + 1),
                         key=lambda w: ((w + beats_before_downbeat) % per_bar != 0, abs(w - whole)))
    for count in options:
        if count >= 1:
            bpm = 60.0 * count / first_time
            if first_bpm / MAX_LEAD_CHANGE <= bpm <= first_bpm * MAX_LEAD_CHANGE:
                return bpm, count
    return first_bpm, 0


def tempo_map_ops(beats: Sequence[float], bpm: float, numerator: int = 4, denominator: int = 4, *,
                  downbeat: float | None = None, tolerance: float = TOLERANCE_S,
                  min_beats: int = MIN_BEATS) -> SetTempo:
    """A :class:`SetTempo` whose map follows ``beats`` (project seconds), bars starting at ``downbeat``."""
    beats = sorted(b for b in beats if b >= 0)
    if len(beats) < 2:
        return SetTempo(round(bpm, 6), numerator, denominator)
    points = [(t, 60.0 / period, first) for t, period, first in segments(beats, tolerance, min_beats)]
    index = None if downbeat is None else min(range(len(beats)), key=lambda k: abs(beats[k] - downbeat))
    first_time, first_bpm, _ = points[0]
    lead_bpm, lead_beats = (first_bpm, 0) if first_time <= 0 else _lead(first_time, first_bpm, index, numerator)
    pickup = 0 if index is None or first_time <= 0 else (lead_beats + index) % numerator
    if pickup and lead_beats == 0:
        pickup = 0  # the first beat is the project start: nothing to align against
    changes = [TempoChange(0.0, round(lead_bpm, 9), numerator=pickup or numerator, denominator=denominator)]
    if pickup:  # a short first bar, then the metre from the grid beat ``pickup`` on
        at = _grid_time(pickup, lead_bpm, lead_beats, points)
        changes.append(TempoChange(at, round(_tempo_at(at, lead_bpm, points), 9), numerator=numerator,
                                   denominator=denominator))
    changes += [TempoChange(t, round(b, 9)) for t, b, _ in points if t > 0 and not _same(t, changes)]
    changes.sort(key=lambda c: c.time)
    return SetTempo(round(lead_bpm, 6), pickup or numerator, denominator, tuple(changes))


def _same(time: float, changes: list[TempoChange]) -> bool:
    return any(abs(c.time - time) < 1e-9 for c in changes)


def _tempo_at(time: float, lead_bpm: float, points: list[tuple[float, float, int]]) -> float:
    current = lead_bpm
    for t, b, _ in points:
        if t <= time + 1e-9:
            current = b
    return current


def _grid_time(count: int, lead_bpm: float, lead_beats: int, points: list[tuple[float, float, int]]) -> float:
    """The time of grid beat ``count`` (0 = the project start)."""
    if count <= lead_beats:
        return count * 60.0 / lead_bpm
    for t, b, first in reversed(points):
        if lead_beats + first <= count:
            return t + (count - lead_beats - first) * 60.0 / b
    return count * 60.0 / lead_bpm


def bar_numbers(op: SetTempo, times: Sequence[float]) -> list[int]:
    """The measure REAPER numbers at each of ``times`` under the map ``op`` writes.

    Measures count from 1 at the project start and start again at every time-signature point
    (a short pickup bar counts as one).
    """
    from bridge.project.tempo import TempoMap, TempoPoint

    tm = TempoMap(op.bpm, op.numerator, op.denominator,
                  tuple(TempoPoint(p.time, p.bpm, p.linear, p.numerator, p.denominator) for p in op.points))
    signatures = [(0.0, op.numerator * 4.0 / op.denominator)]
    for p in sorted(op.points, key=lambda p: p.time):
        if p.numerator and p.denominator:
            q = tm.qn_at(p.time)
            signatures = [s for s in signatures if s[0] < q - 1e-9] + [(q, p.numerator * 4.0 / p.denominator)]
    before = [0]
    for (q0, size), (q1, _) in itertools.pairwise(signatures):
        before.append(before[-1] + math.ceil((q1 - q0) / size - 1e-6))
    numbers = []
    for t in times:
        q = tm.qn_at(t)
        k = max(i for i, (start, _) in enumerate(signatures) if start <= q + 1e-6)
        start, size = signatures[k]
        numbers.append(before[k] + math.floor((q - start) / size + 1e-6) + 1)
    return numbers


def beat_markers(beats: Sequence[float], every: int, label: str, change_id: str,
                 numbers: Sequence[int] | None = None) -> list[AddMarker]:
    """One marker every ``every`` beats, named ``"<label> N"`` (N counts from 1 unless ``numbers`` gives
    it; GUIDs derived from ``change_id``)."""
    chosen = sorted(beats)[::every]
    names = list(numbers) if numbers is not None else list(range(1, len(chosen) + 1))
    return [AddMarker(b, f"{label} {n}", guid=derived_guid(change_id, "marker", label, i))
            for i, (b, n) in enumerate(zip(chosen, names, strict=True))]
