"""The clean-up job: a file to a cleaned file, or each chosen item into a new active take ``Cleaned (...)``.

For each audio item, exactly what the item plays is cleaned into a new file in the
project's recording folder (the source is never touched) and added as the item's
active take, named after the stages (``Cleaned (dehum, declick, denoise)``). Running
it again replaces that take and starts from the original take, never from its own
earlier result (:func:`bridge.project.made.source_take`). ``preview`` cleans the first
seconds of the first item (or file) into ``output`` and changes nothing.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from bridge.audio.item_audio import NoAudioError, describe, plan_item_audio
from bridge.audio.reader import AudioError, audio_info
from bridge.audio.sink import FileSink, choose_subtype
from bridge.audio.source import AudioSource
from bridge.changes.ops import AddAudioTake, ChangeSet, Op
from bridge.clean.chain import CleanError, CleanReport, Settings, clean_to_sink, head, learn_profile
from bridge.errors import ReabridgeError
from bridge.jobs.result import ItemNote, JobResult, Progress, ProgressFn
from bridge.jobs.takes import media_folder, rendered_take, replace_take, safe_name, take_file
from bridge.jobs.work import Work
from bridge.master.loudness import LoudnessError
from bridge.project.made import made_records, source_take
from bridge.requests.models import CleanOptions, CleanRequest

JOB = "clean"


def settings_for(options: CleanOptions, time_scale: float = 1.0) -> Settings:
    """The chain's settings from a request's options (``noise_from`` in item time becomes stream time)."""
    noise = (options.noise_from[0] / time_scale, options.noise_from[1] / time_scale) \
        if options.noise_from is not None else None
    return Settings(options.denoise, options.strength, options.dehum, options.declick, options.dereverb,
                    options.loudness, noise)


def take_name(options: CleanOptions) -> str:
    """``Cleaned (denoise, dehum)``: the stages, in the order the issue's users read them."""
    named = [s for s in ("denoise", "dehum", "declick", "dereverb", "loudness") if s in options.stage_names]
    return f"Cleaned ({', '.join(named)})"


def _subtype(info_subtype: str, notices: list[str], name: str) -> str:
    if info_subtype in ("PCM_U8", "PCM_S8"):
        notices.append(f"{name} is 8-bit; the cleaned audio is written as 16-bit (8 bits would add back a noise "
                       "floor at -48 dBFS)")
        return "PCM_16"
    return choose_subtype(info_subtype, None)


def _rate_notice(rate: int, options: CleanOptions, notices: list[str], name: str) -> None:
    if rate > 48000 and options.denoise == "voice":
        notices.append(f"{name} is at {rate / 1000:g} kHz; RNNoise hears up to 24 kHz, so above that the noise is "
                       "lowered by the full strength")


def _progress(progress: ProgressFn, where: str, share: tuple[int, int] = (0, 1)):  # type: ignore[no-untyped-def]
    index, count = share

    def show(stage: str, fraction: float) -> None:
        progress(Progress(stage, (index + min(1.0, fraction)) / count, where))

    return show


def _summary_line(report: CleanReport) -> str:
    f = report.figures()
    parts = [f"noise floor {f['noise_floor_dbfs']['before']:.1f} -> {f['noise_floor_dbfs']['after']:.1f} dBFS"]
    if report.hum is not None:
        parts.append(f"hum {report.hum.f0:.2f} Hz ({len(report.hum.harmonics)} harmonics) removed")
    elif "dehum" in report.stages:
        parts.append("no hum found")
    if "declick" in report.stages:
        parts.append(f"{report.clicks} click(s) repaired")
    if report.loudness:
        parts.append(f"{report.loudness['after_lufs']:.2f} LUFS, {report.loudness['true_peak_dbtp']:.2f} dBTP")
    return ", ".join(parts)


def _data(report: CleanReport) -> dict[str, object]:
    figures = report.figures()
    return {k: figures[k] for k in ("stages", "noise_floor_dbfs", "snr_estimate_db", "hum", "clicks_repaired",
                                    "reverberation_decay_s", "loudness")}


