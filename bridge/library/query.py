"""Looking a clip up: which indexed file (and where), which melodies, which similar sounds."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from bridge.errors import ReabridgeError
from bridge.library import landmarks as lm
from bridge.library.matching import MAX_SHIFT, STRETCHES, Hits, match
from bridge.library.store import Store

MIN_QUERY_SECONDS = 1.0
MAX_QUERY_SECONDS = 30.0  # a longer clip is identified from its first 30 s (its offset is still its start)


class QueryError(ReabridgeError):
    """A clip that cannot be looked up (too short, silent)."""


@dataclass(frozen=True)
class Found:
    """One answer: a file of the library and what was found about it."""

    file: str
    offset: float
    score: float
    extra: dict[str, Any]
    sha: str = ""

    def to_dict(self) -> dict[str, Any]:
        """``{"file": PATH, "offset": SECONDS, "score": X, ...}``."""
        return {"file": self.file, "offset": self.offset, "score": self.score, **self.extra}


def _check_length(seconds: float) -> None:
    if seconds < MIN_QUERY_SECONDS:
        raise QueryError(f"the clip is {seconds:.2f} s long; give at least {MIN_QUERY_SECONDS:g} s of audio to look up")


def _paths(store: Store, source: int) -> tuple[str, list[str]]:
    given = store.given_paths(source)
    return (given[0] if given else f"(source {source})"), given[1:]


def identify(store: Store, y8k: np.ndarray, *, top: int = 5) -> list[Found]:
    """Files the clip (mono, 8 kHz) is part of, best first; empty when nothing passes the significance test."""
    _check_length(len(y8k) / lm.SAMPLE_RATE)
    peaks = lm.find_peaks(lm.log_spectrogram(y8k[:int(MAX_QUERY_SECONDS * lm.SAMPLE_RATE)]))
    q = lm.query_landmarks(peaks)
    if not len(q):
        return []
    idx, source, rt, rp = store.lookup(q.hashes, q.times, q.pitches, q.spans, max_shift=MAX_SHIFT,
                                       min_stretch=float(STRETCHES[0]), max_stretch=float(STRETCHES[-1]))
    hits = Hits(q.times[idx], q.pitches[idx], source, rt, rp)
    frames = store.file_frames()
    out = []
    for m in match(hits, query_frames=peaks.frames, file_frames=frames, top=top):
        path, others = _paths(store, m.file)
        extra: dict[str, Any] = {"stretch": round(m.stretch, 4), "confidence": m.confidence,
                                 "transpose": round(m.transpose, 2)}
        if others:
            extra["same_content"] = others
        src = store.source(m.file)
        out.append(Found(path, round(m.offset, 3), float(m.score), extra, src.sha if src else ""))
    return out


def hum(store: Store, notes: np.ndarray, chroma: np.ndarray | None = None, *, top: int = 5) -> list[Found]:
    """Indexed songs closest to the sung/hummed clip (its notes and its chroma), best first.

    Without ``chroma`` (the clip's :func:`bridge.library.descriptors.chroma_frames`) only the contour ranks.
    """
    from bridge.library.melody import rank_melodies

    if len(notes) < 4:
        raise QueryError(f"only {len(notes)} note(s) were heard in the clip; hum or sing at least 5 clear notes")
    songs = [(s.id, s.melody, s.chroma) for s in store.sources(with_melody=True)
             if s.melody is not None and s.chroma is not None]
    if not songs:
        raise QueryError("no indexed file has a melody line; index songs with a tune first")
    out = []
    for h in rank_melodies(notes, chroma, songs, top=top):
        path, _ = _paths(store, h.source)
        out.append(Found(path, 0.0, round(1.0 / (1.0 + h.cost), 4), {"cost": round(h.cost, 4)}))
    return out


def similar(store: Store, vector: np.ndarray, *, top: int = 10, exclude: str | None = None) -> list[Found]:
    """Indexed sounds nearest in timbre and envelope (cosine), best first."""
    from bridge.library.timbre import cosine

    rows = [s for s in store.sources(with_timbre=True) if s.timbre is not None and len(s.timbre) == len(vector)]
    if not rows:
        raise QueryError("no indexed file has a timbre description; index some sounds first")
    scores = cosine(vector, np.stack([s.timbre for s in rows]))  # type: ignore[misc]
    out = []
    for k in np.argsort(-scores, kind="stable"):
        if exclude is not None and rows[k].sha == exclude:
            continue
        path, _ = _paths(store, rows[k].id)
        tempo = rows[k].tempo
        extra: dict[str, Any] = {"duration": round(rows[k].duration, 3)}
        if tempo:
            extra["tempo"] = tempo
        if rows[k].key:
            extra["key"] = rows[k].key
        out.append(Found(path, 0.0, round(float(scores[k]), 4), extra))
        if len(out) >= top:
            break
    return out
