"""``reabridge serve``: the daemon.

One process owns the spool: it takes request files in, records them in the
queue, hands them to warm worker processes, applies their results (one writer
per project), and writes a status file at every change. It never falls over:
a malformed request, a job that raises, a worker that crashes or a full disk
each end as that request's ``error`` status while the daemon keeps serving.
See :mod:`bridge.daemon.spool` for the folder layout and
:mod:`bridge.daemon.queue` for what survives a crash.
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
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

from bridge.changes.ops import ChangeSet
from bridge.daemon.failpoints import failpoint
from bridge.daemon.queue import Queue, Row
from bridge.daemon.spool import MAX_REQUEST_BYTES, Spool, write_json
from bridge.daemon.worker import worker_main
from bridge.errors import ReabridgeError
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


class DaemonError(ReabridgeError):
    """The daemon cannot start (another one holds the spool, the spool is unusable)."""


@dataclass
class Worker:
    """One worker process as the daemon sees it."""

    process: multiprocessing.process.BaseProcess
    conn: Connection
    started: float = field(default_factory=time.monotonic)
    ready: bool = False
    job: str | None = None
    cancelling: bool = False
    stopping: bool = False
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


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _stamp(seconds: float | None) -> str | None:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds)) if seconds else None


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
    """

    def __init__(self, spool: Spool, workers: int = 1, project: Path | None = None, allow: list[Path] | None = None,
                 resource_path: Path | None = None, warm: list[str] | None = None, once: bool = False) -> None:
        self.spool = spool
        self.n_workers = max(1, workers)
        self.project = project
        self.allow = list(allow or [])
        self.resource_path = resource_path
        self.warm = list(WARMABLE if warm is None else warm)
        self.once = once
        self.workers: list[Worker] = []
        self.progress: dict[str, dict[str, Any]] = {}
        self.stop_requested = False
        self._lock_fd: int | None = None
        self._positions_at = 0.0
        self._positions: dict[str, int] = {}
        self._ctx = multiprocessing.get_context("spawn")
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
        self.queue = Queue(self.spool.database)
        log.info("serving %s (pid %d, %d worker(s))", self.spool.root, os.getpid(), self.n_workers)
        previous = {s: signal.signal(s, self._on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
        try:
            self._recover()
            for _ in range(self.n_workers):
                self._start_worker()
            while not self.stop_requested:
                self._tick()
                if self.once and self._idle():
                    break
        finally:
            self._shutdown()
            for s, handler in previous.items():
                signal.signal(s, handler)
            self.queue.close()
            if self._lock_fd is not None:
                os.close(self._lock_fd)
        log.info("stopped")
        return 0

    def _on_signal(self, signum: int, frame: object) -> None:
        log.info("received %s; stopping", signal.Signals(signum).name)
        self.stop_requested = True

    def _idle(self) -> bool:
        assert self.queue is not None
        if self.spool.pending() or self.spool.cancellations():
            return False
        if any(w.job for w in self.workers):
            return False
        return not self.queue.in_state("queued", "running", "applying")

    def _shutdown(self) -> None:
        assert self.queue is not None
        for w in self.workers:
            if w.job is not None and w.process.is_alive():
                w.stopping = True
                with contextlib.suppress(ProcessLookupError):
                    os.kill(w.process.pid, signal.SIGTERM)  # type: ignore[arg-type]
        deadline = time.monotonic() + 10
        while any(w.job for w in self.workers) and time.monotonic() < deadline:
            self._poll_workers(0.05)
        for w in self.workers:
            if w.job is not None:  # did not stop in time: its request runs again next time
                self.queue.requeue(w.job, "the daemon stopped while this job ran; it will run again")
                w.job = None
            with contextlib.suppress(OSError):
                w.conn.send({"op": "stop"})
        for w in self.workers:
            w.process.join(3)
            if w.process.is_alive():
                w.process.kill()
                w.process.join(1)

    # -- the loop ---------------------------------------------------------------------
    def _tick(self) -> None:
        self._intake()
        self._cancellations()
        self._dispatch()
        self._poll_workers(TICK)
        self._refresh_positions()

    def _recover(self) -> None:
        """Finish what a previous daemon left: re-apply recorded ChangeSets, requeue interrupted jobs."""
        assert self.queue is not None
        for row in self.queue.in_state("applying"):
            log.info("%s: applying the recorded result again after a restart", row.id)
            self._finish_apply(row, json.loads(row.changes or "{}"), restarted=True)
        for row in self.queue.in_state("running"):
            if row.attempts >= MAX_ATTEMPTS:
                self._fail(row.id, f"the daemon stopped {row.attempts} times while this job ran; not retried again")
            else:
                log.info("%s: interrupted by a restart; queued again (attempt %d of %d)", row.id, row.attempts + 1,
                         MAX_ATTEMPTS)
                self.queue.requeue(row.id, "interrupted by a restart; queued again")
                self._status(row.id)

    # -- intake -----------------------------------------------------------------------
    def _intake(self) -> None:
        assert self.queue is not None
        for path in self.spool.pending():
            stem = path.stem
            try:
                size = path.stat().st_size
                if size > MAX_REQUEST_BYTES:
                    raise RequestError(f"the request file is {size} bytes; requests are at most {MAX_REQUEST_BYTES}")
                data = path.read_bytes()
                request = parse_request(data)
                if request.id != stem:
                    raise RequestError(f"the request's id {request.id!r} differs from its file name "
                                       f"({stem}.json); name the file <id>.json", "id")
            except FileNotFoundError:
                continue
            except (RequestError, OSError) as exc:
                self._reject(path, stem, exc)
                continue
            if self.project is not None and request.project is not None:
                request = request.model_copy(update={"project": request.project.model_copy(
                    update={"path": str(self.project)})})
            text = request.model_dump_json()
            try:
                added = self.queue.add(request.id, request.job, text,
                                       request.project.path if request.project else None)
            except Exception as exc:  # full disk, broken database: leave the file, try again later
                log.error("%s: could not record the request (%s); will retry", stem, exc)
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
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in stem)[:100] or "request"
        known = self.queue.get(safe) if self.queue is not None else None
        if known is None or known.state in ("error", "cancelled"):
            self._write_status(safe, {"id": safe, "job": None, "state": "error", "progress": None, "percent": None,
                                      "stage": None, "message": message, "error": message, "position": None})
        else:  # never overwrite the status of a request that was accepted under this id
            log.warning("%s: a request with this id is already %s; its status is kept", safe, known.state)
        try:
            os.replace(path, self.spool.rejected / f"{safe}.json")
            kept = sorted(self.spool.rejected.iterdir(), key=lambda p: p.stat().st_mtime)
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
                continue
            if row.state == "queued":
                self.queue.finish(row.id, "cancelled", "cancelled before it started")
                log.info("%s: cancelled (queued)", row.id)
                self._status(row.id)
            elif row.state == "running":
                worker = next((w for w in self.workers if w.job == row.id), None)
                if worker is not None and not worker.cancelling:
                    worker.cancelling = True
                    log.info("%s: cancelling (worker %s)", row.id, worker.process.pid)
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(worker.process.pid, signal.SIGTERM)  # type: ignore[arg-type]
            else:
                log.info("%s: cancel asked, but it is already %s", row.id, row.state)

    # -- dispatch and results ---------------------------------------------------------
    def _dispatch(self) -> None:
        assert self.queue is not None
        idle = [w for w in self.workers if w.ready and w.job is None and not w.stopping]
        if not idle:
            return
        for row in self.queue.queued():
            if not idle:
                break
            worker = idle.pop(0)
            row = self.queue.claim(row.id)
            request = json.loads(row.request)
            project = request.get("project", {}) or {}
            worker.job, worker.cancelling = row.id, False
            self.progress[row.id] = {"stage": "starting", "fraction": None, "message": ""}
            try:
                worker.conn.send({"op": "run", "id": row.id, "request": row.request, "project": project.get("path")})
            except OSError:
                worker.job = None
                self.queue.requeue(row.id)
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
                        self._message(w, w.conn.recv())
                except (EOFError, OSError):
                    pass
            if not w.process.is_alive():
                self._worker_died(w)

    def _message(self, w: Worker, message: dict[str, Any]) -> None:
        assert self.queue is not None
        op, rid = message.get("op"), message.get("id")
        if op == "ready":
            w.ready = True
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
            if w.cancelling or w.stopping:
                w.conn.send({"op": "refused", "id": rid, "cancelled": True})
                return
            row = self.queue.get(rid)
            assert row is not None
            self.queue.applying(rid, json.dumps(message["changes"]))
            self.progress[rid] = {"stage": "applying", "fraction": None, "message": ""}
            self._status(rid)
            reply = self._apply(row, message["changes"])
            w.conn.send(reply)
        elif op == "done":
            w.job = None
            result = message["result"]
            self.queue.finish(rid, "done", result.get("summary") or "done", json.dumps(result))
            log.info("%s: done: %s", rid, result.get("summary"))
            self.progress.pop(rid, None)
            self._status(rid)
        elif op == "error":
            w.job = None
            row = self.queue.get(rid)
            assert row is not None
            if message.get("transient") and row.attempts < MAX_ATTEMPTS:
                log.warning("%s: %s; trying again", rid, message["message"])
                self.queue.requeue(rid, f"{message['message']}; trying again")
            else:
                self._fail(rid, message["message"])
            self.progress.pop(rid, None)
            self._status(rid)
        elif op == "cancelled":
            w.job = None
            if w.stopping:
                self.queue.requeue(rid, "the daemon stopped while this job ran; it will run again")
                self._uncount(rid)
            else:
                self.queue.finish(rid, "cancelled", "cancelled while running; nothing was changed")
                log.info("%s: cancelled", rid)
            self.progress.pop(rid, None)
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
        if w.job is not None:
            rid = w.job
            row = self.queue.get(rid)
            if row is not None and row.state == "applying":
                self._finish_apply(row, json.loads(row.changes or "{}"))
            elif w.cancelling:
                self.queue.finish(rid, "cancelled", "cancelled while running; nothing was changed")
            elif w.stopping:
                self.queue.requeue(rid, "the daemon stopped while this job ran; it will run again")
            else:
                self._fail(rid, _crash_message(code))
            self.progress.pop(rid, None)
            self._status(rid)
        log.warning("worker %s ended (%s)", w.process.pid, _signal_name(code))
        if not self.stop_requested:
            self._start_worker()

    # -- applying ---------------------------------------------------------------------
    def session_for(self, request: dict[str, Any]) -> Session:
        """Where a request's changes go: its ``.RPP`` file (or ``--project``) with REAPER closed."""
        from bridge.session.rpp_file import RppFileSession

        path = self.project or Path(request["project"]["path"])
        return RppFileSession(path)

    def _apply(self, row: Row, changes: dict[str, Any]) -> dict[str, Any]:
        failpoint("before_apply")
        try:
            session = self.session_for(json.loads(row.request))
            applied = session.apply(ChangeSet.from_dict(changes))
            failpoint("after_apply")
        except Exception as exc:
            message = str(exc) if isinstance(exc, ReabridgeError) else (
                f"{exc.strerror}: {exc.filename}" if isinstance(exc, OSError) and exc.strerror
                else f"{type(exc).__name__}: {exc}")
            log.error("%s: applying failed: %s", row.id, message)
            return {"op": "refused", "id": row.id, "message": message}
        log.info("%s: %s", row.id, "applied" if applied.applied else "was applied before; nothing changed")
        return {"op": "applied", "id": row.id, "applied": applied.applied}

    def _finish_apply(self, row: Row, changes: dict[str, Any], restarted: bool = False) -> None:
        assert self.queue is not None
        reply = self._apply(row, changes)
        if reply["op"] == "applied":
            summary = changes.get("description") or "applied"
            result = {"job": row.job, "summary": summary, "changes": changes, "files": [], "done": [],
                      "skipped": [], "notices": ["applied after the daemon restarted"] if restarted else [],
                      "data": {}, "project": json.loads(row.request)["project"]["path"], "applied": reply["applied"]}
            self.queue.finish(row.id, "done", summary, json.dumps(result))
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
        positions = {row.id: n for n, row in enumerate(self.queue.queued(), start=1)}
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
            position = 1 + sum(1 for r in self.queue.queued() if r.seq < row.seq)
            self._positions[rid] = position
        worker = next((w.process.pid for w in self.workers if w.job == rid), None)
        self._write_status(rid, status_document(row, self.progress.get(rid), position, worker))

    def _write_status(self, rid: str, doc: dict[str, Any]) -> None:
        try:
            write_json(self.spool.status_path(rid), doc)
        except OSError as exc:
            log.error("%s: could not write its status file (%s)", rid, exc)


def status_document(row: Row, progress: dict[str, Any] | None = None, position: int | None = None,
                    worker: int | None = None) -> dict[str, Any]:
    """What ``status/<id>.json`` holds for a request in the queue."""
    state = "running" if row.state == "applying" else row.state
    fraction = (progress or {}).get("fraction")
    if state == "done":
        fraction = 1.0
    doc: dict[str, Any] = {
        "version": VERSION, "id": row.id, "job": row.job, "state": state,
        "progress": fraction, "percent": round(100 * fraction) if fraction is not None else None,
        "stage": (progress or {}).get("stage") if state == "running" else None,
        "message": (progress or {}).get("message", "") if state == "running" else (row.message or ""),
        "position": position if state == "queued" else None,
        "project": row.project, "attempts": row.attempts, "worker": worker if state == "running" else None,
        "queued_at": _stamp(row.queued_at), "started_at": _stamp(row.started_at),
        "finished_at": _stamp(row.finished_at), "updated": _now(),
    }
    if state == "error":
        doc["error"] = row.message
    if state == "done" and row.result:
        result = json.loads(row.result)
        changes = result.get("changes") or {}
        doc["result"] = {
            "summary": result.get("summary", ""),
            "files": result.get("files", []),
            "done": [d if isinstance(d, str) else _note(d) for d in result.get("done", [])],
            "skipped": [_note(d) for d in result.get("skipped", [])],
            "notices": result.get("notices", []),
            "added": [_op_line(op) for op in changes.get("ops", [])],
            "applied": result.get("applied"),
            "data": result.get("data", {}),
        }
    return doc


def _note(note: dict[str, Any]) -> str:
    from bridge.jobs.result import ItemNote

    return str(ItemNote(note.get("where", ""), note.get("message", ""), note.get("item")))


def _op_line(op: dict[str, Any]) -> str:
    kind = op.get("op", "")
    if kind == "add_track":
        return f"track '{op.get('name', '')}'"
    if kind == "add_midi_item":
        return f"MIDI item '{op.get('name', '')}' ({len(op.get('notes', []))} notes)"
    if kind == "add_audio_take":
        return f"take '{op.get('name', '')}' ({Path(op.get('file', '')).name})"
    if kind == "add_audio_item":
        return f"item '{op.get('name', '')}'"
    if kind == "add_js_effect":
        return f"JS effect {op.get('path', '')}"
    if kind == "set_tempo":
        return f"tempo {op.get('bpm')} BPM" + (f" with {len(op['points'])} tempo points" if op.get("points") else "")
    if kind == "add_marker":
        return f"marker '{op.get('name', '')}'"
    return kind


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