def _file(request: CleanRequest, work: Work, progress: ProgressFn) -> JobResult:
    from bridge.clean.report import write_report

    o = request.options
    audio = Path(o.audio)  # type: ignore[arg-type]
    info = audio_info(audio)
    default = audio.with_name(f"{audio.stem}-clean{'-preview' if o.preview else ''}.wav")
    target = work.outputs.target(Path(o.output) if o.output else default, "audio", "the output")
    notices: list[str] = []
    subtype = _subtype(info.subtype, notices, audio.name)
    _rate_notice(info.sample_rate, o, notices, audio.name)
    source = AudioSource.from_file(audio)
    if o.preview is not None:
        source = head(source, o.preview)
    with FileSink(target, source.rate, source.channels, subtype, outputs=work.outputs, source="the clean-up") as sink:
        report = clean_to_sink(source, settings_for(o), sink, _progress(progress, audio.name), scratch=target.parent)
    result = JobResult(JOB, f"{_summary_line(report)}; wrote {target} ({info.channels} ch, {info.sample_rate} Hz, "
                            f"{source.frames / source.rate:.2f} s)", files=[target], notices=notices,
                       data={**_data(report), "output": str(target)})
    if o.report is not None:
        json_path, png_path = write_report(report, Path(o.report), str(audio), str(target), work.outputs)
        result.files += [json_path, png_path]
        result.done.append(ItemNote("report", f"{json_path}, {png_path}"))
    return result


def _noise_profile(request: CleanRequest, work: Work, rate: float) -> object:
    guid = request.options.noise_item
    if guid is None:
        return None
    assert work.project is not None
    try:
        track, item = work.project.find_item(guid)
    except KeyError:
        raise ReabridgeError(f"no item with GUID {guid} in the project (--noise-item: the item holding the noise "
                             "alone)") from None
    plan = plan_item_audio(track, item)
    return learn_profile(AudioSource.from_item(plan), rate)


def run(request: CleanRequest, work: Work, progress: ProgressFn) -> JobResult:
    """Clean a file, or each chosen item into a new active take (``preview``: the first item's start, to a file)."""
    from bridge.clean.report import write_report

    o = request.options
    if work.project is None:
        return _file(request, work, progress)
    records = made_records(work.project)
    result = JobResult(JOB)
    ops: list[Op] = []
    figures = {}
    name = take_name(o)
    report_dir = Path(o.report) if o.report else None
    items = work.items[:1] if o.preview is not None else work.items
    for number, (track, item) in enumerate(items):
        where = describe(track, item)
        take, note = source_take(item, JOB, records)
        if note:
            result.notices.append(f"{where}: {note}")
        try:
            plan = plan_item_audio(track, item, take)
            source = AudioSource.from_item(plan)
            settings = settings_for(o, plan.time_scale)
            profile = _noise_profile(request, work, source.rate)
            if profile is not None:
                settings = replace(settings, noise_profile=profile)
            notices: list[str] = []
            subtype = _subtype(plan.info.subtype, notices, plan.path.name)
            _rate_notice(plan.info.sample_rate, o, notices, plan.path.name)
            if o.preview is not None:
                source = head(source, o.preview)
                folder = work.outputs.make_folder(media_folder(work.project), "the recording folder")
                target = work.outputs.target(Path(o.output) if o.output else
                                             folder / f"{safe_name(plan.path.stem)}-clean-preview.wav", "audio",
                                             "the preview")
            else:
                target = work.outputs.target(take_file(work.project, plan, "clean", work.outputs), "audio",
                                             "the cleaned take")
            with FileSink(target, source.rate, source.channels, subtype, outputs=work.outputs,
                          source="the clean-up") as sink:
                report = clean_to_sink(source, settings, sink, _progress(progress, where, (number, len(items))),
                                       scratch=target.parent)
        except (NoAudioError, AudioError, CleanError, LoudnessError) as exc:
            result.skipped.append(ItemNote.from_error(where, exc, item.guid))
            continue
        result.notices.extend(f"{where}: {n}" for n in notices)
        result.files.append(target)
        if report_dir is not None:
            result.files += write_report(report, report_dir / target.stem, str(plan.path), str(target),
                                         work.outputs)
        result.done.append(ItemNote(where, f"{_summary_line(report)} -> {target.name}", item.guid))
        figures[item.guid] = _data(report)
        if o.preview is None:
            ops += replace_take(records, JOB, item, "", rendered_take(item, plan, target, name, request.id), take)
    if o.preview is not None:
        result.summary = f"preview of the first {o.preview:g} s written to {result.files[0]}" if result.files else ""
        result.data = {"items": figures, "preview": str(result.files[0]) if result.files else None}
        return result
    takes = sum(isinstance(op, AddAudioTake) for op in ops)
    result.changes = ChangeSet(request.id, tuple(ops), f"Clean up {takes} item(s)", request.created)
    result.summary = f"added {takes} take(s) '{name}'"
    result.data = {"items": figures}
    return result
