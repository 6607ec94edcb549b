"""The speech job: speech to text with Moonshine base-en, on files or on what project items play.

A plain file's transcript is printed, or written as SRT, VTT, TXT or JSON (by the
output's extension). In a project, each item's audio -- the visible part of its
active take, with its offset, play rate, loop and fades -- is transcribed and every
segment lands, in project time, as one of (``options.as``):

- ``regions`` (default): a region named with the segment's text;
- ``markers``: a project marker at the segment's start;
- ``take-markers``: a take marker on the item's take, at the segment's source position;
- ``notes``: an empty item whose notes are the text, on a new ``<track> (transcript)``
  track right below the item's track (made once, reused after).

With speakers, the text reads ``S1: ...``. Transcribing an item again replaces its
earlier transcript, whatever form it took (see :mod:`bridge.project.made`); no
region, marker or item is ever made without text.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, unquote

import numpy as np

from bridge.audio.item_audio import ItemAudio, NoAudioError, describe, plan_item_audio
from bridge.audio.reader import AudioError
from bridge.changes.ops import (
    AddMarker,
    AddNotesItem,
    AddTakeMarker,
    AddTrack,
    ChangeSet,
    Op,
    RemoveItem,
    RemoveMarker,
    RemoveTakeMarker,
    derived_guid,
)
from bridge.errors import ReabridgeError
from bridge.jobs.result import ItemNote, JobResult, Progress, ProgressFn
from bridge.jobs.work import Work
from bridge.project.items import Item
from bridge.project.made import Made, made_records
from bridge.project.project import norm_guid
from bridge.project.tracks import Track
from bridge.requests.models import SpeechRequest
from bridge.speech.engine import Report, SpeakerOptions, clock
from bridge.speech.transcript import Segment, Transcript
from bridge.speech.vocabulary import Vocabulary
from bridge.speech.writers import format_for, render

JOB = "speech"
TRACK_JOB = "speech-track"  #: records the transcript track made for a source track
TAKE_MARKER = "take-marker"  #: key prefix of a take marker's record (its position and name follow)
NAME_CHARS = 1000  #: region, marker and take marker names are cut (with an ellipsis) past this
LONG = 3600.0  #: seconds: a recording at least this long gets a line on how it went


def _speakers(request: SpeechRequest) -> SpeakerOptions | None:
    o = request.options
    if o.speakers is None:
        return None
    count = None if o.speakers == "auto" else int(o.speakers)
    return SpeakerOptions(count, o.min_speakers, o.max_speakers)


def _vocabulary(request: SpeechRequest) -> Vocabulary | None:
    return Vocabulary.load(Path(request.options.vocabulary)) if request.options.vocabulary else None


def _reporter(progress: ProgressFn, what: str, share: tuple[int, int] = (0, 1)) -> Report:
    done_before, count = share

    def report(done: float, total: float, elapsed: float) -> None:
        fraction = (done_before + (done / total if total else 1.0)) / count
        progress(Progress("transcribing", fraction, f"{what}: {clock(done)} of {clock(total)}, "
                                                    f"{clock(elapsed)} elapsed"))

    return report


def segment_line(segment: Segment) -> str:
    """One segment as the command prints it: ``[0:01.2 - 0:04.5] S1: text``."""
    def stamp(t: float) -> str:
        minutes, seconds = divmod(t, 60.0)
        return f"{int(minutes)}:{seconds:04.1f}"
    return f"[{stamp(segment.start)} - {stamp(segment.end)}] {segment.label()}"


def _notices(transcript: Transcript, where: str = "") -> list[str]:
    notes = []
    if transcript.left_out:
        seconds = sum(b - a for a, b in transcript.left_out)
        spots = ", ".join(f"{clock(a)}-{clock(b)}" for a, b in transcript.left_out[:5])
        more = " ..." if len(transcript.left_out) > 5 else ""
        notes.append(f"{where}left out {len(transcript.left_out)} segment(s) ({seconds:.0f} s: {spots}{more}) that "
                     "did not read as English speech (the model is English-only)")
    for r in transcript.replacements:
        notes.append(f"{where}vocabulary: '{r.heard}' -> '{r.term}' at {clock(r.start)}")
    return notes


def _file(request: SpeechRequest, work: Work, progress: ProgressFn) -> JobResult:
    o = request.options
    audio = Path(o.audio)  # type: ignore[arg-type]
    target = None
    if o.output is not None:
        target = work.outputs.target(Path(o.output), "transcript", "the output")
        format_for(target)
    vocabulary = _vocabulary(request)
    progress(Progress("loading", None, "the speech model"))
    engine = work.engines.speech()
    started = time.monotonic()
    transcript = engine.transcribe_file(audio, vocabulary=vocabulary, speakers=_speakers(request),
                                        report=_reporter(progress, audio.name))
    notices = _notices(transcript)
    if transcript.duration >= LONG:
        notices.append(f"{clock(transcript.duration)} of audio took {clock(time.monotonic() - started)}; it streamed "
                       "phrase by phrase, so memory stayed that of one phrase" + (" (speaker labels keep the whole "
                                                                                  "recording)" if o.speakers else ""))
    files = []
    if target is not None:
        files.append(work.outputs.write_bytes(target, render(transcript, format_for(target)), "transcript"))
    words = len(transcript.text.split())
    summary = (f"{len(transcript.segments)} segment(s), {words} words in {transcript.duration:.1f} s of audio "
               f"({transcript.speech:.1f} s of speech)")
    if target is not None:
        summary += f"; wrote {target}"
    done = [] if target is not None else [ItemNote("", segment_line(s)) for s in transcript.segments]
    return JobResult(JOB, summary, files=files, done=done, notices=notices, data=transcript.to_dict())


# -- project mode ----------------------------------------------------------------------------
def _fade(item: Item, key: str) -> tuple[float, int, float]:
    """An item fade as ``(seconds, shape, curve)``, read as REAPER stores it (``FADEIN``/``FADEOUT``)."""
    values = item.chunk.values(key) or []

    def num(i: int, default: float) -> float:
        try:
            value = float(values[i])
        except (IndexError, ValueError):
            return default
        return value if math.isfinite(value) else default

    seconds = num(2, 0.0) if num(2, 0.0) > 0 else num(1, 0.0)
    return max(0.0, seconds), int(num(0, 0.0)), num(5, 0.0)


def faded_blocks(plan: ItemAudio, item: Item) -> Iterator[np.ndarray]:
    """What the item plays, with its fade-in and fade-out applied (REAPER's curves), block by block."""
    from bridge.render.fades import fade_gain

    fade_in, fade_out = _fade(item, "FADEIN"), _fade(item, "FADEOUT")
    per_second = plan.effective_rate / plan.time_scale  # samples per second of item time
    length = item.length
    at = 0
    for block in plan.blocks():
        n = len(block)
        t0, t1 = at / per_second, (at + n) / per_second
        at += n
        if not ((fade_in[0] > 0 and t0 < fade_in[0]) or (fade_out[0] > 0 and t1 > length - fade_out[0])):
            yield block
            continue
        t = t0 + np.arange(n) / per_second
        gain = np.ones(n)
        if fade_in[0] > 0:
            gain *= np.where(t < fade_in[0], fade_gain(t / fade_in[0], fade_in[1], fade_in[2], False), 1.0)
        if fade_out[0] > 0:
            u = (t - (length - fade_out[0])) / fade_out[0]
            gain *= np.where(u > 0, fade_gain(u, fade_out[1], fade_out[2], True), 1.0)
        yield (block * gain).astype(np.float32)


def _name(text: str) -> str:
    return text if len(text) <= NAME_CHARS else text[:NAME_CHARS - 1].rstrip() + "\u2026"


def _forget_earlier(records: list[Made], item: Item) -> tuple[list[Op], int]:
    """Operations that remove what an earlier transcript of ``item`` made (in any form)."""
    ops: list[Op] = []
    count = 0
    for old in records:
        if old.job != JOB or norm_guid(old.item) != norm_guid(item.guid):
            continue
        if old.key in ("regions", "markers"):
            ops.append(RemoveMarker(old.guid))
        elif old.key == "notes":
            ops.append(RemoveItem(old.guid))
        elif old.key.startswith(TAKE_MARKER + " "):
            _, position, name = old.key.split(" ", 2)
            ops.append(RemoveTakeMarker(item.guid, float(position), unquote(name), old.take))
        ops.append(old.forget())
        count += 1
    return ops, count


def _land(request: SpeechRequest, item: Item, segments: list[Segment], plan: ItemAudio, track_guid: str | None,
          ) -> list[Op]:
    """The operations that put one item's segments into the project."""
    how = request.options.as_ or "regions"
    take = item.active_take
    ops: list[Op] = []
    for n, seg in enumerate(segments):
        label = seg.label()
        if not label.strip():
            continue
        guid = derived_guid(request.id, "speech", item.guid, n)
        if how in ("regions", "markers"):
            op: Op = AddMarker(round(seg.start, 6), _name(label), round(seg.end, 6) if how == "regions" else None,
                               guid=guid)
            ops += [op, Made(guid, JOB, item.guid, None, how).record()]
        elif how == "notes":
            assert track_guid is not None
            op = AddNotesItem(track_guid, round(seg.start, 6), round(max(seg.end - seg.start, 0.01), 6), label,
                              guid=guid)
            ops += [op, Made(guid, JOB, item.guid, None, how).record()]
        else:
            assert take is not None
            source_position = take.start_offset + (seg.start - item.position) * plan.playrate
            position = round(max(0.0, source_position), 6)
            name = _name(label)
            ops.append(AddTakeMarker(item.guid, position, name, take.guid))
            key = f"{TAKE_MARKER} {position!r} {quote(name, safe='')}"
            ops.append(Made(guid, JOB, item.guid, take.guid, key).record())
    return ops


def _item_segments(transcript: Transcript, item: Item, plan: ItemAudio) -> list[Segment]:
    """Segments in project time, inside the item."""
    out = []
    for seg in transcript.segments:
        moved = seg.shifted(item.position, plan.time_scale)
        start, end = max(moved.start, item.position), min(moved.end, item.position + item.length)
        if end > start and seg.text.strip():
            out.append(Segment(start, end, seg.text, seg.speaker, seg.confidence))
    return out


def run(request: SpeechRequest, work: Work, progress: ProgressFn) -> JobResult:
    """Transcribe a file, or the chosen items into regions, markers, take markers or notes items."""
    if work.project is None:
        return _file(request, work, progress)
    how = request.options.as_ or "regions"
    vocabulary = _vocabulary(request)
    speakers = _speakers(request)
    records = made_records(work.project)
    tracks_now = {norm_guid(t.guid) for t in work.project.tracks}
    note_tracks: dict[str, str] = {}
    for m in records:
        if m.job == TRACK_JOB and norm_guid(m.guid) in tracks_now:
            note_tracks.setdefault(norm_guid(m.item), m.guid)
    result = JobResult(JOB)
    ops: list[Op] = []
    replaced = 0
    segments_made = 0
    transcripts: dict[str, dict] = {}  # type: ignore[type-arg]
    progress(Progress("loading", None, "the speech model"))
    engine = work.engines.speech()
    for number, (track, item) in enumerate(work.items):
        where = describe(track, item)
        try:
            plan = plan_item_audio(track, item)
            transcript = engine.transcribe_blocks(
                faded_blocks(plan, item), plan.effective_rate, plan.frames, vocabulary=vocabulary,
                speakers=speakers, report=_reporter(progress, where, (number, len(work.items))))
        except (NoAudioError, AudioError) as exc:
            result.skipped.append(ItemNote.from_error(where, exc, item.guid))
            continue
        except ReabridgeError as exc:
            if len(work.items) == 1 and not isinstance(exc, NoAudioError):
                raise  # one item: its one clear line is the command's
            result.skipped.append(ItemNote(where, str(exc), item.guid))
            continue
        segments = _item_segments(transcript, item, plan)
        if not segments:
            result.skipped.append(ItemNote(where, "no speech in the part of the item that plays", item.guid))
            continue
        result.notices += _notices(transcript, f"{where}: ")
        track_guid = None
        if how == "notes":
            track_guid = _transcript_track(request, track, note_tracks, ops)
        elif how == "take-markers" and item.active_take is None:
            result.skipped.append(ItemNote(where, "has no take to put take markers on", item.guid))
            continue
        removal, count = _forget_earlier(records, item)
        ops += removal
        replaced += count > 0
        landed = _land(request, item, segments, plan, track_guid)
        ops += landed
        segments_made += len(segments)
        result.done.append(ItemNote(where, f"{len(segments)} segment(s): {_preview(segments)}", item.guid))
        transcripts[item.guid] = {**transcript.to_dict(), "segments": [s.to_dict() for s in segments]}
    what = {"regions": "region(s)", "markers": "marker(s)", "take-markers": "take marker(s)",
            "notes": "notes item(s)"}[how]
    result.changes = ChangeSet(request.id, tuple(ops), f"Transcribe speech in {len(result.done)} item(s)",
                               request.created)
    result.summary = f"added {segments_made} {what} from {len(result.done)} item(s)"
    if replaced:
        result.summary += f" (replacing {replaced} earlier transcript(s))"
    result.data = {"items": transcripts}
    return result


def _preview(segments: list[Segment], chars: int = 60) -> str:
    text = " ".join(s.label() for s in segments)
    return text if len(text) <= chars else text[:chars - 1].rstrip() + "\u2026"


def _transcript_track(request: SpeechRequest, track: Track, made: dict[str, str], ops: list[Op]) -> str:
    """The ``<track> (transcript)`` track below ``track``: the one made before, or a new one."""
    source = norm_guid(track.guid)
    if source not in made:
        add = AddTrack(f"{track.display_name} (transcript)", after=track.guid,
                       guid=derived_guid(request.id, "speech-track", track.guid))
        ops += [add, Made(add.guid, TRACK_JOB, track.guid).record()]
        made[source] = add.guid
    return made[source]
