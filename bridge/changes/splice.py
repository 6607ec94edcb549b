"""Splicing a ChangeSet's chunk text into a parsed project tree (the offline path).

The text comes from :mod:`bridge.changes.text`, the same text the live session
sends to REAPER. All operations are carried out on the in-memory tree; the
caller writes the file only when every operation succeeded, so a failing
ChangeSet changes nothing. Untouched lines keep their exact text.
"""

from __future__ import annotations

from pathlib import Path

from bridge import rpp
from bridge.changes import chunks
from bridge.changes.extstate import applied_ids, reabridge_section, record_applied
from bridge.changes.ops import (
    AddAudioItem,
    AddAudioTake,
    AddItemCopy,
    AddJsEffect,
    AddMarker,
    AddMidiItem,
    AddNotesItem,
    AddTakeMarker,
    AddTrack,
    ChangeSet,
    ChangeSetError,
    RemoveItem,
    RemoveJsEffect,
    RemoveMarker,
    RemoveTake,
    RemoveTakeMarker,
    SetExtState,
    SetItemMute,
    SetItemNotes,
    SetTempo,
    TrackRef,
)
from bridge.changes.text import OpText, TextContext, op_text
from bridge.project.project import Project, norm_guid
from bridge.rpp.tree import Chunk, Line

__all__ = ["applied_ids", "apply_changeset", "find_item_chunk", "find_track_chunk", "splice"]


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
    want = norm_guid(str(ref))
    for t in tracks:
        if norm_guid(_track_guid(t)) == want:
            return t
    raise ChangeSetError(f"no track with GUID {ref} in this project (was it deleted?)")


def find_item_chunk(root: Chunk, guid: str) -> Chunk:
    """The ``<ITEM`` chunk with this GUID."""
    want = norm_guid(guid)
    for track in _track_chunks(root):
        for item in track.chunks("ITEM"):
            v = item.values("IGUID")
            if v and norm_guid(v[0]) == want:
                return item
    raise ChangeSetError(f"no item with GUID {guid} in this project (was it deleted?)")


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


def _add_track(root: Chunk, text: OpText) -> None:
    new = rpp.loads(text.text)
    tracks = _track_chunks(root)
    if text.target is None:
        anchor_index = root.index(tracks[-1]) if tracks else None
        ref = tracks[-1] if tracks else None
    else:
        ref = find_track_chunk(root, text.target)
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


def _add_take(root: Chunk, text: OpText) -> None:
    item = find_item_chunk(root, str(text.target))
    if text.op.active:  # type: ignore[attr-defined]
        for line in item.lines("TAKE"):
            if "SEL" in line.values:
                line.set(*[v for v in line.values if v != "SEL"])
    for node in rpp.loads_nodes(text.text):
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


def _add_js(root: Chunk, text: OpText) -> None:
    chain = _fx_chain(root, text.target)  # type: ignore[arg-type]
    for node in rpp.loads_nodes(text.text):
        chain.append(node)


def _set_tempo(root: Chunk, text: OpText) -> None:
    op: SetTempo = text.op  # type: ignore[assignment]
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
    for node in rpp.loads_nodes(text.text):
        env.append(node)


def _add_marker(root: Chunk, text: OpText) -> None:
    existing = list(root.lines("MARKER"))
    nodes = rpp.loads_nodes(text.text)
    index = root.index(existing[-1]) + 1 if existing else _index_of_first(root, ("PROJBAY", "TRACK"))
    for offset, node in enumerate(nodes):
        root.insert(index + offset, node)


def _add_item(root: Chunk, text: OpText) -> None:
    _insert_item(find_track_chunk(root, text.target), rpp.loads(text.text))  # type: ignore[arg-type]


def _remove_item(root: Chunk, text: OpText) -> None:
    try:
        item = find_item_chunk(root, str(text.target))
    except ChangeSetError:
        return  # already gone (deleted by hand): nothing to do
    for track in _track_chunks(root):
        if item in track.children:
            track.children.remove(item)
            return


