"""ChangeSets: plain-data descriptions of what a job wants done to a project.

A job never edits a project. It returns a :class:`ChangeSet` (the id of the
request that made it plus a list of operations), and a session applies it in
one step. ChangeSets round-trip through JSON, so they can be queued, logged
and replayed.

Track references are a track GUID (``"{...}"``), a 0-based track index, or
``"master"`` where the master track is allowed. A track added earlier in the
same ChangeSet is referred to by the GUID its :class:`AddTrack` carries.
Times are project seconds; note, bend and CC times in :class:`AddMidiItem` are
seconds from the start of the item.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import re
import uuid
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar

from bridge.errors import ReabridgeError

TrackRef = str | int


class ChangeSetError(ReabridgeError):
    """A ChangeSet is malformed or cannot be applied to this project."""


_GUID = re.compile(r"\{[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\}")
_STAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?Z")
_GUID_NAMESPACE = uuid.UUID("5b0e7f1c-3a52-4c1e-9f4e-7265616272e0")


def new_guid() -> str:
    """A fresh GUID in REAPER's spelling: ``{XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX}``."""
    return "{" + str(uuid.uuid4()).upper() + "}"


def derived_guid(*parts: object) -> str:
    """A GUID that is a function of ``parts`` (REAPER's spelling).

    Jobs name what they add after the request and the thing it comes from
    (``derived_guid(request_id, "midi", item_guid)``), so the same request gives
    the same project, byte for byte, wherever it runs.
    """
    return "{" + str(uuid.uuid5(_GUID_NAMESPACE, "/".join(str(p) for p in parts))).upper() + "}"


def utc_stamp() -> str:
    """Now, as the ISO 8601 UTC text recorded with applied ChangeSets."""
    return _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _check_time(name: str, value: float, *, positive: bool = False) -> None:
    if not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0 or (positive and value <= 0):
        need = "a positive" if positive else "a non-negative"
        raise ChangeSetError(f"{name} must be {need} number of seconds, got {value!r}")


