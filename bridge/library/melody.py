"""Melody lines and query by humming: pitch contours that ignore key and tempo.

Melody line (indexing and queries alike): a predominant-pitch track over the fingerprint's
8 kHz, 24-per-octave spectrogram -- each band's harmonic sum (the band, its octave, twelfth and
double octave) over MIDI 48-82, the loudest candidate per 16 ms frame, voiced where it stands
out from the frame's median -- smoothed and cut into notes where the pitch holds within 0.75
semitones for 80 ms or more. This is not basic-pitch: basic-pitch runs at ~20x realtime on
these machines and indexing must stay >= 100x, so the melody comes from this cheaper track
(on a band mix it often follows an accompaniment part: in 20 POP909 band renders a quarter of the
stored notes fell on the tune -- which is why songs are ranked by chroma first).

Matching (see :func:`rank_melodies`): songs are ranked by the hummed clip's chroma against theirs,
key-rotated, by subsequence DTW; the contour below breaks near-ties. A melody becomes two
sequences, the intervals between successive notes (semitones,
clipped to +-12) and the log2 ratios of successive inter-onset intervals (clipped to +-2);
neither moves when the tune is transposed or played faster or slower. A query is aligned
against every stored melody by subsequence DTW (it may start anywhere in the song; steps
(1,1), (1,2), (2,1), so a missed or extra note costs one step), the cost of a pair being the
interval difference (clipped at 3 semitones) plus half the rhythm difference.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from bridge.library import landmarks as lm

LOW, HIGH = 48.0, 82.0
HARMONICS = ((0, 1.0), (24, 0.8), (38, 0.6), (48, 0.5))  # band offsets (24 per octave) and weights
VOICING = 1.2  # log-magnitude above the frame's median
HOLD = 0.75  # semitones a note's pitch stays within
MIN_NOTE = 0.08  # seconds
MAX_INTERVAL, MAX_RHYTHM, INTERVAL_CAP = 12.0, 2.0, 3.0
RHYTHM_WEIGHT = 0.5


def pitch_track(spec: np.ndarray) -> np.ndarray:
    """Predominant pitch (MIDI, float) per spectrogram frame; NaN where nothing pitched stands out."""
    frames, bands = spec.shape
    centres = 69.0 + 12.0 * np.log2(lm._CENTRES / 440.0)
    top = bands - HARMONICS[-1][0]
    if frames == 0 or top <= 0:
        return np.full(frames, np.nan)
    floor = np.median(spec, axis=1, keepdims=True)
    above = np.maximum(spec - floor, 0.0)
    salience = sum(w * above[:, off:off + top] for off, w in HARMONICS)
    allowed = (centres[:top] >= LOW) & (centres[:top] <= HIGH)
    salience[:, ~allowed] = 0.0
    # a candidate must itself be sounding: a sub-octave collecting its "harmonics" is not a pitch
    own = above[:, :top]
    salience[own < 0.6 * own.max(axis=1, keepdims=True)] = 0.0
    best = np.argmax(salience, axis=1)
    strength = above[np.arange(frames), best]
    pitch = centres[best].astype(float)
    pitch[strength < VOICING] = np.nan
    # a 5-frame median inside voiced runs (unvoiced frames count as 0; runs under 3 frames go)
    from scipy import ndimage

    smooth = ndimage.median_filter(np.nan_to_num(pitch, nan=0.0), size=5, mode="nearest")
    smooth[np.isnan(pitch) | (smooth <= 0)] = np.nan
    return smooth


def notes_from_track(pitch: np.ndarray, frame_seconds: float = lm.FRAME_SECONDS) -> np.ndarray:
    """``(n, 3)`` float32 notes ``(onset s, MIDI pitch, duration s)`` from a pitch track."""
    out: list[tuple[float, float, float]] = []
    start, values = -1, []  # type: ignore[var-annotated]
    min_frames = max(2, int(round(MIN_NOTE / frame_seconds)))

    def close(end: int) -> None:
        if start >= 0 and end - start >= min_frames:
            out.append((start * frame_seconds, float(np.median(values)), (end - start) * frame_seconds))

    for k, p in enumerate(pitch):
        if np.isnan(p):
            close(k)
            start, values = -1, []
            continue
        if start >= 0 and abs(p - np.median(values)) > HOLD:
            close(k)
            start, values = -1, []
        if start < 0:
            start, values = k, []
        values.append(float(p))
    close(len(pitch))
    return np.array(out, dtype=np.float32).reshape(-1, 3)


def melody_line(spec: np.ndarray) -> np.ndarray:
    """Notes ``(onset s, pitch, duration s)`` of the predominant line of a log spectrogram."""
    return notes_from_track(pitch_track(spec))


def contour(notes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Key- and tempo-free sequences of a melody: intervals (semitones) and log2 IOI ratios, both ``n - 1`` long."""
    if len(notes) < 3:
        return np.zeros(0), np.zeros(0)
    onset, pitch = notes[:, 0].astype(float), notes[:, 1].astype(float)
    intervals = np.clip(np.diff(pitch), -MAX_INTERVAL, MAX_INTERVAL)
    ioi = np.maximum(np.diff(onset), 0.04)
    rhythm = np.r_[0.0, np.clip(np.log2(ioi[1:] / ioi[:-1]), -MAX_RHYTHM, MAX_RHYTHM)]
    return intervals, rhythm


