"""Compiling an effect's native code beside a render: one compile at a time per user, bounded, never half-written.

- **One at a time, machine-wide.** :func:`start` takes ``compile.lock`` in the cache folder with
  ``flock``; when another process holds it a compile is under way and nothing starts (the render
  asks again later). The lock passes to the compile's supervisor as the same open file, so the
  kernel releases it when the supervisor ends, however it ends: no stale lock, no time-stamp guesswork.
- **Out of the way.** The supervisor detaches, lowers itself to nice 19 and ``SCHED_IDLE`` (it only
  gets CPU time nobody else wants) and runs the compile as a child with an address-space ceiling
  (:func:`memory_ceiling`), a CPU limit and a wall-clock limit, dying with the supervisor. (A render
  that waits for its compile, ``REABRIDGE_JSFX_NATIVE=wait``, runs it at its own priority, same limits.)
- **Nothing half-written.** The compile writes into ``staging/<module>/``; only a complete result
  (both functions' machine code) is moved into the cache, index files last. Whatever happens
  otherwise, the staging folder goes (or the next compile removes it).
- **Failures remembered.** A compile that fails or runs out of memory or CPU time leaves
  ``<module>.failed`` saying why; that effect stays on the interpreter and is not tried again
  (``reabridge jsfx cache --clear`` forgets it). One stopped by the wall clock (a busy machine)
  or a signal is tried again after an hour; a supervisor killed outright leaves no marker.

This module imports only the standard library: the supervisor is a small process.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, NoReturn

LOCK = "compile.lock"
STATUS = "compile.json"
STAGING = "staging"
CPU_LIMIT = 300  # seconds of CPU a compile may use (the effects that pay off compile in 3-100 s)
WALL_LIMIT = 900.0  # seconds a compile may take at idle priority before it is given up (for now)
RETRY_AFTER = 3600.0  # seconds before a compile given up for time (not for its own fault) is tried again
MEMORY_CEILING = 3 << 30  # address space of the compile process (numba itself reserves ~0.3 GB of it)
POLL = 0.25  # seconds between the supervisor's looks at its compile
OUT_OF_MEMORY = 3  # the compile's exit code when an allocation failed


def memory_ceiling() -> int:
    """The compile's address-space limit in bytes: 3 GiB, or a sixth of the machine's memory if that is less.

    The compiles that pay off (effects up to a few thousand instructions) peak at 0.2-1.1 GB
    resident (benchmarks/jsfx_tiers.py); the unbounded ones seen in the wild reached 5.5 GB.
    A sixth keeps a compile from pushing a small machine (and REAPER on it) into swap.
    """
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        return MEMORY_CEILING
    return int(min(MEMORY_CEILING, total // 6))


def failed(module: Path) -> dict[str, Any] | None:
    """Why the module's compile failed before (None: it did not, or it may be tried again now)."""
    try:
        data = json.loads(module.with_suffix(".failed").read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict):
        return {"reason": "the compile failed"}
    retry = data.get("retry_after")
    return None if isinstance(retry, (int, float)) and time.time() >= retry else data


def is_compiled(module: Path) -> bool:
    """Whether the cache holds the module's machine code (both functions' numba index files)."""
    cache = module.parent / "__pycache__"
    return cache.is_dir() and len(list(cache.glob(f"{module.stem}.*.nbi"))) >= 2


def under_way(cache: Path) -> dict[str, Any] | None:
    """The compile running now (pid, effect, module, started), or None.

    The lock answers whether one runs; the status file, written by the supervisor, says which.
    """
    lock = cache / LOCK
    if not lock.exists():
        return None
    try:
        fd = os.open(lock, os.O_RDONLY)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        try:
            data = json.loads((cache / STATUS).read_text())
        except (OSError, ValueError):
            data = {}
        return data if isinstance(data, dict) else {}
    finally:
        os.close(fd)
    return None


