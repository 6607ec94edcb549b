"""The mastering job: items of a project (a rendered mix) mastered into new takes."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from bridge.audio.item_audio import NoAudioError, describe, plan_item_audio
from bridge.audio.reader import AudioError
from bridge.audio.source import AudioSource
from bridge.changes.ops import ChangeSet, Op
from bridge.jobs.takes import rendered_take, take_file
from bridge.master.engine import master_source
from bridge.master.loudness import LoudnessError
from bridge.master.output import FileSink, choose_subtype
from bridge.master.presets import Preset
from bridge.project.items import Item
from bridge.project.project import Project
from bridge.project.tracks import Track


@dataclass
class MasterJobResult:
    """New master files, the ChangeSet adding them as takes, what was said and skipped."""

    changes: ChangeSet
    files: list[Path] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def master_items(project: Project, items: list[tuple[Track, Item]], preset: Preset, request_id: str,
                 report: Path | None = None) -> MasterJobResult:
    """Master what each item plays into a new active take named ``Master (<preset>)``."""
    from bridge.master.report import write_report

    ops: list[Op] = []
    result = MasterJobResult(ChangeSet(request_id))
    for track, item in items:
        where = describe(track, item)
        try:
            plan = plan_item_audio(track, item)
            target = take_file(project, plan, f"master-{preset.name}")
            subtype = choose_subtype(plan.info.subtype, None)
            with FileSink(target, plan.info.sample_rate, plan.info.channels, subtype) as sink:
                mastered = master_source(AudioSource.from_item(plan), preset, sink, scratch=target.parent)
        except (NoAudioError, AudioError, LoudnessError) as exc:
            result.skipped.append(f"{where}: {exc}" if isinstance(exc, LoudnessError) else str(exc))
            continue
        if report is not None:
            write_report(mastered, report / target.stem, str(plan.path), str(target))
        result.files.append(target)
        result.lines.append(f"{where}: {mastered.before.integrated:.2f} -> {mastered.after.integrated:.2f} LUFS, "
                            f"{mastered.after.true_peak:.2f} dBTP -> {target.name}")
        ops.append(rendered_take(item, plan, target, f"Master ({preset.name})"))
    result.changes = ChangeSet(request_id, tuple(ops), f"Master {len(ops)} item(s) with {preset.name}")
    return result