def _check_range(name: str, value: int, lo: int, hi: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
        raise ChangeSetError(f"{name} must be a whole number from {lo} to {hi}, got {value!r}")


@dataclass(frozen=True)
class Note:
    """A MIDI note; ``start``/``end`` in seconds from the item start."""

    start: float
    end: float
    pitch: int
    velocity: int = 100
    channel: int = 0

    def __post_init__(self) -> None:
        _check_time("note start", self.start)
        _check_time("note end", self.end)
        if self.end <= self.start:
            raise ChangeSetError(f"note {self.pitch} ends ({self.end}) before it starts ({self.start})")
        _check_range("note pitch", self.pitch, 0, 127)
        _check_range("note velocity", self.velocity, 1, 127)
        _check_range("MIDI channel", self.channel, 0, 15)


@dataclass(frozen=True)
class PitchBend:
    """A pitch-bend event; ``value`` from -8192 to 8191 (0 is centre)."""

    time: float
    value: int
    channel: int = 0

    def __post_init__(self) -> None:
        _check_time("pitch bend time", self.time)
        _check_range("pitch bend value", self.value, -8192, 8191)
        _check_range("MIDI channel", self.channel, 0, 15)


@dataclass(frozen=True)
class ControlChange:
    """A CC event."""

    time: float
    controller: int
    value: int
    channel: int = 0

    def __post_init__(self) -> None:
        _check_time("CC time", self.time)
        _check_range("CC number", self.controller, 0, 127)
        _check_range("CC value", self.value, 0, 127)
        _check_range("MIDI channel", self.channel, 0, 15)


@dataclass(frozen=True)
class TempoChange:
    """A point of the tempo map (see :class:`bridge.project.tempo.TempoPoint`)."""

    time: float
    bpm: float
    linear: bool = False
    numerator: int | None = None
    denominator: int | None = None

    def __post_init__(self) -> None:
        _check_time("tempo point time", self.time)
        if not (isinstance(self.bpm, (int, float)) and 1 <= self.bpm <= 960):
            raise ChangeSetError(f"tempo must be between 1 and 960 BPM, got {self.bpm!r}")


def _check_guid(name: str, value: object) -> None:
    if not isinstance(value, str) or not _GUID.fullmatch(value):
        raise ChangeSetError(f"{name} must be a GUID like {{8C1D2E3F-0000-4000-8000-00000000ABCD}}, got {value!r}")


def _check_track(name: str, ref: object, master: bool = False) -> None:
    if isinstance(ref, int) and not isinstance(ref, bool):
        if ref < 0:
            raise ChangeSetError(f"{name}: a track number counts from 0, got {ref}")
        return
    if master and ref == "master":
        return
    if not isinstance(ref, str) or not _GUID.fullmatch(ref):
        allowed = "a track GUID, a 0-based track number" + (" or 'master'" if master else "")
        raise ChangeSetError(f"{name} must be {allowed}, got {ref!r}")


class Op:
    """Base of all operations; ``kind`` names the operation in JSON."""

    kind: ClassVar[str] = ""


@dataclass(frozen=True)
class AddTrack(Op):
    """Add a track named ``name`` after track ``after`` (None: at the end).

    A track added after the last track of a folder stays inside that folder.
    """

    kind: ClassVar[str] = "add_track"
    name: str
    after: TrackRef | None = None
    guid: str = field(default_factory=new_guid)

    def __post_init__(self) -> None:
        if self.after is not None:
            _check_track("after", self.after)
        _check_guid("track GUID", self.guid)


@dataclass(frozen=True)
class AddMidiItem(Op):
    """Add a MIDI item on ``track`` holding notes, pitch bends and CCs."""

    kind: ClassVar[str] = "add_midi_item"
    track: TrackRef
    position: float
    length: float
    notes: tuple[Note, ...] = ()
    pitch_bends: tuple[PitchBend, ...] = ()
    ccs: tuple[ControlChange, ...] = ()
    name: str = ""
    guid: str = field(default_factory=new_guid)

    def __post_init__(self) -> None:
        _check_track("track", self.track)
        _check_guid("item GUID", self.guid)
        _check_time("item position", self.position)
        _check_time("item length", self.length, positive=True)


@dataclass(frozen=True)
class AddAudioItem(Op):
    """Add an item on ``track`` playing ``file`` from ``source_offset`` seconds."""

    kind: ClassVar[str] = "add_audio_item"
    track: TrackRef
    file: str
    position: float
    length: float
    source_offset: float = 0.0
    name: str = ""
    guid: str = field(default_factory=new_guid)

    def __post_init__(self) -> None:
        _check_track("track", self.track)
        _check_guid("item GUID", self.guid)
        _check_time("item position", self.position)
        _check_time("item length", self.length, positive=True)
        _check_time("source offset", self.source_offset)


@dataclass(frozen=True)
class AddAudioTake(Op):
    """Add a take playing ``file`` to the item with GUID ``item`` (made active)."""

    kind: ClassVar[str] = "add_audio_take"
    item: str
    file: str
    name: str = ""
    active: bool = True
    source_offset: float = 0.0
    playrate: float = 1.0
    preserve_pitch: bool = True
    guid: str = field(default_factory=new_guid)

    def __post_init__(self) -> None:
        _check_guid("item", self.item)
        _check_guid("take GUID", self.guid)
        _check_time("source offset", self.source_offset)
        if not (isinstance(self.playrate, (int, float)) and 0.01 <= self.playrate <= 100):
            raise ChangeSetError(f"playrate must be between 0.01 and 100, got {self.playrate!r}")


@dataclass(frozen=True)
class AddJsEffect(Op):
    """Add the JSFX at ``path`` (relative to REAPER's Effects folder) to a track or the master.

    ``sliders`` maps slider numbers (1-based, as in the JSFX) to values.
    """

    kind: ClassVar[str] = "add_js_effect"
    track: TrackRef
    path: str
    sliders: dict[int, float] = field(default_factory=dict)
    name: str = ""
    bypass: bool = False
    guid: str = field(default_factory=new_guid)

    def __post_init__(self) -> None:
        _check_track("track", self.track, master=True)
        _check_guid("FXID", self.guid)
        if not self.path or any(c in self.path for c in "\r\n\"'`"):
            raise ChangeSetError(f"JSFX path {self.path!r} is empty or holds quotes or line breaks")
        for k, v in self.sliders.items():
            _check_range("slider number", int(k), 1, 256)
            if not isinstance(v, (int, float)) or not math.isfinite(v):
                raise ChangeSetError(f"slider {k} must be a number, got {v!r}")


@dataclass(frozen=True)
class SetTempo(Op):
    """Set the project tempo and time signature, and replace the tempo map.

    With no ``points`` the tempo is constant (any tempo envelope is cleared).
    """

    kind: ClassVar[str] = "set_tempo"
    bpm: float
    numerator: int = 4
    denominator: int = 4
    points: tuple[TempoChange, ...] = ()

    def __post_init__(self) -> None:
        if not (isinstance(self.bpm, (int, float)) and 1 <= self.bpm <= 960):
            raise ChangeSetError(f"tempo must be between 1 and 960 BPM, got {self.bpm!r}")
        _check_range("time signature numerator", self.numerator, 1, 255)
        if self.denominator not in (1, 2, 4, 8, 16, 32, 64):
            raise ChangeSetError(f"time signature denominator must be a power of two, got {self.denominator!r}")


@dataclass(frozen=True)
class AddMarker(Op):
    """Add a marker at ``position``, or a region when ``end`` is given."""

    kind: ClassVar[str] = "add_marker"
    position: float
    name: str = ""
    end: float | None = None
    color: int = 0
    guid: str = field(default_factory=new_guid)

    def __post_init__(self) -> None:
        _check_guid("marker GUID", self.guid)
        _check_time("marker position", self.position)
        if self.end is not None:
            _check_time("region end", self.end)
            if self.end <= self.position:
                raise ChangeSetError(f"region ends ({self.end}) before it starts ({self.position})")


@dataclass(frozen=True)
class RemoveItem(Op):
    """Remove the item with GUID ``item`` (nothing happens when it is already gone)."""

    kind: ClassVar[str] = "remove_item"
    item: str

    def __post_init__(self) -> None:
        _check_guid("item", self.item)


@dataclass(frozen=True)
class RemoveTake(Op):
    """Remove the take with GUID ``take`` from item ``item`` (nothing happens when it is gone).

    Only takes after an item's first one can be removed (reabridge only removes
    takes it added itself, which never come first).
    """

    kind: ClassVar[str] = "remove_take"
    item: str
    take: str

    def __post_init__(self) -> None:
        _check_guid("item", self.item)
        _check_guid("take", self.take)


@dataclass(frozen=True)
class RemoveMarker(Op):
    """Remove the marker or region with GUID ``guid`` (nothing happens when it is gone)."""

    kind: ClassVar[str] = "remove_marker"
    guid: str

    def __post_init__(self) -> None:
        _check_guid("marker", self.guid)


@dataclass(frozen=True)
class RemoveJsEffect(Op):
    """Remove the effect with ``FXID`` ``fxid`` from a track's (or the master's) chain, if it is there."""

    kind: ClassVar[str] = "remove_js_effect"
    track: TrackRef
    fxid: str

    def __post_init__(self) -> None:
        _check_track("track", self.track, master=True)
        _check_guid("FXID", self.fxid)


@dataclass(frozen=True)
class SetExtState(Op):
    """Set ``key`` in the project's ``REABRIDGE`` ext state (an empty value removes it).

    reabridge records there what it made (see :mod:`bridge.project.made`).
    """

    kind: ClassVar[str] = "set_ext_state"
    key: str
    value: str = ""

    def __post_init__(self) -> None:
        if not self.key or not all(c.isalnum() or c in "-_.{}" for c in self.key):
            raise ChangeSetError(f"ext state key {self.key!r} must be letters, digits, '-', '_', '.', braces")
        if any(c in self.value for c in "\r\n\"'`"):
            raise ChangeSetError(f"ext state value {self.value!r} holds quotes or line breaks")


def _check_text(name: str, value: object, *, lines: bool = False, limit: int = 65536) -> None:
    """Text REAPER stores as one token (names) or as ``|``-prefixed lines (notes)."""
    if not isinstance(value, str) or len(value) > limit:
        raise ChangeSetError(f"{name} must be text of at most {limit} characters, got {type(value).__name__}")
    if "\x00" in value or (not lines and any(c in value for c in "\r\n")):
        raise ChangeSetError(f"{name} {value[:40]!r} holds {'a NUL' if chr(0) in value else 'a line break'}")


@dataclass(frozen=True)
class AddNotesItem(Op):
    """Add an empty item (no take) on ``track`` whose item notes are ``notes`` (several lines allowed).

    REAPER shows the notes on the item; it can be moved, trimmed and edited like any item.
    """

    kind: ClassVar[str] = "add_notes_item"
    track: TrackRef
    position: float
    length: float
    notes: str
    guid: str = field(default_factory=new_guid)

    def __post_init__(self) -> None:
        _check_track("track", self.track)
        _check_guid("item GUID", self.guid)
        _check_time("item position", self.position)
        _check_time("item length", self.length, positive=True)
        _check_text("item notes", self.notes, lines=True)
        if not self.notes.strip():
            raise ChangeSetError("an item made for its notes needs some text")


@dataclass(frozen=True)
class AddItemCopy(Op):
    """Add a copy of the existing item ``item`` (all its takes and settings), trimmed and moved.

    The copy plays the original's ``[offset, offset + length)`` (seconds of the original item's
    timeline) at ``position`` on ``track``, with fades of ``fade_in``/``fade_out`` seconds.
    """

    kind: ClassVar[str] = "add_item_copy"
    item: str
    track: TrackRef
    position: float
    length: float
    offset: float = 0.0
    fade_in: float = 0.0
    fade_out: float = 0.0
    name: str = ""
    guid: str = field(default_factory=new_guid)

    def __post_init__(self) -> None:
        _check_guid("item", self.item)
        _check_track("track", self.track)
        _check_guid("item GUID", self.guid)
        _check_time("item position", self.position)
        _check_time("item length", self.length, positive=True)
        _check_time("offset into the item", self.offset)
        _check_time("fade-in length", self.fade_in)
        _check_time("fade-out length", self.fade_out)
        _check_text("item name", self.name, limit=1024)


@dataclass(frozen=True)
class SetItemMute(Op):
    """Mute (or unmute) the item ``item``."""

    kind: ClassVar[str] = "set_item_mute"
    item: str
    mute: bool = True

    def __post_init__(self) -> None:
        _check_guid("item", self.item)
        if not isinstance(self.mute, bool):
            raise ChangeSetError(f"mute must be true or false, got {self.mute!r}")


@dataclass(frozen=True)
class SetItemNotes(Op):
    """Set the item notes of ``item`` (an empty text clears them)."""

    kind: ClassVar[str] = "set_item_notes"
    item: str
    notes: str = ""

    def __post_init__(self) -> None:
        _check_guid("item", self.item)
        _check_text("item notes", self.notes, lines=True)


@dataclass(frozen=True)
class AddTakeMarker(Op):
    """Add a take marker named ``name`` at ``position`` seconds of the take's source (REAPER's ``srcpos``).

    ``take`` is the take's GUID; None means the item's active take.
    """

    kind: ClassVar[str] = "add_take_marker"
    item: str
    position: float
    name: str
    take: str | None = None
    color: int = 0

    def __post_init__(self) -> None:
        _check_guid("item", self.item)
        if self.take is not None:
            _check_guid("take", self.take)
        _check_time("take marker position", self.position)
        _check_text("take marker name", self.name, limit=1024)
        _check_range("take marker colour", self.color, 0, 0x1FFFFFF)


@dataclass(frozen=True)
class RemoveTakeMarker(Op):
    """Remove the take marker named ``name`` at source position ``position`` (nothing happens when it is gone)."""

    kind: ClassVar[str] = "remove_take_marker"
    item: str
    position: float
    name: str
    take: str | None = None

    def __post_init__(self) -> None:
        _check_guid("item", self.item)
        if self.take is not None:
            _check_guid("take", self.take)
        _check_time("take marker position", self.position)
        _check_text("take marker name", self.name, limit=1024)


def op_data(op: Op) -> dict[str, Any]:
    """One operation as plain data (``{"op": kind, field: value...}``), fast for thousands of notes."""
    data: dict[str, Any] = {"op": op.kind}
    for name, value in vars(op).items():
        if isinstance(value, tuple):
            data[name] = [dict(vars(v)) for v in value]  # Note, PitchBend, ControlChange, TempoChange: flat
        elif name == "sliders":
            data[name] = {str(k): v for k, v in value.items()}
        else:
            data[name] = value
    return data


OPS: dict[str, type[Op]] = {
    cls.kind: cls
    for cls in (AddTrack, AddMidiItem, AddAudioItem, AddAudioTake, AddJsEffect, SetTempo, AddMarker, RemoveItem,
                RemoveTake, RemoveMarker, RemoveJsEffect, SetExtState, AddNotesItem, AddItemCopy, SetItemMute,
                SetItemNotes, AddTakeMarker, RemoveTakeMarker)
}
_NESTED = {"notes": Note, "pitch_bends": PitchBend, "ccs": ControlChange, "points": TempoChange}


@dataclass(frozen=True)
class ChangeSet:
    """Operations to apply to a project in one step.

    Attributes
    ----------
    id : str
        Id of the request that produced it. A session applies a given id once.
    ops : tuple of Op
        The operations, applied in order.
    description : str
        What the change does, for the undo history and logs.
    created : str
        When the request was made (ISO 8601 UTC); recorded with the applied id.
    """

    id: str
    ops: tuple[Op, ...] = ()
    description: str = ""
    created: str = field(default_factory=utc_stamp)

    def __post_init__(self) -> None:
        if not self.id or not all(c.isalnum() or c in "-_." for c in self.id):
            raise ChangeSetError(f"ChangeSet id {self.id!r} must be letters, digits, '-', '_' or '.'")
        if not _STAMP.fullmatch(self.created):
            raise ChangeSetError(f"ChangeSet time {self.created!r} must look like 2026-01-31T12:00:00Z")

    def to_dict(self) -> dict[str, Any]:
        """Plain data (JSON-ready)."""
        return {"id": self.id, "description": self.description, "created": self.created,
                "ops": [op_data(op) for op in self.ops]}

    def to_json(self) -> str:
        """The ChangeSet as JSON text."""
        return json.dumps(self.to_dict(), indent=1)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ChangeSet:
        """Rebuild a ChangeSet from :meth:`to_dict` output.

        Raises
        ------
        ChangeSetError
            Unknown operation, missing or wrong fields.
        """
        if not isinstance(data, dict):
            raise ChangeSetError("a ChangeSet must be a JSON object")
        ops: list[Op] = []
        for i, raw in enumerate(data.get("ops", [])):
            if not isinstance(raw, dict) or raw.get("op") not in OPS:
                kind = raw.get("op") if isinstance(raw, dict) else raw
                raise ChangeSetError(f"operation {i + 1}: unknown kind {kind!r} (known: {', '.join(sorted(OPS))})")
            op_cls = OPS[raw["op"]]
            names = {f.name for f in fields(op_cls)}  # type: ignore[arg-type]
            kwargs: dict[str, Any] = {}
            try:
                for key, value in raw.items():
                    if key == "op":
                        continue
                    if key not in names:
                        raise ChangeSetError(f"operation {i + 1} ({raw['op']}): unknown field {key!r}")
                    if key in _NESTED and not isinstance(value, str):  # SetItemNotes.notes is text, not MIDI notes
                        value = tuple(_NESTED[key](**v) for v in value)
                    elif key == "sliders":
                        value = {int(k): float(v) for k, v in value.items()}
                    kwargs[key] = value
                ops.append(op_cls(**kwargs))
            except ChangeSetError:
                raise
            except (TypeError, ValueError, AttributeError) as exc:
                raise ChangeSetError(f"operation {i + 1} ({raw['op']}): {exc}") from None
        created = data.get("created")
        return cls(str(data.get("id", "")), tuple(ops), str(data.get("description", "")),
                   str(created) if created else utc_stamp())

    @classmethod
    def from_json(cls, text: str) -> ChangeSet:
        """Parse JSON text made by :meth:`to_json`."""
        try:
            return cls.from_dict(json.loads(text))
        except json.JSONDecodeError as exc:
            raise ChangeSetError(f"ChangeSet is not valid JSON: {exc}") from None
