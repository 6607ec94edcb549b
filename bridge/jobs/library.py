"""The library jobs: ``library_index`` (files into the library) and ``library_find`` (a clip against it).

``library_find`` on a project item writes its answer into the project: the item's notes get a
line ``from <file> at 1:23.4`` (other lines of the notes are kept), or a marker of that name is
put at the item's start. A re-run replaces what the previous run wrote (``made`` records).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bridge.audio.item_audio import describe, plan_item_audio
from bridge.changes.ops import AddMarker, ChangeSet, Op, RemoveMarker, SetItemNotes, derived_guid
from bridge.errors import ReabridgeError
from bridge.jobs.result import ItemNote, JobResult, Progress, ProgressFn
from bridge.jobs.work import Work
from bridge.library import landmarks as lm
from bridge.library.indexer import index as run_index
from bridge.library.query import Found, QueryError, hum, identify, similar
from bridge.library.sources import content_hash
from bridge.library.store import Store, open_store
from bridge.project.made import Made, made_records
from bridge.requests.models import LibraryFindRequest, LibraryIndexRequest

FIND = "library_find"


def index(request: LibraryIndexRequest, work: Work, progress: ProgressFn) -> JobResult:
    """Index the request's paths (the writer's lock is held for the whole run)."""
    o = request.options
    progress(Progress("indexing", None, "collecting files"))

    def tick(done: int, total: int, message: str) -> None:
        progress(Progress("indexing", done / max(total, 1), message))

    with open_store(Path(o.db) if o.db else None, write=True) as store:
        report = run_index(list(o.paths), store, tick=tick)
        files, sources, rows = store.counts()
    data = {**report.to_dict(), "library": {"db": str(store.path), "files": files, "sources": sources,
                                            "landmarks": rows}}
    skipped = [ItemNote("", line) for line in report.problems]
    return JobResult("library_index", report.summary(), skipped=skipped, data=data)


def mm_ss(seconds: float) -> str:
    """``83.4`` as ``1:23.4`` (``-0:01.2`` before the start)."""
    sign = "-" if seconds < 0 else ""
    minutes, rest = divmod(abs(seconds) + 0.05, 60.0)
    return f"{sign}{int(minutes)}:{max(rest - 0.05, 0.0):04.1f}"


def answer_line(found: Found) -> str:
    """``from <file> at 1:23.4`` (with the stretch when there is one)."""
    line = f"from {found.file} at {mm_ss(found.offset)}"
    stretch = float(found.extra.get("stretch", 1.0))
    if abs(stretch - 1.0) >= 0.005:
        line += f" (the clip {abs(stretch - 1.0) * 100:.1f}% {'faster' if stretch > 1 else 'slower'})"
    return line


def _store(request: LibraryFindRequest) -> Store:
    return open_store(Path(request.options.db) if request.options.db else None)


def _lookup(store: Store, request: LibraryFindRequest, y: np.ndarray, rate: float, path: str | None) -> dict:
    """The matches for one clip, as ``{"matches": [...]}`` (``projects`` mode: ``{"projects": [...]}`` too)."""
    o = request.options
    y8 = lm.to_8k(y, rate)
    if o.mode != "similar" and len(y8) / lm.SAMPLE_RATE < 1.0:
        raise QueryError(f"the clip is {len(y8) / lm.SAMPLE_RATE:.2f} s long; give at least 1 s of audio to look up")
    if o.mode == "identify":
        return {"matches": [m.to_dict() for m in identify(store, y8, top=o.top)]}
    if o.mode == "hum":
        from bridge.library.descriptors import chroma_frames
        from bridge.library.melody import melody_line

        spec = lm.log_spectrogram(y8)
        return {"matches": [m.to_dict() for m in hum(store, melody_line(spec), chroma_frames(spec), top=o.top)]}
    if o.mode == "similar":
        from bridge.library.timbre import SAMPLE_RATE, timbre_vector

        vector = timbre_vector(_to(np.asarray(y)[:int(30 * rate)], rate, SAMPLE_RATE))
        if vector is None:
            raise QueryError("the clip is silent; nothing to compare")
        sha = content_hash(path) if path else None
        return {"matches": [m.to_dict() for m in similar(store, vector, top=o.top, exclude=sha)]}
    # projects: by the file's content first, by what the audio is part of otherwise
    out: list[dict] = []
    seen: set[tuple[str, str]] = set()
    if path:
        for project, media in store.projects_using(content_hash(path)):
            if (project, media) not in seen:
                seen.add((project, media))
                out.append({"project": project, "media": media, "how": "same file"})
    for m in identify(store, y8, top=o.top):
        for project, media in store.projects_using(m.sha):
            if (project, media) not in seen:
                seen.add((project, media))
                out.append({"project": project, "media": media, "how": f"audio found at {mm_ss(m.offset)}"})
    return {"matches": out}


def _to(y: np.ndarray, rate: float, target: int) -> np.ndarray:
    import soxr

    y = np.asarray(y, dtype=np.float32)
    return y if rate == target else soxr.resample(y, rate, target, quality="HQ").astype(np.float32, copy=False)


def _describe(request: LibraryFindRequest, data: dict) -> str:
    matches = data["matches"]
    if not matches:
        return "no match" if request.options.mode in ("identify", "projects") else "nothing found"
    if request.options.mode == "identify":
        return "; ".join(f"{answer_line(Found(m['file'], m['offset'], m['score'], m))} (confidence "
                         f"{m['confidence']:.2f})" for m in matches)
    if request.options.mode == "projects":
        return "; ".join(f"{m['project']} uses {m['media']}" for m in matches)
    return "; ".join(f"{m['file']} ({m['score']:.3f})" for m in matches)


def find(request: LibraryFindRequest, work: Work, progress: ProgressFn) -> JobResult:
    """Look a file or project items up; in a project (identify mode) write the answer as notes or markers."""
    o = request.options
    progress(Progress("looking up", None, o.mode))
    with _store(request) as store:
        if work.project is None:
            from bridge.audio.reader import read_audio

            y, info = read_audio(Path(o.audio), mono=True)  # type: ignore[arg-type]
            data = _lookup(store, request, y, info.sample_rate, o.audio)
            return JobResult(FIND, _describe(request, data), data=data)
        return _project(request, work, store)


def _project(request: LibraryFindRequest, work: Work, store: Store) -> JobResult:
    o = request.options
    how = o.as_ or "notes"
    assert work.project is not None
    records = made_records(work.project)
    result = JobResult(FIND)
    ops: list[Op] = []
    per_item: list[dict] = []
    for track, item in work.items:
        where = describe(track, item)
        try:
            plan = plan_item_audio(track, item)
            data = _lookup(store, request, plan.samples(), plan.effective_rate, str(plan.path))
        except ReabridgeError as exc:
            result.skipped.append(ItemNote.from_error(where, exc, item.guid))
            continue
        per_item.append({"item": item.guid, **data})
        matches = data["matches"]
        if o.mode != "identify":
            result.done.append(ItemNote(where, _describe(request, data), item.guid))
            continue
        line = answer_line(Found(matches[0]["file"], matches[0]["offset"], matches[0]["score"], matches[0])) \
            if matches else None
        result.done.append(ItemNote(where, line or "no match", item.guid))
        ops += _land(request, item, line, how, records)
    data = {"items": per_item}
    if len(per_item) == 1:
        data["matches"] = per_item[0]["matches"]
    result.data = data
    found = sum(1 for p in per_item if p["matches"])
    result.summary = f"{found} of {len(work.items)} item(s) found in the library" if o.mode == "identify" else \
        f"looked up {len(per_item)} item(s)"
    if ops:
        result.changes = ChangeSet(request.id, tuple(ops), "Identify in library", request.created)
    return result


def _land(request: LibraryFindRequest, item: object, line: str | None, how: str, records: list[Made]) -> list[Op]:
    """Replace what an earlier run wrote for this item, then write ``line`` (None: only clear)."""
    from bridge.project.items import Item

    assert isinstance(item, Item)
    ops: list[Op] = []
    notes = item.notes
    kept = notes.splitlines()
    changed_notes = False
    for old in records:
        if old.job != FIND or not old.same_source(FIND, item.guid, old.key):
            continue
        if old.key == "markers":
            ops += [RemoveMarker(old.guid), old.forget()]
        elif old.key.startswith("notes "):
            written = old.key[len("notes "):]
            if written in kept:
                kept.remove(written)
                changed_notes = True
            ops.append(old.forget())
    if line is None:
        if changed_notes:
            ops.insert(0, SetItemNotes(item.guid, "\n".join(kept)))
        return ops
    guid = derived_guid(request.id, FIND, item.guid)
    if how == "markers":
        ops += [AddMarker(round(item.position, 6), line, guid=guid),
                Made(guid, FIND, item.guid, None, "markers").record()]
        if changed_notes:
            ops.insert(0, SetItemNotes(item.guid, "\n".join(kept)))
    else:
        ops.insert(0, SetItemNotes(item.guid, "\n".join([*kept, line])))
        ops.append(Made(guid, FIND, item.guid, None, "notes " + line).record())
    return ops
