"""Job tool calls: a request through the daemon's spool, followed until it ends.

The daemon makes a call warm (engines loaded once), queued (one job per worker),
exactly once (a request id it has seen is not run again) and lands the result where
its rules say: the project REAPER has open, as one undo step, or the ``.RPP``. When no
daemon serves the spool, the MCP server starts one as the REAPER actions do (this
Python, ``-m bridge serve --spool ... --allow ...``) and stops it again when the MCP
client goes away.

A request is checked here first (strict validation, the daemon's path rules with the
server's ``--allow`` folders), so a refused one leaves no file in the spool. An id the
queue already holds is the same request (answered with its outcome, never run again)
or a conflict (refused as the daemon would).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio

from bridge.daemon.spool import FINAL_STATES, Spool, read_json
from bridge.errors import ReabridgeError
from bridge.requests.models import AnyRequest
from bridge.requests.parse import parse_request
from bridge.requests.paths import PathPolicy

POLL = 0.02  # seconds between looks at a status file (the daemon's own tick)
START_TIMEOUT = 60.0  # seconds for a started daemon to take the spool
STOP_WAIT = 1.5  # seconds given to the daemon we started to stop (the SDK's client waits 2 s for us)

#: operations the daemon lists that only record reabridge's own bookkeeping in the project
BOOKKEEPING = ("set_ext_state",)

ProgressFn = Callable[[float | None, str], Awaitable[None]]


class ToolError(ReabridgeError):
    """A tool call that cannot be done; its one line is the tool error the client sees."""


def new_id(job: str) -> str:
    """A fresh request id, as the command line makes them (``transcribe-3f2a9c0d1e2b``)."""
    return f"{job}-{secrets.token_hex(6)}"


def _comparable(request_json: str) -> dict[str, Any] | None:
    try:
        data = json.loads(request_json)
    except ValueError:
        return None
    if isinstance(data, dict):
        data.pop("created", None)
        return data
    return None


def same_request(stored_json: str, request: AnyRequest) -> bool:
    """Whether a stored request asks for the same thing as ``request`` (``created`` aside), as the daemon decides."""
    old = _comparable(stored_json)
    return old is not None and old == _comparable(request.model_dump_json())


def record_paths(project_path: Path) -> list[Path]:
    """The project's recording folders (outputs may go there too), read from its file; none when unreadable."""
    from bridge.project.project import Project

    try:
        project = Project.load(project_path)
    except (OSError, ReabridgeError):
        return []
    base = project.directory or project_path.parent
    out = []
    for value in project.record_paths:
        path = Path(value.replace("\\", "/"))
        out.append(path if path.is_absolute() else base / path)
    return out


