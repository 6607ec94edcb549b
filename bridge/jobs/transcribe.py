"""The transcription job: items of a project in, a ChangeSet of MIDI tracks out.

For each audio item, the audio the item plays is transcribed and a MIDI item
with the notes is placed at the item's position on a new track directly below
the item's track, named ``<track name> (MIDI)``. Items without audio are
reported and skipped; the others still succeed. The job reads the project and
audio only; the returned ChangeSet is applied by a session.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from bridge.audio.item_audio import NoAudioError, describe, plan_item_audio
from bridge.audio.reader import AudioError
from bridge.changes.ops import AddMidiItem, AddTrack, ChangeSet, Note, Op, PitchBend
from bridge.project.items import Item
from bridge.project.tracks import Track
from bridge.transcribe.engine import Transcriber, Transcription
from bridge.transcribe.midi_out import to_midi_events
from bridge.transcribe.notes import NoteEvent, NoteParams


@dataclass
class TranscribeResult:
    """What the job did.

    Attributes
    ----------
    changes : ChangeSet
        Tracks and MIDI items to add (empty when nothing was transcribed).
    done : list of (str, int)
        Item descriptions and note counts.
    skipped : list of str
        Why items were skipped.
    """

    changes: ChangeSet
    done: list[tuple[str, int]] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def _scaled(notes: list[NoteEvent], scale: float, length: float) -> list[NoteEvent]:
    out = []
    for n in notes:
        start, end = n.start * scale, min(n.end * scale, length)
        if start >= length or end <= start:
            continue
        out.append(NoteEvent(start, end, n.pitch, n.amplitude, n.bends))
    return out


def midi_item_op(track_guid: str, item: Item, transcription: Transcription, scale: float, name: str) -> AddMidiItem:
    """An :class:`AddMidiItem` holding a transcription, in item time."""
    notes = _scaled(transcription.notes, scale, item.length)
    midi_notes, bends = to_midi_events(notes, transcription.params.multiple_pitch_bends)
    return AddMidiItem(
        track_guid,
        item.position,
        item.length,
        notes=tuple(Note(n.start, n.end, n.pitch, n.velocity, n.channel) for n in midi_notes),
        pitch_bends=tuple(PitchBend(min(b.time, item.length), b.value, b.channel) for b in bends),
        name=name,
    )


def transcribe_items(items: list[tuple[Track, Item]], request_id: str, params: NoteParams | None = None,
                     transcriber: Transcriber | None = None,
                     progress: Callable[[str, int, int], None] | None = None) -> TranscribeResult:
    """Transcribe project items into a ChangeSet.

    Parameters
    ----------
    items : list of (Track, Item)
        From :meth:`bridge.project.Project.items` or a selection.
    request_id : str
        Id of the ChangeSet (the request that asked for this).
    params : NoteParams, optional
    transcriber : Transcriber, optional
        A warm engine (the daemon's); a new one is loaded otherwise.
    progress : callable, optional
        ``progress(item_description, windows_done, windows_total)``.
    """
    params = params or NoteParams()
    ops: list[Op] = []
    result = TranscribeResult(ChangeSet(request_id))
    new_tracks: dict[str, str] = {}
    engine = transcriber
    for track, item in items:
        where = describe(track, item)
        try:
            plan = plan_item_audio(track, item)
            if engine is None:
                engine = Transcriber()
            report = (lambda d, t, w=where: progress(w, d, t)) if progress else None
            transcription = engine.transcribe_blocks(plan.blocks(), plan.effective_rate, plan.frames, params, report)
        except (NoAudioError, AudioError) as exc:
            result.skipped.append(str(exc))
            continue
        if not transcription.notes:
            result.skipped.append(f"{where}: {transcription.message}")
            continue
        if track.guid not in new_tracks:
            add = AddTrack(f"{track.display_name} (MIDI)", after=track.guid)
            ops.append(add)
            new_tracks[track.guid] = add.guid
        take_name = item.name or track.display_name
        ops.append(midi_item_op(new_tracks[track.guid], item, transcription, plan.time_scale, f"{take_name} (MIDI)"))
        result.done.append((where, len(ops[-1].notes)))  # type: ignore[attr-defined]
    result.changes = ChangeSet(request_id, tuple(ops), f"Transcribe {len(result.done)} item(s) to MIDI")
    return result
