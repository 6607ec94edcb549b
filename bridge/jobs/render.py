"""The ``render`` job: a project file's mix into an audio file, without REAPER."""

from __future__ import annotations

import json
from pathlib import Path

from bridge.jobs.jsfx import effects_dirs
from bridge.jobs.result import JobResult, Progress, ProgressFn
from bridge.jobs.work import Work
from bridge.jsfx.interrupt import time_limit
from bridge.requests.models import RenderRequest


def default_output(project_file: Path) -> Path:
    """``SONG.wav`` beside ``SONG.RPP``."""
    return project_file.with_suffix(".wav")


def run(request: RenderRequest, work: Work, progress: ProgressFn) -> JobResult:
    """Render ``options.project_file`` into ``options.output`` (and the report)."""
    from bridge.audio.sink import SUBTYPES
    from bridge.render import render_project

    o = request.options
    project = Path(o.project_file)
    output = work.outputs.target(Path(o.output) if o.output else default_output(project), "audio", "the render")
    report_path = work.outputs.target(Path(o.report), "json", "the render report") if o.report else None
    root = Path(o.resource_path) if o.resource_path else work.resource_path
    dirs = effects_dirs(o.effects_dirs, root)
    enclosing = next((p for p in project.resolve().parents if p.name == "Effects"), None)
    if enclosing is not None and enclosing not in dirs:
        dirs.append(enclosing)
    with time_limit(o.timeout):  # JS effects and every mixed block stop at the time-out
        result = render_project(project, output, outputs=work.outputs, start=o.start, end=o.end, region=o.region,
                                missing=o.missing, subtype=SUBTYPES[o.format or "32f"], sample_rate=o.sample_rate,
                                effects_dirs=dirs, strict_format=o.format is not None,
                                progress=lambda f: progress(Progress("rendering", f, project.name)), force=o.force)
    files = [output]
    if report_path is not None:
        work.outputs.write_bytes(report_path, (json.dumps(result.report, indent=1) + "\n").encode(), "json",
                                 "the render report", replace=o.overwrite)
        files.append(report_path)
    seconds = result.frames / result.sample_rate
    notices = [f"not rendered: {s}" for s in result.report["skipped"]]
    notices += [f"approximated: {a}" for a in result.report["approximated"]]
    return JobResult("render", f"rendered {project.name} to {output} ({seconds:.1f} s of audio at "
                               f"{result.sample_rate} Hz, {result.channels} channels, in {result.seconds:.1f} s)",
                     files=files, notices=notices, data=result.report)
