"""Indexing: files in, one transaction per file, unchanged files skipped, removed files dropped.

A file is skipped when its resolved path is stored with the same size and mtime. Otherwise its
bytes are hashed: a content already in the library (a copy, a renamed file, a project's media
seen before) is only recorded under its new path; new content is decoded, fingerprinted
(:mod:`bridge.library.landmarks`) and described (:mod:`bridge.library.descriptors`), and stored
with its path in one transaction. Files stored earlier that no longer exist are dropped.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bridge.audio.reader import AudioError, audio_info, collect_warnings, iter_blocks
from bridge.audio.resample import resample_stream
from bridge.errors import ReabridgeError
from bridge.library import landmarks as lm
from bridge.library.sources import Candidate, collect, content_hash, project_media
from bridge.library.store import SourceData, Store

#: ``(done, total, message)`` after each file
Tick = Callable[[int, int, str], None]


@dataclass
class IndexReport:
    """What one ``index`` run did."""

    added: list[str] = field(default_factory=list)
    same_content: list[str] = field(default_factory=list)
    unchanged: int = 0
    removed: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    projects: int = 0
    audio_seconds: float = 0.0
    cpu_seconds: float = 0.0
    wall_seconds: float = 0.0

    def to_dict(self) -> dict[str, object]:
        """Plain data for ``--json`` and the daemon's status."""
        return {"added": self.added, "same_content": self.same_content, "unchanged": self.unchanged,
                "removed": self.removed, "problems": self.problems, "projects": self.projects,
                "audio_seconds": round(self.audio_seconds, 2), "cpu_seconds": round(self.cpu_seconds, 2),
                "wall_seconds": round(self.wall_seconds, 2)}

    def summary(self) -> str:
        """One line."""
        parts = [f"{len(self.added)} file(s) indexed", f"{self.unchanged} unchanged"]
        if self.same_content:
            parts.append(f"{len(self.same_content)} with content already indexed")
        if self.removed:
            parts.append(f"{len(self.removed)} removed file(s) dropped")
        if self.projects:
            parts.append(f"{self.projects} project(s)")
        if self.problems:
            parts.append(f"{len(self.problems)} could not be used")
        speed = f"; {self.audio_seconds / self.wall_seconds:.0f}x realtime" if self.audio_seconds and \
            self.wall_seconds > 0 else ""
        return ", ".join(parts) + speed


def read_8k(path: str) -> tuple[np.ndarray, float, list[str]]:
    """A file as mono audio at the fingerprint rate, its length in seconds, and reading warnings."""
    with collect_warnings() as warnings:
        info = audio_info(path)
        blocks = iter_blocks(path, mono=True)
        out = list(resample_stream(blocks, info.sample_rate, lm.SAMPLE_RATE, info.frames, quality="MQ"))
    y = np.concatenate(out) if out else np.zeros(0, dtype=np.float32)
    return y.astype(np.float32, copy=False), info.duration, list(warnings)


def analyse(path: str, sha: str) -> tuple[SourceData, list[str]]:
    """Fingerprints and descriptors of one file."""
    from bridge.library.descriptors import describe

    y, duration, warnings = read_8k(path)
    spec = lm.log_spectrogram(y)
    peaks = lm.find_peaks(spec)
    marks = lm.landmarks(peaks)
    extra = describe(path, y, spec)
    return SourceData(sha, peaks.frames, duration, marks.hashes, marks.times, marks.pitches, marks.spans,
                      **extra), warnings


def _stat(real: str) -> tuple[int, int]:
    st = os.stat(real)
    return int(st.st_size), int(st.st_mtime_ns)


def _index_file(store: Store, c: Candidate, report: IndexReport) -> str | None:
    """Index one audio file; its content hash, or None when it could not be used."""
    try:
        size, mtime = _stat(c.real)
        row = store.path_row(c.real)
        if row is not None and row[:2] == (size, mtime):
            report.unchanged += 1
            src = store.source(row[2])
            return src.sha if src is not None else None
        sha = content_hash(c.real)
        known = store.source_id(sha)
        if known is not None:
            with store.transaction():
                store.set_path(c.real, c.given, size, mtime, known)
            report.same_content.append(c.given)
            return sha
        data, warnings = analyse(c.real, sha)
    except (AudioError, OSError) as exc:
        message = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        report.problems.append(f"{c.given}: {message}; skipped")
        return None
    if data.duration < 0.02:
        report.problems.append(f"{c.given}: holds no audio; skipped")
        return None
    for w in warnings:
        report.problems.append(f"{c.given}: {w}")
    with store.transaction():
        sid = store.add_source(data)
        store.set_path(c.real, c.given, size, mtime, sid)
    report.added.append(c.given)
    report.audio_seconds += data.duration
    return sha


def index(paths: list[str], store: Store, *, tick: Tick | None = None) -> IndexReport:
    """Index ``paths`` into ``store`` (the writer's lock must be held: ``open_store(write=True)``).

    Raises
    ------
    ReabridgeError
        A path that does not exist, or folders with nothing to index in them.
    """
    started, cpu = time.perf_counter(), time.process_time()
    found = collect(paths)
    report = IndexReport(problems=list(found.problems))
    if found.empty and not found.audio and not found.projects:
        names = ", ".join(found.empty)
        raise ReabridgeError(f"{names}: no audio files or .RPP projects in {'it' if len(found.empty) == 1 else 'them'}"
                             "; nothing to index")
    report.problems += [f"{name}: no audio files or .RPP projects in it" for name in found.empty]
    media: dict[str, list[Candidate]] = {}
    for project in found.projects:
        files, missing = project_media(project.real)
        media[project.real] = files
        report.problems += missing
    todo = list(found.audio)
    seen = {c.real for c in todo}
    for files in media.values():
        for c in files:
            if c.real not in seen:
                seen.add(c.real)
                todo.append(c)
    total = len(todo)
    shas: dict[str, str] = {}
    for n, c in enumerate(todo, 1):
        sha = _index_file(store, c, report)
        if sha is not None:
            shas[c.real] = sha
        if tick is not None:
            elapsed = max(time.perf_counter() - started, 1e-9)
            tick(n, total, f"{n}/{total} files, {n / elapsed:.1f} files/s")
    for project in found.projects:
        size, mtime = _stat(project.real)
        used = [(shas[c.real], c.given) for c in media[project.real] if c.real in shas]
        with store.transaction():
            store.set_project(project.real, project.given, size, mtime, used)
        report.projects += 1
    _drop_removed(store, report)
    store.compact()
    report.wall_seconds = time.perf_counter() - started
    report.cpu_seconds = time.process_time() - cpu
    return report


def _drop_removed(store: Store, report: IndexReport) -> None:
    for real, given in store.all_paths():
        if not Path(real).is_file():
            with store.transaction():
                store.drop_path(real)
            report.removed.append(given)
    for real in store.all_projects():
        if not Path(real).is_file():
            with store.transaction():
                store.drop_project(real)
