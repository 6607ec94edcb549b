"""The transcription job: audio to MIDI with basic-pitch.

A plain file becomes a standard MIDI file. In a project, each audio item's
sound (what the item plays) becomes a MIDI item at the item's position on a
track directly below the item's track, named ``<track name> (MIDI)`` (made the
first time, reused after). Transcribing an item again replaces its earlier MIDI
item (see :mod:`bridge.project.made`). Items without audio are reported and
skipped; the others still succeed. The job reads the project and audio only;
``run_request`` applies the ChangeSet.
"""

from __future__ import annotations

from pathlib import Path

from bridge.audio.item_audio import NoAudioError, describe, plan_item_audio
from bridge.audio.reader import AudioError
from bridge.changes.ops import AddMidiItem, AddTrack, ChangeSet, Note, Op, PitchBend, RemoveItem, derived_guid
from bridge.jobs.result import ItemNote, JobResult, Progress, ProgressFn
from bridge.jobs.work import Work
from bridge.project.items import Item
from bridge.project.made import Made, made_records
from bridge.project.project import norm_guid
from bridge.requests.models import TranscribeRequest
from bridge.transcribe.engine import Transcription
from bridge.transcribe.midi_out import to_midi_events, write_midi_file
from bridge.transcribe.notes import NoteEvent, NoteParams

TRACK_JOB = "transcribe-track"  # records the MIDI track made for a source track


def note_params(request: TranscribeRequest) -> NoteParams:
    """basic-pitch's parameters from the request's options."""
    o = request.options
    return NoteParams(o.onset_threshold, o.frame_threshold, o.minimum_note_length, o.minimum_frequency,
                      o.maximum_frequency, o.multiple_pitch_bends, o.melodia_trick, o.midi_tempo)


def _scaled(notes: list[NoteEvent], scale: float, length: float) -> list[NoteEvent]:
    out = []
    for n in notes:
        start, end = n.start * scale, min(n.end * scale, length)
        if start >= length or end <= start:
            continue
        out.append(NoteEvent(start, end, n.pitch, n.amplitude, n.bends))
    return out


def midi_item_op(track_guid: str, item: Item, transcription: Transcription, scale: float, name: str,
                 guid: str) -> AddMidiItem:
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
        guid=guid,
    )


def _file(request: TranscribeRequest, work: Work, params: NoteParams, progress: ProgressFn) -> JobResult:
    audio = Path(request.options.audio)  # type: ignore[arg-type]
    target = work.outputs.target(Path(request.options.output) if request.options.output
                                 else audio.with_suffix(".mid"), "midi", "the output")

    def report(done: int, total: int) -> None:
        progress(Progress("transcribing", done / total if total else None, audio.name))

    result = work.engines.transcriber().transcribe_file(audio, params, report)
    count = write_midi_file(target, result.notes, params.midi_tempo, params.multiple_pitch_bends, work.outputs)
    return JobResult("transcribe", f"{result.message}; wrote {count} notes to {target}", files=[target],
                     done=[ItemNote(audio.name, f"{count} notes")],
                     data={"notes": count, "duration": round(result.duration, 3), "output": str(target)})


def run(request: TranscribeRequest, work: Work, progress: ProgressFn) -> JobResult:
    """Transcribe a file to a ``.mid``, or the chosen items into MIDI items on new tracks."""
    params = note_params(request)
    if work.project is None:
        return _file(request, work, params, progress)
    ops: list[Op] = []
    result = JobResult("transcribe")
    records = made_records(work.project)
    tracks_now = {norm_guid(t.guid) for t in work.project.tracks}
    midi_tracks: dict[str, str] = {}  # source track -> its MIDI track
    for m in records:
        if m.job == TRACK_JOB and norm_guid(m.guid) in tracks_now:
            midi_tracks.setdefault(norm_guid(m.item), m.guid)
    replaced = 0
    for number, (track, item) in enumerate(work.items, start=1):
        where = describe(track, item)
        try:
            plan = plan_item_audio(track, item)
            engine = work.engines.transcriber()

            def report(done: int, total: int, w: str = where, n: int = number) -> None:
                share = (n - 1 + (done / total if total else 0)) / len(work.items)
                progress(Progress("transcribing", share, w))

            transcription = engine.transcribe_blocks(plan.blocks(), plan.effective_rate, plan.frames, params, report)
        except (NoAudioError, AudioError) as exc:
            result.skipped.append(ItemNote.from_error(where, exc, item.guid))
            continue
        if not transcription.notes:
            result.skipped.append(ItemNote(where, transcription.message, item.guid))
            continue
        source = norm_guid(track.guid)
        if source not in midi_tracks:
            add = AddTrack(f"{track.display_name} (MIDI)", after=track.guid,
                           guid=derived_guid(request.id, "track", track.guid))
            ops += [add, Made(add.guid, TRACK_JOB, track.guid).record()]
            midi_tracks[source] = add.guid
        for old in records:
            if old.same_source("transcribe", item.guid):
                ops += [RemoveItem(old.guid), old.forget()]
                replaced += 1
        take_name = item.name or track.display_name
        op = midi_item_op(midi_tracks[source], item, transcription, plan.time_scale, f"{take_name} (MIDI)",
                          derived_guid(request.id, "midi", item.guid))
        ops += [op, Made(op.guid, "transcribe", item.guid).record()]
        result.done.append(ItemNote(where, f"{len(op.notes)} notes", item.guid))
    tracks = sum(1 for op in ops if isinstance(op, AddTrack))
    result.changes = ChangeSet(request.id, tuple(ops), f"Transcribe {len(result.done)} item(s) to MIDI",
                               request.created)
    result.summary = f"added {tracks} MIDI track(s) with {len(result.done)} item(s)" if tracks else \
        f"added {len(result.done)} MIDI item(s) to the existing MIDI track(s)"
    if replaced:
        result.summary += f" (replacing {replaced} earlier transcription(s))"
    result.data = {"notes": {n.item: int(n.message.split()[0]) for n in result.done}}
    return result
