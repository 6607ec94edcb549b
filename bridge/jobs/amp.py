"""The amp job: a DI file, or project items, through a Neural Amp Modeler capture.

For each audio item, exactly what the item plays is rendered through the
capture into a new file in the project's recording folder (the source is never
touched) and added to the item as a new active take named after the capture
(see :mod:`bridge.jobs.takes` for playrates).
"""

from __future__ import annotations

from pathlib import Path

from bridge.amp.render import AmpRenderer, RenderReport, input_gain_for_level
from bridge.audio.item_audio import NoAudioError, describe, plan_item_audio
from bridge.audio.reader import AudioError
from bridge.audio.resample import resampled_length
from bridge.audio.sink import SUBTYPES
from bridge.changes.ops import AddAudioTake, ChangeSet, Op
from bridge.jobs.result import ItemNote, JobResult, Progress, ProgressFn
from bridge.jobs.takes import rendered_take, replace_take, take_file
from bridge.jobs.work import Work
from bridge.project.made import made_records, source_take
from bridge.requests.models import AmpRenderRequest


def _clip_notice(report: RenderReport) -> list[str]:
    if not report.clipped:
        return []
    return [f"{report.clipped} samples went past full scale and were clipped in the integer file; "
            "use the default 32-bit float or --normalize"]


def _file(request: AmpRenderRequest, work: Work, renderer: AmpRenderer, gain_db: float,
          progress: ProgressFn) -> JobResult:
    o = request.options
    audio, model = Path(o.audio), Path(o.model)  # type: ignore[arg-type]
    target = work.outputs.target(Path(o.output) if o.output else audio.with_name(f"{audio.stem}-{model.stem}.wav"),
                                 "audio", "the output")
    name = renderer.model.name
    report = renderer.render_file(audio, target, gain_db, o.normalize, SUBTYPES[o.format],
                                  progress=lambda d, t: progress(Progress("rendering", d / t if t else None,
                                                                          f"{audio.name} through {name}")),
                                  outputs=work.outputs)
    latency = (f"; the capture's own latency is {report.model_latency} samples (not compensated)"
               if report.model_latency else "")
    summary = (f"wrote {target} ({report.frames / report.sample_rate:.1f} s, {report.channels} ch, "
               f"{report.sample_rate} Hz; capture runs at {report.model_rate:g} Hz; input gain "
               f"{report.input_gain_db:+.1f} dB, output gain {report.output_gain_db:+.1f} dB{latency})")
    return JobResult("amp_render", summary, files=[target], notices=_clip_notice(report),
                     data={"output": str(target), "clipped": report.clipped, "input_gain_db": report.input_gain_db,
                           "output_gain_db": report.output_gain_db})


def run(request: AmpRenderRequest, work: Work, progress: ProgressFn) -> JobResult:
    """Render a DI file, or each chosen item as a new active take."""
    o = request.options
    model, renderer = work.engines.capture(Path(o.model), o.size)
    notices = []
    if o.size != 1.0 and not model.submodels:
        notices.append(f"{Path(o.model).name} has one size only (it is not a slimmable capture); --size ignored")
    if o.input_level is not None and model.input_level_dbu is None:
        notices.append(f"{Path(o.model).name} does not record its input level; --input-level ignored")
    gain_db = o.gain + input_gain_for_level(model, o.input_level)
    if work.project is None:
        result = _file(request, work, renderer, gain_db, progress)
        result.notices[:0] = notices
        return result
    ops: list[Op] = []
    result = JobResult("amp_render", notices=notices)
    gain = 10 ** (gain_db / 20)
    records = made_records(work.project)
    key = model.name
    for number, (track, item) in enumerate(work.items, start=1):
        where = describe(track, item)
        take, note = source_take(item, "amp_render", records)
        if note:
            result.notices.append(f"{where}: {note}")
        try:
            plan = plan_item_audio(track, item, take)
        except (NoAudioError, AudioError) as exc:
            result.skipped.append(ItemNote.from_error(where, exc, item.guid))
            continue
        out_rate = plan.info.sample_rate
        frames = resampled_length(plan.frames, plan.effective_rate, out_rate)
        streams = [renderer.render_channel(plan.blocks(ch), plan.effective_rate, plan.frames, gain, out_rate)
                   for ch in range(plan.info.channels)]
        target = work.outputs.target(take_file(work.project, plan, model.name, work.outputs), "audio", "the render")

        def report(done: int, total: int, w: str = where, n: int = number) -> None:
            progress(Progress("rendering", (n - 1 + (done / total if total else 0)) / len(work.items), w))

        try:
            rendered = renderer.write_streams(streams, target, out_rate, frames, gain_db, o.normalize,
                                              SUBTYPES[o.format], progress=report, outputs=work.outputs)
        except (AudioError, OSError) as exc:
            result.skipped.append(ItemNote(where, f"rendering failed ({exc})", item.guid))
            continue
        result.notices.extend(f"{where}: {n}" for n in _clip_notice(rendered))
        result.files.append(target)
        result.done.append(ItemNote(where, f"rendered {target}", item.guid))
        ops += replace_take(records, "amp_render", item, key, rendered_take(item, plan, target, model.name, request.id),
                            take)
    takes = sum(isinstance(op, AddAudioTake) for op in ops)
    result.changes = ChangeSet(request.id, tuple(ops), f"Render {takes} item(s) through {model.name}",
                               request.created)
    result.summary = f"added {takes} take(s) named '{model.name}'"
    result.data = {"files": [str(f) for f in result.files]}
    return result
