"""Pieces shared by the command-line commands: root state, request ids, project and item options."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer

from bridge.errors import ReabridgeError
from bridge.requests import AnyRequest, parse_request


@dataclass
class CliState:
    """Options of the ``reabridge`` root command."""

    debug: bool = False


state = CliState()


def new_request_id(job: str) -> str:
    """A fresh request id for a command-line run (``transcribe-3f2a9c0d1e2b``)."""
    return f"{job.replace('_', '-')}-{uuid.uuid4().hex[:12]}"


def project_mode(file: object | None, project: object | None, what: str) -> bool:
    """True for project mode; one clear error when both or neither of the inputs are given."""
    if project is not None and file is not None:
        raise ReabridgeError(f"give either {what} or --project, not both")
    if project is None and file is None:
        raise ReabridgeError(f"give {what}, or --project SONG.RPP")
    return project is not None


def absolute(path: Path | None) -> str | None:
    """A path for a request: absolute (the daemon runs elsewhere), as text."""
    return str(path.absolute()) if path is not None else None


def make_request(job: str, options: dict[str, Any], project: Path | None = None,
                 items: dict[str, Any] | None = None) -> AnyRequest:
    """A validated request from command-line values (options left at None take the request's defaults)."""
    data: dict[str, Any] = {"id": new_request_id(job), "job": job,
                            "options": {k: v for k, v in options.items() if v is not None}}
    if project is not None:
        data["project"] = {"path": str(project.absolute())}
    if items is not None:
        data["items"] = items
    return parse_request(data)


def items_spec(project: Path | None, selected: bool, items: list[str] | None,
               tracks: list[str] | None) -> dict[str, Any] | None:
    """The request's item choice from ``--selected``, ``--item`` and ``--track`` (project mode only)."""
    if project is None:
        if selected or items or tracks:
            raise ReabridgeError("--selected, --item and --track choose items of a project: add --project SONG.RPP")
        return None
    if not (selected or items or tracks):
        raise ReabridgeError("say which items to use: --selected, --item GUID or --track NAME")
    return {"selected": selected, "guids": list(items or []), "tracks": list(tracks or [])}


#: ``--overwrite`` / ``-y``, the same on every command that writes a file the user names
OVERWRITE = typer.Option(False, "--overwrite", "-y", help="Replace the output file if it already exists.")