@contextlib.contextmanager
def holding_lock(cache: Path, wait: bool = False) -> Any:
    """The compile lock for the caller (yields its file descriptor, or None when it is taken and ``wait`` is False)."""
    cache.mkdir(parents=True, exist_ok=True)
    fd = os.open(cache / LOCK, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield None
            return
        yield fd
    finally:
        os.close(fd)


def start(module: Path, effect: str, *, wait: bool = False) -> bool:
    """Compile ``module`` (a translated effect already in the cache folder) in a bounded background process.

    Returns False, starting nothing, when a compile is under way (``wait``: waits for it, then
    compiles), this module failed before, or it is already compiled. With ``wait`` the call
    returns when the compile has ended (:func:`is_compiled` says how).
    """
    cache = module.parent
    if failed(module) is not None or is_compiled(module):
        return False
    with holding_lock(cache, wait) as fd:
        if fd is None or is_compiled(module) or failed(module) is not None:
            return False
        _sweep(cache)  # staging left by a supervisor that was killed: no compile runs now
        limits = f"{WALL_LIMIT:g},{CPU_LIMIT:d},{memory_ceiling():d}"
        command = [sys.executable, "-m", "bridge.jsfx.background", str(module), effect, str(fd), limits]
        if not wait:
            command.append("--detach")
        proc = subprocess.Popen(command, pass_fds=(fd,), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=not wait)
        try:
            proc.wait()  # detached: the first process forks the supervisor off and ends at once
        except BaseException:
            proc.kill()  # Ctrl-C while waiting: the compile dies with its supervisor
            proc.wait()
            raise
    return True


def _sweep(cache: Path) -> None:
    shutil.rmtree(cache / STAGING, ignore_errors=True)
    with contextlib.suppress(OSError):
        (cache / STATUS).unlink()


# -- the supervisor (python -m bridge.jsfx.background MODULE EFFECT LOCK_FD [--detach]) ---------------
def _limits(ceiling: int, cpu: int) -> None:
    """In the compile process before it runs: memory and CPU ceilings, and death with the supervisor."""
    resource.setrlimit(resource.RLIMIT_AS, (ceiling, ceiling))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def _lower_priority() -> None:
    """nice 19 and ``SCHED_IDLE``: CPU time only when no other process wants it."""
    with contextlib.suppress(OSError):
        os.nice(19)
    if hasattr(os, "sched_setscheduler") and hasattr(os, "SCHED_IDLE"):
        with contextlib.suppress(OSError):
            os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))


def _peaks_kb(pid: int) -> tuple[int, int]:
    """The process's peak resident memory and peak address space so far (VmHWM, VmPeak; kB)."""
    found = {"VmHWM:": 0, "VmPeak:": 0}
    with contextlib.suppress(OSError, ValueError, IndexError), open(f"/proc/{pid}/status") as fh:
        for line in fh:
            key = line.split(maxsplit=1)[0] if line.strip() else ""
            if key in found:
                found[key] = int(line.split()[1])
    return found["VmHWM:"], found["VmPeak:"]


def _write_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data))
    tmp.replace(path)


def _publish(staged: Path, module: Path) -> bool:
    """Move a complete compile's cache files in beside ``module`` (data first, index files last)."""
    made = staged.parent / "__pycache__"
    index = sorted(made.glob(f"{module.stem}.*.nbi"))
    if len(index) < 2:
        return False
    target = module.parent / "__pycache__"
    target.mkdir(exist_ok=True)
    for path in sorted(made.glob(f"{module.stem}.*.nbc")) + index:
        os.replace(path, target / path.name)
    return True


