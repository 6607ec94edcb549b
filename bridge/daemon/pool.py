"""The pool: warm worker processes, their start-up, limits, crashes and shutdown.

Workers are spawned (never forked from a daemon holding SQLite and sockets),
warm their engines, and run one job at a time. The pool keeps as many as asked
for, backs off when they keep dying while starting, and bounds every job: a
cancelled job gets SIGTERM and, past a grace period, SIGKILL; a job that runs
past its time limit or a worker that grows past its memory limit is stopped the
same way, and the job ends with an error saying which limit it met. Workers die
with the daemon (``PR_SET_PDEATHSIG``, see :mod:`bridge.daemon.worker`).
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

from bridge.daemon.worker import worker_main

log = logging.getLogger("reabridge.daemon")

CANCEL_GRACE = 10.0  # seconds a cancelled job may take to stop before its worker is killed
START_FAILURES = 5  # workers dying before they are ready, in a row, before queued requests are failed
MEMORY_EVERY = 1.0  # seconds between looks at the workers' memory

#: how long a job may run before it is stopped, by job (seconds); ``serve --job-timeout`` sets the rest
JOB_TIMEOUTS = {"amp_capture": 12 * 3600.0}
DEFAULT_JOB_TIMEOUT = 3600.0


def default_memory_limit() -> int:
    """Bytes a worker may hold: half the machine's memory, at most 8 GiB (REAPER and the rest need the remainder)."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        total = 8 << 30
    return int(min(total // 2, 8 << 30))


def resident_bytes(pid: int) -> int | None:
    """A process's resident memory (Linux ``/proc``), None when it cannot be read."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


@dataclass
class Worker:
    """One worker process as the daemon sees it."""

    process: multiprocessing.process.BaseProcess
    conn: Connection
    started: float = field(default_factory=time.monotonic)
    ready: bool = False
    job: str | None = None
    job_started: float = 0.0
    deadline: float | None = None  # when the job's time is up (monotonic)
    cancelling: float | None = None  # when SIGTERM was sent for the job
    stop_reason: str | None = None  # why the daemon stopped the job (a limit), None for a user's cancel
    stopping: bool = False  # the daemon is shutting down: an interrupted job is queued again
    retiring: bool = False  # told to stop (after a cancel): a fresh worker replaces it
    last_status: float = 0.0

    @property
    def pid(self) -> int:
        """The worker's process id."""
        return self.process.pid  # type: ignore[return-value]

    def signal(self, signum: int) -> None:
        """Send a signal to the worker, if it still runs."""
        with contextlib.suppress(ProcessLookupError, TypeError):
            os.kill(self.pid, signum)


def signal_name(code: int | None) -> str:
    """An exit code as a person reads it (``SIGKILL``, ``exit code 3``)."""
    if code is None or code >= 0:
        return f"exit code {code}"
    try:
        return signal.Signals(-code).name
    except ValueError:
        return f"signal {-code}"


def crash_message(code: int | None) -> str:
    """Why a job ended when its worker died under it."""
    name = signal_name(code)
    if code == -signal.SIGKILL:
        return f"the worker running this job was killed ({name}; out of memory?)"
    if code == -signal.SIGSEGV:
        return f"the worker running this job crashed ({name}: a fault in native code)"
    return f"the worker running this job stopped unexpectedly ({name})"


class Pool:
    """The daemon's worker processes.

    Parameters
    ----------
    size : int
        Workers to keep running.
    warm : list of str
        Engines each worker loads at start-up.
    policy : dict
        The path rules workers apply (allowed folders, REAPER's resource path).
    err_path : Path
        Where workers' Python errors go.
    job_timeout : float or None
        Seconds a job may run (``None``: the defaults of :data:`JOB_TIMEOUTS`); a request's own
        ``options.timeout`` counts first.
    memory_limit : int or None
        Bytes of resident memory a worker may use (``None``: :func:`default_memory_limit`; 0: no limit).
    """

    def __init__(self, size: int, warm: list[str], policy: dict[str, Any], err_path: Path,
                 job_timeout: float | None = None, memory_limit: int | None = None) -> None:
        self.size = max(1, size)
        self.warm = warm
        self.policy = policy
        self.err_path = err_path
        self.job_timeout = job_timeout
        self.memory_limit = default_memory_limit() if memory_limit is None else memory_limit
        self.workers: list[Worker] = []
        self.start_failures = 0
        self._next_start = 0.0
        self._memory_at = 0.0
        self.closing = False  # the daemon is stopping: workers ending now are not start-up failures
        self._ctx = multiprocessing.get_context("spawn")

    # -- starting ---------------------------------------------------------------------
    def start_one(self) -> None:
        """Start a worker process."""
        parent, child = self._ctx.Pipe()
        process = self._ctx.Process(target=worker_main, args=(child, os.getpid(), self.warm, self.policy,
                                                              str(self.err_path)),
                                    name="reabridge-worker", daemon=True)
        process.start()
        child.close()
        self.workers.append(Worker(process, parent))
        log.info("started worker %s", process.pid)

    def keep(self, stopping: bool) -> None:
        """Start workers up to the number asked (backing off when they keep dying); enforce the limits."""
        self.closing = self.closing or stopping
        now = time.monotonic()
        for w in self.workers:
            if w.cancelling is not None and now - w.cancelling > CANCEL_GRACE and w.process.is_alive():
                log.warning("%s: the job did not stop within %.0f s; killing worker %s", w.job, CANCEL_GRACE, w.pid)
                w.process.kill()
            elif w.job is not None and w.cancelling is None and w.deadline is not None and now > w.deadline:
                limit = w.deadline - w.job_started
                self.stop_job(w, f"the job ran longer than its time limit ({limit:.0f} s) and was stopped; set "
                                 "options.timeout or 'reabridge serve --job-timeout' for longer jobs")
        self._check_memory(now)
        live = [w for w in self.workers if not w.retiring]
        if len(live) < self.size and now >= self._next_start and not stopping:
            self.start_one()

    def _check_memory(self, now: float) -> None:
        if not self.memory_limit or now - self._memory_at < MEMORY_EVERY:
            return
        self._memory_at = now
        for w in self.workers:
            if w.job is None or w.cancelling is not None:
                continue
            rss = resident_bytes(w.pid)
            if rss is not None and rss > self.memory_limit:
                self.stop_job(w, f"the job used {rss / 2**30:.2f} GB of memory, over the daemon's limit of "
                                 f"{self.memory_limit / 2**30:.2f} GB, and was stopped; give it more with "
                                 "'reabridge serve --memory-limit GB'")

    def start_failed(self) -> bool:
        """Whether workers keep dying before they are ready (queued requests cannot run)."""
        return self.start_failures >= START_FAILURES and not any(w.ready for w in self.workers)

    # -- jobs -------------------------------------------------------------------------
    def idle(self) -> list[Worker]:
        """Ready workers without a job."""
        return [w for w in self.workers if w.ready and w.job is None and not (w.stopping or w.retiring)]

    def timeout_for(self, job: str, options: dict[str, Any]) -> float | None:
        """Seconds a job may run: its request's ``options.timeout``, else the daemon's."""
        asked = options.get("timeout") if isinstance(options, dict) else None
        if isinstance(asked, (int, float)) and not isinstance(asked, bool) and asked > 0:
            return float(asked)
        if self.job_timeout is not None:
            return self.job_timeout if self.job_timeout > 0 else None
        return JOB_TIMEOUTS.get(job, DEFAULT_JOB_TIMEOUT)

    def assign(self, w: Worker, rid: str, timeout: float | None, message: dict[str, Any]) -> None:
        """Give a job to an idle worker (raises OSError when the pipe is gone)."""
        w.job, w.cancelling, w.stop_reason = rid, None, None
        w.job_started = time.monotonic()
        w.deadline = w.job_started + timeout if timeout else None
        try:
            w.conn.send(message)
        except OSError:
            w.job = None
            raise

    def running(self, rid: str) -> Worker | None:
        """The worker running a request."""
        return next((w for w in self.workers if w.job == rid), None)

    def cancel(self, w: Worker) -> None:
        """Ask the job in progress to stop (SIGTERM; the worker turns it into a clean-up)."""
        if w.cancelling is None:
            w.cancelling = time.monotonic()
            w.signal(signal.SIGTERM)

    def stop_job(self, w: Worker, reason: str) -> None:
        """Stop a job for a limit it met; it ends as an error with ``reason``."""
        log.warning("%s: %s (worker %s)", w.job, reason, w.pid)
        w.stop_reason = reason
        self.cancel(w)

    def retire(self, w: Worker) -> None:
        """Tell a worker to stop after its job (a fresh one replaces it)."""
        w.retiring = True
        with contextlib.suppress(OSError):
            w.conn.send({"op": "stop"})

    # -- listening --------------------------------------------------------------------
    def poll(self, timeout: float, on_message: Callable[[Worker, dict[str, Any]], None],
             on_death: Callable[[Worker], None]) -> None:
        """Wait up to ``timeout`` for messages from the workers; hand each on, and each dead worker."""
        sources: list[Any] = [w.conn for w in self.workers] + [w.process.sentinel for w in self.workers]
        ready = wait(sources, timeout) if sources else []
        if not sources:
            time.sleep(timeout)
        for w in list(self.workers):
            if w.conn in ready:
                try:
                    while w.conn.poll():
                        on_message(w, w.conn.recv())
                except (EOFError, OSError):
                    pass
            if not w.process.is_alive():
                self._remove(w)
                on_death(w)

    def _remove(self, w: Worker) -> None:
        self.workers.remove(w)
        with contextlib.suppress(OSError):
            w.conn.close()
        if not w.ready and not w.retiring and not self.closing:
            self.start_failures += 1
            self._next_start = time.monotonic() + min(30.0, 0.5 * 2 ** self.start_failures)
            log.error("worker %s died while starting (%s); see %s", w.pid, signal_name(w.process.exitcode),
                      self.err_path)
        elif not w.retiring:
            log.warning("worker %s ended (%s)", w.pid, signal_name(w.process.exitcode))

    def ready(self, w: Worker, message: dict[str, Any]) -> None:
        """A worker finished warming up."""
        w.ready = True
        self.start_failures = 0
        log.info("worker %s ready; warm-up %s", message.get("pid"),
                 ", ".join(f"{k} {v:.2f} s" if isinstance(v, float) else f"{k}: {v}"
                           for k, v in (message.get("warmup") or {}).items()) or "none")

    # -- stopping ---------------------------------------------------------------------
    def interrupt_all(self) -> None:
        """The daemon stops: running jobs get SIGTERM (they will run again next time)."""
        self.closing = True
        for w in self.workers:
            if w.job is not None and w.process.is_alive():
                w.stopping = True
                w.signal(signal.SIGTERM)

    def busy(self) -> bool:
        """Whether a live worker still has a job."""
        return any(w.job for w in self.workers if w.process.is_alive())

    def stop_all(self) -> None:
        """Tell every worker to stop; kill the ones that do not."""
        for w in self.workers:
            with contextlib.suppress(OSError):
                w.conn.send({"op": "stop"})
        for w in self.workers:
            w.process.join(3)
            if w.process.is_alive():
                w.process.kill()
                w.process.join(1)
