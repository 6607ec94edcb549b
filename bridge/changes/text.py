"""ChangeSet operations as REAPER chunk text: what every session writes.

This is the half of applying a ChangeSet that does not depend on where the
project lives. Each operation becomes an :class:`OpText`: the chunk text
REAPER itself would hold (a whole ``<TRACK`` or ``<ITEM`` chunk, the lines of
a take, of a JS effect, of tempo points or markers) and what it attaches to.
The offline session splices it into a parsed ``.RPP`` (:mod:`bridge.changes.splice`);
the live session and the Lua actions send the very same text to REAPER
(``SetTrackStateChunk``, ``SetItemStateChunk``...). Checks that hold for
every session (a media file must exist) happen here, before anything is
written anywhere.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bridge.changes import chunks
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
    Op,
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
from bridge.project.media import relative_media_path
from bridge.project.project import Project
from bridge.project.tempo import TempoMap, TempoPoint, pack_timesig
from bridge.rpp.tokens import format_tokens


@dataclass(frozen=True)
class OpText:
    """One operation as REAPER state text.

    Attributes
    ----------
    op : Op
        The operation.
    target : str or int or None
        What the text attaches to: the track (GUID, 0-based index or
        ``"master"``) for items and effects, the item GUID for takes, the track
        to insert after for new tracks (None: at the end), None for
        project-wide state (tempo, markers).
    text : str
        REAPER chunk text (``\\n`` line ends, no indentation); empty for removals,
        which name what goes in ``op`` and ``target``.
    """

    op: Op
    target: TrackRef | None
    text: str

    @property
    def kind(self) -> str:
        """The operation's kind (``add_track``...)."""
        return self.op.kind

    def to_dict(self) -> dict[str, object]:
        """Plain data for status files and the REAPER side."""
        return {"kind": self.kind, "target": self.target, "text": self.text}


class TextContext:
    """Project state the text depends on, carried forward operation by operation.

    MIDI ticks depend on the tempo map (a ``set_tempo`` earlier in the same
    ChangeSet counts), items are numbered after the project's last ``IID``,
    markers and regions after the highest number of their kind, and media
    paths are stored relative to the project folder where they lie inside it.
    """

    def __init__(self, project: Project, project_dir: Path | None = None) -> None:
        self.project = project
        self.project_dir = project_dir or project.directory
        self.tempo = project.tempo_map
        self.next_iid = _max_iid(project) + 1
        self.numbers = {False: set(), True: set()}  # region? -> numbers in use
        for marker in project.markers:
            self.numbers[marker.is_region].add(marker.number)

    def iid(self) -> int:
        """The next item number."""
        value = self.next_iid
        self.next_iid += 1
        return value

    def marker_number(self, region: bool) -> int:
        """The next marker (or region) number."""
        used = self.numbers[region]
        number = max(used, default=0) + 1
        used.add(number)
        return number

    def media_value(self, file: str) -> str:
        """How the project stores a media path; refuses files that do not exist."""
        path = Path(file)
        if not path.is_absolute() and self.project_dir is not None:
            path = self.project_dir / path
        if not path.is_file():
            raise ChangeSetError(f"media file {file} does not exist; nothing was changed")
        if self.project_dir is None:
            return file
        return relative_media_path(path, self.project_dir)


def _max_iid(project: Project) -> int:
    best = 0
    for track in project.root.chunks("TRACK"):
        for item in track.chunks("ITEM"):
            v = item.values("IID")
            if v and v[0].isdigit():
                best = max(best, int(v[0]))
    return best


def tempo_point_lines(op: SetTempo) -> str:
    """The ``PT`` lines of a tempo map, in time order."""
    rows = []
    for p in sorted(op.points, key=lambda p: p.time):
        values: list[object] = ["PT", p.time, p.bpm, 0 if p.linear else 1]
        if p.numerator and p.denominator:
            values.append(pack_timesig(p.numerator, p.denominator))
        rows.append(format_tokens(values) + "\n")
    return "".join(rows)


