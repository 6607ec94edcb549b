"""The pitch-correction job: a file to a tuned file, or each chosen item into a new active take ``Tuned (<key>)``.

For each audio item, exactly what the item plays is tuned into a new file in the
project's recording folder (the source is never touched) and added as the item's
active take. Running it again replaces that take and starts from the original take,
never from its own earlier result (:func:`bridge.project.made.source_take`). A guide
melody is a ``.mid`` file or a MIDI item of the same project.
"""

from __future__ import annotations

from pathlib import Path

from bridge.audio.item_audio import NoAudioError, describe, plan_item_audio
from bridge.audio.reader import AudioError, audio_info
from bridge.audio.sink import FileSink, choose_subtype
from bridge.audio.source import AudioSource
from bridge.changes.ops import AddAudioTake, ChangeSet, Op
from bridge.errors import ReabridgeError
from bridge.jobs.result import ItemNote, JobResult, Progress, ProgressFn
from bridge.jobs.takes import rendered_take, replace_take, take_file
from bridge.jobs.work import Work
from bridge.project.made import made_records, source_take
from bridge.requests.models import TuneOptions, TuneRequest
from bridge.tune.chain import TuneError, TuneReport, tune_to_sink
from bridge.tune.guide import GuideError, item_notes, read_midi_file, relative, within
from bridge.tune.targets import Chooser, GuideNote, Settings, guide_chooser, scale_chooser

JOB = "tune"


def settings_for(options: TuneOptions) -> Settings:
    """The correction's settings from a request's options."""
    return Settings(options.speed, options.strength, options.humanize, options.keep_vibrato)


def _progress(progress: ProgressFn, where: str, share: tuple[int, int] = (0, 1)):  # type: ignore[no-untyped-def]
    index, count = share

    def show(stage: str, fraction: float) -> None:
        progress(Progress(stage, (index + min(1.0, fraction)) / count, where))

    return show


def _model(work: Work) -> object:
    """basic-pitch's network for the polyphony check (the process's warm one: the daemon loads it once)."""
    return work.engines.transcriber().model


def _data(report: TuneReport) -> dict[str, object]:
    figures = report.figures()
    return {k: figures[k] for k in ("target", "notes_found", "notes_corrected", "mean_abs_correction_cents",
                                    "polyphony_share", "notes")}


class _Target:
    """What notes are tuned to: a scale, or a guide melody (its notes in project or file seconds)."""

    def __init__(self, options: TuneOptions, work: Work) -> None:
        self.scale = options.target_scale()
        self.guide: list[GuideNote] = []
        self.guide_name = ""
        if options.guide is not None:
            self.guide = read_midi_file(options.guide)
            self.guide_name = Path(options.guide).name
        elif options.guide_item is not None:
            assert work.project is not None
            try:
                _, item = work.project.find_item(options.guide_item)
            except KeyError:
                raise GuideError(f"no item with GUID {options.guide_item} in the project (--guide: a MIDI item of "
                                 "this project, or a .mid file)") from None
            self.guide = item_notes(item, work.project.tempo_map)
            self.guide_name = f"'{item.name}'" if item.name else f"item {item.guid}"

    @property
    def label(self) -> str:
        """For the take's name and the report: ``A minor``, ``chromatic``, ``guide 'Melody'``."""
        return self.scale.name if self.scale is not None else f"guide {self.guide_name}"

    def chooser(self, origin: float, time_scale: float, duration: float, what: str) -> Chooser:
        """Targets for audio starting at ``origin`` seconds of the guide's time, ``duration`` long."""
        if self.scale is not None:
            return scale_chooser(self.scale)
        notes = within(relative(self.guide, origin, time_scale), duration, what, self.guide_name)
        return guide_chooser(notes)


