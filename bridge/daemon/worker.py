"""A worker process of the daemon: warm engines, one job at a time, through ``run_request``.

The daemon (the parent) sends ``{"op": "run", ...}``; the worker runs the
request with :func:`bridge.requests.run_request`, reporting progress, and its
session is a :class:`ForwardingSession`: reading the project happens here, but
applying the ChangeSet is sent to the parent, which records it in the queue
before applying it (one writer per project, crash-safe). SIGTERM cancels the
job in progress (the worker stays up and warm); the worker dies with its parent.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import logging
import os
import signal
import sys
import time
import traceback
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from bridge.changes.ops import ChangeSet
from bridge.errors import ReabridgeError
from bridge.jobs.result import Progress
from bridge.project.items import Item
from bridge.project.project import Project
from bridge.project.tracks import Track
from bridge.session.base import ApplyResult

#: OSError numbers worth another attempt (the same request may well succeed a moment later)
TRANSIENT_ERRNOS = {errno.EAGAIN, errno.EBUSY, errno.ETXTBSY, errno.EINTR, errno.ETIMEDOUT}
PROGRESS_INTERVAL = 0.05

log = logging.getLogger("reabridge.worker")


class JobCancelled(BaseException):
    """The daemon asked for the job in progress to stop (SIGTERM)."""


class _State:
    current: str | None = None
    shielded = False
    pending = False


_state = _State()


def _on_term(signum: int, frame: object) -> None:
    if _state.current is None:
        return
    if _state.shielded:
        _state.pending = True
        return
    raise JobCancelled()


class Channel:
    """The pipe to the daemon; a send is never cut in half by a cancellation."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def send(self, message: dict[str, Any]) -> None:
        """Send one message (a cancellation arriving meanwhile takes effect afterwards)."""
        _state.shielded = True
        try:
            self.conn.send(message)
        finally:
            _state.shielded = False
        if _state.pending and _state.current is not None:
            _state.pending = False
            raise JobCancelled()

    def request(self, message: dict[str, Any]) -> dict[str, Any]:
        """Send a message and wait for the daemon's answer (not interruptible)."""
        _state.shielded = True
        try:
            self.conn.send(message)
            while True:
                reply = self.conn.recv()
                if reply.get("id") == message.get("id") and reply.get("op") in ("applied", "refused"):
                    return reply  # type: ignore[no-any-return]
        finally:
            _state.shielded = False


class ForwardingSession:
    """The session a worker's ``run_request`` sees: reads the project file, sends the apply to the daemon."""

    def __init__(self, channel: Channel, request_id: str, path: Path, text: str | None = None) -> None:
        self.channel = channel
        self.request_id = request_id
        self.path = path
        self.live = text is not None  # the project as REAPER holds it, sent by the daemon
        self.project = Project.loads(text, path) if text is not None else Project.load(path)

    def check_writable(self) -> None:
        """A file project must be writable before any work starts (REAPER's are written by REAPER)."""
        if not self.live:
            from bridge.session.rpp_file import RppFileSession

            RppFileSession.check_file(self.path)

    def items(self, selected_only: bool = False) -> list[tuple[Track, Item]]:
        """Items of the project, with their tracks."""
        return self.project.selected_items() if selected_only else self.project.items()

    def apply(self, changes: ChangeSet) -> ApplyResult:
        """Hand the ChangeSet to the daemon, which records and applies it."""
        reply = self.channel.request({"op": "apply", "id": self.request_id, "changes": changes.to_dict()})
        if reply["op"] == "refused":
            if reply.get("cancelled"):
                raise JobCancelled()
            raise ReabridgeError(reply.get("message") or "the daemon could not apply the result")
        return ApplyResult(bool(reply.get("applied")), changes.id, reply.get("waiting"), bool(reply.get("handoff")))


def _die_with_parent(parent: int) -> None:
    """Ask Linux to kill this process when the daemon dies (no orphan keeps working)."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:
        os._exit(0)


def _quiet_output(err_path: Path | None) -> None:
    """Keep libraries' banners out of the daemon's terminal; Python errors go to ``err_path``."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    if err_path is not None:
        fd = os.open(err_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.dup2(fd, 2)
        os.close(fd)
    os.close(devnull)


def _error(request_id: str, exc: BaseException) -> dict[str, Any]:
    transient = isinstance(exc, OSError) and exc.errno in TRANSIENT_ERRNOS
    if isinstance(exc, ReabridgeError):
        message = str(exc)
    elif isinstance(exc, OSError):
        message = f"{exc.strerror or exc}: {exc.filename}" if exc.filename else (exc.strerror or str(exc))
    elif isinstance(exc, MemoryError):
        message = "out of memory while running the job"
    else:
        message = f"internal error ({type(exc).__name__}: {exc}); see the daemon's log"
        traceback.print_exc()
    return {"op": "error", "id": request_id, "message": message.splitlines()[0] if message else "failed",
            "transient": transient}


def worker_main(conn: Connection, parent: int, warm: list[str], policy: dict[str, Any], err_path: str | None) -> None:
    """The worker process's entry point."""
    _die_with_parent(parent)
    from bridge.daemon.failpoints import active

    if active("worker_start"):
        os._exit(3)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C is the daemon's to handle
    signal.signal(signal.SIGTERM, _on_term)
    _quiet_output(Path(err_path) if err_path else None)
    import warnings

    warnings.filterwarnings("ignore")
    from bridge.jobs.engines import Engines
    from bridge.requests.parse import parse_request
    from bridge.requests.paths import PathPolicy
    from bridge.requests.run import run_request

    channel = Channel(conn)
    paths = PathPolicy(confined=True, allowed=[Path(p) for p in policy.get("allowed", [])],
                       resource_path=Path(policy["resource_path"]) if policy.get("resource_path") else None)
    engines = Engines()
    try:
        seconds = engines.warm(warm)
    except Exception as exc:  # a broken install: say so, keep serving what works
        seconds = {"error": str(exc)}  # type: ignore[dict-item]
    channel.send({"op": "ready", "pid": os.getpid(), "warmup": seconds})
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message.get("op") == "stop":
            return
        if message.get("op") != "run":
            continue  # a late answer to a cancelled job
        request_id = message["id"]
        _state.current, _state.pending = request_id, False
        last = [0.0]

        def progress(p: Progress, rid: str = request_id, sent: list[float] = last) -> None:
            now = time.monotonic()
            if now - sent[0] >= PROGRESS_INTERVAL or p.fraction in (0.0, 1.0):
                sent[0] = now
                channel.send({"op": "progress", "id": rid, "progress": p.to_dict()})

        reply: dict[str, Any]
        try:
            request = parse_request(message["request"])
            session = None
            if request.project is not None:
                if message.get("project_text") is None:  # read from the file: a REAPER project, where allowed
                    paths.check_project(message["project"])
                session = ForwardingSession(channel, request_id, Path(message["project"]), message.get("project_text"))
            result = run_request(request, session, progress=progress, engines=engines, paths=paths)
            reply = {"op": "done", "id": request_id, "result": result.to_dict()}
        except JobCancelled:
            reply = {"op": "cancelled", "id": request_id}
        except BaseException as exc:  # every failure becomes the request's error
            if isinstance(exc, (SystemExit, KeyboardInterrupt)):
                raise
            reply = _error(request_id, exc)
        finally:
            _state.current = None
        _state.pending = False
        try:
            conn.send(reply)
        except (BrokenPipeError, OSError):
            return
