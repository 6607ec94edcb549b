"""What every job returns (:class:`JobResult`) and reports while it works (:class:`Progress`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bridge.changes.ops import ChangeSet


@dataclass(frozen=True)
class Progress:
    """Where a job is.

    Attributes
    ----------
    stage : str
        What it is doing (``"transcribing"``, ``"pass 2"``...).
    fraction : float or None
        Done so far (0-1); None when unknown.
    message : str
        Detail for a person (``"item 2 on track 'Gtr DI'"``, ``"epoch 3/20, ESR 0.012"``).
    """

    stage: str
    fraction: float | None = None
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Plain data (status files)."""
        return {"stage": self.stage, "fraction": self.fraction, "message": self.message}


ProgressFn = Callable[[Progress], None]


def no_progress(_: Progress) -> None:
    """A progress callback that ignores everything."""


@dataclass(frozen=True)
class ItemNote:
    """What happened to one item (or input): where, and a line about it."""

    where: str
    message: str
    item: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain data."""
        return {"where": self.where, "message": self.message, "item": self.item}

    def __str__(self) -> str:
        if not self.where or self.message.startswith(self.where):
            return self.message
        return f"{self.where}: {self.message}"

    @classmethod
    def from_error(cls, where: str, exc: Exception, item: str | None = None) -> ItemNote:
        """A note for something left out because of ``exc`` (whose message may already say where)."""
        return cls(where, str(exc), item)


@dataclass
class JobResult:
    """The one result type of every job.

    Attributes
    ----------
    job : str
        The request's job (``transcribe``...).
    summary : str
        One line: what was done.
    changes : ChangeSet or None
        What to apply to the project (None for jobs on plain files).
    files : list of Path
        Files the job wrote.
    done : list of ItemNote
        Per item (or input): what came out of it.
    skipped : list of ItemNote
        Items left out, with the reason.
    notices : list of str
        Warnings a person should read (clipping, ignored options...).
    data : dict
        The job's figures as plain data (``--json``): BPM and beats, loudness...
    project : str or None
        The project the changes went to (set by :func:`bridge.requests.run_request`).
    applied : bool or None
        True when the changes were applied now, False when they had been
        applied before (a repeated request), None when there was nothing to apply.
    """

    job: str
    summary: str = ""
    changes: ChangeSet | None = None
    files: list[Path] = field(default_factory=list)
    done: list[ItemNote] = field(default_factory=list)
    skipped: list[ItemNote] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    project: str | None = None
    applied: bool | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain data (JSON), :meth:`from_dict` reads it back."""
        return {
            "job": self.job,
            "summary": self.summary,
            "changes": self.changes.to_dict() if self.changes is not None else None,
            "files": [str(f) for f in self.files],
            "done": [n.to_dict() for n in self.done],
            "skipped": [n.to_dict() for n in self.skipped],
            "notices": list(self.notices),
            "data": self.data,
            "project": self.project,
            "applied": self.applied,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> JobResult:
        """The result :meth:`to_dict` wrote."""
        changes = data.get("changes")
        return cls(
            job=data["job"],
            summary=data.get("summary", ""),
            changes=ChangeSet.from_dict(changes) if changes else None,
            files=[Path(f) for f in data.get("files", [])],
            done=[ItemNote(**n) for n in data.get("done", [])],
            skipped=[ItemNote(**n) for n in data.get("skipped", [])],
            notices=list(data.get("notices", [])),
            data=dict(data.get("data", {})),
            project=data.get("project"),
            applied=data.get("applied"),
        )
