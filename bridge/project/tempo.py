"""Project tempo map: converting between seconds and quarter notes.

REAPER keeps the project tempo on the ``TEMPO bpm num denom`` line and tempo
changes as ``PT`` points in the ``<TEMPOENVEX`` envelope::

    PT <seconds> <bpm> [<shape> [<timesig> [<selected> ...]]]

``shape`` 1 is a step change, 0 a linear ramp to the next point (linear in
time, so a segment lasts ``beats * 120 / (bpm_a + bpm_b)`` seconds).
``timesig`` packs the time signature as ``num + 65536 * denom`` (0: unchanged).
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, field


@dataclass(frozen=True)
class TempoPoint:
    """One tempo change.

    Attributes
    ----------
    time : float
        Position in seconds.
    bpm : float
        Tempo in quarter notes per minute from this point on.
    linear : bool
        Ramp linearly to the next point instead of jumping.
    numerator, denominator : int or None
        Time signature starting here, if this point sets one.
    """

    time: float
    bpm: float
    linear: bool = False
    numerator: int | None = None
    denominator: int | None = None


@dataclass(frozen=True)
class TempoMap:
    """A project's tempo: a base tempo and time signature plus change points."""

    bpm: float = 120.0
    numerator: int = 4
    denominator: int = 4
    points: tuple[TempoPoint, ...] = ()
    _segments: list[tuple[float, float, float, float]] = field(
        default_factory=list, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        if not (math.isfinite(self.bpm) and self.bpm > 0):
            raise ValueError(f"tempo must be a positive number of BPM, got {self.bpm}")
        points = sorted((p for p in self.points if p.bpm > 0), key=lambda p: p.time)
        if not points or points[0].time > 0:
            points.insert(0, TempoPoint(0.0, self.bpm))
        segs: list[tuple[float, float, float, float]] = []  # (t0, qn0, bpm0, bpm1 at next point)
        qn = 0.0
        for i, p in enumerate(points):
            nxt = points[i + 1] if i + 1 < len(points) else None
            end_bpm = nxt.bpm if (nxt is not None and p.linear) else p.bpm
            segs.append((p.time, qn, p.bpm, end_bpm))
            if nxt is not None:
                qn += (nxt.time - p.time) * (p.bpm + end_bpm) / 120.0
        object.__setattr__(self, "_segments", segs)
        object.__setattr__(self, "_starts", [s[0] for s in segs])
        object.__setattr__(self, "_qns", [s[1] for s in segs])

    def _segment(self, index: int) -> tuple[float, float, float, float, float | None]:
        t0, qn0, b0, b1 = self._segments[index]
        t1 = self._segments[index + 1][0] if index + 1 < len(self._segments) else None
        return t0, qn0, b0, b1, t1

    def qn_at(self, seconds: float) -> float:
        """Quarter notes from project start at ``seconds``."""
        i = max(0, bisect.bisect_right(self._starts, seconds) - 1)  # type: ignore[attr-defined]
        t0, qn0, b0, b1, t1 = self._segment(i)
        dt = seconds - t0
        if t1 is None or b0 == b1:
            return qn0 + dt * b0 / 60.0
        slope = (b1 - b0) / (t1 - t0)
        return qn0 + (b0 * dt + 0.5 * slope * dt * dt) / 60.0

    def time_at(self, qn: float) -> float:
        """Seconds at ``qn`` quarter notes from project start."""
        i = max(0, bisect.bisect_right(self._qns, qn) - 1)  # type: ignore[attr-defined]
        t0, qn0, b0, b1, t1 = self._segment(i)
        dq = qn - qn0
        if t1 is None or b0 == b1:
            return t0 + dq * 60.0 / b0
        slope = (b1 - b0) / (t1 - t0)
        # solve 0.5*slope*dt^2 + b0*dt - 60*dq = 0 for dt >= 0
        disc = b0 * b0 + 2.0 * slope * 60.0 * dq
        return t0 + (math.sqrt(max(disc, 0.0)) - b0) / slope

    def bpm_at(self, seconds: float) -> float:
        """Tempo in BPM at ``seconds``."""
        i = max(0, bisect.bisect_right(self._starts, seconds) - 1)  # type: ignore[attr-defined]
        t0, _, b0, b1, t1 = self._segment(i)
        if t1 is None or b0 == b1:
            return b0
        return b0 + (b1 - b0) * (seconds - t0) / (t1 - t0)


def pack_timesig(numerator: int, denominator: int) -> int:
    """Encode a time signature as REAPER stores it in a ``PT`` line."""
    return int(numerator) + 65536 * int(denominator)


def unpack_timesig(value: int) -> tuple[int, int] | None:
    """Decode a ``PT`` time signature field; None when the point sets none."""
    if value <= 0:
        return None
    return value & 0xFFFF, value >> 16
