"""The stems job: a file into ``vocals.wav`` and ``accompaniment.wav``, or items onto two new tracks.

A file is split into a folder (``output``; default ``AUDIO-stems`` beside the file) at the
input's rate, channels and length. In a project, what each chosen item's active take plays is
split into two files in the recording folder, and each becomes an item at the item's position
and length on a track under the item's track: ``Vocals (split)`` and ``Accompaniment (split)``
(made once per track and reused by every item of that track). The original item is muted,
never deleted. Splitting an item again replaces its stem items (the tracks, and any name the
user gave them, stay; see :mod:`bridge.project.made`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path

from bridge.audio.item_audio import NoAudioError, describe, plan_item_audio
from bridge.audio.reader import AudioError, audio_info
from bridge.audio.sink import FileSink, choose_subtype
from bridge.audio.source import AudioSource
from bridge.changes.ops import AddAudioItem, AddTrack, ChangeSet, Op, RemoveItem, SetItemMute, derived_guid
from bridge.errors import ReabridgeError
from bridge.jobs.result import ItemNote, JobResult, Progress, ProgressFn
from bridge.jobs.takes import media_folder, safe_name, unique_path
from bridge.jobs.work import Work
from bridge.project.made import Made, made_records
from bridge.project.project import norm_guid
from bridge.requests.models import StemsRequest
from bridge.stems.split import SplitReport, StemsError, check_channels, shared_net, split_to_sinks
from bridge.stems.weights import StemsModelError

JOB = "stems"  #: records a stem item (key: the stem) made from an item
TRACK_JOB = "stems-track"  #: records a stems track (its "item" is the source *track*'s GUID; key: the stem)
STEMS = ("vocals", "accompaniment")
TRACK_NAMES = {"vocals": "Vocals (split)", "accompaniment": "Accompaniment (split)"}


def _progress(progress: ProgressFn, where: str, share: tuple[int, int] = (0, 1)):  # type: ignore[no-untyped-def]
    index, count = share

    def show(fraction: float) -> None:
        progress(Progress("separating", (index + min(1.0, fraction)) / count, where))

    return show


def _line(report: SplitReport, rate: float, channels: int) -> str:
    return (f"{report.frames / rate:.2f} s, {channels} ch, {rate:g} Hz; vocals {_db(report.vocals_rms)}, "
            f"accompaniment {_db(report.accompaniment_rms)} RMS")


def _db(rms: float) -> str:
    import math

    return f"{20 * math.log10(rms):.1f} dBFS" if rms > 0 else "silent"


def _split(source: AudioSource, targets: dict[str, Path], subtype: str, work: Work,
           show: Callable[[float], None], name: str) -> SplitReport:
    with FileSink(targets["vocals"], source.rate, source.channels, subtype, outputs=work.outputs,
                  source="the vocal stem") as vocals, \
            FileSink(targets["accompaniment"], source.rate, source.channels, subtype, outputs=work.outputs,
                     source="the accompaniment stem") as accompaniment:
        return split_to_sinks(source, vocals, accompaniment, net=shared_net(), progress=show,
                              name=name)


def _file(request: StemsRequest, work: Work, progress: ProgressFn) -> JobResult:
    o = request.options
    audio = Path(o.audio)  # type: ignore[arg-type]
    info = audio_info(audio)
    check_channels(info.channels, audio.name)
    wanted = Path(o.output) if o.output else audio.with_name(f"{audio.stem}-stems")
    made = not wanted.exists()
    folder = work.outputs.make_folder(wanted, "the output folder")
    try:
        targets = {stem: work.outputs.target(folder / f"{stem}.wav", "audio", f"the {stem} stem") for stem in STEMS}
        progress(Progress("loading", None, "Spleeter's 2-stem model"))
        shared_net()
        source = AudioSource.from_file(audio)
        report = _split(source, targets, choose_subtype(info.subtype, o.format), work,
                        _progress(progress, audio.name), audio.name)
    except BaseException:
        if made:  # a folder this run made is not left behind empty
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise
    result = JobResult(JOB, f"wrote {targets['vocals']} and {targets['accompaniment'].name} "
                            f"({_line(report, source.rate, source.channels)})",
                       files=[targets["vocals"], targets["accompaniment"]])
    result.data = {"vocals": str(targets["vocals"]), "accompaniment": str(targets["accompaniment"]),
                   "duration": round(report.frames / source.rate, 3), "sample_rate": int(source.rate),
                   "channels": source.channels, "segments": report.segments}
    return result


def run(request: StemsRequest, work: Work, progress: ProgressFn) -> JobResult:
    """Split a file, or each chosen item onto ``Vocals (split)`` / ``Accompaniment (split)`` tracks."""
    try:
        if work.project is None:
            return _file(request, work, progress)
        return _items(request, work, progress)
    except StemsModelError:
        raise
    except StemsError as exc:
        raise ReabridgeError(str(exc)) from None


def _items(request: StemsRequest, work: Work, progress: ProgressFn) -> JobResult:
    assert work.project is not None
    project = work.project
    records = made_records(project)
    made_items = {norm_guid(m.guid) for m in records if m.job == JOB}
    tracks_now = {norm_guid(t.guid) for t in project.tracks}
    stem_tracks: dict[str, dict[str, str]] = {}  # source track -> stem -> track GUID
    for m in records:
        if m.job == TRACK_JOB and m.key in STEMS and norm_guid(m.guid) in tracks_now:
            stem_tracks.setdefault(norm_guid(m.item), {}).setdefault(m.key, m.guid)
    result = JobResult(JOB)
    ops: list[Op] = []
    subtype_fmt = request.options.format
    progress(Progress("loading", None, "Spleeter's 2-stem model"))
    shared_net()
    split = 0
    for number, (track, item) in enumerate(work.items):
        where = describe(track, item)
        if norm_guid(item.guid) in made_items:
            result.skipped.append(ItemNote(where, "is a stem made by an earlier split; select the original (muted) "
                                                  "item to split it again", item.guid))
            continue
        try:
            plan = plan_item_audio(track, item)
            if plan.preserve_pitch and abs(plan.playrate - 1.0) > 1e-9:
                raise NoAudioError(f"{where} plays at rate {plan.playrate:g} with pitch preserved; set its rate to "
                                   "1 (or glue it) before splitting")
            check_channels(plan.info.channels, where)
            source = AudioSource.from_item(plan)
            folder = work.outputs.make_folder(media_folder(project), "the recording folder")
            base = f"{safe_name(Path(plan.path).stem)}"
            targets = {stem: work.outputs.target(unique_path(folder, f"{base}-{stem}"), "audio", f"the {stem} stem")
                       for stem in STEMS}
            report = _split(source, targets, choose_subtype(plan.info.subtype, subtype_fmt), work,
                            _progress(progress, where, (number, len(work.items))), where)
        except (NoAudioError, AudioError, StemsError) as exc:
            result.skipped.append(ItemNote.from_error(where, exc, item.guid))
            continue
        result.files += [targets["vocals"], targets["accompaniment"]]
        for m in records:
            if m.job == JOB and norm_guid(m.item) == norm_guid(item.guid):
                ops += [RemoveItem(m.guid), m.forget()]
        tracks = stem_tracks.setdefault(norm_guid(track.guid), {})
        after = track.guid
        for stem in STEMS:
            if stem not in tracks:
                add = AddTrack(TRACK_NAMES[stem], after=after,
                               guid=derived_guid(request.id, "stems-track", track.guid, stem))
                ops += [add, Made(add.guid, TRACK_JOB, track.guid, None, stem).record()]
                tracks[stem] = add.guid
            after = tracks[stem]
            new = AddAudioItem(tracks[stem], str(targets[stem]), item.position, item.length,
                               name=f"{item.name} ({stem})" if item.name else stem.capitalize(),
                               guid=derived_guid(request.id, "stems-item", item.guid, stem))
            take = item.active_take
            ops += [new, Made(new.guid, JOB, item.guid, take.guid if take else None, stem).record()]
        ops.append(SetItemMute(item.guid, True))
        split += 1
        result.done.append(ItemNote(where, f"{_line(report, source.rate, source.channels)} -> "
                                           f"{targets['vocals'].name}, {targets['accompaniment'].name}", item.guid))
    if split:
        result.changes = ChangeSet(request.id, tuple(ops), f"Split {split} item(s) into vocals and accompaniment",
                                   request.created)
    result.summary = f"split {split} item(s) into vocals and accompaniment; original(s) muted"
    return result
