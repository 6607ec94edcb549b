"""Items, their takes and the takes' sources."""

from __future__ import annotations

import math
from pathlib import Path

from bridge.project.media import ResolvedMedia, resolve_media
from bridge.project.midi import MidiEvent, MidiNote, pair_notes, read_events
from bridge.rpp.tree import Chunk, Line

AUDIO_SOURCES = ("WAVE", "MP3", "FLAC", "VORBIS", "OGG", "OPUS", "WAVPACK", "AIFF")
MIDI_SOURCES = ("MIDI", "MIDIPOOL")


def _float(values: list[str] | None, index: int = 0, default: float = 0.0) -> float:
    """The number at ``values[index]``; ``default`` when absent, unreadable or not finite."""
    try:
        value = float(values[index]) if values and len(values) > index else default
    except ValueError:
        return default
    return value if math.isfinite(value) else default


class Source:
    """A take's ``<SOURCE TYPE`` chunk.

    ``SECTION`` sources wrap another source; :attr:`inner` is the one that
    holds the file.
    """

    def __init__(self, chunk: Chunk, project_dir: Path | None, record_paths: tuple[str, ...]) -> None:
        self.chunk = chunk
        self._dir = project_dir
        self._records = record_paths

    @property
    def type(self) -> str:
        """The source type as REAPER writes it: ``WAVE``, ``MP3``, ``FLAC``, ``VORBIS``, ``MIDI``..."""
        return self.chunk.params[0] if self.chunk.params else ""

    @property
    def inner(self) -> Source:
        """The innermost source (through ``SECTION`` wrappers)."""
        cur: Source = self
        for _ in range(64):
            nested = cur.chunk.chunk("SOURCE")
            if cur.type != "SECTION" or nested is None:
                break
            cur = Source(nested, self._dir, self._records)
        return cur

    @property
    def is_audio(self) -> bool:
        """Whether the (inner) source plays an audio file."""
        return self.inner.type in AUDIO_SOURCES

    @property
    def is_midi(self) -> bool:
        """Whether the source is in-project or pooled MIDI."""
        return self.inner.type in MIDI_SOURCES

    @property
    def file(self) -> str | None:
        """The stored file path, or None for sources without a file."""
        values = self.inner.chunk.values("FILE")
        return values[0] if values else None

    def resolve(self) -> ResolvedMedia | None:
        """Where the file is on disk (REAPER's search rules), or None without a file."""
        stored = self.file
        if stored is None:
            return None
        return resolve_media(stored, self._dir, self._records)

    @property
    def section(self) -> tuple[float, float] | None:
        """``(start, length)`` in seconds of a ``SECTION`` source, else None."""
        if self.type != "SECTION":
            return None
        return _float(self.chunk.values("STARTPOS")), _float(self.chunk.values("LENGTH"))

    def midi(self) -> tuple[int, list[MidiEvent]]:
        """Ticks per quarter note and absolute events (empty for audio sources)."""
        if not self.is_midi:
            return 960, []
        return read_events(self.inner.chunk)

    def notes(self) -> list[MidiNote]:
        """Notes of a MIDI source, in ticks."""
        return pair_notes(self.midi()[1])


class Take:
    """One take of an item: the lines from a ``TAKE`` line to the next."""

    def __init__(self, item: Item, nodes: list[Line | Chunk], index: int, active: bool, implicit: bool) -> None:
        self.item = item
        self.nodes = nodes
        self.index = index
        self.active = active
        self.implicit = implicit  # the first take, whose lines share the item's VOLPAN

    def _values(self, key: str) -> list[str] | None:
        for n in self.nodes:
            if isinstance(n, Line) and n.key == key:
                return n.values
        return None

    @property
    def name(self) -> str:
        """The take name."""
        v = self._values("NAME")
        return v[0] if v else ""

    @property
    def guid(self) -> str:
        """The take GUID."""
        v = self._values("GUID")
        return v[0] if v else ""

    @property
    def start_offset(self) -> float:
        """Seconds into the source where the take starts playing (``SOFFS``)."""
        return _float(self._values("SOFFS"))

    @property
    def playrate(self) -> float:
        """Playback rate (``PLAYRATE``; 1 is normal speed)."""
        return _float(self._values("PLAYRATE"), default=1.0) or 1.0

    @property
    def preserve_pitch(self) -> bool:
        """Whether pitch is preserved when the playrate changes."""
        v = self._values("PLAYRATE")
        return bool(v) and len(v) > 1 and v[1] == "1"

    @property
    def volume(self) -> float:
        """Take volume as a linear factor."""
        if self.implicit:
            return _float(self.item.chunk.values("VOLPAN"), 2, 1.0)
        return _float(self._values("TAKEVOLPAN"), 1, 1.0)

    @property
    def markers(self) -> list[tuple[float, str]]:
        """Take markers as ``(source position in seconds, name)``, in the order stored (``TKM`` lines)."""
        found = []
        for n in self.nodes:
            if isinstance(n, Line) and n.key == "TKM" and n.values:
                found.append((_float(n.values), n.values[1] if len(n.values) > 1 else ""))
        return found

    @property
    def source(self) -> Source | None:
        """The take's source, or None for an empty take."""
        for n in self.nodes:
            if isinstance(n, Chunk) and n.tag == "SOURCE":
                return Source(n, self.item.project_dir, self.item.record_paths)
        return None

    def to_dict(self) -> dict[str, object]:
        """Plain data for JSON."""
        src = self.source
        resolved = src.resolve() if src is not None else None
        return {
            "name": self.name,
            "guid": self.guid,
            "active": self.active,
            "source_type": src.type if src is not None else None,
            "file": src.file if src is not None else None,
            "resolved_path": str(resolved.path) if resolved is not None else None,
            "missing": (not resolved.exists) if resolved is not None else False,
            "start_offset": self.start_offset,
            "playrate": self.playrate,
        }


