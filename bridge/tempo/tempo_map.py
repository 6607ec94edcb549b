"""Beats to a REAPER tempo map (and markers), as ChangeSet operations.

The map puts the project's beat grid on the detected beats: a first tempo
from the project start chosen so the first detected beat falls on a whole
beat (when that needs less than a 1.5x tempo change), then a new tempo point
wherever the beats stop following a straight line within 2 ms. Between
points every detected beat is within 2 ms of a grid beat.
"""

from __future__ import annotations

from collections.abc import Sequence

from bridge.changes.ops import AddMarker, SetTempo, TempoChange, derived_guid

TOLERANCE_S = 0.002


def _segments(beats: Sequence[float]) -> list[tuple[float, float]]:
    """(time, bpm) points so that every beat lies within tolerance of the grid."""
    points: list[tuple[float, float]] = []
    start, n = 0, len(beats)
    while start < n - 1:
        end = start + 1
        while end + 1 < n:
            span = (beats[end + 1] - beats[start]) / (end + 1 - start)
            if any(abs(beats[start] + (k - start) * span - beats[k]) > TOLERANCE_S for k in range(start, end + 2)):
                break
            end += 1
        period = (beats[end] - beats[start]) / (end - start)
        points.append((beats[start], 60.0 / period))
        start = end
    return points


def tempo_map_ops(beats: Sequence[float], bpm: float, numerator: int = 4, denominator: int = 4) -> SetTempo:
    """A :class:`SetTempo` whose map follows ``beats`` (project seconds)."""
    beats = sorted(b for b in beats if b >= 0)
    if len(beats) < 2:
        return SetTempo(round(bpm, 6), numerator, denominator)
    points = _segments(beats)
    first_time, first_bpm = points[0]
    lead_bpm = first_bpm
    if first_time > 0:
        whole = round(first_time * first_bpm / 60.0)
        if whole >= 1:
            candidate = 60.0 * whole / first_time
            if first_bpm / 1.5 <= candidate <= first_bpm * 1.5:
                lead_bpm = candidate
    changes = [TempoChange(0.0, round(lead_bpm, 9), numerator=numerator, denominator=denominator)]
    changes += [TempoChange(t, round(b, 9)) for t, b in points if t > 0]
    return SetTempo(round(lead_bpm, 6), numerator, denominator, tuple(changes))


def beat_markers(beats: Sequence[float], every: int, label: str, change_id: str) -> list[AddMarker]:
    """One marker every ``every`` beats, named ``"<label> N"`` (GUIDs derived from ``change_id``)."""
    return [AddMarker(b, f"{label} {i + 1}", guid=derived_guid(change_id, "marker", label, i))
            for i, b in enumerate(sorted(beats)[::every])]
