"""The client side of the spool: submit a request, wait for it, list jobs, cancel one."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape

from bridge.daemon.spool import FINAL_STATES, Spool, read_json, write_json
from bridge.errors import ReabridgeError
from bridge.requests.models import AnyRequest

POLL = 0.05


def submit(request: AnyRequest, spool_dir: Path | None = None) -> dict[str, Any]:
    """Write ``requests/<id>.json`` (temporary name, then rename) and return at once.

    Returns
    -------
    dict
        ``{"id", "job", "spool", "status"}``: where to watch for the answer.
    """
    spool = Spool(spool_dir).create()
    path = spool.requests / f"{request.id}.json"
    write_json(path, json.loads(request.model_dump_json()), durable=True)
    daemon = spool.daemon_pid()
    return {"id": request.id, "job": request.job, "spool": str(spool.root),
            "status": str(spool.status_path(request.id)), "daemon": daemon}


def _line(status: dict[str, Any]) -> str:
    state = status.get("state")
    if state == "queued":
        return f"queued (position {status.get('position') or '?'})"
    if state == "running":
        return " ".join(str(p) for p in (status.get("stage") or "running", status.get("message") or "") if p)
    return str(state)


def wait_for(request_id: str, spool_dir: Path, quiet: bool = False, timeout: float | None = None) -> dict[str, Any]:
    """Show a request's progress until it ends; returns its final status.

    There is no time-out by default: a job that still reports progress is
    never abandoned. Printing goes to stderr, the outcome to stdout.
    """
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn

    spool = Spool(spool_dir)
    err = Console(stderr=True, highlight=False)
    out = Console(highlight=False, soft_wrap=True)
    started = time.monotonic()
    warned = False
    bar = Progress(TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(), console=err,
                   transient=True, disable=quiet or not err.is_terminal)
    with bar:
        task = bar.add_task("waiting for the daemon", total=None)
        while True:
            status = spool.read_status(request_id) or {}
            if status.get("state") in FINAL_STATES:
                break
            if not warned and time.monotonic() - started > 5 and spool.daemon_pid() is None:
                err.print(f"note: no daemon is serving {spool.root}; start one with 'reabridge serve --spool "
                          f"{spool.root}'", markup=False)
                warned = True
            if status:
                bar.update(task, description=escape(_line(status)), completed=status.get("progress") or 0,
                           total=1.0 if status.get("progress") is not None else None)
            if timeout is not None and time.monotonic() - started > timeout:
                raise ReabridgeError(f"{request_id} did not finish within {timeout:g} s")
            time.sleep(POLL)
    if not quiet:
        print_status(status, out)
    return status


def print_status(status: dict[str, Any], out: Console) -> None:
    """The outcome of a finished request, as the command would have printed it."""
    state = status.get("state")
    if state == "done":
        result = status.get("result") or {}
        for line in result.get("notices", []):
            out.print("[yellow]warning:[/yellow] " + escape(line))
        for line in result.get("skipped", []):
            out.print("[yellow]skipped[/yellow] " + escape(line))
        for line in result.get("done", []):
            out.print(line, markup=False)
        out.print(result.get("summary") or status.get("message") or "done", markup=False)
    elif state == "error":
        out.print("[bold red]error:[/bold red] " + escape(status.get("message") or "failed"))
    else:
        out.print(f"{status.get('id')}: {state}", markup=False)


def job_rows(spool_dir: Path | None, limit: int = 50) -> list[dict[str, Any]]:
    """Recent requests, newest first: the queue's, and rejected request files' statuses."""
    import sqlite3

    from bridge.daemon.queue import Queue
    from bridge.daemon.status import SHOWN, status_document

    spool = Spool(spool_dir)
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    if spool.database.exists():
        try:
            queue = Queue(spool.database, readonly=True)
            recent = queue.recent(limit)
            queue.close()
        except sqlite3.DatabaseError as exc:
            raise ReabridgeError(f"the queue {spool.database} cannot be read ({exc})") from None
        for row in recent:
            doc = spool.read_status(row.id)
            if doc is None or doc.get("state") != SHOWN[row.state]:
                doc = status_document(row)  # the queue is the truth; its status file may lag after a crash
            rows.append(doc)
            seen.add(row.id)
    if spool.status.is_dir():
        extra = sorted(spool.status.glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
        for path in extra[:limit]:
            if path.stem not in seen and (doc := read_json(path)) is not None:
                rows.append(doc)
    rows.sort(key=lambda d: d.get("queued_at") or d.get("updated") or "", reverse=True)
    return rows[:limit]


def request_cancel(request_id: str, spool_dir: Path | None = None, wait: float = 5.0) -> dict[str, Any] | None:
    """Ask the daemon to cancel a request; returns its status once it ended (or None if still going)."""
    spool = Spool(spool_dir)
    status = spool.read_status(request_id)
    pending = (spool.requests / f"{request_id}.json").exists()
    if status is None and not pending:
        raise ReabridgeError(f"no request with id {request_id} in {spool.root}")
    if status is not None and status.get("state") in FINAL_STATES:
        return status
    spool.create()
    write_json(spool.cancel / request_id, {"id": request_id})
    if spool.daemon_pid() is None:
        return None
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        status = spool.read_status(request_id)
        if status is not None and status.get("state") in FINAL_STATES:
            return status
        time.sleep(POLL)
    return None