class Jobs:
    """Requests from tool calls, through one spool.

    Parameters
    ----------
    spool : Spool
    allow : list of Path
        ``reabridge mcp --allow``: more folders requests may read projects from and write to
        (passed on to a daemon this server starts).
    resource_path : Path
        REAPER's resource path (effects are installed below it; REAPER's server publishes itself there).
    daemon_env : dict, optional
        The environment a started daemon gets (default: this process's).
    """

    def __init__(self, spool: Spool, allow: list[Path], resource_path: Path,
                 daemon_env: dict[str, str] | None = None) -> None:
        self.spool = spool
        self.allow = allow
        self.resource_path = resource_path
        self.policy = PathPolicy(confined=True, allowed=allow, resource_path=resource_path)
        self.daemon_env = daemon_env
        self.started: subprocess.Popen[bytes] | None = None

    # -- the request ----------------------------------------------------------------------
    def build(self, job: str, arguments: dict[str, Any], code_file: Path | None = None) -> AnyRequest:
        """The request a job tool's arguments make, validated and checked against the path rules.

        Raises
        ------
        ToolError
            Naming the field and why (nothing is written).
        """
        data: dict[str, Any] = {k: v for k, v in arguments.items() if k != "wait"}
        data["job"] = job
        data.setdefault("id", new_id(job))
        if code_file is not None:
            data["options"] = {**{k: v for k, v in data["options"].items() if k != "code"}, "effect": str(code_file)}
        for name in ("version", "created", "handoff"):
            if name in data:
                raise ToolError(f"{name}: not an argument of this tool (the server sets it)")
        try:
            request = parse_request(data)
            if request.project is not None:
                self.policy.check_project(request.project.path)
                self.policy.check(request, record_paths(Path(request.project.path)))
            else:
                self.policy.check(request)
        except ReabridgeError as exc:
            raise ToolError(str(exc)) from None
        return request

    # -- the daemon ------------------------------------------------------------------------
    async def ensure_daemon(self) -> None:
        """Start a daemon for the spool unless one serves it (as the REAPER actions do)."""
        if self.spool.daemon_pid() is not None:
            return
        if self.started is None or self.started.poll() is not None:
            self.spool.create()
            command = [sys.executable, "-m", "bridge", "serve", "--spool", str(self.spool.root),
                       "--resource-path", str(self.resource_path)]
            for folder in self.allow:
                command += ["--allow", str(folder)]
            self.started = subprocess.Popen(command, stdin=subprocess.DEVNULL, env=self.daemon_env)
        deadline = time.monotonic() + START_TIMEOUT
        while self.spool.daemon_pid() is None:
            if self.started.poll() is not None and self.spool.daemon_pid() is None:
                raise ToolError(f"the reabridge daemon could not start (exit code {self.started.returncode}); "
                                f"see {self.spool.log}")
            if time.monotonic() > deadline:
                raise ToolError(f"the reabridge daemon did not start within {START_TIMEOUT:g} s; see {self.spool.log}")
            await anyio.sleep(POLL)

    def stop_daemon(self) -> None:
        """Stop the daemon this server started (one that was already serving is left alone)."""
        process, self.started = self.started, None
        if process is None or process.poll() is not None:
            return
        with contextlib.suppress(OSError):
            process.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(STOP_WAIT)

    # -- submitting and following ----------------------------------------------------------------
    def _stored(self, request_id: str) -> Any:
        """The queue's row for an id (None when it has none)."""
        import sqlite3

        from bridge.daemon.queue import Queue

        if not self.spool.database.exists():
            return None
        try:
            queue = Queue(self.spool.database, readonly=True)
        except sqlite3.DatabaseError:
            return None
        try:
            return queue.get(request_id)
        except sqlite3.DatabaseError:
            return None
        finally:
            queue.close()

    def _status(self, request_id: str) -> dict[str, Any] | None:
        """The request's status: its file, or the queue's row when the file lags or is gone."""
        from bridge.daemon.status import SHOWN, status_document

        doc = self.spool.read_status(request_id)
        row = self._stored(request_id)
        if row is not None and (doc is None or doc.get("state") != SHOWN[row.state]):
            return status_document(row)
        return doc

    def _mtime(self, request_id: str) -> int | None:
        try:
            return self.spool.status_path(request_id).stat().st_mtime_ns
        except OSError:
            return None

    async def run(self, request: AnyRequest, *, wait: bool, progress: ProgressFn) -> dict[str, Any]:
        """Submit ``request`` (unless the queue already has it) and, with ``wait``, follow it to its end.

        Raises
        ------
        ToolError
            The id is taken by a different request, the job failed (its one line), or it was cancelled.
        """
        from bridge.daemon.client import submit

        row = self._stored(request.id)
        if row is not None and not same_request(row.request, request):
            raise ToolError(f"id: {request.id!r} was already used by a different request (which is {row.state}); "
                            "this one was not run: give it a new id")
        pending = self.spool.requests / f"{request.id}.json"
        if row is None and pending.is_file():
            data = read_json(pending)
            if data is not None and not same_request(json.dumps(data), request):
                raise ToolError(f"id: {request.id!r} is already waiting in the spool as a different request; "
                                "give this one a new id")
        if row is not None and row.state in ("done", "error", "cancelled"):
            status = self._status(request.id)
            if status is not None:
                return outcome(status) if wait else {"id": request.id, "job": request.job, "state": status["state"]}
        await self.ensure_daemon()
        before = None
        if row is None:
            before = self._mtime(request.id)
            submit(request, self.spool.root)
        if not wait:
            return {"id": request.id, "job": request.job, "state": "queued" if row is None else _shown(row.state),
                    "follow": "job_status / cancel with this id"}
        return await self.follow(request.id, progress, fresh_after=before if row is None else -1)

    async def follow(self, request_id: str, progress: ProgressFn, fresh_after: int | None = -1) -> dict[str, Any]:
        """Wait for a request to end, reporting its progress; its result when done.

        ``fresh_after`` is the status file's modification time before the request was
        submitted (None: there was no file): older statuses are about an earlier use of the id.
        """
        last: tuple[Any, ...] | None = None
        try:
            while True:
                fresh = fresh_after == -1 or self._mtime(request_id) != fresh_after
                status = self._status(request_id) if fresh else None
                if status is not None and status.get("state") in FINAL_STATES:
                    return outcome(status)
                if status is not None:
                    shown = (status.get("state"), status.get("progress"), status.get("stage"), status.get("message"),
                             status.get("position"))
                    if shown != last:
                        last = shown
                        await progress(status.get("progress"), progress_line(status))
                if self.spool.daemon_pid() is None and self.started is not None and self.started.poll() is not None:
                    raise ToolError(f"the reabridge daemon stopped before {request_id} ended; see {self.spool.log}")
                await anyio.sleep(POLL)
        except anyio.get_cancelled_exc_class():
            with anyio.CancelScope(shield=True):  # the client gave up on the call: the job stops too
                with contextlib.suppress(ReabridgeError, OSError):
                    self.cancel(request_id, wait=0.0)
            raise

    # -- the other job tools ------------------------------------------------------------------------
    def status(self, request_id: str) -> dict[str, Any]:
        """``job_status``: where a request stands (its result when done)."""
        status = self._status(request_id)
        if status is None:
            if (self.spool.requests / f"{request_id}.json").is_file():
                return {"id": request_id, "state": "queued", "message": "waiting for the daemon to take it in"}
            raise ToolError(f"no request with id {request_id} in {self.spool.root}")
        if status.get("state") == "done":
            return outcome(status)
        keep = ("id", "job", "state", "progress", "stage", "message", "position", "project", "queued_at",
                "started_at", "finished_at")
        return {k: status.get(k) for k in keep if status.get(k) is not None}

    def cancel(self, request_id: str, wait: float = 5.0) -> dict[str, Any]:
        """``cancel``: ask the daemon to stop a request; its state afterwards."""
        from bridge.daemon.client import request_cancel

        status = request_cancel(request_id, self.spool.root, wait=wait)
        if status is None:
            return {"id": request_id, "state": "cancelling", "message": "asked the daemon to cancel it"}
        return {"id": request_id, "state": status.get("state"), "message": status.get("message") or ""}