class Item:
    """A media item (``<ITEM``) on a track."""

    def __init__(self, chunk: Chunk, project_dir: Path | None, record_paths: tuple[str, ...]) -> None:
        self.chunk = chunk
        self.project_dir = project_dir
        self.record_paths = record_paths

    @property
    def guid(self) -> str:
        """The item GUID (``IGUID``)."""
        v = self.chunk.values("IGUID")
        return v[0] if v else ""

    @property
    def position(self) -> float:
        """Start in project seconds."""
        return _float(self.chunk.values("POSITION"))

    @property
    def length(self) -> float:
        """Length in seconds."""
        return _float(self.chunk.values("LENGTH"))

    @property
    def loop(self) -> bool:
        """Whether the source loops to fill the item."""
        v = self.chunk.values("LOOP")
        return bool(v) and v[0] == "1"

    @property
    def fade_in(self) -> float:
        """Fade-in length in seconds."""
        return _float(self.chunk.values("FADEIN"), 1)

    @property
    def fade_out(self) -> float:
        """Fade-out length in seconds."""
        return _float(self.chunk.values("FADEOUT"), 1)

    @property
    def volume(self) -> float:
        """Item volume as a linear factor."""
        return _float(self.chunk.values("VOLPAN"), 0, 1.0)

    @property
    def mute(self) -> bool:
        """Whether the item is muted."""
        v = self.chunk.values("MUTE")
        return bool(v) and v[0] == "1"

    @property
    def notes(self) -> str:
        """The item notes (``<NOTES`` lines without their ``|``), "" when there are none."""
        chunk = self.chunk.chunk("NOTES")
        if chunk is None:
            return ""
        rows = (line.raw.lstrip(" \t") for line in chunk.lines())
        return "\n".join(row[1:] for row in rows if row.startswith("|"))

    @property
    def selected(self) -> bool:
        """Whether the item is selected in REAPER."""
        v = self.chunk.values("SEL")
        return bool(v) and v[0] == "1"

    @property
    def takes(self) -> list[Take]:
        """The item's takes in order; exactly one is active when there are any."""
        groups: list[list[Line | Chunk]] = [[]]
        marks: list[bool] = [False]
        for child in self.chunk.children:
            if isinstance(child, Line) and child.key == "TAKE":
                groups.append([])
                marks.append("SEL" in child.values)
            else:
                groups[-1].append(child)
        first_is_take = any(
            (isinstance(n, Line) and n.key in ("NAME", "GUID")) or (isinstance(n, Chunk) and n.tag == "SOURCE")
            for n in groups[0]
        )
        if not first_is_take:
            # empty items, and items whose first take was removed, keep only item
            # lines before the first "TAKE" line
            groups, marks = groups[1:], marks[1:]
        active = marks.index(True) if True in marks else 0
        return [Take(self, nodes, i, i == active, first_is_take and i == 0) for i, nodes in enumerate(groups)]

    @property
    def active_take(self) -> Take | None:
        """The take that plays, or None for an item without takes."""
        return next((t for t in self.takes if t.active), None)

    @property
    def name(self) -> str:
        """Name of the active take (what REAPER shows on the item)."""
        take = self.active_take
        return take.name if take is not None else ""

    def to_dict(self) -> dict[str, object]:
        """Plain data for JSON."""
        return {
            "guid": self.guid,
            "name": self.name,
            "position": self.position,
            "length": self.length,
            "loop": self.loop,
            "fade_in": self.fade_in,
            "fade_out": self.fade_out,
            "volume": self.volume,
            "mute": self.mute,
            "selected": self.selected,
            "notes": self.notes,
            "takes": [t.to_dict() for t in self.takes],
        }