def _remove_take(root: Chunk, text: OpText) -> None:
    op: RemoveTake = text.op  # type: ignore[assignment]
    try:
        item = find_item_chunk(root, op.item)
    except ChangeSetError:
        return
    want = norm_guid(op.take)
    children = item.children
    starts = [i for i, c in enumerate(children) if isinstance(c, Line) and c.key == "TAKE"]
    for n, start in enumerate(starts):
        end = starts[n + 1] if n + 1 < len(starts) else len(children)  # a take runs to the next TAKE line
        guids = [c for c in children[start:end] if isinstance(c, Line) and c.key == "GUID"]
        if guids and guids[0].values and norm_guid(guids[0].values[0]) == want:
            del children[start:end]  # with no TAKE line selected, the first take plays (as in REAPER)
            return
    if any(isinstance(c, Line) and c.key == "GUID" and c.values and norm_guid(c.values[0]) == want
           for c in children):
        raise ChangeSetError("the first take of an item cannot be removed this way")


def _remove_marker(root: Chunk, text: OpText) -> None:
    want = norm_guid(text.op.guid)  # type: ignore[attr-defined]
    lines = list(root.lines("MARKER"))
    for i, line in enumerate(lines):
        v = line.values
        if len(v) > 7 and norm_guid(v[7]) == want:
            root.children.remove(line)
            flags = v[3] if len(v) > 3 else "0"
            if flags.isdigit() and int(flags) & 1 and i + 1 < len(lines) and lines[i + 1].values[:1] == v[:1]:
                root.children.remove(lines[i + 1])  # a region's end line
            return


def _remove_js(root: Chunk, text: OpText) -> None:
    op: RemoveJsEffect = text.op  # type: ignore[assignment]
    if op.track == "master":
        chain = root.chunk("MASTERFXLIST")
    else:
        try:
            chain = find_track_chunk(root, op.track).chunk("FXCHAIN")
        except ChangeSetError:
            return
    if chain is None:
        return
    want = norm_guid(op.fxid)
    children = chain.children
    for i, child in enumerate(children):
        if isinstance(child, Line) and child.key == "FXID" and child.values and norm_guid(child.values[0]) == want:
            start = i  # back to this effect's BYPASS line, never into the previous effect
            while start > 0:
                prev = children[start - 1]
                if isinstance(prev, Line) and prev.key in ("WAK", "FXID", "SHOW", "LASTSEL", "DOCKED"):
                    break
                start -= 1
                if isinstance(prev, Line) and prev.key == "BYPASS":
                    break
            end = i + 1
            while end < len(children) and isinstance(children[end], Line) and children[end].key in ("WAK",):
                end += 1
            del children[start:end]
            return


def _set_ext_state(root: Chunk, text: OpText) -> None:
    op: SetExtState = text.op  # type: ignore[assignment]
    section = reabridge_section(root, create=bool(op.value))
    if section is None:
        return
    existing = section.line(op.key)
    if not op.value:
        if existing is not None:
            section.children.remove(existing)
        return
    if existing is not None:
        existing.set(op.value)
    else:
        section.append(Line.build(op.key, op.value))


def _take_part(node: Line | Chunk) -> bool:
    """Whether a node belongs to a take (its name, GUID or source) rather than to the item."""
    if isinstance(node, Chunk):
        return node.tag == "SOURCE"
    return node.key in ("NAME", "GUID")


def _take_span(item: Chunk, take: str | None) -> tuple[int, int]:
    """``[start, end)`` of a take's lines among the item's children: the take ``take`` (GUID) or the active one."""
    children = item.children
    starts = [i for i, c in enumerate(children) if isinstance(c, Line) and c.key == "TAKE"]
    bounds = list(zip([0, *starts], [*starts, len(children)], strict=True))
    if not any(_take_part(c) for c in children[:starts[0] if starts else len(children)]):
        bounds = bounds[1:]  # the lines before the first TAKE are the item's own (empty item, first take removed)
    if not bounds:
        raise ChangeSetError("the item has no take to put a take marker on")
    if take is None:
        active = [b for b in bounds if isinstance(children[b[0]], Line) and children[b[0]].key == "TAKE"
                  and "SEL" in children[b[0]].values]
        return active[0] if active else bounds[0]
    want = norm_guid(take)
    for start, end in bounds:
        if any(isinstance(c, Line) and c.key == "GUID" and c.values and norm_guid(c.values[0]) == want
               for c in children[start:end]):
            return start, end
    raise ChangeSetError(f"the item has no take with GUID {take}")