def align_cost(query: tuple[np.ndarray, np.ndarray], ref: tuple[np.ndarray, np.ndarray]) -> float:
    """Mean step cost of the best subsequence alignment of ``query`` inside ``ref`` (lower is closer)."""
    qi, qr = query
    ri, rr = ref
    n, m = len(qi), len(ri)
    if n == 0 or m == 0:
        return float("inf")
    cost = np.minimum(np.abs(qi[:, None] - ri[None, :]), INTERVAL_CAP)
    cost += RHYTHM_WEIGHT * np.abs(qr[:, None] - rr[None, :])
    inf = np.inf
    d = np.full((n, m), inf)
    d[0] = cost[0]  # free start anywhere in the reference
    for i in range(1, n):
        prev = d[i - 1]
        diag = np.r_[inf, prev[:-1]]
        skip_ref = np.r_[inf, inf, prev[:-2]] if m > 2 else np.full(m, inf)
        best = np.minimum(diag, skip_ref)
        if i >= 2:
            skip_query = np.r_[inf, d[i - 2][:-1]]
            best = np.minimum(best, skip_query + 0.5 * INTERVAL_CAP)
        d[i] = cost[i] + best
    return float(np.min(d[-1]) / n)


def _subsequence_dtw(rows: int, cost_row: Callable[[int], np.ndarray]) -> np.ndarray:
    """Best subsequence alignment cost ending at each reference frame.

    ``cost_row(i)`` gives the query frame ``i``'s costs against every reference frame, ``(k, ref)``
    (``k`` alignments at once). Steps (1,1), (1,2), (2,1): the query may be sung up to twice as fast or
    as slow as the reference. Returns the mean step cost of the best path ending at each frame, ``(k, ref)``.
    """
    first = cost_row(0)
    k, m = first.shape
    # two columns of infinity in front, so every step reads a shifted view instead of building an array
    prev2 = np.full((k, m + 2), np.inf, dtype=np.float32)
    prev = np.full((k, m + 2), np.inf, dtype=np.float32)
    prev[:, 2:] = first  # free start anywhere in the reference
    now = np.full((k, m + 2), np.inf, dtype=np.float32)
    best = np.empty((k, m), dtype=np.float32)
    for i in range(1, rows):
        np.minimum(prev[:, 1:-1], prev[:, :-2], out=best)
        if i >= 2:
            np.minimum(best, prev2[:, 1:-1], out=best)
        np.add(cost_row(i), best, out=now[:, 2:])
        prev2, prev, now = prev, now, prev2
    return prev[:, 2:] / rows


def chroma_costs(query: np.ndarray, refs: list[np.ndarray]) -> np.ndarray:
    """How far a query's chroma (``(m, 12)``) is from the closest stretch of each song's, in any key.

    Cosine distance per frame, subsequence DTW (:func:`_subsequence_dtw`), the best of the 12
    transpositions of the query. All songs are aligned in one pass: their chroma is laid end to end with
    two frames of infinite cost between songs, so no path crosses from one song into the next.
    """
    out = np.full(len(refs), np.inf)
    if len(query) < 2 or not refs:
        return out
    gap = np.zeros((2, 12), dtype=np.float32)
    joined = np.concatenate([part for r in refs for part in (r, gap)]).astype(np.float32).T  # (12, total)
    owner = np.concatenate([np.full(len(r) + 2, i) for i, r in enumerate(refs)])
    wall = np.concatenate([np.r_[np.zeros(len(r), dtype=np.float32), np.full(2, np.inf, dtype=np.float32)]
                           for r in refs])
    rotations = np.stack([np.roll(query, r, axis=1) for r in range(12)]).astype(np.float32)  # (12, m, 12)

    def row(i: int) -> np.ndarray:
        c = 1.0 - rotations[:, i, :] @ joined  # (12 keys, total)
        c += wall
        return c

    ends = np.min(_subsequence_dtw(len(query), row), axis=0)
    finite = np.isfinite(ends)
    np.minimum.at(out, owner[finite], ends[finite])
    return out


@dataclass(frozen=True)
class HumMatch:
    """One stored melody and how far it is from the query (mean step cost; 0 is identical)."""

    source: int
    cost: float
    offset: float


def rank_melodies(query_notes: np.ndarray, query_chroma: np.ndarray | None,
                  songs: list[tuple[int, np.ndarray, np.ndarray | None]], top: int = 5) -> list[HumMatch]:
    """The stored songs closest to the query, best first: ``songs`` are ``(source, melody notes, chroma)``.

    Ranked by :func:`chroma_cost` (the hummed pitches against each song's pitch classes, any key, 0.5-2x
    tempo); the interval/rhythm contour cost (:func:`align_cost`) breaks near-ties. On band mixes the
    stored melody line often follows an accompaniment part rather than the tune, where the contour alone
    found the right song in 3 % of 60 hummed queries and chroma in 50 % (benchmarks/library_hum.py).
    """
    q = contour(query_notes)
    found = []
    harmonies = np.zeros(len(songs))
    if query_chroma is not None and all(chroma is not None for _, _, chroma in songs):
        harmonies = chroma_costs(query_chroma, [chroma for _, _, chroma in songs])  # type: ignore[misc]
    for (source, notes, _), harmony in zip(songs, harmonies, strict=True):
        shape = align_cost(q, contour(notes)) if len(notes) else float("inf")
        cost = harmony + (0.01 * min(shape, INTERVAL_CAP) if np.isfinite(shape) else 0.03)
        found.append(HumMatch(source, cost, 0.0))
    found.sort(key=lambda h: h.cost)
    return [h for h in found if np.isfinite(h.cost)][:top]
