"""The mastering job: a mix file, or what project items play (a rendered mix), to a loudness target."""

from __future__ import annotations

from pathlib import Path

from bridge.audio.item_audio import NoAudioError, describe, plan_item_audio
from bridge.audio.reader import AudioError, audio_info
from bridge.audio.sink import FileSink, choose_subtype
from bridge.audio.source import AudioSource
from bridge.changes.ops import AddAudioTake, ChangeSet, Op
from bridge.jobs.result import ItemNote, JobResult, Progress, ProgressFn
from bridge.jobs.takes import rendered_take, replace_take, take_file
from bridge.jobs.work import Work
from bridge.master.engine import MasterResult, master_source
from bridge.master.loudness import LoudnessError
from bridge.master.presets import Preset, load_preset, load_preset_file
from bridge.project.made import made_records, source_take
from bridge.requests.models import MasterJsfxOptions, MasterOptions, MasterRequest


def chosen_preset(options: MasterOptions | MasterJsfxOptions) -> Preset:
    """The request's preset (bundled by name, or a file; ``streaming`` by default) with its target overrides."""
    if options.preset_file is not None:
        preset = load_preset_file(Path(options.preset_file))
    else:
        preset = load_preset(options.preset or "streaming")
    return preset.with_targets(options.target_lufs, options.ceiling)


def _reporter(progress: ProgressFn, share: tuple[int, int] = (0, 1)):  # type: ignore[no-untyped-def]
    index, count = share

    def show(stage: str, fraction: float) -> None:
        if stage.startswith("pass"):
            progress(Progress("verifying", None, stage))
        else:
            progress(Progress(stage, (index + fraction) / count))

    return show


def _figures(result: MasterResult) -> dict[str, float]:
    return {"before_lufs": round(result.before.integrated, 2), "after_lufs": round(result.after.integrated, 2),
            "true_peak_dbtp": round(result.after.true_peak, 2), "target_lufs": result.preset.lufs,
            "ceiling_dbtp": result.preset.true_peak}


def _file(request: MasterRequest, work: Work, preset: Preset, progress: ProgressFn) -> JobResult:
    from bridge.master.report import write_report

    o = request.options
    mix = Path(o.mix)  # type: ignore[arg-type]
    source = AudioSource.from_file(mix)
    target = work.outputs.target(Path(o.output) if o.output else mix.with_name(f"{mix.stem}-master.wav"), "audio",
                                 "the output")
    ref = AudioSource.from_file(Path(o.reference), source.rate) if o.reference is not None else None
    subtype = choose_subtype(audio_info(mix).subtype, o.format)
    with FileSink(target, source.rate, source.channels, subtype, o.sample_rate, strict=o.format is not None,
                  outputs=work.outputs, source="the master") as sink:
        result = master_source(source, preset, sink, _reporter(progress), ref, keep_target=o.target_lufs is not None,
                               scratch=target.parent)
    chosen = result.preset
    summary = (f"{result.before.integrated:.2f} LUFS -> {result.after.integrated:.2f} LUFS (target "
               f"{chosen.lufs:.2f}), true peak {result.after.true_peak:.2f} dBTP (ceiling {chosen.true_peak:g}); "
               f"wrote {target} ({sink.subtype}, {sink.rate} Hz)")
    out = JobResult("master", summary, files=[target], notices=list(result.warnings),
                    data={**_figures(result), "output": str(target)})
    if o.report is not None:
        json_path, png_path = write_report(result, Path(o.report), str(mix), str(target), work.outputs)
        out.files += [json_path, png_path]
        out.done.append(ItemNote("report", f"{json_path}, {png_path}"))
    return out


def run(request: MasterRequest, work: Work, progress: ProgressFn) -> JobResult:
    """Master a mix file, or each chosen item into a new active take named ``Master (<preset>)``."""
    from bridge.master.report import write_report

    preset = chosen_preset(request.options)
    if work.project is None:
        return _file(request, work, preset, progress)
    report = Path(request.options.report) if request.options.report else None
    ops: list[Op] = []
    result = JobResult("master")
    figures = {}
    records = made_records(work.project)
    for number, (track, item) in enumerate(work.items):
        where = describe(track, item)
        take, note = source_take(item, "master", records)
        if note:
            result.notices.append(f"{where}: {note}")
        try:
            plan = plan_item_audio(track, item, take)
            target = take_file(work.project, plan, f"master-{preset.name}", work.outputs)
            subtype = choose_subtype(plan.info.subtype, None)
            with FileSink(target, plan.info.sample_rate, plan.info.channels, subtype, outputs=work.outputs,
                          source="the master") as sink:
                mastered = master_source(AudioSource.from_item(plan), preset, sink,
                                         _reporter(progress, (number, len(work.items))), scratch=target.parent)
        except (NoAudioError, AudioError, LoudnessError) as exc:
            result.skipped.append(ItemNote.from_error(where, exc, item.guid))
            continue
        result.files.append(target)
        if report is not None:
            result.files += write_report(mastered, report / target.stem, str(plan.path), str(target), work.outputs)
        result.notices.extend(f"{where}: {w}" for w in mastered.warnings)
        result.done.append(ItemNote(where, f"{mastered.before.integrated:.2f} -> {mastered.after.integrated:.2f} "
                                           f"LUFS, {mastered.after.true_peak:.2f} dBTP -> {target.name}", item.guid))
        figures[item.guid] = _figures(mastered)
        ops += replace_take(records, "master", item, preset.name,
                            rendered_take(item, plan, target, f"Master ({preset.name})", request.id), take)
    takes = sum(isinstance(op, AddAudioTake) for op in ops)
    result.changes = ChangeSet(request.id, tuple(ops), f"Master {takes} item(s) with {preset.name}", request.created)
    result.summary = f"added {takes} take(s) 'Master ({preset.name})'"
    result.data = {"items": figures}
    return result
