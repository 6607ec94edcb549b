"""The jobs, as a table: what each is called, where it lives, what its undo step says."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class JobSpec:
    """One job.

    Attributes
    ----------
    name : str
        The request's ``job``.
    entry : str
        ``module:function`` of the job's ``run(request, work, progress) -> JobResult``.
    title : str
        What REAPER's undo history shows (``"reabridge: <title>"``).
    verb : str
        Past tense for messages (``"no item could be transcribed"``).
    output : str or None
        What ``options.output`` holds (a kind of :data:`bridge.fileio.KINDS`).
    """

    name: str
    entry: str
    title: str
    verb: str
    output: str | None = None

    @property
    def undo_name(self) -> str:
        """The undo step's name in REAPER."""
        return f"reabridge: {self.title}"

    def runner(self) -> Callable[..., Any]:
        """The job's ``run`` function (imported on first use: engines load lazily)."""
        module, _, function = self.entry.partition(":")
        return getattr(importlib.import_module(module), function)  # type: ignore[no-any-return]


JOBS: dict[str, JobSpec] = {
    spec.name: spec
    for spec in (
        JobSpec("transcribe", "bridge.jobs.transcribe:run", "Transcribe to MIDI", "transcribed", "midi"),
        JobSpec("tempo", "bridge.jobs.tempo:run", "Detect tempo", "analysed"),
        JobSpec("amp_render", "bridge.jobs.amp:run", "Render through amp capture", "rendered", "audio"),
        JobSpec("amp_capture", "bridge.jobs.amp_capture:run", "Create amp capture", "used", "nam"),
        JobSpec("master", "bridge.jobs.master:run", "Master", "mastered", "audio"),
        JobSpec("master_jsfx", "bridge.jobs.master_jsfx:run", "Insert mastering chain JSFX", "analysed"),
        JobSpec("jsfx_render", "bridge.jobs.jsfx:render", "Render through JSFX", "rendered", "audio"),
        JobSpec("jsfx_insert", "bridge.jobs.jsfx:insert", "Insert JSFX", "used"),
        JobSpec("render", "bridge.jobs.render:run", "Render project", "rendered", "audio"),
        JobSpec("speech", "bridge.jobs.speech:run", "Transcribe speech", "transcribed", "transcript"),
        JobSpec("speakers", "bridge.jobs.speakers:run", "Split item by speaker", "analysed", "rttm"),
        JobSpec("clean", "bridge.jobs.clean:run", "Clean up", "cleaned", "audio"),
        JobSpec("tune", "bridge.jobs.tune:run", "Tune", "tuned", "audio"),
        JobSpec("stems", "bridge.jobs.stems:run", "Split into vocals and accompaniment", "split"),
        JobSpec("library_index", "bridge.jobs.library:index", "Index into library", "indexed"),
        JobSpec("library_find", "bridge.jobs.library:find", "Identify in library", "looked up"),
    )
}
