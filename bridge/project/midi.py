"""In-project MIDI: the event lines of a ``<SOURCE MIDI`` chunk.

REAPER stores MIDI events as lines with a tick delta from the previous event::

    HASDATA 1 960 QN          data present, 960 ticks per quarter note
    E 0 90 3c 60              event: delta, status and data bytes in hex
    e 960 80 3c 00            lower-case: the event is selected
    Em 0 90 3e 60             an ``m`` suffix: the event is muted
    <X 240 0 ...              sysex / text meta event, payload in base64
    X 240 0 ...               single-line form of the same

The last event is usually ``b0 7b 00`` (all notes off), which marks the end
of the source.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from bridge.rpp.tree import Chunk, Line

EVENT_KEYS = ("E", "e", "Em", "em", "X", "x", "Xm", "xm")


@dataclass(frozen=True)
class MidiEvent:
    """One event of an in-project MIDI source.

    Attributes
    ----------
    tick : int
        Absolute position in ticks from the start of the source.
    data : bytes
        Status and data bytes (empty for sysex/text events).
    selected, muted : bool
        Editor flags from the line's key.
    sysex : bool
        True for ``X`` (sysex / text) events.
    """

    tick: int
    data: bytes
    selected: bool = False
    muted: bool = False
    sysex: bool = False


@dataclass(frozen=True)
class MidiNote:
    """A note found by pairing note-on and note-off events (ticks)."""

    start: int
    end: int
    pitch: int
    velocity: int
    channel: int


def _parse_event(tokens: list[str], key: str) -> tuple[int, bytes]:
    delta = int(float(tokens[1])) if len(tokens) > 1 else 0
    if key.lower().startswith("x"):
        return delta, b""
    data = bytes(int(t, 16) & 0xFF for t in tokens[2:5])
    return delta, data


def read_events(source: Chunk) -> tuple[int, list[MidiEvent]]:
    """Decode a MIDI source chunk into (ticks per quarter note, absolute events).

    Lines that cannot be read as numbers are skipped, as REAPER does.
    """
    ppq = 960
    hasdata = source.values("HASDATA")
    if hasdata and len(hasdata) >= 2:
        with contextlib.suppress(ValueError, OverflowError):
            ppq = int(float(hasdata[1])) or 960
    tick = 0
    events: list[MidiEvent] = []
    for child in source.children:
        if isinstance(child, Chunk):
            if child.tag in ("X", "x"):
                try:
                    delta = int(float(child.params[0])) if child.params else 0
                except (ValueError, OverflowError):
                    continue
                tick += delta
                events.append(MidiEvent(tick, b"", selected=child.tag == "x", sysex=True))
            continue
        key = child.key
        if key not in EVENT_KEYS:
            continue
        try:
            delta, data = _parse_event(child.tokens, key)
        except (ValueError, OverflowError):
            continue
        tick += delta
        events.append(
            MidiEvent(tick, data, selected=key[0].islower(), muted=key.endswith("m"), sysex=key[0] in "Xx")
        )
    return ppq, events


def pair_notes(events: list[MidiEvent]) -> list[MidiNote]:
    """Pair note-ons with their note-offs (first in, first out per pitch and channel)."""
    open_notes: dict[tuple[int, int], list[tuple[int, int]]] = {}
    notes: list[MidiNote] = []
    for ev in events:
        if len(ev.data) < 3:
            continue
        kind, ch = ev.data[0] & 0xF0, ev.data[0] & 0x0F
        pitch, vel = ev.data[1], ev.data[2]
        if kind == 0x90 and vel > 0:
            open_notes.setdefault((ch, pitch), []).append((ev.tick, vel))
        elif kind == 0x80 or (kind == 0x90 and vel == 0):
            stack = open_notes.get((ch, pitch))
            if stack:
                start, v = stack.pop(0)
                notes.append(MidiNote(start, ev.tick, pitch, v, ch))
    notes.sort(key=lambda n: (n.start, n.pitch))
    return notes


def event_line(delta: int, data: bytes, selected: bool = False) -> Line:
    """Build one ``E`` line as REAPER writes it (lower-case hex, two digits)."""
    key = "e" if selected else "E"
    return Line(f"{key} {int(delta)} " + " ".join(f"{b:02x}" for b in data))
