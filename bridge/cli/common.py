"""Pieces shared by the command-line commands: state, item selection, progress."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

from bridge.changes.ops import ChangeSet
from bridge.errors import ReabridgeError
from bridge.project.items import Item
from bridge.project.project import Project
from bridge.project.tracks import Track


@dataclass
class CliState:
    """Options of the ``reabridge`` root command."""

    debug: bool = False


state = CliState()


def request_id(prefix: str) -> str:
    """A fresh request id for a command-line run."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def select_items(project: Project, selected: bool, item_guids: list[str] | None,
                 track_names: list[str] | None) -> list[tuple[Track, Item]]:
    """The items a command works on: selected ones, by GUID, or all items of named tracks.

    Raises
    ------
    ReabridgeError
        Nothing chosen, or a GUID / track name that is not in the project.
    """
    chosen: list[tuple[Track, Item]] = []
    for guid in item_guids or []:
        try:
            chosen.append(project.find_item(guid))
        except KeyError as exc:
            raise ReabridgeError(str(exc.args[0])) from None
    for name in track_names or []:
        try:
            track = project.find_track(name)
        except KeyError as exc:
            raise ReabridgeError(str(exc.args[0])) from None
        chosen.extend((track, item) for item in track.items)
    if selected:
        chosen.extend(project.selected_items())
    if not (selected or item_guids or track_names):
        raise ReabridgeError("say which items to use: --selected, --item GUID or --track NAME")
    if not chosen:
        raise ReabridgeError("no items match: nothing selected in the project, or the tracks are empty")
    seen: set[str] = set()
    unique = []
    for track, item in chosen:
        if item.guid not in seen:
            seen.add(item.guid)
            unique.append((track, item))
    return unique


@contextmanager
def progress_bar(transient: bool = True) -> Iterator[Progress]:
    """A rich progress bar on stderr for long work."""
    bar = Progress(TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(), TimeRemainingColumn(),
                   transient=transient)
    with bar:
        yield bar


def project_mode(file: object | None, project: object | None, what: str) -> bool:
    """True for project mode; one clear error when both or neither of the inputs are given."""
    if project is not None and file is not None:
        raise ReabridgeError(f"give either {what} or --project, not both")
    if project is None and file is None:
        raise ReabridgeError(f"give {what}, or --project SONG.RPP")
    return project is not None


def apply_job(session: Any, changes: ChangeSet, produced: int, skipped: list[str], out: Console,
              verb: str, summary: str) -> None:
    """Report skipped items, refuse an empty result, apply the ChangeSet and say what changed."""
    for reason in skipped:
        out.print(f"[yellow]skipped[/yellow] {reason}")
    if not produced:
        raise ReabridgeError(f"no item could be {verb}; nothing was changed")
    session.apply(changes)
    out.print(f"{summary} to {session.path} (previous version: {session.path.name}-bak)")
