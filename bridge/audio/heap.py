"""Freed buffers kept for the next block, while a streaming job runs.

A job that streams audio allocates the same few-megabyte arrays block after
block. glibc serves allocations above its mmap threshold (128 KiB at first)
straight from the kernel and hands them back on ``free``, so every block's
temporaries arrive as fresh pages the kernel must fault in and zero: a
3-minute master took about 440,000 page faults, a second of system time, a
fifth of its CPU. Inside :func:`reuse_freed_memory` large allocations come
from the heap and freed memory stays there for the next block; the peak
resident memory is the same (the job's working set), and on leaving, the
defaults come back and the heap is trimmed, so an idle daemon worker returns
the memory. Elsewhere than glibc this does nothing.
"""

from __future__ import annotations

import contextlib
import ctypes
import threading
from collections.abc import Iterator

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_DEFAULT = 128 * 1024  # glibc's initial mmap threshold and its trim threshold
_KEEP = 512 << 20  # while a job runs: allocations up to 512 MiB from the heap, never trimmed

_lock = threading.Lock()
_depth = 0


def _glibc() -> ctypes.CDLL | None:
    try:
        libc = ctypes.CDLL(None)
        libc.gnu_get_libc_version  # noqa: B018 (only glibc has it)
        return libc
    except (OSError, AttributeError):
        return None


_LIBC = _glibc()


@contextlib.contextmanager
def reuse_freed_memory() -> Iterator[None]:
    """Keep freed memory in the process for reuse inside the block (nested and threaded uses are counted)."""
    global _depth
    if _LIBC is None:
        yield
        return
    with _lock:
        _depth += 1
        if _depth == 1:
            _LIBC.mallopt(_M_MMAP_THRESHOLD, _KEEP)
            _LIBC.mallopt(_M_TRIM_THRESHOLD, _KEEP)
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                _LIBC.mallopt(_M_MMAP_THRESHOLD, _DEFAULT)
                _LIBC.mallopt(_M_TRIM_THRESHOLD, _DEFAULT)
                _LIBC.malloc_trim(0)
