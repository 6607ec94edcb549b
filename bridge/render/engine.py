"""Rendering a project file to an audio file: plan, check what cannot be rendered, mix, write, report."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from bridge.audio.sink import FileSink
from bridge.fileio import Outputs
from bridge.jsfx.interrupt import check_time
from bridge.project.project import Project
from bridge.render.budget import check_output
from bridge.render.mixer import Mixer, fx_problem
from bridge.render.plan import MixPlan, RenderError, plan_mix

Missing = Literal["fail", "skip"]


@dataclass
class RenderResult:
    """What a render did."""

    output: Path
    frames: int
    sample_rate: int
    channels: int
    seconds: float
    peak: float
    report: dict[str, Any] = field(default_factory=dict)


def preflight(plan: MixPlan) -> None:
    """Add the effects that cannot run to the plan's notes (before anything is written)."""
    chains = [(f"track '{t.name}'", t.fx) for t in plan.tracks if t.audible and not t.mute]
    chains += [(i.where, i.fx) for t in plan.tracks if t.audible and not t.mute for i in t.items]
    chains.append(("the master", plan.master.fx))
    for where, chain in chains:
        for slot in chain.active:
            problem = fx_problem(slot, plan.effects_dirs)
            if problem is not None:
                plan.notes.skip(f"{where}: {problem[1]}", problem[0])


def render_project(path: Path, output: Path, *, outputs: Outputs, start: float | None = None,
                   end: float | None = None, region: str | None = None, missing: Missing = "fail",
                   subtype: str = "FLOAT", sample_rate: int | None = None, effects_dirs: list[Path] | None = None,
                   strict_format: bool = False, progress: Callable[[float], None] | None = None,
                   force: bool = False) -> RenderResult:
    """Render ``path``'s mix into ``output``.

    ``force`` renders past the sane limits of :func:`bridge.render.budget.check_output`
    (a day of audio, the free disk space).

    Raises
    ------
    RenderError
        Something in the project cannot be rendered and ``missing`` is ``"fail"``
        (the message lists every reason), the bounds are impossible, or the output
        would be too long or too large.
    ProjectLimitError
        A number in the project outside what REAPER allows.
    """
    began = time.perf_counter()
    project = Project.load(path)
    plan = plan_mix(project, sample_rate=sample_rate, start=start, end=end, region=region,
                    effects_dirs=effects_dirs)
    preflight(plan)
    if missing == "fail" and plan.notes.skipped:
        raise RenderError(f"{path.name} cannot be rendered as REAPER would: {plan.notes.summary()} (--missing skip "
                          "renders without them; the render report lists each)")
    check_output(plan, plan.master.nchan, output, subtype, strict=strict_format, force=force, name=path.name)
    mixer = Mixer(plan)
    peak = 0.0
    frames = 0
    with FileSink(output, plan.sample_rate, mixer.channels, subtype, strict=strict_format, outputs=outputs,
                  source=f"the render of {path.name}") as sink:
        for block in mixer.blocks(progress):
            check_time()  # the request's time-out (bridge.jsfx.interrupt.time_limit), between blocks
            if len(block):
                peak = max(peak, float(np.max(np.abs(block))))
            sink.write(block)
            frames += len(block)
    heard = [t for t in plan.tracks if t.audible and not t.mute]
    report = {
        "project": str(path), "output": str(output), "sample_rate": plan.sample_rate, "channels": mixer.channels,
        "start": plan.start, "end": plan.end, "frames": frames, "peak": peak,
        "peak_dbfs": 20 * float(np.log10(peak)) if peak > 0 else None,
        "rendered": {"tracks": len(heard), "items": sum(len(t.items) for t in heard),
                     "effects": sum(len(c.stages) for c in mixer.chains.values()) + len(mixer.master_chain.stages)},
        "skipped": plan.notes.skipped, "approximated": plan.notes.approximated,
        "seconds": round(time.perf_counter() - began, 3),
    }
    if sink.clipped:
        report["approximated"] = [*plan.notes.approximated, f"{sink.clipped} samples went past full scale and were "
                                  "clipped in the integer file (use --format 32f to keep them)"]
    return RenderResult(output, frames, plan.sample_rate, mixer.channels, report["seconds"], peak, report)


__all__ = ["RenderError", "RenderResult", "render_project"]