def supervise(module: Path, effect: str, wall: float = WALL_LIMIT, cpu: int = CPU_LIMIT,
              ceiling: int = MEMORY_CEILING) -> dict[str, Any]:
    """Run one compile of ``module`` within the limits; returns what happened (written beside the module)."""
    cache = module.parent
    staging = cache / STAGING / module.stem
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    staged = staging / module.name
    shutil.copyfile(module, staged)  # numba's cache is keyed by the source's bytes: the result fits the original
    started, peak, space = time.monotonic(), 0, 0
    _write_json(cache / STATUS, {"pid": os.getpid(), "effect": effect, "module": module.name, "started": time.time()})
    outcome: dict[str, Any] = {"effect": effect, "at": time.time()}
    errors = staging / "stderr.txt"
    with open(errors, "wb") as err:
        proc = subprocess.Popen([sys.executable, "-m", "bridge.jsfx.background", "--compile", str(staged)],
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
                                preexec_fn=lambda: _limits(ceiling, cpu))
    stopping: list[int] = []

    def stop(signum: int, frame: object) -> None:
        stopping.append(signum)
        with contextlib.suppress(OSError):
            proc.kill()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    timed_out = False
    try:
        while proc.poll() is None:
            resident, mapped = _peaks_kb(proc.pid)
            peak, space = max(peak, resident), max(space, mapped)
            if time.monotonic() - started > wall:
                timed_out = True
                proc.kill()
                proc.wait()
                break
            time.sleep(POLL)
        error = errors.read_text("utf-8", "replace").strip().splitlines()[-1:]
        code = proc.returncode
        outcome.update(seconds=round(time.monotonic() - started, 1), peak_mb=round(peak / 1024),
                       cpu=round(sum(resource.getrusage(resource.RUSAGE_CHILDREN)[:2]), 1))
        if stopping or timed_out:  # not the effect's fault (a busy machine, a stop): tried again later
            outcome["retry_after"] = time.time() + RETRY_AFTER
            outcome["reason"] = ("the compile was stopped" if stopping else f"the compile took longer than {wall:g} s"
                                 ) + f"; tried again after {RETRY_AFTER / 3600:g} h"
        elif code == -signal.SIGXCPU or (code == -signal.SIGKILL and outcome["cpu"] >= cpu):
            outcome["reason"] = f"the compile needed more than {cpu} s of CPU"
        elif code == OUT_OF_MEMORY or (code != 0 and (space * 1024 > ceiling // 2 or any(
                sign in " ".join(error) for sign in ("bad_alloc", "failed to map segment")))):
            outcome["reason"] = f"the compile needed more than its {ceiling / 2**30:.1f} GB memory ceiling"
        elif code != 0:
            outcome["reason"] = f"the compile failed ({error[0][:200] if error else f'exit {code}'})"
        elif not _publish(staged, module):
            outcome["reason"] = "the compile ended without machine code"
        if "reason" in outcome:
            _write_json(module.with_suffix(".failed"), outcome)
        else:
            _write_json(module.with_suffix(".json"), outcome)
            with contextlib.suppress(OSError):
                module.with_suffix(".failed").unlink()  # an earlier attempt's
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        with contextlib.suppress(OSError):
            staging.parent.rmdir()  # when empty
        with contextlib.suppress(OSError):
            (cache / STATUS).unlink()
    return outcome


def _out_of_memory(exc: BaseException | None) -> bool:
    """Whether a failure (or what caused it) was an allocation refused by the ceiling."""
    while exc is not None:
        if isinstance(exc, MemoryError) or (isinstance(exc, OSError) and exc.errno == errno.ENOMEM):
            return True
        if "Cannot allocate memory" in str(exc) or "failed to map segment" in str(exc):
            return True  # the second: the dynamic loader refused a library under the address-space ceiling
        exc = exc.__cause__ or exc.__context__
    return False


def compile_main(staged: Path) -> NoReturn:
    """The compile process: numba compiles the module into its cache (exit 3 when memory ran out)."""
    try:
        from bridge.jsfx import native

        native.compile_module(native.load(staged))
    except BaseException as exc:
        if _out_of_memory(exc):
            os._exit(OUT_OF_MEMORY)
        raise
    os._exit(0)


def main(argv: list[str]) -> NoReturn:
    """``python -m bridge.jsfx.background MODULE EFFECT LOCK_FD WALL,CPU,MEMORY [--detach]`` (the supervisor),
    or ``--compile STAGED`` (the compile it runs).

    ``LOCK_FD`` is the inherited descriptor of the held compile lock, kept open for the supervisor's life.
    """
    if argv[0] == "--compile":
        compile_main(Path(argv[1]))
    module, effect = Path(argv[0]), argv[1]
    wall, cpu, ceiling = argv[3].split(",")
    detach = "--detach" in argv[4:]
    if detach and os.fork() > 0:
        os._exit(0)  # the render waits only for this first process; the supervisor lives on, adopted by init
    if detach:  # a render waiting for its compile (REABRIDGE_JSFX_NATIVE=wait) runs it at its own priority
        _lower_priority()
    try:
        supervise(module, effect, float(wall), int(cpu), int(ceiling))
    finally:  # the lock goes with the process (it holds the last descriptor): released the moment it is gone
        os._exit(0)


if __name__ == "__main__":
    main(sys.argv[1:])
