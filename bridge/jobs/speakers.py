"""The speakers job: who speaks when in a file, or in one project item (``split``: a track per speaker).

A file's turns are printed as RTTM lines (``options.output``: an RTTM file), and
``--json`` gives ``segments`` of ``start``, ``end``, ``speaker``. In a project the
item's turns are given in project time; with ``split`` each speaker gets a track
under the item's track, named after the speaker (``S1``...; rename it at will),
holding copies of the item trimmed to that speaker's turns with short fades, and the
original item is muted. Splitting the same item again replaces the copies (the
tracks are kept, so names the user gave them stay; see :mod:`bridge.project.made`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bridge.audio.item_audio import describe, plan_item_audio
from bridge.audio.reader import audio_info, iter_blocks
from bridge.changes.ops import AddItemCopy, AddTrack, ChangeSet, Op, RemoveItem, SetItemMute, derived_guid
from bridge.errors import ReabridgeError
from bridge.jobs.result import ItemNote, JobResult, Progress, ProgressFn
from bridge.jobs.work import Work
from bridge.project.made import Made, made_records
from bridge.project.project import norm_guid
from bridge.requests.models import SpeakersRequest
from bridge.speech.der import rttm_lines
from bridge.speech.speakers import Turn, diarize
from bridge.speech.vad import RATE, stream_16k

COPY_JOB = "speakers"  # records a copy of an item trimmed to one speaker's turns
TRACK_JOB = "speakers-track"  # records the track made for one speaker of an item (key: the label)
EDGE = 0.05  #: seconds of the item kept before and after each turn (inside the fades)
FADE = 0.03  #: fade-in and fade-out of every copy
JOIN = 1.0  #: turns of one speaker closer than this become one copy


def _summary(turns: list[Turn], duration: float) -> str:
    talk: dict[str, float] = {}
    for t in turns:
        talk[t.speaker] = talk.get(t.speaker, 0.0) + t.end - t.start
    each = ", ".join(f"{s} {v:.1f} s" for s, v in talk.items())
    return f"{len(talk)} speaker(s) in {duration:.1f} s: {each} ({len(turns)} turn(s))"


def _segments(turns: list[Turn], shift: float = 0.0, scale: float = 1.0) -> list[dict]:
    return [{"start": round(shift + t.start * scale, 3), "end": round(shift + t.end * scale, 3), "speaker": t.speaker}
            for t in turns]


def _diarize(request: SpeakersRequest, samples16k: np.ndarray, progress: ProgressFn, work: Work) -> list[Turn]:
    o = request.options

    def report(fraction: float) -> None:
        progress(Progress("finding speakers", fraction))

    work.engines.speakers()  # loaded once per process (the daemon's workers keep it); diarize uses that one
    return diarize(samples16k, RATE, speakers=o.count, min_speakers=o.min_speakers, max_speakers=o.max_speakers,
                   progress=report)


def _file(request: SpeakersRequest, work: Work, progress: ProgressFn) -> JobResult:
    o = request.options
    audio = Path(o.audio)  # type: ignore[arg-type]
    info = audio_info(audio)
    progress(Progress("reading", None, audio.name))
    blocks = list(stream_16k(iter_blocks(audio, mono=True), info.sample_rate, info.frames))
    samples = np.concatenate(blocks) if blocks else np.zeros(0, dtype=np.float32)
    turns = _diarize(request, samples, progress, work)
    lines = rttm_lines(((t.start, t.end, t.speaker) for t in turns), audio.stem)
    result = JobResult("speakers", _summary(turns, info.duration))
    result.data = {"duration": round(info.duration, 3), "speakers": len({t.speaker for t in turns}),
                   "segments": _segments(turns)}
    if o.output is not None:
        target = work.outputs.write_bytes(Path(o.output), ("\n".join(lines) + "\n").encode(), "rttm", "the output")
        result.files.append(target)
        result.summary += f"; wrote {target}"
        result.data["output"] = str(target)
    else:
        result.done = [ItemNote("", line) for line in lines]
    return result


def _spans(turns: list[Turn], length: float) -> dict[str, list[tuple[float, float]]]:
    """Per speaker, the parts of the item to copy (item seconds): turns widened by EDGE, close ones joined."""
    out: dict[str, list[tuple[float, float]]] = {}
    for t in turns:
        s, e = max(0.0, t.start - EDGE), min(length, t.end + EDGE)
        spans = out.setdefault(t.speaker, [])
        if spans and s - spans[-1][1] < JOIN:
            spans[-1] = (spans[-1][0], e)
        elif e > s:
            spans.append((s, e))
    return out


def run(request: SpeakersRequest, work: Work, progress: ProgressFn) -> JobResult:
    """Find the speakers of a file, or of one project item (and, with ``split``, give each a track)."""
    progress(Progress("loading", None, "the speaker model"))
    if work.project is None:
        return _file(request, work, progress)
    if len(work.items) != 1:
        raise ReabridgeError(f"speakers works on one item at a time; {len(work.items)} were chosen")
    track, item = work.items[0]
    records = made_records(work.project)
    if any(norm_guid(m.guid) == norm_guid(item.guid) and m.job == COPY_JOB for m in records):
        raise ReabridgeError(f"{describe(track, item)} is one speaker's copy made by a split; "
                             "select the original (muted) item to split it again")
    plan = plan_item_audio(track, item)
    blocks = list(stream_16k(plan.blocks(), plan.effective_rate, plan.frames))
    samples = np.concatenate(blocks) if blocks else np.zeros(0, dtype=np.float32)
    turns = _diarize(request, samples, progress, work)
    scale = plan.time_scale
    in_item = [Turn(min(t.start * scale, item.length), min(t.end * scale, item.length), t.speaker) for t in turns]
    in_item = [t for t in in_item if t.end > t.start]
    result = JobResult("speakers", _summary(in_item, item.length))
    result.data = {"item": item.guid, "duration": round(item.length, 3),
                   "speakers": len({t.speaker for t in in_item}), "segments": _segments(in_item, item.position)}
    if not request.options.split:
        result.done = [ItemNote(describe(track, item), f"{t.start + item.position:.2f}-{t.end + item.position:.2f} s "
                                                       f"{t.speaker}", item.guid) for t in in_item]
        return result
    ops: list[Op] = []
    tracks_now = {norm_guid(t.guid) for t in work.project.tracks}
    speaker_tracks: dict[str, str] = {}
    for m in records:
        if m.same_source(TRACK_JOB, item.guid, m.key) and norm_guid(m.guid) in tracks_now:
            speaker_tracks.setdefault(m.key, m.guid)
    replaced = 0
    for m in records:
        if m.same_source(COPY_JOB, item.guid, m.key):
            ops += [RemoveItem(m.guid), m.forget()]
            replaced += 1
    spans = _spans(in_item, item.length)
    after = track.guid
    for label in sorted(speaker_tracks, key=_label_order):
        after = speaker_tracks[label]
    copies = 0
    for label, parts in spans.items():
        if label not in speaker_tracks:
            add = AddTrack(label, after=after, guid=derived_guid(request.id, "speaker-track", item.guid, label))
            ops += [add, Made(add.guid, TRACK_JOB, item.guid, None, label).record()]
            speaker_tracks[label] = after = add.guid
        for number, (s, e) in enumerate(parts):
            copy = AddItemCopy(item.guid, speaker_tracks[label], item.position + s, e - s, offset=s,
                               fade_in=min(FADE, (e - s) / 2), fade_out=min(FADE, (e - s) / 2),
                               name=f"{item.name} ({label})" if item.name else label,
                               guid=derived_guid(request.id, "speaker-copy", item.guid, label, number))
            ops += [copy, Made(copy.guid, COPY_JOB, item.guid, None, label).record()]
            copies += 1
        result.done.append(ItemNote(describe(track, item), f"{label}: {len(parts)} part(s), "
                                    f"{sum(e - s for s, e in parts):.1f} s", item.guid))
    ops.append(SetItemMute(item.guid, True))
    unused = sorted(set(speaker_tracks) - set(spans), key=_label_order)
    if unused:
        result.notices.append(f"track(s) of {', '.join(unused)} from an earlier split have no turns now; "
                              "delete them if you do not need them")
    result.changes = ChangeSet(request.id, tuple(ops), f"Split item by speaker ({len(spans)} speakers)",
                               request.created)
    result.summary += f"; {copies} cop{'y' if copies == 1 else 'ies'} on {len(spans)} speaker track(s), original muted"
    if replaced:
        result.summary += f" (replacing {replaced} earlier cop{'y' if replaced == 1 else 'ies'})"
    return result


def _label_order(label: str) -> tuple[int, str]:
    digits = label[1:]
    return (int(digits), label) if label.startswith("S") and digits.isdigit() else (10**6, label)
