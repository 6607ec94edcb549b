"""Putting an analysed mastering chain on a project's master track as a native JSFX.

What one item plays (the rendered mix) is analysed, the chain is written as a
JSFX beside the project (``reabridge-jsfx/``) and, when REAPER's resource path
exists, installed into ``Effects/reabridge/`` where REAPER loads it from; the
master track's FX chain refers to it as ``reabridge/<name>``.
"""

from __future__ import annotations

from pathlib import Path

from bridge.audio.item_audio import describe, plan_item_audio
from bridge.audio.source import AudioSource
from bridge.changes.ops import AddJsEffect, ChangeSet, Op, RemoveJsEffect, derived_guid
from bridge.errors import ReabridgeError
from bridge.jobs.master import chosen_preset
from bridge.jobs.result import ItemNote, JobResult, Progress, ProgressFn
from bridge.jobs.takes import safe_name
from bridge.jobs.work import Work
from bridge.jsfx.chain import analysed_chain
from bridge.jsfx.errors import JsfxError
from bridge.jsfx.generate import generate_jsfx
from bridge.jsfx.install import SUBFOLDER, install
from bridge.project.made import Made, made_records, source_take
from bridge.reaper.paths import default_resource_path
from bridge.requests.models import MasterJsfxRequest

LOCAL_FOLDER = "reabridge-jsfx"


def run(request: MasterJsfxRequest, work: Work, progress: ProgressFn) -> JobResult:
    """Analyse the chosen item and add the chain to the master track."""
    assert work.project is not None and work.project.path is not None
    o = request.options
    if len(work.items) != 1:
        raise ReabridgeError(f"the mastering chain is analysed from one item (the rendered mix); "
                             f"{len(work.items)} were chosen")
    preset = chosen_preset(o)
    track, item = work.items[0]
    progress(Progress("analysing", None, describe(track, item)))
    records = made_records(work.project)
    take, _ = source_take(item, "master", records)  # a master reabridge rendered is not the mix: its source is
    plan = plan_item_audio(track, item, take)
    spec = analysed_chain(preset, AudioSource.from_item(plan))
    name = f"reabridge_master_{safe_name(work.project.path.stem)}_{safe_name(preset.name)}.jsfx"
    root = Path(o.resource_path) if o.resource_path else (work.resource_path or default_resource_path())
    if o.resource_path is not None and not root.is_dir():
        raise JsfxError(f"REAPER's resource path {root} does not exist")
    local = work.outputs.make_folder(work.project.path.parent / LOCAL_FOLDER, "the chain's folder") / name
    work.outputs.write_bytes(local, generate_jsfx(spec).encode("utf-8"), "jsfx", "the chain", replace=True)
    files = [local]
    installed = None
    if o.install and root.is_dir():
        installed = install([local], root, work.outputs)[0]
        files.append(installed)
    sliders = {number: default for number, _, default, *_ in spec.sliders()}
    op = AddJsEffect("master", f"{SUBFOLDER}/{name}", sliders, name=f"reabridge chain: {preset.name}",
                     bypass=o.bypass, guid=derived_guid(request.id, "fx", "master"))
    ops: list[Op] = []
    for old in records:  # the chain of this preset, put there before, is replaced
        if old.job == "master_jsfx" and old.key == preset.name:
            ops += [RemoveJsEffect("master", old.guid), old.forget()]
    ops += [op, Made(op.guid, "master_jsfx", item.guid, None, preset.name).record()]
    if installed:
        where = f"installed as {installed}"
    elif not o.install:
        where = f"not installed: 'reabridge jsfx install {local}' puts it where REAPER finds it"
    else:
        where = f"REAPER's resource path was not found: run 'reabridge jsfx install {local}' so REAPER finds it"
    summary = f"added the '{preset.name}' chain to the master track ({where}; copy in {local})"
    return JobResult("master_jsfx", summary,
                     changes=ChangeSet(request.id, tuple(ops), f"Mastering chain '{preset.name}' on the master track",
                                       request.created),
                     files=files, done=[ItemNote("", line) for line in spec.decisions],
                     data={"jsfx": str(local), "installed": str(installed) if installed else None,
                           "sliders": {str(k): v for k, v in sliders.items()}})