def _item_copy(op: AddItemCopy, ctx: TextContext) -> OpText:
    try:
        _, item = ctx.project.find_item(op.item)
    except KeyError:
        raise ChangeSetError(f"no item with GUID {op.item} to copy (was it deleted?)") from None
    return OpText(op, op.track, chunks.item_copy_chunk(item.chunk, op, ctx.iid()))


def _set_tempo(op: SetTempo, ctx: TextContext) -> OpText:
    points = tuple(TempoPoint(p.time, p.bpm, p.linear, p.numerator, p.denominator) for p in op.points)
    ctx.tempo = TempoMap(op.bpm, op.numerator, op.denominator, points)
    return OpText(op, None, tempo_point_lines(op))


def _marker(op: AddMarker, ctx: TextContext) -> OpText:
    number = ctx.marker_number(op.end is not None)
    return OpText(op, None, chunks.marker_lines(number, op.position, op.name, op.guid, op.end, op.color))


#: each operation's text: (operation, context) -> OpText. Removals and edits of existing
#: items carry no text; they name what they change in ``target`` and the op itself.
_WRITERS: dict[type[Op], Callable[[Any, TextContext], OpText]] = {
    AddTrack: lambda op, ctx: OpText(op, op.after, chunks.track_chunk(op.name, op.guid)),
    AddMidiItem: lambda op, ctx: OpText(op, op.track, chunks.midi_item_chunk(op, ctx.tempo, ctx.iid())),
    AddAudioItem: lambda op, ctx: OpText(op, op.track,
                                         chunks.audio_item_chunk(op, ctx.media_value(op.file), ctx.iid())),
    AddNotesItem: lambda op, ctx: OpText(op, op.track, chunks.notes_item_chunk(op, ctx.iid())),
    AddItemCopy: _item_copy,
    AddAudioTake: lambda op, ctx: OpText(op, op.item, chunks.audio_take_lines(op, ctx.media_value(op.file))),
    AddJsEffect: lambda op, ctx: OpText(op, op.track, chunks.js_effect_lines(op)),
    SetTempo: _set_tempo,
    AddMarker: _marker,
    AddTakeMarker: lambda op, ctx: OpText(op, op.item, chunks.take_marker_line(op.position, op.name, op.color)),
    SetItemNotes: lambda op, ctx: OpText(op, op.item, chunks.notes_chunk(op.notes) if op.notes else ""),
    SetItemMute: lambda op, ctx: OpText(op, op.item, ""),
    RemoveItem: lambda op, ctx: OpText(op, op.item, ""),
    RemoveTake: lambda op, ctx: OpText(op, op.item, ""),
    RemoveTakeMarker: lambda op, ctx: OpText(op, op.item, ""),
    RemoveMarker: lambda op, ctx: OpText(op, None, ""),
    RemoveJsEffect: lambda op, ctx: OpText(op, op.track, ""),
    SetExtState: lambda op, ctx: OpText(op, None, format_tokens([op.key, op.value]) + "\n" if op.value else ""),
}


def op_text(op: Op, ctx: TextContext) -> OpText:
    """The chunk text of one operation, in context (which it moves forward)."""
    writer = _WRITERS.get(type(op))
    if writer is None:  # pragma: no cover - every kind in OPS has a writer (tested)
        raise ChangeSetError(f"unsupported operation {type(op).__name__}")
    return writer(op, ctx)


def changeset_text(changes: ChangeSet, project: Project) -> list[OpText]:
    """Every operation of a ChangeSet as chunk text, in order.

    Raises
    ------
    ChangeSetError
        An operation cannot be written (a media file is missing...), naming the step.
    """
    ctx = TextContext(project)
    out = []
    for number, op in enumerate(changes.ops, start=1):
        try:
            out.append(op_text(op, ctx))
        except ChangeSetError as exc:
            raise ChangeSetError(f"step {number} ({op.kind}): {exc}") from None
    return out
