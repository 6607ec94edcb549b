"""Applying a ChangeSet to a parsed project tree (the offline path).

All operations are carried out on the in-memory tree; the caller writes the
file only when every operation succeeded, so a failing ChangeSet changes
nothing. Untouched lines keep their exact text.
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path

from bridge import rpp
from bridge.changes import chunks
from bridge.changes.ops import (
    AddAudioItem,
    AddAudioTake,
    AddJsEffect,
    AddMarker,
    AddMidiItem,
    AddTrack,
    ChangeSet,
    ChangeSetError,
    Op,
    SetTempo,
    TrackRef,
)
from bridge.project.media import relative_media_path
from bridge.project.project import Project, _norm_guid
from bridge.project.tempo import pack_timesig
from bridge.rpp.tree import Chunk, Line

EXTSTATE_SECTION = "REABRIDGE"
_APPLIED_PREFIX = "applied."


# -- applied-id record ---------------------------------------------------------------
def _extstate(root: Chunk, create: bool) -> Chunk | None:
    ext = root.chunk("EXTSTATE")
    if ext is None:
        if not create:
            return None
        ext = rpp.loads("<EXTSTATE\n>\n")
        root.append(ext)
    section = next((c for c in ext.chunks() if c.tag.upper() == EXTSTATE_SECTION), None)
    if section is None and create:
        section = rpp.loads(f"<{EXTSTATE_SECTION}\n>\n")
        ext.append(section)
    return section


def applied_ids(root: Chunk) -> set[str]:
    """Ids of the ChangeSets already applied to this project."""
    section = _extstate(root, create=False)
    if section is None:
        return set()
    return {line.key[len(_APPLIED_PREFIX):] for line in section.lines() if line.key.startswith(_APPLIED_PREFIX)}


def _record(root: Chunk, change_id: str) -> None:
    section = _extstate(root, create=True)
    assert section is not None
    stamp = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    section.append(Line.build(_APPLIED_PREFIX + change_id, stamp))


# -- lookups ---------------------------------------------------------------------------
def _track_chunks(root: Chunk) -> list[Chunk]:
    return list(root.chunks("TRACK"))


def _track_guid(chunk: Chunk) -> str:
    v = chunk.values("TRACKID")
    return v[0] if v else (chunk.params[0] if chunk.params else "")


def find_track_chunk(root: Chunk, ref: TrackRef) -> Chunk:
    """The ``<TRACK`` chunk for a reference (GUID or 0-based index)."""
    tracks = _track_chunks(root)
    if isinstance(ref, int) and not isinstance(ref, bool):
        if 0 <= ref < len(tracks):
            return tracks[ref]
        raise ChangeSetError(f"there is no track number {ref + 1}: the project has {len(tracks)} tracks")
    want = _norm_guid(str(ref))
    for t in tracks:
        if _norm_guid(_track_guid(t)) == want:
            return t
    raise ChangeSetError(f"no track with GUID {ref} in this project (was it deleted?)")


def find_item_chunk(root: Chunk, guid: str) -> Chunk:
    """The ``<ITEM`` chunk with this GUID."""
    want = _norm_guid(guid)
    for track in _track_chunks(root):
        for item in track.chunks("ITEM"):
            v = item.values("IGUID")
            if v and _norm_guid(v[0]) == want:
                return item
    raise ChangeSetError(f"no item with GUID {guid} in this project (was it deleted?)")


def _next_iid(root: Chunk) -> int:
    best = 0
    for track in _track_chunks(root):
        for item in track.chunks("ITEM"):
            v = item.values("IID")
            if v and v[0].isdigit():
                best = max(best, int(v[0]))
    return best + 1


# -- edits -------------------------------------------------------------------------------
def _index_of_first(parent: Chunk, tags: tuple[str, ...]) -> int:
    """Index of the first child chunk with one of ``tags`` (the end when there is none)."""
    return next((i for i, c in enumerate(parent.children) if isinstance(c, Chunk) and c.tag in tags),
                len(parent.children))


def _insert_item(track: Chunk, item: Chunk) -> None:
    position = float(item.values("POSITION")[0])  # type: ignore[index]
    index = len(track.children)
    for i, child in enumerate(track.children):
        if isinstance(child, Chunk) and child.tag == "ITEM":
            v = child.values("POSITION")
            try:
                if v and float(v[0]) > position:
                    index = i
                    break
            except ValueError:
                continue
    track.insert(index, item)


def _add_track(root: Chunk, op: AddTrack) -> None:
    new = rpp.loads(chunks.track_chunk(op.name, op.guid))
    tracks = _track_chunks(root)
    if op.after is None:
        anchor_index = root.index(tracks[-1]) if tracks else None
        ref = tracks[-1] if tracks else None
    else:
        ref = find_track_chunk(root, op.after)
        anchor_index = root.index(ref)
    if ref is not None:
        isbus = ref.line("ISBUS")
        if isbus is not None and len(isbus.values) >= 2 and isbus.values[0] == "2":
            # the reference closes a folder: the new track takes over closing it, so
            # it lands inside the same folder, directly below the reference
            new.set("ISBUS", *isbus.values)
            isbus.set("0", "0")
    index = _index_of_first(root, ("EXTENSIONS",)) if anchor_index is None else anchor_index + 1
    root.insert(index, new)


def _media_value(file: str, project_dir: Path | None) -> str:
    path = Path(file)
    if project_dir is None:
        return file
    if not path.is_absolute():
        path = project_dir / path
    return relative_media_path(path, project_dir)


def _check_media(file: str, project_dir: Path | None) -> None:
    path = Path(file)
    if not path.is_absolute() and project_dir is not None:
        path = project_dir / path
    if not path.is_file():
        raise ChangeSetError(f"media file {file} does not exist; nothing was changed")


def _add_take(root: Chunk, op: AddAudioTake, project_dir: Path | None) -> None:
    _check_media(op.file, project_dir)
    item = find_item_chunk(root, op.item)
    if op.active:
        for line in item.lines("TAKE"):
            if "SEL" in line.values:
                line.set(*[v for v in line.values if v != "SEL"])
    for node in rpp.loads_nodes(chunks.audio_take_lines(op, _media_value(op.file, project_dir))):
        item.append(node)


def _fx_chain(root: Chunk, ref: TrackRef) -> Chunk:
    if ref == "master":
        chain = root.chunk("MASTERFXLIST")
        if chain is None:
            chain = rpp.loads(chunks.fx_chain_chunk("MASTERFXLIST"))
            anchor = root.line("MASTER_SEL") or root.line("MASTER_FX") or root.line("MASTER_VOLUME")
            index = root.index(anchor) + 1 if anchor is not None else len(root.children)
            root.insert(index, chain)
        return chain
    track = find_track_chunk(root, ref)
    chain = track.chunk("FXCHAIN")
    if chain is None:
        chain = rpp.loads(chunks.fx_chain_chunk("FXCHAIN"))
        index = next(
            (i for i, c in enumerate(track.children)
             if isinstance(c, Chunk) and (c.tag == "ITEM" or "ENV" in c.tag)),
            len(track.children),
        )
        track.insert(index, chain)
    return chain


def _add_js(root: Chunk, op: AddJsEffect) -> None:
    chain = _fx_chain(root, op.track)
    for node in rpp.loads_nodes(chunks.js_effect_lines(op)):
        chain.append(node)


def _set_tempo(root: Chunk, op: SetTempo) -> None:
    tempo = root.line("TEMPO")
    if tempo is None:
        root.insert(0, Line.build("TEMPO", op.bpm, op.numerator, op.denominator))
    else:
        rest = tempo.values[3:]
        tempo.set(op.bpm, op.numerator, op.denominator, *rest)
    env = root.chunk("TEMPOENVEX")
    if env is None:
        if not op.points:
            return
        env = rpp.loads(chunks.tempo_envelope_chunk())
        root.insert(_index_of_first(root, ("PROJBAY", "TRACK")), env)
    env.children = [c for c in env.children if not (isinstance(c, Line) and c.key == "PT")]
    for p in sorted(op.points, key=lambda p: p.time):
        values: list[object] = [p.time, p.bpm, 0 if p.linear else 1]
        if p.numerator and p.denominator:
            values.append(pack_timesig(p.numerator, p.denominator))
        env.append(Line.build("PT", *values))


def _add_marker(root: Chunk, op: AddMarker) -> None:
    existing = [line for line in root.lines("MARKER")]
    used = set()
    for line in existing:
        v = line.values
        try:
            flags = int(float(v[3])) if len(v) > 3 else 0
            if bool(flags & 1) == (op.end is not None):
                used.add(int(float(v[0])))
        except (ValueError, IndexError, OverflowError):
            continue
    number = max(used, default=0) + 1
    nodes = rpp.loads_nodes(chunks.marker_lines(number, op.position, op.name, op.guid, op.end, op.color))
    index = root.index(existing[-1]) + 1 if existing else _index_of_first(root, ("PROJBAY", "TRACK"))
    for offset, node in enumerate(nodes):
        root.insert(index + offset, node)


def apply_op(root: Chunk, op: Op, project_dir: Path | None) -> None:
    """Carry out one operation on the tree."""
    if isinstance(op, AddTrack):
        _add_track(root, op)
    elif isinstance(op, AddMidiItem):
        track = find_track_chunk(root, op.track)
        tempo = Project(root).tempo_map
        _insert_item(track, rpp.loads(chunks.midi_item_chunk(op, tempo, _next_iid(root))))
    elif isinstance(op, AddAudioItem):
        _check_media(op.file, project_dir)
        track = find_track_chunk(root, op.track)
        text = chunks.audio_item_chunk(op, _media_value(op.file, project_dir), _next_iid(root))
        _insert_item(track, rpp.loads(text))
    elif isinstance(op, AddAudioTake):
        _add_take(root, op, project_dir)
    elif isinstance(op, AddJsEffect):
        _add_js(root, op)
    elif isinstance(op, SetTempo):
        _set_tempo(root, op)
    elif isinstance(op, AddMarker):
        _add_marker(root, op)
    else:  # pragma: no cover - every Op subclass is handled above
        raise ChangeSetError(f"unsupported operation {type(op).__name__}")


def apply_changeset(root: Chunk, changes: ChangeSet, project_dir: Path | None = None) -> bool:
    """Apply a ChangeSet to a project tree in place.

    Returns
    -------
    bool
        False when this ChangeSet id was already applied (nothing changed).

    Raises
    ------
    ChangeSetError
        An operation cannot be carried out. The tree may be partly edited;
        callers discard it (see :class:`bridge.session.rpp_file.RppFileSession`).
    """
    if root.tag != "REAPER_PROJECT":
        raise ChangeSetError("ChangeSets apply to whole projects (<REAPER_PROJECT)")
    if changes.id in applied_ids(root):
        return False
    for number, op in enumerate(changes.ops, start=1):
        try:
            apply_op(root, op, project_dir)
        except ChangeSetError as exc:
            raise ChangeSetError(f"step {number} ({op.kind}): {exc}") from None
    _record(root, changes.id)
    return True
