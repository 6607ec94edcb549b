"""Markers and regions (``MARKER`` lines).

A marker is one line; a region is two consecutive lines with the same number
and the region flag, the second one marking its end::

    MARKER 1 32 Verse1 0 0 1 R {GUID} 0      marker 1 at 32 s
    MARKER 3 3.75 "A Loop" 1 0 1 R {GUID} 0  region 3 from 3.75 s...
    MARKER 3 63.75 "" 1                      ...to 63.75 s
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from bridge.rpp.tree import Chunk


@dataclass(frozen=True)
class Marker:
    """A marker (``end`` is None) or a region."""

    number: int
    position: float
    name: str
    end: float | None = None
    color: int = 0

    @property
    def is_region(self) -> bool:
        """Whether this is a region."""
        return self.end is not None

    def to_dict(self) -> dict[str, object]:
        """Plain data for JSON."""
        return {"number": self.number, "position": self.position, "name": self.name,
                "end": self.end, "region": self.is_region, "color": self.color}


def read_markers(root: Chunk) -> list[Marker]:
    """Markers and regions of a project, in file order."""
    out: list[Marker] = []
    open_region: tuple[int, float, str, int] | None = None
    for line in root.lines("MARKER"):
        v = line.values
        try:
            number = int(float(v[0]))
            pos = float(v[1])
            if not math.isfinite(pos):
                continue
            flags = int(float(v[3])) if len(v) > 3 else 0
            color = int(float(v[4])) if len(v) > 4 else 0
        except (ValueError, IndexError, OverflowError):
            continue
        name = v[2] if len(v) > 2 else ""
        if flags & 1:
            if open_region is not None and open_region[0] == number:
                out.append(Marker(number, open_region[1], open_region[2], pos, open_region[3]))
                open_region = None
            else:
                open_region = (number, pos, name, color)
        else:
            out.append(Marker(number, pos, name, None, color))
    return out
