"""Decoding ahead on a small shared pool of threads: one pool per render, sized by the cores, not the tracks.

Each :class:`Prefetch` wraps one voice's block generator and keeps up to ``depth``
blocks decoded ahead of the mixer. The work runs on a :class:`DecodePool` shared by
every voice of the render (libsndfile, soxr and NumPy release the GIL, so the other
cores decode while the main thread mixes); a voice has at most one block being made
at a time, so its generator is never entered by two threads. A project of 1,000
tracks therefore starts as many threads as the machine has cores, not 1,000.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor


def cores() -> int:
    """The cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


class DecodePool:
    """The threads that decode ahead for every voice of one render (``workers``: the cores by default)."""

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers or cores()
        self._executor: ThreadPoolExecutor | None = None  # started with the first block asked for
        self._closed = False

    def submit(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` on one of the threads.

        Raises
        ------
        RuntimeError
            The pool is closed.
        """
        if self._closed:
            raise RuntimeError("the decode pool is closed")
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="reabridge-decode")
        self._executor.submit(fn)

    def close(self) -> None:
        """Stop taking work; wait for the blocks being decoded (queued ones are dropped)."""
        self._closed = True
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)


class Prefetch:
    """Blocks of ``source`` decoded ahead on ``pool`` (at most ``depth`` waiting)."""

    def __init__(self, source: Iterator[object], pool: DecodePool, depth: int = 2) -> None:
        self._source = source
        self._pool = pool
        self._depth = depth
        self._ready: deque[tuple[str, object]] = deque()
        self._cond = threading.Condition()
        self._running = False  # a block of this voice is being made (or queued) on the pool
        self._finished = False  # the source ended or failed: nothing more to make
        self._stopped = False
        with self._cond:
            self._kick()

    def _kick(self) -> None:
        """Queue the next block when there is room (called holding the lock)."""
        if not (self._running or self._finished or self._stopped) and len(self._ready) < self._depth:
            self._running = True
            try:
                self._pool.submit(self._step)
            except RuntimeError as exc:  # the pool is closed: the render is ending
                self._running, self._finished = False, True
                self._ready.append(("error", exc))

    def _step(self) -> None:
        with self._cond:
            if self._stopped:
                self._running = False
                self._cond.notify_all()
                return
        try:
            item: tuple[str, object] = ("block", next(self._source))
        except StopIteration:
            item = ("end", None)
        except BaseException as exc:  # handed to the reader
            item = ("error", exc)
        with self._cond:
            self._running = False
            self._ready.append(item)
            if item[0] != "block":
                self._finished = True
            self._kick()
            self._cond.notify_all()

    def __iter__(self) -> Prefetch:
        return self

    def __next__(self) -> object:
        with self._cond:
            self._kick()
            while not self._ready:
                self._cond.wait()
            kind, value = self._ready.popleft()
            if kind == "block":
                self._kick()
            else:  # the end (or the error) stays: asking again gives it again
                self._ready.appendleft((kind, value))
        if kind == "block":
            return value
        if kind == "error":
            raise value  # type: ignore[misc]
        raise StopIteration

    def close(self) -> None:
        """Stop decoding (waits for a block being made) and release the source."""
        with self._cond:
            self._stopped = True
            self._ready.clear()
            while self._running:
                if not self._cond.wait(timeout=5.0):
                    return  # a stuck decode: leave the generator to the garbage collector
        with contextlib.suppress(Exception):
            self._source.close()  # type: ignore[attr-defined]


__all__ = ["DecodePool", "Prefetch", "cores"]
