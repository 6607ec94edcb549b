"""``reabridge serve``: the daemon.

One process owns the spool: it takes request files in, records them in the
queue, hands them to warm worker processes, applies their results (one writer
per project), and writes a status file at every change. It never falls over:
a malformed request, a job that raises, a worker that crashes or will not
start, a full disk or a damaged file in the spool each end as that request's
``error`` status (or a line in the log) while the daemon keeps serving. See
:mod:`bridge.daemon.spool` for the folder layout and :mod:`bridge.daemon.queue`
for what survives a crash.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import logging.handlers
import multiprocessing
import os
import signal
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

from bridge import __version__
from bridge.changes.ops import ChangeSet
from bridge.daemon import failpoints
from bridge.daemon.failpoints import failpoint
from bridge.daemon.queue import Queue, Row
from bridge.daemon.spool import MAX_REQUEST_BYTES, Spool, write_json
from bridge.daemon.status import SHOWN, now_stamp, status_document
from bridge.daemon.worker import worker_main
from bridge.errors import ReabridgeError
from bridge.fileio import OutputError, read_regular
from bridge.jobs.engines import WARMABLE
from bridge.requests.models import VERSION
from bridge.requests.parse import RequestError, parse_request
from bridge.session.base import Session

log = logging.getLogger("reabridge.daemon")

MAX_ATTEMPTS = 3
TICK = 0.02
POSITIONS_EVERY = 1.0
STATUS_EVERY = 0.1
KEEP_REJECTED = 200
CANCEL_GRACE = 10.0  # seconds a cancelled job may take to stop before its worker is killed
START_FAILURES = 5  # workers dying before they are ready, in a row, before queued requests are failed
KEEP_DAYS = 30  # finished requests older than this are forgotten at start-up
ERR_LOG_BYTES = 5 << 20
HEARTBEAT_EVERY = 2.0  # seconds between rewrites of daemon.json


class DaemonError(ReabridgeError):
    """The daemon cannot start (another one holds the spool, the spool is unusable)."""


class _Wait(Exception):  # noqa: N818 - not an error: a request waiting for its project in REAPER
    """A request (or its result) waits: REAPER runs but the project is not open, or REAPER does not answer."""


@dataclass
class Worker:
    """One worker process as the daemon sees it."""

    process: multiprocessing.process.BaseProcess
    conn: Connection
    started: float = field(default_factory=time.monotonic)
    ready: bool = False
    job: str | None = None
    cancelling: float | None = None  # when SIGTERM was sent for the job
    stopping: bool = False  # the daemon is shutting down: an interrupted job is queued again
    retiring: bool = False  # told to stop (after a cancel): a fresh worker replaces it
    last_status: float = 0.0


def _signal_name(code: int | None) -> str:
    if code is None or code >= 0:
        return f"exit code {code}"
    try:
        return signal.Signals(-code).name
    except ValueError:
        return f"signal {-code}"


def _crash_message(code: int | None) -> str:
    name = _signal_name(code)
    if code == -signal.SIGKILL:
        return f"the worker running this job was killed ({name}; out of memory?)"
    if code == -signal.SIGSEGV:
        return f"the worker running this job crashed ({name}: a fault in native code)"
    return f"the worker running this job stopped unexpectedly ({name})"


class Daemon:
    """The daemon serving one spool folder.

    Parameters
    ----------
    spool : Spool
    workers : int
        Worker processes (jobs run side by side; each keeps its engines warm).
    project : Path, optional
        Apply every project request to this ``.RPP`` (REAPER closed) instead of the request's own path.
    allow : list of Path
        Extra folders requests may write to.
    resource_path : Path, optional
        REAPER's resource path (effects are installed below it).
    warm : list of str
        Engines each worker loads at start-up (see :data:`bridge.jobs.engines.WARMABLE`).
    once : bool
        Process everything pending, then exit.
    announce : callable, optional
        Called once the spool is locked (the command line says where the log is).
    """

    def __init__(self, spool: Spool, workers: int = 1, project: Path | None = None, allow: list[Path] | None = None,
                 resource_path: Path | None = None, warm: list[str] | None = None, once: bool = False,
                 announce: Callable[[], None] | None = None) -> None:
        self.spool = spool
        self.n_workers = max(1, workers)
        self.project = project
        self.allow = list(allow or [])
        self.resource_path = resource_path
        self.warm = list(WARMABLE if warm is None else warm)
        self.once = once
        self.announce = announce
        self.workers: list[Worker] = []
        self.progress: dict[str, dict[str, Any]] = {}
        self.stop_requested = False
        self.exit_code = 0
        self._lock_fd: int | None = None
        self._positions_at = 0.0
        self._positions: dict[str, int] = {}
        self._ctx = multiprocessing.get_context("spawn")
        self._start_failures = 0
        self._next_start = 0.0
        self._ignored: set[str] = set()
        self._retry: list[tuple[Worker, dict[str, Any]]] = []
        self._link: Any = None  # the live REAPER, when one runs (bridge.session.live.ReaperLink)
        self._link_failures = 0
        self._link_retry_at = 0.0
        self._waiting: dict[str, tuple[float, str]] = {}  # request -> (next look, why it waits)
        self._waiting_at = 0.0
        self._handoffs: dict[str, dict[str, Any]] = {}
        self._beat_at = -HEARTBEAT_EVERY  # request -> the result its REAPER action applies
        self.queue: Queue | None = None

    # -- start and stop ---------------------------------------------------------------
    def _lock(self) -> None:
        fd = os.open(self.spool.lock, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode("ascii", "replace").strip() or "?"
            os.close(fd)
            raise DaemonError(f"another reabridge daemon (pid {holder}) is serving {self.spool.root}") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._lock_fd = fd

    def _open_queue(self) -> Queue:
        try:
            return Queue(self.spool.database)
        except sqlite3.DatabaseError as exc:
            raise DaemonError(f"the queue {self.spool.database} is damaged ({exc}); move it away and start again "
                              "(the status files keep what was done)") from None

    def _start_worker(self) -> None:
        parent, child = self._ctx.Pipe()
        policy = {"allowed": [str(p) for p in self.allow],
                  "resource_path": str(self.resource_path) if self.resource_path else None}
        err = str(self.spool.root / "workers.err")
        process = self._ctx.Process(target=worker_main, args=(child, os.getpid(), self.warm, policy, err),
                                    name="reabridge-worker", daemon=True)
        process.start()
        child.close()
        self.workers.append(Worker(process, parent))
        log.info("started worker %s", process.pid)

    def serve(self) -> int:
        """Run until stopped (SIGTERM/SIGINT), or with ``once`` until nothing is left. Returns the exit code."""
        self.spool.create()
        self._lock()
        with contextlib.suppress(OSError):
            self.spool.stop.unlink()  # a stop asked while no daemon ran is not for this one
        try:
            self.queue = self._open_queue()
        except DaemonError:
            os.close(self._lock_fd)  # type: ignore[arg-type]
            raise
        if self.announce is not None:
            self.announce()
        log.info("serving %s (pid %d, %d worker(s))", self.spool.root, os.getpid(), self.n_workers)
        previous = {s: signal.signal(s, self._on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
        try:
            self._guarded(self._housekeeping)
            self._guarded(self._recover)
            for _ in range(self.n_workers):
                self._start_worker()
            while not self.stop_requested:
                self._tick()
                if self.once and self._idle():
                    break
        except BaseException:
            log.exception("the daemon stopped on an unexpected error")
            raise
        finally:
            self._shutdown()
            for s, handler in previous.items():
                signal.signal(s, handler)
            with contextlib.suppress(Exception):
                self.queue.close()
            with contextlib.suppress(OSError):
                self.spool.heartbeat.unlink()
            if self._lock_fd is not None:
                os.close(self._lock_fd)
            log.info("stopped")
        return self.exit_code

    def _on_signal(self, signum: int, frame: object) -> None:
        log.info("received %s; stopping", signal.Signals(signum).name)
        self.stop_requested = True

    def _idle(self) -> bool:
        assert self.queue is not None
        if self.spool.pending() or self.spool.cancellations() or self._retry:
            return False
        if any(w.job for w in self.workers):
            return False
        left = [r.id for r in self.queue.in_state("queued", "running", "applying")]
        return all(rid in self._waiting for rid in left)  # what waits for REAPER does not keep --once running

    def _shutdown(self) -> None:
        """Stop the workers whatever state the queue or the disk is in: a running job runs again next time."""
        for w in self.workers:
            if w.job is not None and w.process.is_alive():
                w.stopping = True
                with contextlib.suppress(ProcessLookupError):
                    os.kill(w.process.pid, signal.SIGTERM)  # type: ignore[arg-type]
        deadline = time.monotonic() + 10
        while any(w.job for w in self.workers if w.process.is_alive()) and time.monotonic() < deadline:
            self._guarded(lambda: self._poll_workers(0.05))
        for w in self.workers:
            if w.job is not None:
                self._guarded(lambda rid=w.job: self._requeue_or_settle(rid))
                w.job = None
            with contextlib.suppress(OSError):
                w.conn.send({"op": "stop"})
        for w in self.workers:
            w.process.join(3)
            if w.process.is_alive():
                w.process.kill()
                w.process.join(1)

    # -- the loop ---------------------------------------------------------------------
    def _guarded(self, step: Callable[[], object]) -> None:
        """Run one step; an unexpected error is logged and the daemon carries on."""
        try:
            step()
        except Exception as exc:
            log.exception("%s failed (%s); carrying on", getattr(step, "__name__", "a step"), exc)
            time.sleep(0.2)  # a persistent fault (full disk) must not spin the loop

    def _tick(self) -> None:
        self._guarded(self._retry_messages)
        self._guarded(self._intake)
        self._guarded(self._cancellations)
        self._guarded(self._keep_workers)
        self._guarded(self._dispatch)
        self._guarded(lambda: self._poll_workers(TICK))
        self._guarded(self._refresh_positions)
        self._guarded(self._apply_waiting)
        self._guarded(self._beat)

    def _beat(self) -> None:
        """Say the daemon is alive (the REAPER actions read it), and stop when asked to by a file."""
        now = time.monotonic()
        if now - self._beat_at < HEARTBEAT_EVERY:
            return
        self._beat_at = now
        if self.spool.stop.is_file() and not self.spool.stop.is_symlink():
            self.spool.stop.unlink()
            log.info("asked to stop (%s)", self.spool.stop)
            self.stop_requested = True
            return
        write_json(self.spool.heartbeat, {"pid": os.getpid(), "updated": int(time.time()),
                                          "spool": str(self.spool.root), "version": __version__})

    def _housekeeping(self) -> None:
        """Forget what finished long ago; clear temporaries a killed daemon left."""
        assert self.queue is not None
        cutoff = time.time() - KEEP_DAYS * 86400
        for rid in self.queue.forget_finished(cutoff):
            with contextlib.suppress(FileNotFoundError):
                self.spool.status_path(rid).unlink()
        for path in self.spool.snapshots.glob("*"):  # sent with a request that never arrived
            with contextlib.suppress(OSError):
                if time.time() - path.lstat().st_mtime > 86400 and self.queue.get(path.stem) is None:
                    path.unlink()
        for folder in (self.spool.status, self.spool.requests, self.spool.cancel, self.spool.snapshots):
            for path in folder.glob(".*.tmp"):
                with contextlib.suppress(OSError):
                    if time.time() - path.stat().st_mtime > 60:
                        path.unlink()
        err = self.spool.root / "workers.err"
        with contextlib.suppress(OSError):
            if err.stat().st_size > ERR_LOG_BYTES:
                os.replace(err, err.with_name("workers.err.1"))

    def _recover(self) -> None:
        """Finish what a previous daemon left: re-apply recorded ChangeSets, requeue interrupted jobs, fix statuses."""
        assert self.queue is not None
        for row in self.queue.in_state("applying"):
            log.info("%s: applying the recorded result again after a restart", row.id)
            self._finish_apply(row, json.loads(row.changes or "{}"), restarted=True)
        for row in self.queue.in_state("running"):
            # Jobs run in worker processes: a daemon that died (killed, the machine rebooted) was not killed by
            # the job, so the interruption does not use up one of the job's attempts (a worker crash does).
            log.info("%s: interrupted by a restart; queued again", row.id)
            self.queue.requeue(row.id, "interrupted by a restart; queued again")
            self._uncount(row.id)
            self._status(row.id)
        for row in self.queue.recent(1000):  # a status file written just before a kill may lag the queue
            doc = self.spool.read_status(row.id)
            if doc is None or doc.get("state") != SHOWN[row.state]:
                self._status(row.id)

    # -- intake -----------------------------------------------------------------------
    def _intake(self) -> None:
        assert self.queue is not None
        for path in self.spool.pending():
            stem = path.stem
            try:
                if path.is_dir() and not path.is_symlink():
                    if stem not in self._ignored:
                        log.warning("%s: a folder in requests/ is not a request; ignored", path.name)
                        self._ignored.add(stem)
                    continue
                data = read_regular(path, MAX_REQUEST_BYTES, follow=False)
                request = parse_request(data)
                if request.id != stem:
                    raise RequestError(f"the request's id {request.id!r} differs from its file name "
                                       f"({stem}.json); name the file <id>.json", "id")
            except FileNotFoundError:
                continue
            except (RequestError, OutputError, OSError) as exc:
                self._reject(path, stem, exc)
                continue
            if self.project is not None and request.project is not None:
                request = request.model_copy(update={"project": request.project.model_copy(
                    update={"path": str(self.project)})})
            text = request.model_dump_json()
            try:
                added = self.queue.add(request.id, request.job, text,
                                       request.project.path if request.project else None)
            except sqlite3.Error as exc:  # full disk, a locked database: leave the file, try again later
                log.error("%s: could not record the request (%s); will retry", stem, exc)
                time.sleep(0.2)
                return
            failpoint("queued")
            if added:
                log.info("%s: queued (%s)", request.id, request.job)
                self._status(request.id)
            else:
                log.info("%s: already known; duplicate request file dropped", request.id)
            with contextlib.suppress(FileNotFoundError):
                path.unlink()

    def _reject(self, path: Path, stem: str, exc: Exception) -> None:
        message = str(exc) if isinstance(exc, ReabridgeError) else f"cannot read the request: {exc}"
        log.warning("%s: rejected: %s", stem, message)
        name = stem[:200] or "request"
        known = self.queue.get(name) if self.queue is not None else None
        if known is None or known.state in ("error", "cancelled"):
            now = now_stamp()
            self._write_status(name, {"version": VERSION, "id": name, "job": None, "state": "error", "progress": None,
                                      "percent": None, "stage": None, "message": message, "error": message,
                                      "position": None, "queued_at": now, "updated": now})
        else:  # never overwrite the status of a request that was accepted under this id
            log.warning("%s: a request with this id is already %s; its status is kept", name, known.state)
        try:
            if path.is_dir() and not path.is_symlink():
                raise OSError("a folder")
            os.replace(path, self.spool.rejected / f"{name}.json")
            kept = sorted(self.spool.rejected.iterdir(), key=lambda p: p.lstat().st_mtime)
            for old in kept[:-KEEP_REJECTED]:
                old.unlink()
        except OSError:
            with contextlib.suppress(OSError):
                path.unlink()

    # -- cancellation -----------------------------------------------------------------
    def _cancellations(self) -> None:
        assert self.queue is not None
        for name in self.spool.cancellations():
            marker = self.spool.cancel / name
            row = self.queue.get(name)
            if row is None and (self.spool.requests / f"{name}.json").exists():
                continue  # not taken in yet: next tick
            with contextlib.suppress(FileNotFoundError):
                marker.unlink()
            if row is None:
                log.info("%s: cancel asked for an unknown request", name)
            elif row.state == "queued":
                self.queue.finish(row.id, "cancelled", "cancelled before it started")
                log.info("%s: cancelled (queued)", row.id)
                self._status(row.id)
            elif row.state == "running":
                worker = next((w for w in self.workers if w.job == row.id), None)
                if worker is not None and worker.cancelling is None:
                    worker.cancelling = time.monotonic()
                    log.info("%s: cancelling (worker %s)", row.id, worker.process.pid)
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(worker.process.pid, signal.SIGTERM)  # type: ignore[arg-type]
            else:
                log.info("%s: cancel asked, but it is already %s", row.id, SHOWN[row.state])

    # -- workers ----------------------------------------------------------------------
    def _keep_workers(self) -> None:
        """Start workers up to the number asked (backing off when they keep dying); escalate stuck cancels."""
        assert self.queue is not None
        now = time.monotonic()
        for w in self.workers:
            if w.cancelling is not None and now - w.cancelling > CANCEL_GRACE and w.process.is_alive():
                log.warning("%s: the job did not stop within %.0f s; killing worker %s", w.job, CANCEL_GRACE,
                            w.process.pid)
                w.process.kill()
        live = [w for w in self.workers if not w.retiring]
        if len(live) < self.n_workers and now >= self._next_start and not self.stop_requested:
            self._start_worker()
        if self._start_failures >= START_FAILURES and not any(w.ready for w in self.workers):
            err = self.spool.root / "workers.err"
            for row in self.queue.in_state("queued"):
                self._fail(row.id, f"the daemon's workers cannot start ({self._start_failures} tries); see {err}")
            if self.once:
                self.exit_code = 1
                self.stop_requested = True

    def _dispatch(self) -> None:
        assert self.queue is not None
        idle = [w for w in self.workers if w.ready and w.job is None and not (w.stopping or w.retiring)]
        if not idle:
            return
        now = time.monotonic()
        for rid in self.queue.queued_ids():
            if not idle:
                break
            if rid in self._waiting and now < self._waiting[rid][0]:
                continue
            row = self.queue.get(rid)
            assert row is not None
            try:
                path, text = self._target(json.loads(row.request))
            except _Wait as wait:
                self._wait(rid, str(wait))
                continue
            except ReabridgeError as exc:  # a snapshot that cannot be used
                self._waiting.pop(rid, None)
                self._fail(rid, str(exc))
                continue
            self._waiting.pop(rid, None)
            worker = idle.pop(0)
            row = self.queue.claim(rid)
            worker.job, worker.cancelling = row.id, None
            self.progress[row.id] = {"stage": "starting", "fraction": None, "message": ""}
            try:
                worker.conn.send({"op": "run", "id": row.id, "request": row.request, "project": path,
                                  "project_text": text})
            except OSError:
                worker.job = None
                self.queue.requeue(row.id)
                self._uncount(row.id)
                continue
            log.info("%s: running on worker %s (attempt %d)", row.id, worker.process.pid, row.attempts)
            self._status(row.id)

    def _poll_workers(self, timeout: float) -> None:
        sources: list[Any] = [w.conn for w in self.workers] + [w.process.sentinel for w in self.workers]
        ready = wait(sources, timeout) if sources else []
        if not sources:
            time.sleep(timeout)
        for w in list(self.workers):
            if w.conn in ready:
                try:
                    while w.conn.poll():
                        self._handle(w, w.conn.recv())
                except (EOFError, OSError):
                    pass
            if not w.process.is_alive():
                self._worker_died(w)

    def _handle(self, w: Worker, message: dict[str, Any]) -> None:
        """Handle one message; if the queue cannot record it now (full disk), it is handled again later."""
        try:
            self._message(w, message)
        except sqlite3.Error as exc:
            log.error("could not record %s for %s (%s); will retry", message.get("op"), message.get("id"), exc)
            self._retry.append((w, message))

    def _retry_messages(self) -> None:
        pending, self._retry = self._retry, []
        for w, message in pending:
            self._handle(w, message)

    def _message(self, w: Worker, message: dict[str, Any]) -> None:
        assert self.queue is not None
        op, rid = message.get("op"), message.get("id")
        if op == "ready":
            w.ready = True
            self._start_failures = 0
            log.info("worker %s ready; warm-up %s", message.get("pid"),
                     ", ".join(f"{k} {v:.2f} s" if isinstance(v, float) else f"{k}: {v}"
                               for k, v in (message.get("warmup") or {}).items()) or "none")
            return
        if rid is None or rid != w.job:
            return
        if op == "progress":
            self.progress[rid] = message["progress"]
            now = time.monotonic()
            if now - w.last_status >= STATUS_EVERY or message["progress"].get("fraction") in (0.0, 1.0):
                w.last_status = now
                self._status(rid)
        elif op == "apply":
            w.conn.send(self._apply_for_worker(w, rid, message["changes"]))
        elif op == "done":
            result = message["result"]
            if rid in self._waiting:  # the changes could not land yet: kept, applied when the project is back
                self.queue.keep_result(rid, json.dumps(result), self._waiting[rid][1])
                w.job = None
                self._settled(rid)
                return
            if rid in self._handoffs:
                result["handoff"] = self._handoffs.pop(rid)
            self.queue.finish(rid, "done", result.get("summary") or "done", json.dumps(result))
            failpoint("finished")
            w.job = None
            log.info("%s: done: %s", rid, result.get("summary"))
            self._settled(rid)
        elif op == "error":
            row = self.queue.get(rid)
            assert row is not None
            if row.state == "applying":  # the changes landed; what failed after is only the report
                self._finish_apply(row, json.loads(row.changes or "{}"))
            elif message.get("transient") and row.attempts < MAX_ATTEMPTS:
                log.warning("%s: %s; trying again", rid, message["message"])
                self.queue.requeue(rid, f"{message['message']}; trying again")
            else:
                self._fail(rid, message["message"])
            w.job = None
            self._settled(rid)
        elif op == "cancelled":
            if w.stopping:
                self._requeue_or_settle(rid)
            else:
                self.queue.finish(rid, "cancelled", "cancelled while running; nothing was changed")
                log.info("%s: cancelled", rid)
                self._retire(w)  # a job stopped anywhere may leave its worker half-way through an import
            w.job = None
            self._settled(rid)

    def _settled(self, rid: str) -> None:
        self.progress.pop(rid, None)
        self._status(rid)

    def _retire(self, w: Worker) -> None:
        w.retiring = True
        with contextlib.suppress(OSError):
            w.conn.send({"op": "stop"})

    def _requeue_or_settle(self, rid: str) -> None:
        """A job interrupted by the daemon stopping: queued again, unless its changes already landed."""
        assert self.queue is not None
        row = self.queue.get(rid)
        if row is not None and row.state == "applying":
            self._finish_apply(row, json.loads(row.changes or "{}"))
        elif row is not None and row.state == "running":
            self.queue.requeue(rid, "the daemon stopped while this job ran; it will run again")
            self._uncount(rid)
            self._status(rid)

    def _uncount(self, rid: str) -> None:
        assert self.queue is not None
        with self.queue.db:
            self.queue.db.execute("UPDATE requests SET attempts = MAX(0, attempts - 1) WHERE id = ?", (rid,))

    def _worker_died(self, w: Worker) -> None:
        assert self.queue is not None
        code = w.process.exitcode
        self.workers.remove(w)
        with contextlib.suppress(OSError):
            w.conn.close()
        if not w.ready and not w.retiring and not self.stop_requested:
            self._start_failures += 1
            self._next_start = time.monotonic() + min(30.0, 0.5 * 2 ** self._start_failures)
            log.error("worker %s died while starting (%s); see %s", w.process.pid, _signal_name(code),
                      self.spool.root / "workers.err")
        elif not w.retiring:
            log.warning("worker %s ended (%s)", w.process.pid, _signal_name(code))
        if w.job is not None:
            rid = w.job
            w.job = None
            row = self.queue.get(rid)
            if row is not None and row.state == "applying":
                self._finish_apply(row, json.loads(row.changes or "{}"))
            elif w.cancelling is not None:
                self.queue.finish(rid, "cancelled", "cancelled while running; nothing was changed")
                log.info("%s: cancelled (worker stopped)", rid)
            elif w.stopping:
                self._requeue_or_settle(rid)
            else:
                self._fail(rid, _crash_message(code))
            self._settled(rid)

    # -- applying ---------------------------------------------------------------------
    # -- where results go -------------------------------------------------------------
    def _reaper(self) -> Any:
        """The live REAPER (a link), None when no REAPER runs; :class:`_Wait` when one runs but does not answer."""
        from bridge.session.live import ReaperLink, ReaperUnavailableError, server_info

        if self.project is not None or self.resource_path is None:
            return None
        if server_info(self.resource_path) is None:  # REAPER is not running: results go to the files
            self._drop_link(lost=False)
            return None
        if self._link is not None:
            return self._link
        if time.monotonic() < self._link_retry_at:
            raise _Wait("waiting for REAPER to answer")
        try:
            self._link = ReaperLink.connect(self.resource_path)
        except ReaperUnavailableError as exc:
            self._link_failures += 1
            self._link_retry_at = time.monotonic() + min(30.0, 0.5 * 2 ** self._link_failures)
            log.warning("REAPER does not answer (%s); trying again in %.0f s", exc,
                        self._link_retry_at - time.monotonic())
            raise _Wait("waiting for REAPER to answer") from None
        if self._link is None:
            return None
        self._link_failures = 0
        log.info("connected to REAPER (reabridge server on port %s)", self._link.port)
        return self._link

    def _drop_link(self, lost: bool = True) -> None:
        if self._link is not None:
            self._link.close()
            self._link = None
            log.info("lost the connection to REAPER; waiting for it to answer again" if lost else
                     "REAPER is not running any more; results go to the project files until it is back")

    def _target(self, request: dict[str, Any]) -> tuple[str | None, str | None]:
        """Where a request reads its project: ``(path, REAPER's text)`` live, ``(path, None)`` from the file.

        A request asking for a handoff reads the snapshot its action sent when REAPER's
        Python does not answer (raises :class:`bridge.errors.ReabridgeError` when that
        snapshot is unusable).
        """
        from bridge.session.live import ReaperUnavailableError

        project = request.get("project")
        if project is None:
            return None, None
        if self.project is not None:
            return str(self.project), None
        handoff = bool(request.get("handoff"))
        try:
            link = self._reaper()
        except _Wait:
            if not handoff:
                raise
            link = None
        if link is None:
            return project["path"], self._snapshot_text(project) if handoff else None
        try:
            state = link.call("project_state", {"path": project["path"], "id": project.get("id")})
        except ReaperUnavailableError:
            self._drop_link()
            if handoff:
                return project["path"], self._snapshot_text(project)
            raise _Wait("waiting for REAPER to answer") from None
        if state is None:
            if handoff:
                return project["path"], self._snapshot_text(project)
            raise _Wait(f"waiting for {Path(project['path']).name} to be open in REAPER")
        return state["path"], state["text"]

    def _snapshot_text(self, project: dict[str, Any]) -> str | None:
        """The project as the action's REAPER held it (None: no snapshot, the file is read)."""
        from bridge.session.handoff import read_snapshot

        snapshot = project.get("snapshot")
        return read_snapshot(Path(snapshot), self.spool.snapshots) if snapshot else None

    def _wait(self, rid: str, why: str) -> None:
        first = rid not in self._waiting or self._waiting[rid][1] != why
        self._waiting[rid] = (time.monotonic() + 1.0, why)
        if first:
            log.info("%s: %s", rid, why)
            self._status(rid)

    def session_for(self, request: dict[str, Any], undo_name: str) -> Session:
        """Where a request's changes go: the project open in REAPER (one undo step), else its ``.RPP`` file.

        A request asking for a handoff goes back to its REAPER action instead of the
        file, or of waiting, when REAPER's Python does not answer.

        Raises
        ------
        _Wait
            REAPER runs but does not have the project open, or does not answer.
        """
        from bridge.session.live import LiveSession, ProjectNotOpenError, ReaperUnavailableError
        from bridge.session.rpp_file import RppFileSession

        if self.project is not None:
            return RppFileSession(self.project)
        handoff = bool(request.get("handoff"))
        try:
            link = self._reaper()
        except _Wait:
            if not handoff:
                raise
            link = None
        if link is None:
            return self._handoff(request, undo_name) if handoff else RppFileSession(Path(request["project"]["path"]))
        try:
            return LiveSession(link, request["project"], undo_name)
        except ProjectNotOpenError:
            if handoff:
                return self._handoff(request, undo_name)
            raise _Wait(f"waiting for {Path(request['project']['path']).name} to be open in REAPER") from None
        except ReaperUnavailableError:
            self._drop_link()
            if handoff:
                return self._handoff(request, undo_name)
            raise _Wait("waiting for REAPER to answer") from None

    def _handoff(self, request: dict[str, Any], undo_name: str) -> Session:
        from bridge.session.handoff import HandoffSession

        project = request["project"]
        text = self._snapshot_text(project)
        if text is None:
            text = read_regular(project["path"]).decode("utf-8", "replace")
        return HandoffSession(project, text, undo_name)

    def _apply_for_worker(self, w: Worker, rid: str, changes: dict[str, Any]) -> dict[str, Any]:
        """Record a worker's ChangeSet, then apply it; what the worker is told."""
        assert self.queue is not None
        if w.cancelling is not None or w.stopping:
            return {"op": "refused", "id": rid, "cancelled": True}
        try:
            self.queue.applying(rid, json.dumps(changes))
        except sqlite3.Error as exc:  # not recorded: not applied (a crash could not tell it had been)
            log.error("%s: could not record the result before applying it (%s)", rid, exc)
            return {"op": "refused", "id": rid, "message": "the daemon could not record the result (is the disk "
                                                            "full?); nothing was changed"}
        self.progress[rid] = {"stage": "applying", "fraction": None, "message": ""}
        self._status(rid)
        row = self.queue.get(rid)
        assert row is not None
        reply = self._apply(row, changes)
        if reply["op"] == "refused":  # nothing landed: the row goes back to running, its ChangeSet forgotten
            self.queue.not_applied(rid)
            failpoint("refused")
        return reply

    def _apply(self, row: Row, changes: dict[str, Any]) -> dict[str, Any]:
        from bridge.jobs.table import JOBS
        from bridge.session.live import ProjectNotOpenError, ReaperUnavailableError

        failpoint("before_apply")
        try:
            if failpoints.active("apply_fails"):
                raise OSError(5, "Input/output error (a failure the tests asked for)")
            request = json.loads(row.request)
            session = self.session_for(request, JOBS[row.job].undo_name)
            try:
                applied = session.apply(ChangeSet.from_dict(changes))
            except (ProjectNotOpenError, ReaperUnavailableError):
                if not request.get("handoff"):
                    raise
                session = self._handoff(request, JOBS[row.job].undo_name)
                applied = session.apply(ChangeSet.from_dict(changes))
            failpoint("after_apply")
        except _Wait as wait:  # kept: applied when the project (or REAPER) is back
            self._wait(row.id, str(wait))
            return {"op": "applied", "id": row.id, "applied": None, "waiting": f"{wait}; the result will be "
                                                                                  "applied then"}
        except (ProjectNotOpenError, ReaperUnavailableError) as exc:
            if isinstance(exc, ReaperUnavailableError):
                self._drop_link()
            self._wait(row.id, str(exc))
            return {"op": "applied", "id": row.id, "applied": None, "waiting": f"{exc}; the result will be "
                                                                                 "applied later"}
        except Exception as exc:
            message = str(exc) if isinstance(exc, ReabridgeError) else (
                f"{exc.strerror}: {exc.filename}" if isinstance(exc, OSError) and exc.strerror
                else f"{type(exc).__name__}: {exc}")
            log.error("%s: applying failed: %s", row.id, message)
            return {"op": "refused", "id": row.id, "message": message}
        self._waiting.pop(row.id, None)
        if applied.handed_off:
            self._handoffs[row.id] = session.document  # type: ignore[attr-defined]
            log.info("%s: handed to the REAPER action that asked for it (REAPER's Python does not answer)", row.id)
            return {"op": "applied", "id": row.id, "applied": None, "handoff": True}
        where = "in REAPER" if type(session).__name__ == "LiveSession" else f"to {Path(session.path).name}"
        log.info("%s: %s", row.id, f"applied {where}" if applied.applied else "was applied before; nothing changed")
        return {"op": "applied", "id": row.id, "applied": applied.applied}

    def _apply_waiting(self) -> None:
        """Apply the results that wait for their project (every couple of seconds)."""
        assert self.queue is not None
        now = time.monotonic()
        if now - self._waiting_at < 2.0:
            return
        self._waiting_at = now
        busy = {w.job for w in self.workers}
        for row in self.queue.in_state("applying"):
            if row.id in self._waiting and row.id not in busy:
                self._finish_apply(row, json.loads(row.changes or "{}"))

    def _finish_apply(self, row: Row, changes: dict[str, Any], restarted: bool = False) -> None:
        """End a request whose ChangeSet was recorded: apply it (again; ids make that safe) and say done."""
        assert self.queue is not None
        reply = self._apply(row, changes)
        if reply.get("waiting"):
            self._status(row.id)
            return
        if reply["op"] == "applied":
            stored = json.loads(row.result) if row.result else None
            summary = (stored or {}).get("summary") or changes.get("description") or "applied"
            notices = ["applied after the daemon restarted"] if restarted else []
            result = stored or {"job": row.job, "summary": summary, "changes": changes, "files": [], "done": [],
                                "skipped": [], "notices": [], "data": {}}
            result.update({"notices": [*result.get("notices", []), *notices], "applied": reply["applied"],
                           "project": json.loads(row.request)["project"]["path"]})
            if row.id in self._handoffs:
                result["handoff"] = self._handoffs.pop(row.id)
            self.queue.finish(row.id, "done", summary, json.dumps(result))
            log.info("%s: done", row.id)
        else:
            self._fail(row.id, reply["message"])
        self._status(row.id)

    def _fail(self, rid: str, message: str) -> None:
        assert self.queue is not None
        self.queue.finish(rid, "error", message)
        log.error("%s: error: %s", rid, message)
        self._status(rid)

    # -- status files -----------------------------------------------------------------
    def _refresh_positions(self) -> None:
        now = time.monotonic()
        if now - self._positions_at < POSITIONS_EVERY:
            return
        self._positions_at = now
        assert self.queue is not None
        positions = {rid: n for n, rid in enumerate(self.queue.queued_ids(), start=1)}
        for rid, n in positions.items():
            if self._positions.get(rid) != n:
                self._status(rid, position=n)
        self._positions = positions

    def _status(self, rid: str, position: int | None = None) -> None:
        assert self.queue is not None
        row = self.queue.get(rid)
        if row is None:
            return
        if row.state == "queued" and position is None:
            position = self.queue.position(rid)
            self._positions[rid] = position
        worker = next((w.process.pid for w in self.workers if w.job == rid), None)
        progress = self.progress.get(rid)
        if rid in self._waiting and worker is None:
            progress = {"stage": "waiting", "fraction": None, "message": self._waiting[rid][1]}
        self._write_status(rid, status_document(row, progress, position, worker))

    def _write_status(self, rid: str, doc: dict[str, Any]) -> None:
        final = doc.get("state") in ("done", "error", "cancelled")
        try:
            write_json(self.spool.status_path(rid), doc, durable=final)
        except OSError as exc:
            log.error("%s: could not write its status file (%s)", rid, exc)
        if final:  # the project as the action saw it is not needed any more
            with contextlib.suppress(OSError):
                (self.spool.snapshots / f"{rid}.RPP").unlink()


def setup_logging(spool: Spool, verbose: bool) -> None:
    """One rotating log file in the spool folder; ``verbose`` adds stderr."""
    root = logging.getLogger("reabridge")
    root.setLevel(logging.INFO)
    spool.root.mkdir(parents=True, exist_ok=True)
    handler = logging.handlers.RotatingFileHandler(spool.log, maxBytes=2 << 20, backupCount=3, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    if verbose:
        stream = logging.StreamHandler()
        stream.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
        root.addHandler(stream)

