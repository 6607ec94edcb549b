"""Diarization error rate as NIST's md-eval scores it, and RTTM reading and writing.

DER = (missed speech + false alarm + speaker confusion) / reference speech, all in
seconds of scored time. Scored time leaves out a *collar* (0.25 s by default) on
each side of every reference turn's start and end; overlapping speech is scored
(two reference speakers at once count twice). Reference and hypothesis labels are
paired one to one so that they agree for as long as possible (Hungarian
assignment on the scored overlap), as md-eval does.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

Segment = tuple[float, float, str]  # start, end, speaker


@dataclass(frozen=True)
class DerResult:
    """Seconds of scored reference speech and of each kind of error."""

    total: float
    missed: float
    false_alarm: float
    confusion: float

    @property
    def der(self) -> float:
        """The error rate (0-1; it can exceed 1)."""
        return (self.missed + self.false_alarm + self.confusion) / self.total if self.total > 0 else 0.0


def _intervals(reference: list[Segment], hypothesis: list[Segment], collar: float
               ) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
    """Elementary intervals (between every boundary) and the no-score zones."""
    zones = [(t - collar, t + collar) for s, e, _ in reference for t in (s, e)] if collar > 0 else []
    cuts = sorted({t for s, e, _ in [*reference, *hypothesis] for t in (s, e)} | {t for z in zones for t in z})
    return [(a, b) for a, b in itertools.pairwise(cuts) if b > a], zones


def _active(segments: list[Segment], a: float, b: float) -> set[str]:
    mid = (a + b) / 2
    return {spk for s, e, spk in segments if s <= mid < e}


def der(reference: Iterable[Segment], hypothesis: Iterable[Segment], *, collar: float = 0.25) -> DerResult:
    """Score ``hypothesis`` against ``reference`` (lists of ``(start, end, speaker)``).

    Parameters
    ----------
    reference, hypothesis :
        Turns in seconds; a label may have several turns; turns of different labels may overlap.
    collar : float
        Seconds not scored on each side of every reference boundary (md-eval's ``-c``).
    """
    ref, hyp = list(reference), list(hypothesis)
    pieces, zones = _intervals(ref, hyp, collar)
    scored = []
    for a, b in pieces:
        mid = (a + b) / 2
        if any(z0 <= mid < z1 for z0, z1 in zones):
            continue
        scored.append((a, b, _active(ref, a, b), _active(hyp, a, b)))
    ref_names = sorted({s for *_, s in ref})
    hyp_names = sorted({s for *_, s in hyp})
    overlap = np.zeros((len(ref_names), len(hyp_names)))
    for a, b, r, h in scored:
        for x in r:
            for y in h:
                overlap[ref_names.index(x), hyp_names.index(y)] += b - a
    mapping: dict[str, str] = {}
    if overlap.size:
        from scipy.optimize import linear_sum_assignment

        rows, cols = linear_sum_assignment(-overlap)
        mapping = {ref_names[i]: hyp_names[j] for i, j in zip(rows, cols, strict=True) if overlap[i, j] > 0}
    total = missed = false_alarm = confusion = 0.0
    for a, b, r, h in scored:
        d = b - a
        correct = sum(1 for x in r if mapping.get(x) in h)
        total += d * len(r)
        missed += d * max(0, len(r) - len(h))
        false_alarm += d * max(0, len(h) - len(r))
        confusion += d * (min(len(r), len(h)) - correct)
    return DerResult(total, missed, false_alarm, confusion)


def read_rttm(path: Path) -> list[Segment]:
    """``SPEAKER`` lines of an RTTM file as ``(start, end, speaker)``."""
    out = []
    for line in path.read_text().splitlines():
        f = line.split()
        if len(f) >= 8 and f[0] == "SPEAKER":
            start, length = float(f[3]), float(f[4])
            out.append((start, start + length, f[7]))
    return out


def rttm_lines(turns: Iterable[tuple[float, float, str]], file_id: str) -> list[str]:
    """Turns as RTTM ``SPEAKER`` lines (NIST RT-09 layout: onset and duration in seconds)."""
    name = "".join(c if c.isalnum() or c in "-_." else "_" for c in file_id) or "audio"
    return [f"SPEAKER {name} 1 {s:.3f} {e - s:.3f} <NA> <NA> {spk} <NA> <NA>" for s, e, spk in turns]
