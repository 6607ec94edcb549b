"""Putting an analysed mastering chain on a project's master track as a native JSFX."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from bridge.audio.item_audio import plan_item_audio
from bridge.audio.source import AudioSource
from bridge.changes.ops import AddJsEffect, ChangeSet
from bridge.fileio import write_atomic
from bridge.jobs.takes import safe_name
from bridge.jsfx.chain import analysed_chain
from bridge.jsfx.errors import JsfxError
from bridge.jsfx.generate import generate_jsfx
from bridge.jsfx.install import SUBFOLDER, default_resource_path, install
from bridge.master.presets import Preset
from bridge.project.items import Item
from bridge.project.project import Project
from bridge.project.tracks import Track

LOCAL_FOLDER = "reabridge-jsfx"


@dataclass
class ChainOnMaster:
    """The ChangeSet adding the effect, where the JSFX was written, and what was decided."""

    changes: ChangeSet
    local_copy: Path
    installed: Path | None
    decisions: list[str] = field(default_factory=list)


def chain_on_master(project: Project, track: Track, item: Item, preset: Preset, request_id: str,
                    resource_path: Path | None = None, install_it: bool = True,
                    bypass: bool = False) -> ChainOnMaster:
    """Analyse what ``item`` plays, write the chain as a JSFX and add it to the master track.

    The JSFX is written beside the project (``reabridge-jsfx/``) and, with
    ``install_it`` and REAPER's resource path present, installed into
    ``Effects/reabridge/`` where REAPER loads it from; the FX chain refers to it
    as ``reabridge/<name>``.
    """
    plan = plan_item_audio(track, item)
    spec = analysed_chain(preset, AudioSource.from_item(plan))
    name = f"reabridge_master_{safe_name(project.path.stem)}_{safe_name(preset.name)}.jsfx"
    local = project.path.parent / LOCAL_FOLDER / name
    local.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(local, generate_jsfx(spec).encode("utf-8"))
    root = resource_path or default_resource_path()
    installed = None
    if install_it and root.is_dir():
        installed = install([local], root)[0]
    elif resource_path is not None:
        raise JsfxError(f"REAPER's resource path {resource_path} does not exist")
    sliders = {number: default for number, _, default, *_ in spec.sliders()}
    op = AddJsEffect("master", f"{SUBFOLDER}/{name}", sliders, name=f"reabridge chain: {preset.name}", bypass=bypass)
    return ChainOnMaster(ChangeSet(request_id, (op,), f"Mastering chain '{preset.name}' on the master track"),
                         local, installed, spec.decisions)
