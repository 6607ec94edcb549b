"""New takes rendered from what an item plays: where the file goes and how the take is added.

Shared by the jobs that render audio into a project (amp, master). Varispeed
items are rendered as heard and the new take plays at rate 1; pitch-preserving
items are rendered at source speed and the new take keeps their playrate, so
REAPER stretches it the same way.
"""

from __future__ import annotations

import re
from pathlib import Path

from bridge.audio.item_audio import ItemAudio
from bridge.changes.ops import AddAudioTake, Op, RemoveTake, derived_guid
from bridge.fileio import Outputs
from bridge.project.items import Item, Take
from bridge.project.made import Made
from bridge.project.project import Project


def media_folder(project: Project) -> Path:
    """Where new media goes: the project's primary recording folder, else the project folder."""
    base = project.directory or Path.cwd()
    records = project.record_paths
    if records:
        rec = Path(records[0].replace("\\", "/"))
        return rec if rec.is_absolute() else base / rec
    return base


def safe_name(text: str) -> str:
    """A file-name-safe version of ``text``."""
    return re.sub(r"[^\w.+-]+", " ", text).strip().replace(" ", "_") or "take"


def unique_path(folder: Path, stem: str, suffix: str = ".wav") -> Path:
    """``folder/stem.wav``, or ``stem-2.wav``... when taken."""
    candidate = folder / f"{stem}{suffix}"
    n = 2
    while candidate.exists():
        candidate = folder / f"{stem}-{n}{suffix}"
        n += 1
    return candidate


def take_file(project: Project, plan: ItemAudio, label: str, outputs: Outputs) -> Path:
    """A fresh file name for a take rendered from ``plan``'s source, in the media folder (made if missing)."""
    folder = outputs.make_folder(media_folder(project), "the recording folder")
    return unique_path(folder, f"{safe_name(Path(plan.path).stem)}-{safe_name(label)}")


def replace_take(records: list[Made], job: str, item: Item, key: str, new: AddAudioTake,
                 source: Take | None) -> list[Op]:
    """Operations adding ``new`` (and its record) after removing what ``job`` made before on ``item`` with ``key``.

    An earlier take from the same job and key (the same capture, the same
    preset) is replaced rather than stacked; other takes stay.
    """
    ops: list[Op] = []
    for old in records:
        if old.same_source(job, item.guid, key):
            ops += [RemoveTake(item.guid, old.guid), old.forget()]
    return [*ops, new, Made(new.guid, job, item.guid, source.guid if source else None, key).record()]


def rendered_take(item: Item, plan: ItemAudio, file: Path, name: str, change_id: str) -> AddAudioTake:
    """The operation adding ``file`` as the item's new active take, playing as the item did."""
    playrate = plan.playrate if plan.preserve_pitch else 1.0
    return AddAudioTake(item.guid, str(file), name, active=True, source_offset=0.0, playrate=playrate,
                        preserve_pitch=True, guid=derived_guid(change_id, "take", item.guid))
