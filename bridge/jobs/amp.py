"""The amp job: items of a project through a capture, as new active takes.

For each audio item, exactly what the item plays is rendered through the
capture into a new file in the project's recording folder (the source is never
touched) and added to the item as a new active take named after the capture.
Varispeed items are rendered as heard (faster and higher) and the take plays
at rate 1; pitch-preserving items are rendered at source speed and the new
take keeps their playrate, so REAPER stretches it the same way.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bridge.amp.nam_file import NamModel
from bridge.amp.render import AmpRenderer
from bridge.audio.item_audio import NoAudioError, describe, plan_item_audio
from bridge.audio.reader import AudioError
from bridge.audio.resample import resampled_length
from bridge.changes.ops import AddAudioTake, ChangeSet, Op
from bridge.project.items import Item
from bridge.project.project import Project
from bridge.project.tracks import Track


@dataclass
class AmpJobResult:
    """Rendered files, the ChangeSet adding them as takes, and skipped items."""

    changes: ChangeSet
    files: list[Path] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def media_folder(project: Project) -> Path:
    """Where new media goes: the project's primary recording folder, else the project folder."""
    base = project.directory or Path.cwd()
    records = project.record_paths
    if records:
        rec = Path(records[0].replace("\\", "/"))
        return rec if rec.is_absolute() else base / rec
    return base


def _safe(text: str) -> str:
    return re.sub(r"[^\w.+-]+", " ", text).strip().replace(" ", "_") or "take"


def unique_path(folder: Path, stem: str, suffix: str = ".wav") -> Path:
    """``folder/stem.wav``, or ``stem-2.wav``... when taken."""
    candidate = folder / f"{stem}{suffix}"
    n = 2
    while candidate.exists():
        candidate = folder / f"{stem}-{n}{suffix}"
        n += 1
    return candidate


def render_items(project: Project, items: list[tuple[Track, Item]], model: NamModel, request_id: str,
                 renderer: AmpRenderer | None = None, input_gain_db: float = 0.0, normalize: bool = False,
                 progress: Callable[[str, int, int], None] | None = None) -> AmpJobResult:
    """Render items through a capture and build the ChangeSet of new takes.

    A failure on one item skips that item (its partial file is removed);
    the files of the others are kept and listed in the result.
    """
    renderer = renderer or AmpRenderer(model)
    folder = media_folder(project)
    folder.mkdir(parents=True, exist_ok=True)
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
        target = unique_path(folder, f"{_safe(Path(plan.path).stem)}-{_safe(model.name)}")
        report = (lambda d, t, w=where: progress(w, d, t)) if progress else None
        try:
            renderer.write_streams(streams, target, out_rate, frames, input_gain_db, normalize, progress=report)
        except (AudioError, OSError) as exc:
            result.skipped.append(f"{where}: rendering failed ({exc})")
            continue
        result.files.append(target)
        rate, keep_pitch = (plan.playrate, True) if plan.preserve_pitch else (1.0, True)
        ops.append(AddAudioTake(item.guid, str(target), model.name, True, 0.0, rate, keep_pitch))
    result.changes = ChangeSet(request_id, tuple(ops), f"Render {len(ops)} item(s) through {model.name}")
    return result