def _file(request: TuneRequest, work: Work, progress: ProgressFn) -> JobResult:
    from bridge.tune.report import write_report

    o = request.options
    audio = Path(o.audio)  # type: ignore[arg-type]
    info = audio_info(audio)
    target = _Target(o, work)
    target_path = work.outputs.target(Path(o.output) if o.output else audio.with_name(f"{audio.stem}-tuned.wav"),
                                      "audio", "the output")
    source = AudioSource.from_file(audio)
    choose = target.chooser(0.0, 1.0, source.frames / source.rate, audio.name)
    with FileSink(target_path, source.rate, source.channels, choose_subtype(info.subtype, None),
                  outputs=work.outputs, source="the pitch correction") as sink:
        report = tune_to_sink(source, choose, target.label, settings_for(o), sink, audio.name,
                              _progress(progress, audio.name), _model(work))
    result = JobResult(JOB, f"{report.summary()}; wrote {target_path} ({info.channels} ch, {info.sample_rate} Hz, "
                            f"{source.frames / source.rate:.2f} s)", files=[target_path],
                       data={**_data(report), "output": str(target_path)})
    if o.report is not None:
        allowed = target.scale.pitch_classes if target.scale is not None else tuple(range(12))
        json_path, png_path = write_report(report, Path(o.report), str(audio), str(target_path), work.outputs,
                                           allowed)
        result.files += [json_path, png_path]
        result.done.append(ItemNote("report", f"{json_path}, {png_path}"))
    return result


def run(request: TuneRequest, work: Work, progress: ProgressFn) -> JobResult:
    """Tune a file, or each chosen item into a new active take ``Tuned (<key>)``."""
    from bridge.tune.report import write_report

    o = request.options
    if work.project is None:
        return _file(request, work, progress)
    target = _Target(o, work)
    records = made_records(work.project)
    result = JobResult(JOB)
    ops: list[Op] = []
    figures = {}
    name = f"Tuned ({target.label})"
    report_dir = Path(o.report) if o.report else None
    guide_guid = o.guide_item
    items = [(t, i) for t, i in work.items if guide_guid is None or i.guid.strip("{}").upper()
             != guide_guid.strip("{}").upper()]
    for number, (track, item) in enumerate(items):
        where = describe(track, item)
        take, note = source_take(item, JOB, records)
        if note:
            result.notices.append(f"{where}: {note}")
        try:
            plan = plan_item_audio(track, item, take)
            source = AudioSource.from_item(plan)
            choose = target.chooser(item.position, plan.time_scale, source.frames / source.rate, where)
            path = work.outputs.target(take_file(work.project, plan, "tuned", work.outputs), "audio",
                                       "the tuned take")
            with FileSink(path, source.rate, source.channels, choose_subtype(plan.info.subtype, None),
                          outputs=work.outputs, source="the pitch correction") as sink:
                report = tune_to_sink(source, choose, target.label, settings_for(o), sink, where,
                                      _progress(progress, where, (number, len(items))), _model(work))
        except (NoAudioError, AudioError, TuneError, GuideError) as exc:
            result.skipped.append(ItemNote.from_error(where, exc, item.guid))
            continue
        result.files.append(path)
        if report_dir is not None:
            allowed = target.scale.pitch_classes if target.scale is not None else tuple(range(12))
            result.files += write_report(report, report_dir / path.stem, str(plan.path), str(path), work.outputs,
                                         allowed)
        result.done.append(ItemNote(where, f"{report.summary()} -> {path.name}", item.guid))
        figures[item.guid] = _data(report)
        ops += replace_take(records, JOB, item, "", rendered_take(item, plan, path, name, request.id), take)
    if not items:
        raise ReabridgeError("the only item chosen is the guide itself: select the audio items to tune")
    takes = sum(isinstance(op, AddAudioTake) for op in ops)
    result.changes = ChangeSet(request.id, tuple(ops), f"Tune {takes} item(s)", request.created)
    result.summary = f"added {takes} take(s) '{name}'"
    result.data = {"items": figures}
    return result
