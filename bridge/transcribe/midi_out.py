"""Note events as MIDI: channels, pitch-bend events and standard MIDI files.

Channel and bend rules follow basic-pitch's ``note_events_to_midi``: by
default all notes share channel 1 and notes that overlap another note lose
their bends (a bend moves every note on a channel); with
``multiple_pitch_bends`` each pitch gets its own channel (skipping the drum
channel 10) and keeps its bends. Bends are spread evenly over the note,
4096 per semitone (a +/-2 semitone bend range), clipped to the 14-bit range.
One addition: after a bent note, the bend returns to centre, so the next note
on the channel is not left out of tune.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path

import mido
import numpy as np

from bridge.fileio import Outputs, write_atomic
from bridge.transcribe.notes import NoteEvent

PROGRAM = 4  # General MIDI "Electric Piano 1", as basic-pitch writes
TICKS_PER_BEAT = 960
_CHANNELS = [c for c in range(16) if c != 9]


@dataclass(frozen=True)
class MidiNote:
    """A note ready for a MIDI track (seconds)."""

    start: float
    end: float
    pitch: int
    velocity: int
    channel: int


@dataclass(frozen=True)
class MidiBend:
    """A pitch-bend event: ``value`` from -8192 to 8191."""

    time: float
    value: int
    channel: int


def _drop_overlapping_bends(notes: list[NoteEvent]) -> list[NoteEvent]:
    ordered = sorted(notes, key=lambda n: (n.start, n.end, n.pitch, n.amplitude))
    keep = [n.bends for n in ordered]
    for i in range(len(ordered) - 1):
        for j in range(i + 1, len(ordered)):
            if ordered[j].start >= ordered[i].end:
                break
            keep[i] = None
            keep[j] = None
    return [NoteEvent(n.start, n.end, n.pitch, n.amplitude, b) for n, b in zip(ordered, keep, strict=True)]


def bend_values(bends: tuple[int, ...]) -> np.ndarray:
    """Thirds of a semitone to 14-bit pitch-bend values (+/-2 semitone range)."""
    ticks = np.round(np.array(bends) * 4096 / 3).astype(int)
    return np.clip(ticks, -8192, 8191)


def to_midi_events(notes: list[NoteEvent], multiple_pitch_bends: bool = False,
                   include_bends: bool = True) -> tuple[list[MidiNote], list[MidiBend]]:
    """Assign channels and turn per-note bends into pitch-bend events."""
    events = notes if multiple_pitch_bends else _drop_overlapping_bends(notes)
    channel_of: dict[int, int] = {}
    out_notes: list[MidiNote] = []
    out_bends: list[MidiBend] = []
    for n in events:
        if multiple_pitch_bends:
            channel = channel_of.setdefault(n.pitch, _CHANNELS[len(channel_of) % len(_CHANNELS)])
        else:
            channel = 0
        out_notes.append(MidiNote(n.start, n.end, n.pitch, max(1, min(127, n.velocity)), channel))
        if include_bends and n.bends:
            values = bend_values(n.bends)
            times = np.linspace(n.start, n.end, len(values))
            out_bends.extend(MidiBend(float(t), int(v), channel) for t, v in zip(times, values, strict=True))
            if values[-1] != 0:
                out_bends.append(MidiBend(n.end, 0, channel))
    return out_notes, out_bends


def write_midi_file(path: str | os.PathLike[str], notes: list[NoteEvent], tempo: float = 120.0,
                    multiple_pitch_bends: bool = False, outputs: Outputs | None = None) -> int:
    """Write a standard MIDI file (type 0, 960 ticks per beat) by the rules of :mod:`bridge.fileio`.

    ``outputs`` is the command's output transaction; without one the file is
    placed at once, replacing what was there.

    Returns
    -------
    int
        Number of notes written.
    """
    midi_notes, bends = to_midi_events(notes, multiple_pitch_bends)
    ticks_per_second = TICKS_PER_BEAT * tempo / 60.0

    def tick(t: float) -> int:
        return round(t * ticks_per_second)

    timed: list[tuple[int, int, int, mido.Message]] = []  # (tick, order, seq, message)
    for seq, n in enumerate(midi_notes):
        timed.append((tick(n.start), 2, seq, mido.Message("note_on", note=n.pitch, velocity=n.velocity,
                                                          channel=n.channel)))
        timed.append((max(tick(n.end), tick(n.start) + 1), 0, seq,
                      mido.Message("note_off", note=n.pitch, velocity=0, channel=n.channel)))
    for seq, b in enumerate(bends):
        timed.append((tick(b.time), 1, seq, mido.Message("pitchwheel", pitch=b.value, channel=b.channel)))
    timed.sort(key=lambda e: (e[0], e[1], e[2]))

    track = mido.MidiTrack()
    track.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(tempo), time=0))
    for channel in sorted({n.channel for n in midi_notes}):
        track.append(mido.Message("program_change", program=PROGRAM, channel=channel, time=0))
    now = 0
    for t, _, _, msg in timed:
        track.append(msg.copy(time=t - now))
        now = t
    track.append(mido.MetaMessage("end_of_track", time=0))
    mid = mido.MidiFile(type=0, ticks_per_beat=TICKS_PER_BEAT)
    mid.tracks.append(track)
    buffer = io.BytesIO()
    mid.save(file=buffer)
    if outputs is None:
        write_atomic(Path(path), buffer.getvalue(), "midi")
    else:
        outputs.write_bytes(Path(path), buffer.getvalue(), "midi")
    return len(midi_notes)
