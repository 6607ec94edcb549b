"""Guide melodies: the notes of a ``.mid`` file or of a MIDI item, in seconds of the audio being tuned.

A ``.mid`` file's times follow its own tempo map (mido). A MIDI item's ticks become project
seconds through the project's tempo map (ramps included), from the item's position. The
drum channel (10) is never a guide.
"""

from __future__ import annotations

import os
from pathlib import Path

from bridge.errors import ReabridgeError
from bridge.project.items import Item
from bridge.project.tempo import TempoMap
from bridge.tune.targets import GuideNote

DRUMS = 9


class GuideError(ReabridgeError):
    """A guide that cannot be read, or that has no notes where the audio is."""


def read_midi_file(path: str | os.PathLike[str]) -> list[GuideNote]:
    """The notes of a Standard MIDI File, in seconds from its start."""
    import mido

    try:
        midi = mido.MidiFile(str(path))
        messages = list(midi)
    except (OSError, EOFError, ValueError, KeyError, IndexError) as exc:
        raise GuideError(f"cannot read the guide {Path(path).name} as a MIDI file ({exc})") from None
    now = 0.0
    sounding: dict[tuple[int, int], float] = {}
    notes: list[GuideNote] = []
    for msg in messages:
        now += msg.time
        if msg.type not in ("note_on", "note_off") or msg.channel == DRUMS:
            continue
        key = (msg.channel, msg.note)
        if msg.type == "note_on" and msg.velocity > 0:
            sounding.setdefault(key, now)
        elif key in sounding:
            start = sounding.pop(key)
            if now > start:
                notes.append(GuideNote(start, now, msg.note))
    return sorted(notes, key=lambda n: (n.start, n.pitch))


def item_notes(item: Item, tempo: TempoMap) -> list[GuideNote]:
    """The notes of a MIDI item's active take, in project seconds (through the tempo map)."""
    take = item.active_take
    source = take.source if take is not None else None
    if source is None or not source.is_midi:
        raise GuideError(f"the guide item {item.guid} is not a MIDI item")
    ppq, _ = source.midi()
    start_qn = tempo.qn_at(item.position)
    offset_qn = take.start_offset * tempo.bpm_at(item.position) / 60.0 if take is not None else 0.0
    notes = []
    for n in source.notes():
        if (n.channel & 0x0F) == DRUMS:
            continue
        begin = tempo.time_at(start_qn + n.start / ppq - offset_qn)
        end = tempo.time_at(start_qn + n.end / ppq - offset_qn)
        begin, end = max(begin, item.position), min(end, item.position + item.length)
        if end > begin:
            notes.append(GuideNote(begin, end, n.pitch))
    return sorted(notes, key=lambda g: (g.start, g.pitch))


def relative(notes: list[GuideNote], origin: float, time_scale: float = 1.0) -> list[GuideNote]:
    """Notes moved so ``origin`` (seconds) is 0, and scaled into the audio's time (``time_scale``)."""
    return [GuideNote((n.start - origin) / time_scale, (n.end - origin) / time_scale, n.pitch) for n in notes]


def within(notes: list[GuideNote], duration: float, what: str, guide: str) -> list[GuideNote]:
    """The notes sounding between 0 and ``duration``.

    Raises
    ------
    GuideError
        When there are none.
    """
    inside = [n for n in notes if n.end > 0 and n.start < duration]
    if not inside:
        held = f"its {len(notes)} note(s) lie outside" if notes else "it has no notes in"
        raise GuideError(f"the guide {guide} has no notes where {what} plays (0-{duration:.2f} s): {held} that span")
    return inside
