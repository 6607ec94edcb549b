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
#: new contents from which analysis runs in worker processes (starting them costs ~2 s)
PARALLEL_FROM = 6
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
    cpu_seconds: float = 0.0  # this process and its analysis workers
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


@dataclass(frozen=True)
class _Job:
    """A file whose content is new: to analyse, then store."""

    candidate: Candidate
    sha: str
    size: int
    mtime: int


def _problem(report: IndexReport, c: Candidate, exc: Exception) -> None:
    message = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    report.problems.append(f"{c.given}: {message}; skipped")


def _prepare(store: Store, c: Candidate, report: IndexReport, shas: dict[str, str]) -> _Job | None:
    """Skip an unchanged file, record a known content under a new path, or say what to analyse."""
    try:
        size, mtime = _stat(c.real)
        row = store.path_row(c.real)
        if row is not None and row[:2] == (size, mtime):
            report.unchanged += 1
            src = store.source(row[2])
            if src is not None:
                shas[c.real] = src.sha
            return None
        sha = content_hash(c.real)
    except OSError as exc:
        _problem(report, c, exc)
        return None
    known = store.source_id(sha)
    if known is None:
        return _Job(c, sha, size, mtime)
    with store.transaction():
        store.set_path(c.real, c.given, size, mtime, known)
    report.same_content.append(c.given)
    shas[c.real] = sha
    return None


def _store(store: Store, job: _Job, outcome: tuple[SourceData, list[str]] | Exception, report: IndexReport,
           shas: dict[str, str], same: list[_Job]) -> None:
    """Store one analysed file (one transaction), and the files of the same content found meanwhile."""
    c = job.candidate
    if isinstance(outcome, Exception):
        _problem(report, c, outcome)
        return
    data, warnings = outcome
    if data.duration < 0.02:
        report.problems.append(f"{c.given}: holds no audio; skipped")
        return
    report.problems += [f"{c.given}: {w}" for w in warnings]
    with store.transaction():
        sid = store.add_source(data)
        store.set_path(c.real, c.given, job.size, job.mtime, sid)
        for other in same:
            store.set_path(other.candidate.real, other.candidate.given, other.size, other.mtime, sid)
    report.added.append(c.given)
    report.same_content += [o.candidate.given for o in same]
    report.audio_seconds += data.duration
    shas[c.real] = job.sha
    for other in same:
        shas[other.candidate.real] = job.sha


def _analyse_safely(path: str, sha: str) -> tuple[SourceData, list[str]] | Exception:
    try:
        return analyse(path, sha)
    except (AudioError, OSError) as exc:
        return exc


def workers() -> int:
    """Analysis processes: one per core this process may use (at most 4); 1 (analysis in this process) inside
    the daemon's workers, which as daemonic processes may not start children."""
    import multiprocessing

    if multiprocessing.current_process().daemon:
        return 1
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, 4))


def _analyse_all(store: Store, todo: list[Candidate], report: IndexReport, shas: dict[str, str],
                 tick: Tick | None, started: float) -> None:
    """Analyse new contents in worker processes while this one stores each result as it comes."""
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, Executor, Future, ProcessPoolExecutor, wait

    total, done = len(todo), 0

    def progress() -> None:
        if tick is not None:
            elapsed = max(time.perf_counter() - started, 1e-9)
            tick(done, total, f"{done}/{total} files, {done / elapsed:.1f} files/s")

    jobs: list[_Job] = []
    same: dict[str, list[_Job]] = {}
    for c in todo:  # cheap first: unchanged files, contents already known, content hashes
        job = _prepare(store, c, report, shas)
        if job is None:
            done += 1
            progress()
        elif job.sha in same:  # the same content twice in this run: analysed once
            same[job.sha].append(job)
        else:
            same[job.sha] = []
            jobs.append(job)
    count = workers()
    pool: Executor | None = None
    if count > 1 and len(jobs) >= PARALLEL_FROM:
        pool = ProcessPoolExecutor(count, mp_context=multiprocessing.get_context("spawn"))
    running: dict[Future, _Job] = {}

    def finish(job: _Job, outcome: tuple[SourceData, list[str]] | Exception) -> None:
        nonlocal done
        waiting = same.pop(job.sha, [])
        _store(store, job, outcome, report, shas, waiting)
        done += 1 + len(waiting)
        progress()

    from concurrent.futures.process import BrokenProcessPool

    try:
        for job in jobs:
            if pool is None:
                finish(job, _analyse_safely(job.candidate.real, job.sha))
                continue
            running[pool.submit(_analyse_safely, job.candidate.real, job.sha)] = job
            while len(running) >= 2 * count:
                ready, _ = wait(list(running), return_when=FIRST_COMPLETED)
                for future in ready:
                    finish(running.pop(future), future.result())
        while running:
            ready, _ = wait(list(running), return_when=FIRST_COMPLETED)
            for future in ready:
                finish(running.pop(future), future.result())
    except BrokenProcessPool:
        raise ReabridgeError(f"an analysis process stopped unexpectedly (out of memory?) after {done} of {total} "
                             "files; those are kept: run the same command again to go on") from None
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


def index(paths: list[str], store: Store, *, tick: Tick | None = None) -> IndexReport:
    """Index ``paths`` into ``store`` (the writer's lock must be held: ``open_store(write=True)``).

    New contents are analysed in :func:`workers` processes; each is stored, with its path, in one
    transaction as soon as it is ready.

    Raises
    ------
    ReabridgeError
        A path that does not exist, or folders with nothing to index in them.
    """
    started, cpu = time.perf_counter(), _cpu()
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
    shas: dict[str, str] = {}
    _analyse_all(store, todo, report, shas, tick, started)
    for project in found.projects:
        size, mtime = _stat(project.real)
        used = [(shas[c.real], c.given) for c in media[project.real] if c.real in shas]
        with store.transaction():
            store.set_project(project.real, project.given, size, mtime, used)
        report.projects += 1
    _drop_removed(store, report)
    store.compact()
    report.wall_seconds = time.perf_counter() - started
    report.cpu_seconds = _cpu() - cpu
    return report


def _cpu() -> float:
    """CPU seconds of this process and of its finished children (the analysis workers)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


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
