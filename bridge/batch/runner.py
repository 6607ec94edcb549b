"""``reabridge batch``: many projects rendered and mastered, on local processes or a Dask cluster.

Each project is one :func:`bridge.batch.task.process_project` call with file paths
only. ``local`` runs them in a process pool; ``dask`` submits them to a
``distributed`` cluster (a ``LocalCluster`` sized to the machine, or ``--scheduler``),
one thread per worker process (numba and onnxruntime are happiest that way), with
retries for lost workers. Results come back as they finish; at the end the batch
writes ``batch.csv`` and ``batch.png``.

The local pool's workers die with the batch (:mod:`bridge.batch.lifeline`) and report
their stages on a queue they are given when they start, so no other process (a
multiprocessing manager) is left to outlive it. A ``LocalCluster``'s worker processes
exit when the pipe to the process that started them closes (``distributed`` does
that itself; tested).
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bridge.batch.lifeline import die_with_parent
from bridge.batch.task import process_project
from bridge.errors import ReabridgeError

Event = Callable[[str, str], None]  # (project name, stage)
PATTERNS = ("*.rpp", "*.RPP", "*.Rpp")


class BatchError(ReabridgeError):
    """The batch cannot start (no projects, a bad folder, no scheduler)."""


@dataclass
class Batch:
    """What to do: the projects (name -> path), where, how."""

    projects: dict[str, Path]
    out: Path
    settings: dict[str, Any]
    jobs: int = 1
    executor: str = "local"
    scheduler: str | None = None
    results: list[dict[str, Any]] = field(default_factory=list)


def find_projects(inputs: Iterable[Path]) -> dict[str, Path]:
    """Projects from files and folders (searched recursively), each with a unique output name."""
    found: list[Path] = []
    for given in inputs:
        if given.is_dir():
            found += sorted({p for pattern in PATTERNS for p in given.rglob(pattern) if p.is_file()
                             and not p.name.startswith(".")})
        elif given.is_file():
            if given.suffix.lower() != ".rpp":
                raise BatchError(f"{given} is not a REAPER project (.RPP)")
            found.append(given)
        else:
            raise BatchError(f"{given} does not exist")
    unique = list(dict.fromkeys(p.resolve() for p in found))
    if not unique:
        raise BatchError("no REAPER projects (.RPP) found in " + ", ".join(str(p) for p in inputs))
    names: dict[str, Path] = {}
    stems = [p.stem for p in unique]
    for p in unique:
        name = p.stem if stems.count(p.stem) == 1 else f"{p.parent.name}_{p.stem}"
        n, base = 2, name
        while name in names:
            name, n = f"{base}_{n}", n + 1
        names[name] = p
    return names


_STAGES: Any = None  # in a local worker: the queue its stages go to (given when the worker starts)


def _start_worker(parent: int, stages: Any) -> None:
    """A local worker's first step: die with the batch, keep the stage queue."""
    global _STAGES
    die_with_parent(parent)
    _STAGES = stages


def _local(batch: Batch, event: Event) -> Iterable[dict[str, Any]]:
    ctx = multiprocessing.get_context("spawn")
    stages = ctx.SimpleQueue()  # a put is written before it returns: a project's last stage precedes its result

    def drain() -> None:
        while not stages.empty():
            event(*stages.get())

    with ProcessPoolExecutor(max_workers=batch.jobs, mp_context=ctx, initializer=_start_worker,
                             initargs=(os.getpid(), stages)) as pool:
        futures = {pool.submit(_run_local, str(path), str(batch.out), name, batch.settings): name
                   for name, path in batch.projects.items()}
        pending = set(futures)
        while pending:
            done, _ = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
            drain()
            for future in done:
                pending.discard(future)
                yield _result(future, futures[future], batch)
    drain()
    stages.close()


def _run_local(project: str, out: str, name: str, settings: dict[str, Any]) -> dict[str, Any]:
    return process_project(project, out, name, settings, lambda n, s: _STAGES.put((n, s)))


def _result(future: Any, name: str, batch: Batch) -> dict[str, Any]:
    try:
        return future.result()  # type: ignore[no-any-return]
    except Exception as exc:  # the process itself died (out of memory...)
        return {"name": name, "project": str(batch.projects[name]), "status": "failed",
                "reason": f"the worker running it stopped ({type(exc).__name__}: {exc})"}


def _distributed() -> Any:
    try:
        import distributed
    except ImportError:
        raise BatchError("--executor dask needs dask's distributed package: pip install 'dask[distributed]'") from None
    return distributed


def check_scheduler(address: str) -> None:
    """Refuse a ``--scheduler`` that is not a Dask scheduler address, before the batch starts.

    Raises
    ------
    BatchError
    """
    _distributed()
    from distributed.comm import get_address_host_port
    from distributed.comm.addressing import normalize_address

    try:
        get_address_host_port(normalize_address(address))
    except (ValueError, TypeError) as exc:
        raise BatchError(f"--scheduler {address!r} is not a Dask scheduler address such as tcp://HOST:8786 "
                         f"({exc})") from None


def _dask(batch: Batch, event: Event) -> Iterable[dict[str, Any]]:
    _distributed()
    from distributed import Client, LocalCluster
    from distributed import as_completed as dask_completed

    cluster = None
    if batch.scheduler:
        check_scheduler(batch.scheduler)
        try:
            client = Client(batch.scheduler, timeout="20s")
        except OSError as exc:
            raise BatchError(f"cannot reach the Dask scheduler at {batch.scheduler} ({exc})") from None
    else:
        workers = batch.jobs or max(1, (os.cpu_count() or 1))
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)
        client = Client(cluster)
    try:
        futures = {}
        for name, path in batch.projects.items():
            event(name, "queued")
            futures[client.submit(process_project, str(path), str(batch.out), name, batch.settings, key=f"batch-{name}",
                                  pure=False, retries=2)] = name
        for future in dask_completed(futures):
            name = futures[future]
            result = _result(future, name, batch)
            event(name, result.get("status", "failed") if not result.get("skipped") else "up to date")
            yield result
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def run_batch(batch: Batch, event: Event | None = None) -> list[dict[str, Any]]:
    """Process every project; returns their summaries (in the order of ``batch.projects``)."""
    batch.out.mkdir(parents=True, exist_ok=True)
    say = event or (lambda _n, _s: None)
    runner = _dask if batch.executor == "dask" else _local
    by_name: dict[str, dict[str, Any]] = {}
    for result in runner(batch, say):
        by_name[result["name"]] = result
    batch.results = [by_name[name] for name in batch.projects]
    return batch.results
