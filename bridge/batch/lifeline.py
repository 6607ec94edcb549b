"""A batch worker process dies with the process that started it.

A batch's workers are spawned processes holding models and audio (hundreds of MB
each). When the ``reabridge batch`` that started them is killed (SIGKILL, an
out-of-memory kill, a closed terminal), nothing tells them; they would be re-parented
to init and keep working for nobody. Each worker therefore asks Linux to send it
SIGKILL when its parent dies (``PR_SET_PDEATHSIG``, as the daemon's workers do) and,
where that is not available or the parent is already gone, watches the parent's pid
from a thread and exits.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
import threading
import time

PR_SET_PDEATHSIG = 1
WATCH_SECONDS = 0.5


def _watch(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(WATCH_SECONDS)
    os._exit(1)


def die_with_parent(parent: int) -> None:
    """Make this process end when ``parent`` (the pid that started it) ends.

    Call it first thing in a worker process (a pool's initializer).
    """
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before the signal was asked for
        os._exit(1)
    threading.Thread(target=_watch, args=(parent,), daemon=True, name="reabridge-lifeline").start()


__all__ = ["die_with_parent"]
