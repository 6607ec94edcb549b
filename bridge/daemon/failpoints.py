"""Crash points for the crash-safety tests.

``REABRIDGE_FAILPOINT=name[,name...]`` makes the daemon kill itself (SIGKILL,
as a power cut or the OOM killer would) when it reaches one of these points,
so the tests can stop it exactly where a crash hurts most. Unset, they cost a
set lookup.

- ``queued``: the request is recorded in the queue, its file not yet removed;
- ``before_apply``: the ChangeSet is recorded, not yet applied;
- ``after_apply``: the ChangeSet is applied to the project, the queue not yet told;
- ``finished``: a request is recorded as done, its status file not yet written;
- ``refused``: an apply failed and the queue knows, the worker not yet answered.

Two more make things fail instead of dying: ``apply_fails`` (applying raises an
I/O error, as a full disk would) and ``worker_start`` (a worker exits before it
is ready, as a broken installation would).
"""

from __future__ import annotations

import os
import signal

_ACTIVE = frozenset(p.strip() for p in os.environ.get("REABRIDGE_FAILPOINT", "").split(",") if p.strip())


def failpoint(name: str) -> None:
    """Die here when the tests asked for it."""
    if name in _ACTIVE:
        os.kill(os.getpid(), signal.SIGKILL)


def active(name: str) -> bool:
    """Whether the tests asked for this failure."""
    return name in _ACTIVE
