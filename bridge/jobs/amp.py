"""The amp job: items of a project through a capture, as new active takes.

For each audio item, exactly what the item plays is rendered through the
capture into a new file in the project's recording folder (the source is never
touched) and added to the item as a new active take named after the capture
(see :mod:`bridge.jobs.takes` for playrates).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bridge.amp.nam_file import NamModel
from bridge.amp.render import AmpRenderer
from bridge.audio.item_audio import NoAudioError, describe, plan_item_audio
from bridge.audio.reader import AudioError
from bridge.audio.resample import resampled_length
from bridge.changes.ops import ChangeSet, Op
from bridge.jobs.takes import rendered_take, take_file
from bridge.project.items import Item
from bridge.project.project import Project
from bridge.project.tracks import Track


@dataclass
class AmpJobResult:
    """Rendered files, the ChangeSet adding them as takes, and skipped items."""

    changes: ChangeSet
    files: list[Path] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def render_items(project: Project, items: list[tuple[Track, Item]], model: NamModel, request_id: str,
                 renderer: AmpRenderer | None = None, input_gain_db: float = 0.0, normalize: bool = False,
                 progress: Callable[[str, int, int], None] | None = None) -> AmpJobResult:
    """Render items through a capture and build the ChangeSet of new takes.

    A failure on one item skips that item (its partial file is removed);
    the files of the others are kept and listed in the result.
    """
    renderer = renderer or AmpRenderer(model)
    ops: list[Op] = []
    result = AmpJobResult(ChangeSet(request_id))
    gain = 10 ** (input_gain_db / 20)
    for track, item in items:
        where = describe(track, item)
        try:
            plan = plan_item_audio(track, item)
        except (NoAudioError, AudioError) as exc:
            result.skipped.append(str(exc))
            continue
        out_rate = plan.info.sample_rate
        frames = resampled_length(plan.frames, plan.effective_rate, out_rate)
        streams = [renderer.render_channel(plan.blocks(ch), plan.effective_rate, plan.frames, gain, out_rate)
                   for ch in range(plan.info.channels)]
        target = take_file(project, plan, model.name)
        report = (lambda d, t, w=where: progress(w, d, t)) if progress else None
        try:
            renderer.write_streams(streams, target, out_rate, frames, input_gain_db, normalize, progress=report)
        except (AudioError, OSError) as exc:
            result.skipped.append(f"{where}: rendering failed ({exc})")
            continue
        result.files.append(target)
        ops.append(rendered_take(item, plan, target, model.name))
    result.changes = ChangeSet(request_id, tuple(ops), f"Render {len(ops)} item(s) through {model.name}")
    return result