def _add_take_marker(root: Chunk, text: OpText) -> None:
    op: AddTakeMarker = text.op  # type: ignore[assignment]
    item = find_item_chunk(root, op.item)
    start, end = _take_span(item, op.take)
    at = end  # after the take's source, among its markers in position order (as REAPER keeps them)
    for i in range(start, end):
        child = item.children[i]
        if isinstance(child, Line) and child.key == "TKM" and _tkm_position(child) > op.position:
            at = i
            break
        if (isinstance(child, Chunk) and child.tag == "SOURCE") or (isinstance(child, Line) and child.key == "TKM"):
            at = i + 1
    for node in rpp.loads_nodes(text.text):
        item.insert(at, node)
        at += 1


def _tkm_position(line: Line) -> float:
    try:
        return float(line.values[0])
    except (ValueError, IndexError):
        return 0.0


def _remove_take_marker(root: Chunk, text: OpText) -> None:
    op: RemoveTakeMarker = text.op  # type: ignore[assignment]
    try:
        item = find_item_chunk(root, op.item)
        start, end = _take_span(item, op.take)
    except ChangeSetError:
        return  # the item or take is gone: so is the marker
    for i in range(start, end):
        child = item.children[i]
        if isinstance(child, Line) and child.key == "TKM" and len(child.values) >= 2 and \
                abs(_tkm_position(child) - op.position) <= 1e-6 and child.values[1] == op.name:
            del item.children[i]
            return


def _set_item_mute(root: Chunk, text: OpText) -> None:
    op: SetItemMute = text.op  # type: ignore[assignment]
    item = find_item_chunk(root, op.item)
    line = item.line("MUTE")
    if line is not None:
        line.set("1" if op.mute else "0", *line.values[1:])
        return
    at = next((i + 1 for i, c in enumerate(item.children) if isinstance(c, Line) and c.key == "FADEOUT"), 0)
    item.insert(at, Line.build("MUTE", "1" if op.mute else "0", "0"))


def _set_item_notes(root: Chunk, text: OpText) -> None:
    item = find_item_chunk(root, str(text.target))
    old = item.chunk("NOTES")
    at = item.index(old) if old is not None else next(
        (i + 1 for i, c in enumerate(item.children) if isinstance(c, Line) and c.key in ("IID", "IGUID")), 0)
    if old is not None:
        item.children.remove(old)
    if text.text:
        item.insert(at, rpp.loads(text.text))


_SPLICERS = {
    AddTrack: _add_track,
    AddMidiItem: _add_item,
    AddAudioItem: _add_item,
    AddNotesItem: _add_item,
    AddItemCopy: _add_item,
    AddTakeMarker: _add_take_marker,
    RemoveTakeMarker: _remove_take_marker,
    SetItemMute: _set_item_mute,
    SetItemNotes: _set_item_notes,
    AddAudioTake: _add_take,
    AddJsEffect: _add_js,
    SetTempo: _set_tempo,
    AddMarker: _add_marker,
    RemoveItem: _remove_item,
    RemoveTake: _remove_take,
    RemoveMarker: _remove_marker,
    RemoveJsEffect: _remove_js,
    SetExtState: _set_ext_state,
}


def splice(root: Chunk, text: OpText) -> None:
    """Put one operation's text into the tree."""
    _SPLICERS[type(text.op)](root, text)


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
    ctx = TextContext(Project(root), project_dir)
    for number, op in enumerate(changes.ops, start=1):
        try:
            # text for each step comes from the tree as the earlier steps left it
            splice(root, op_text(op, ctx))
        except ChangeSetError as exc:
            raise ChangeSetError(f"step {number} ({op.kind}): {exc}") from None
    record_applied(root, changes.id, changes.created)
    return True
