"""``reabridge serve``: the daemon's loop, tying intake, the queue, the pool and the results together.

One process owns the spool. Every tick it takes request files in
(:mod:`bridge.daemon.intake`), handles cancellations, keeps its workers
(:mod:`bridge.daemon.pool`), dispatches queued requests to idle workers,
listens to them, applies their results (:mod:`bridge.daemon.results`), and
writes a status file at every change. It never falls over: a malformed request,
a job that raises, a worker that crashes or will not start, a full disk or a
damaged file in the spool each end as that request's ``error`` status (or a line
in the log) while the daemon keeps serving. See :mod:`bridge.daemon.spool` for
the folder layout and :mod:`bridge.daemon.queue` for what survives a crash.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import logging.handlers
import os
import signal
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bridge import __version__
from bridge.daemon.failpoints import failpoint
from bridge.daemon.intake import Intake
from bridge.daemon.pool import Pool, Worker, crash_message
from bridge.daemon.queue import Queue
from bridge.daemon.results import Results, Wait
from bridge.daemon.spool import Spool, write_json
from bridge.daemon.status import SHOWN, status_document
from bridge.errors import ReabridgeError
from bridge.jobs.engines import WARMABLE
from bridge.requests.paths import PathPolicy

log = logging.getLogger("reabridge.daemon")

MAX_ATTEMPTS = 3
TICK = 0.02
POSITIONS_EVERY = 1.0
STATUS_EVERY = 0.1
KEEP_DAYS = 30  # finished requests older than this are forgotten at start-up
ERR_LOG_BYTES = 5 << 20
HEARTBEAT_EVERY = 2.0  # seconds between rewrites of daemon.json


class DaemonError(ReabridgeError):
    """The daemon cannot start (another one holds the spool, the spool is unusable)."""


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
        Extra folders requests may read projects from and write to.
    resource_path : Path, optional
        REAPER's resource path (effects are installed below it).
    warm : list of str
        Engines each worker loads at start-up (see :data:`bridge.jobs.engines.WARMABLE`).
    once : bool
        Process everything pending, then exit.
    announce : callable, optional
        Called once the spool is locked (the command line says where the log is).
    job_timeout : float, optional
        Seconds a job may run (0: no limit; None: the defaults of :mod:`bridge.daemon.pool`).
    memory_limit : int, optional
        Bytes a worker may hold while running a job (0: no limit; None: the default).
    """

    def __init__(self, spool: Spool, workers: int = 1, project: Path | None = None, allow: list[Path] | None = None,
                 resource_path: Path | None = None, warm: list[str] | None = None, once: bool = False,
                 announce: Callable[[], None] | None = None, job_timeout: float | None = None,
                 memory_limit: int | None = None) -> None:
        self.spool = spool
        self.project = project
        self.once = once
        self.announce = announce
        allowed = list(allow or []) + ([project.parent] if project is not None else [])
        self.paths = PathPolicy(confined=True, allowed=allowed, resource_path=resource_path)
        policy = {"allowed": [str(p) for p in allowed], "resource_path": str(resource_path) if resource_path else None}
        self.pool = Pool(workers, list(WARMABLE if warm is None else warm), policy, spool.root / "workers.err",
                         job_timeout, memory_limit)
        self.progress: dict[str, dict[str, Any]] = {}
        self.stop_requested = False
        self.exit_code = 0
        self._lock_fd: int | None = None
        self._positions_at = 0.0
        self._positions: dict[str, int] = {}
        self._retry: list[tuple[Worker, dict[str, Any]]] = []
        self._beat_at = -HEARTBEAT_EVERY
        self.queue: Queue | None = None
        self.intake: Intake | None = None
        self.results: Results | None = None

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
        self.intake = Intake(self.spool, self.queue, self.paths, self.project, self._status, self._write_status)
        self.results = Results(self.spool, self.queue, self.paths, self.project, self.paths.resource_path,
                               self._status, self._fail)
        if self.announce is not None:
            self.announce()
        log.info("serving %s (pid %d, %d worker(s))", self.spool.root, os.getpid(), self.pool.size)
        previous = {s: signal.signal(s, self._on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
        try:
            self._guarded(self._housekeeping)
            self._guarded(self._recover)
            for _ in range(self.pool.size):
                self.pool.start_one()
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
        assert self.queue is not None and self.results is not None
        if self.spool.pending() or self.spool.cancellations() or self._retry:
            return False
        if any(w.job for w in self.pool.workers):
            return False
        left = [r.id for r in self.queue.in_state("queued", "running", "applying")]
        return all(rid in self.results.waiting for rid in left)  # what waits for REAPER does not keep --once running

    def _shutdown(self) -> None:
        """Stop the workers whatever state the queue or the disk is in: a running job runs again next time."""
        self.pool.interrupt_all()
        deadline = time.monotonic() + 10
        while self.pool.busy() and time.monotonic() < deadline:
            self._guarded(lambda: self._poll(0.05))
        for w in self.pool.workers:
            if w.job is not None:
                self._guarded(lambda rid=w.job: self._requeue_or_settle(rid))
                w.job = None
        self.pool.stop_all()

    # -- the loop ---------------------------------------------------------------------
    def _guarded(self, step: Callable[[], object]) -> None:
        """Run one step; an unexpected error is logged and the daemon carries on."""
        try:
            step()
        except Exception as exc:
            log.exception("%s failed (%s); carrying on", getattr(step, "__name__", "a step"), exc)
            time.sleep(0.2)  # a persistent fault (full disk) must not spin the loop

    def _tick(self) -> None:
        assert self.intake is not None and self.results is not None
        self._guarded(self._retry_messages)
        self._guarded(self.intake.run)
        self._guarded(self._cancellations)
        self._guarded(self._keep_workers)
        self._guarded(self._dispatch)
        self._guarded(lambda: self._poll(TICK))
        self._guarded(self._refresh_positions)
        self._guarded(lambda: self.results.apply_waiting({w.job for w in self.pool.workers}))
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
        assert self.queue is not None and self.results is not None
        for row in self.queue.in_state("applying"):
            log.info("%s: applying the recorded result again after a restart", row.id)
            self.results.finish_apply(row, json.loads(row.changes or "{}"), restarted=True)
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
                worker = self.pool.running(row.id)
                if worker is not None and worker.cancelling is None:
                    log.info("%s: cancelling (worker %s)", row.id, worker.pid)
                    self.pool.cancel(worker)
            else:
                log.info("%s: cancel asked, but it is already %s", row.id, SHOWN[row.state])

    # -- workers ----------------------------------------------------------------------
    def _keep_workers(self) -> None:
        """Keep the pool full and within its limits; fail the queue when no worker can start."""
        assert self.queue is not None
        self.pool.keep(self.stop_requested)
        if self.pool.start_failed():
            err = self.spool.root / "workers.err"
            for row in self.queue.in_state("queued"):
                self._fail(row.id, f"the daemon's workers cannot start ({self.pool.start_failures} tries); see {err}")
            if self.once:
                self.exit_code = 1
                self.stop_requested = True

    def _dispatch(self) -> None:
        assert self.queue is not None and self.results is not None
        idle = self.pool.idle()
        if not idle:
            return
        now = time.monotonic()
        for rid in self.queue.queued_ids():
            if not idle:
                break
            if not self.results.may_look(rid, now):
                continue
            row = self.queue.get(rid)
            assert row is not None
            request = json.loads(row.request)
            try:
                path, text = self.results.target(request)
            except Wait as wait:
                self.results.wait(rid, str(wait))
                continue
            except ReabridgeError as exc:  # a snapshot that cannot be used
                self.results.waiting.pop(rid, None)
                self._fail(rid, str(exc))
                continue
            self.results.waiting.pop(rid, None)
            worker = idle.pop(0)
            row = self.queue.claim(rid)
            self.progress[row.id] = {"stage": "starting", "fraction": None, "message": ""}
            try:
                self.pool.assign(worker, row.id, self.pool.timeout_for(row.job, request.get("options") or {}),
                                 {"op": "run", "id": row.id, "request": row.request, "project": path,
                                  "project_text": text})
            except OSError:
                self.queue.requeue(row.id)
                self._uncount(row.id)
                continue
            log.info("%s: running on worker %s (attempt %d)", row.id, worker.pid, row.attempts)
            self._status(row.id)

    def _poll(self, timeout: float) -> None:
        self.pool.poll(timeout, self._handle, self._worker_died)

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
        assert self.queue is not None and self.results is not None
        op, rid = message.get("op"), message.get("id")
        if op == "ready":
            self.pool.ready(w, message)
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
            self.progress[rid] = {"stage": "applying", "fraction": None, "message": ""}
            self._status(rid)
            w.conn.send(self.results.apply_for_worker(rid, message["changes"],
                                                      refused=w.cancelling is not None or w.stopping))
        elif op == "done":
            result = message["result"]
            if rid in self.results.waiting:  # the changes could not land yet: kept, applied when the project is back
                self.queue.keep_result(rid, json.dumps(result), self.results.waiting[rid][1])
                w.job = None
                self._settled(rid)
                return
            if rid in self.results.handoffs:
                result["handoff"] = self.results.handoffs.pop(rid)
            self.queue.finish(rid, "done", result.get("summary") or "done", json.dumps(result))
            failpoint("finished")
            w.job = None
            log.info("%s: done: %s", rid, result.get("summary"))
            self._settled(rid)
        elif op == "error":
            row = self.queue.get(rid)
            assert row is not None
            if row.state == "applying":  # the changes landed; what failed after is only the report
                self.results.finish_apply(row, json.loads(row.changes or "{}"))
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
            elif w.stop_reason is not None:  # stopped by the daemon for a limit it met
                self._fail(rid, w.stop_reason)
                self.pool.retire(w)
            else:
                self.queue.finish(rid, "cancelled", "cancelled while running; nothing was changed")
                log.info("%s: cancelled", rid)
                self.pool.retire(w)  # a job stopped anywhere may leave its worker half-way through an import
            w.job = None
            self._settled(rid)

    def _settled(self, rid: str) -> None:
        self.progress.pop(rid, None)
        self._status(rid)

    def _requeue_or_settle(self, rid: str) -> None:
        """A job interrupted by the daemon stopping: queued again, unless its changes already landed."""
        assert self.queue is not None and self.results is not None
        row = self.queue.get(rid)
        if row is not None and row.state == "applying":
            self.results.finish_apply(row, json.loads(row.changes or "{}"))
        elif row is not None and row.state == "running":
            self.queue.requeue(rid, "the daemon stopped while this job ran; it will run again")
            self._uncount(rid)
            self._status(rid)

    def _uncount(self, rid: str) -> None:
        assert self.queue is not None
        with self.queue.db:
            self.queue.db.execute("UPDATE requests SET attempts = MAX(0, attempts - 1) WHERE id = ?", (rid,))

    def _worker_died(self, w: Worker) -> None:
        assert self.queue is not None and self.results is not None
        if w.job is None:
            return
        rid, w.job = w.job, None
        row = self.queue.get(rid)
        if row is not None and row.state == "applying":
            self.results.finish_apply(row, json.loads(row.changes or "{}"))
        elif w.stop_reason is not None:
            self._fail(rid, w.stop_reason)
        elif w.cancelling is not None:
            self.queue.finish(rid, "cancelled", "cancelled while running; nothing was changed")
            log.info("%s: cancelled (worker stopped)", rid)
        elif w.stopping:
            self._requeue_or_settle(rid)
        else:
            self._fail(rid, crash_message(w.process.exitcode))
        self._settled(rid)

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
        worker = self.pool.running(rid)
        progress = self.progress.get(rid)
        waiting = self.results.waiting if self.results is not None else {}
        if rid in waiting and worker is None:
            progress = {"stage": "waiting", "fraction": None, "message": waiting[rid][1]}
        self._write_status(rid, status_document(row, progress, position, worker.pid if worker else None))

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
