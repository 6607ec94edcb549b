"""What a job is given besides its request: the project, the chosen items, warm engines, path rules."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from bridge.fileio import Outputs
from bridge.jobs.engines import Engines
from bridge.project.items import Item
from bridge.project.project import Project
from bridge.project.tracks import Track
from bridge.requests.paths import PathPolicy


@dataclass
class Work:
    """The inputs of a job other than its request.

    Attributes
    ----------
    project : Project or None
        The project as the session sees it (None for jobs on plain files).
    items : list of (Track, Item)
        The items the request chose, in project order (empty without a project).
    engines : Engines
        Warm engines (the daemon's) or fresh ones.
    paths : PathPolicy
        Rules for the paths a request may name.
    outputs : Outputs
        The request's output transaction: every file the job writes goes through
        it (checked by the rules of :mod:`bridge.fileio`, removed again when the
        request fails).
    """

    project: Project | None = None
    items: list[tuple[Track, Item]] = field(default_factory=list)
    engines: Engines = field(default_factory=Engines)
    paths: PathPolicy = field(default_factory=PathPolicy)
    outputs: Outputs = field(default_factory=Outputs)

    @property
    def resource_path(self) -> Path | None:
        """REAPER's resource path when the caller set one."""
        return self.paths.resource_path