def _shown(state: str) -> str:
    from bridge.daemon.status import SHOWN

    return SHOWN.get(state, state)


def progress_line(status: dict[str, Any]) -> str:
    """A status as one line for a progress notification."""
    state = status.get("state")
    if state == "queued":
        position = status.get("position")
        message = status.get("message") or ""
        return message if message else f"queued (position {position})" if position else "queued"
    return " ".join(str(p) for p in (status.get("stage") or state or "", status.get("message") or "") if p)


def outcome(status: dict[str, Any]) -> dict[str, Any]:
    """A finished request as a tool result (done), or the tool error (error, cancelled).

    Raises
    ------
    ToolError
        The request ended in error (its message) or was cancelled.
    """
    state = status.get("state")
    rid = status.get("id")
    if state == "error":
        raise ToolError(str(status.get("message") or status.get("error") or f"{rid} failed"))
    if state == "cancelled":
        raise ToolError(f"{rid} was cancelled; nothing was changed")
    result = status.get("result") or {}
    out = {"id": rid, "job": status.get("job"), "state": state, "summary": result.get("summary", ""),
           "added": [a for a in result.get("added", []) if a not in BOOKKEEPING],
           "files": result.get("files", []), "done": result.get("done", []),
           "skipped": result.get("skipped", []), "notices": result.get("notices", []),
           "applied": result.get("applied"), "project": status.get("project"), "data": result.get("data", {})}
    if status.get("apply"):
        out["notices"] = [*out["notices"], "REAPER's reabridge action that asked applies this result"]
    return out


def daemon_environment() -> dict[str, str]:
    """This process's environment, as a started daemon gets it (taken before the server changes its own)."""
    return dict(os.environ)
