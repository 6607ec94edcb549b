"""Matching a query's landmarks against the stored ones: votes, a fit, and a test that refuses to guess.

Every stored row a query hash finds is a *hit*: (query anchor frame ``qt``, query pitch
``qp``, file, stored anchor frame ``rt``, stored pitch ``rp``). Hits of the right file agree
on one line ``rt = offset + stretch * qt`` and one transposition ``rp - qp``; chance hits
scatter. For each file with enough hits the stretch is searched over 0.93-1.07 (the issue's
+-5 % with room), the hits are voted into (offset, transposition) cells for each stretch, the
best cell's hits are refitted by least squares, and the *score* is the number of distinct
query anchors on that line (triplets sharing an anchor are one piece of evidence, not three).

A match is reported only when the score passes :data:`MIN_SCORE` *and* is far above what
chance gives for that many hits: the expected best cell count of the same hits scattered
uniformly is computed (Poisson), and the score must be :data:`MIN_RATIO` times it. Both
numbers were calibrated on queries of songs that are not in the index (benchmarks/
library_robustness.py): none passed. A false match is worse than none.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from bridge.library.landmarks import CENTRE, FRAME_SECONDS

STRETCHES = np.round(np.arange(0.93, 1.07 + 1e-9, 0.0025), 6)
OFFSET_TOLERANCE = 1.5  # frames (24 ms)
SHIFT_STEP = 0.5  # semitones per vote cell
SHIFT_TOLERANCE = 0.45
MAX_SHIFT = 1.3  # semitones a query may be transposed by (+-5 % speed: 0.9; +1 semitone)
MIN_HITS = 5
CANDIDATES = 10
COARSE = 48.0  # frames (0.77 s): the coarse offset bins candidates are chosen by
MIN_SCORE = 15
MIN_RATIO = 5.5
UNSTRETCHED = 0.015  # stretches closer to 1 than this are taken as 1 when 1 fits (almost) as many hits
#: a match stretched by more than STRETCHED must clear the acceptance line by this factor: the three false
#: matches of benchmarks/library_robustness.py (100 unknown songs, 120 indexed) all sat at stretches 0.946-1.046
#: with margins of 1.0-1.2 (confidence 0.50-0.61), while its 320 true matches at such stretches had margins of
#: 1.66 and more (confidence >= 0.848); pop songs a few per cent apart in tempo share drum patterns
STRETCHED = 0.03
STRETCHED_MARGIN = 1.5


@dataclass(frozen=True)
class Hits:
    """Hash hits of one query: parallel arrays."""

    qt: np.ndarray
    qp: np.ndarray
    file: np.ndarray
    rt: np.ndarray
    rp: np.ndarray

    def __len__(self) -> int:
        return len(self.qt)


@dataclass
class Match:
    """One file the query was found in.

    Attributes
    ----------
    file : int
        The stored file's id.
    offset : float
        Where the query starts in the file, seconds (negative: the query starts before the file).
    stretch : float
        File seconds per query second (1.05: the query plays 5 % faster than the file).
    transpose : float
        Semitones the query is above the file.
    score : int
        Query anchors that agree.
    hits : int
        Hash hits in this file in all.
    chance : float
        The best score chance would give for that many hits.
    span : float
        Seconds of the query the agreeing anchors cover.
    """

    file: int
    offset: float
    stretch: float
    transpose: float
    score: int
    hits: int
    chance: float
    span: float
    extra: dict[str, float] = field(default_factory=dict)

    @property
    def confidence(self) -> float:
        """0-1: how far the evidence is above the acceptance line (0.5 at the line, 0.99 at 3x it)."""
        margin = min(self.score / MIN_SCORE, self.score / max(self.chance * MIN_RATIO, 1e-9))
        return float(round(1.0 - 0.5 ** (margin ** 2), 3)) if margin > 0 else 0.0


def _expected_max(hits: int, cells: float, trials: int) -> float:
    """Roughly the largest of ``cells * trials`` Poisson counts with ``hits / cells`` mean (chance's best score)."""
    if hits <= 0:
        return 0.0
    lam = hits / max(cells, 1.0)
    target = 1.0 / max(cells * trials, 1.0)
    k, term = 0, math.exp(-lam)
    tail = 1.0
    while tail > target and k < hits:
        tail -= term
        k += 1
        term *= lam / k
    return float(max(k, 1))


def _best_line(qt: np.ndarray, qp: np.ndarray, rt: np.ndarray, rp: np.ndarray) -> tuple[float, float, float, int]:
    """(offset frames, stretch, transposition, votes) of the fullest cell over all stretches."""
    shift = rp - qp
    shift_bin = np.floor((shift + MAX_SHIFT) / SHIFT_STEP).astype(np.int64)
    ok = (shift_bin >= 0) & (shift_bin < int(2 * MAX_SHIFT / SHIFT_STEP) + 1)
    qt, rt, shift, shift_bin = qt[ok], rt[ok], shift[ok], shift_bin[ok]
    if not len(qt):
        return 0.0, 1.0, 0.0, 0
    shifts = int(2 * MAX_SHIFT / SHIFT_STEP) + 1
    offsets = rt[None, :] - STRETCHES[:, None] * qt[None, :]  # (stretches, hits)
    width = 2 * OFFSET_TOLERANCE
    base = np.floor(offsets.min()) - 1
    obin = np.floor((offsets - base) / width).astype(np.int64)
    nob = int(obin.max()) + 2
    key = (np.arange(len(STRETCHES))[:, None] * nob + obin) * shifts + shift_bin[None, :]
    counts = np.bincount(key.ravel(), minlength=len(STRETCHES) * nob * shifts)
    grid = counts.reshape(len(STRETCHES), nob, shifts)
    # a line on a cell edge: count each cell with its upper neighbours too
    summed = grid.copy()
    summed[:, :-1, :] += grid[:, 1:, :]
    summed[:, :, :-1] += summed[:, :, 1:].copy()
    s, o, h = np.unravel_index(int(np.argmax(summed)), summed.shape)
    offset = base + (o + 1) * width
    transpose = (h + 1) * SHIFT_STEP - MAX_SHIFT
    return float(offset), float(STRETCHES[s]), float(transpose), int(summed[s, o, h])


def _refine(qt: np.ndarray, qp: np.ndarray, rt: np.ndarray, rp: np.ndarray, offset: float, stretch: float,
            transpose: float) -> tuple[float, float, float, np.ndarray]:
    """Least-squares line and transposition through the hits near the voted one; the inlier mask."""
    inl = np.zeros(len(qt), dtype=bool)
    for tolerance in (2.5 * OFFSET_TOLERANCE, OFFSET_TOLERANCE, OFFSET_TOLERANCE):
        inl = (np.abs(rt - (offset + stretch * qt)) <= tolerance) & (np.abs(rp - qp - transpose) <= SHIFT_TOLERANCE)
        if inl.sum() < 3:
            return offset, stretch, transpose, inl
        x, y = qt[inl], rt[inl]
        if np.ptp(x) > 20:
            slope, icpt = np.polyfit(x, y, 1)
            if 0.92 <= slope <= 1.08:
                stretch, offset = float(slope), float(icpt)
            else:
                offset = float(np.median(y - stretch * x))
        else:
            offset = float(np.median(y - stretch * x))
        transpose = float(np.median(rp[inl] - qp[inl]))
    if abs(stretch - 1.0) < UNSTRETCHED and inl.sum() >= 3:
        # a fit this close to 1 from few hits is mostly noise: keep 1 unless the fit explains clearly more
        flat = float(np.median(rt[inl] - qt[inl]))
        same = (np.abs(rt - (flat + qt)) <= OFFSET_TOLERANCE) & (np.abs(rp - qp - transpose) <= SHIFT_TOLERANCE)
        if same.sum() >= 0.9 * inl.sum():
            return flat, 1.0, transpose, same
    return offset, stretch, transpose, inl


def _candidates(hits: Hits, min_score: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The files worth the full search, most promising first: their ids, hit counts and best coarse bins, and
    every hit's coarse bin.

    A coarse vote first: each hit's offset at stretch 1, in bins of :data:`COARSE` frames (a +-7 %
    stretch moves a 10 s query's end by 44 frames, so a true line stays within two neighbouring bins).
    Files whose best pair of bins holds fewer than ``min_score`` distinct query anchors cannot pass.
    """
    anchor = np.round(hits.qt * 10).astype(np.int64)
    coarse = np.floor((hits.rt - hits.qt) / COARSE).astype(np.int64)
    coarse -= coarse.min()
    span = int(coarse.max()) + 2
    # distinct (file, bin, anchor) triples, then anchors per (file, bin)
    anchor -= anchor.min()
    width = int(anchor.max()) + 1
    triple = np.unique((hits.file.astype(np.int64) * span + coarse) * width + anchor)
    cells, per_cell = np.unique(triple // width, return_counts=True)
    nxt = np.searchsorted(cells, cells + 1)
    pair = per_cell + np.where((nxt < len(cells)) & (cells[np.minimum(nxt, len(cells) - 1)] == cells + 1),
                               per_cell[np.minimum(nxt, len(cells) - 1)], 0)
    owner = cells // span
    files, first = np.unique(owner, return_index=True)
    best = np.maximum.reduceat(pair, first)
    where = np.array([first[k] + int(np.argmax(pair[first[k]:(first[k + 1] if k + 1 < len(first) else len(pair))]))
                      for k in range(len(first))], dtype=np.int64)
    keep = best >= min_score
    files, best, where = files[keep], best[keep], where[keep]
    order = np.argsort(-best, kind="stable")[:CANDIDATES]
    files, where = files[order], where[order]
    all_files, all_counts = np.unique(hits.file, return_counts=True)
    return files, all_counts[np.searchsorted(all_files, files)], cells[where] % span, coarse


def match(hits: Hits, *, query_frames: int, file_frames: dict[int, int] | None = None, top: int = 5,
          min_score: int = MIN_SCORE, min_ratio: float = MIN_RATIO) -> list[Match]:
    """The files the query is in, best first (empty when nothing passes the test).

    Parameters
    ----------
    hits : Hits
    query_frames : int
        The query's length in frames.
    file_frames : dict, optional
        Stored files' lengths in frames (for the chance estimate); the hits' span otherwise.
    top : int
        How many matches at most.
    """
    if not len(hits):
        return []
    files, counts, bins, coarse = _candidates(hits, min_score)
    if not len(files):
        return []
    by_file = np.argsort(hits.file, kind="stable")
    sorted_files = hits.file[by_file]
    found = []
    shift_cells = (2 * MAX_SHIFT) / (2 * SHIFT_TOLERANCE)
    for f, count, b in zip(files, counts, bins, strict=True):
        lo, hi = np.searchsorted(sorted_files, [f, f + 1])
        sel = by_file[lo:hi]
        sel = sel[(coarse[sel] >= b - 1) & (coarse[sel] <= b + 2)]  # the line lies in the best pair of bins
        qt, qp, rt, rp = hits.qt[sel], hits.qp[sel], hits.rt[sel], hits.rp[sel]
        offset, stretch, transpose, votes = _best_line(qt, qp, rt, rp)
        if votes < min_score:
            continue
        offset, stretch, transpose, inl = _refine(qt, qp, rt, rp, offset, stretch, transpose)
        anchors = np.unique(np.round(qt[inl], 1))
        score = len(anchors)
        length = (file_frames or {}).get(int(f)) or float(np.ptp(rt) + 1)
        offset_cells = (length + query_frames) / (2 * OFFSET_TOLERANCE)
        # every hit is a chance vote: a file whose common hashes give each query anchor many hits gets many
        # anchors on some line by chance (counting distinct anchors only would underrate that)
        chance = _expected_max(int(count), offset_cells * shift_cells, len(STRETCHES))
        margin = STRETCHED_MARGIN if abs(stretch - 1.0) > STRETCHED else 1.0
        if score < margin * min_score or score < margin * min_ratio * chance:
            continue
        span = float(np.ptp(qt[inl]) * FRAME_SECONDS) if inl.any() else 0.0
        seconds = offset * FRAME_SECONDS - (stretch - 1.0) * CENTRE  # frame times are window centres
        found.append(Match(int(f), seconds, stretch, -transpose, score, int(count), chance, span))
    found.sort(key=lambda m: -m.score)
    return found[:top]
