"""Stopping an effect's code: Ctrl-C, SIGTERM, a daemon's cancel or a time-out reach a render within a second.

Python runs a signal handler only when control comes back to the interpreter, and an
effect's code running in numba may not come back for hours (``loop(1e6, loop(1e6, x += 1))``).
So :func:`run` puts the code on a helper thread (numba releases the GIL) while the calling
thread waits in short sleeps: the signal handler runs there (raising ``KeyboardInterrupt``,
or the daemon worker's cancellation), and so does the time-out check. Either one sets a
one-word flag that both tiers and the Python twin read at every loop iteration and every
sample frame -- an atomic load (:func:`stop_requested`), a plain ``mov`` on x86 that the
compiler may not hoist out of a loop -- and the code returns :data:`STOPPED` at once. The
calling thread then raises, and the writers' usual clean-up removes every temporary file.

The time-out is a deadline for everything rendered inside :func:`time_limit`; renders check
it between blocks too (:func:`check_time`), so a long file through a slow effect stops as well.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass

import numpy as np
from numba import types
from numba.extending import intrinsic

from bridge.jsfx.errors import JsfxError

STOPPED = 1  # what the interpreters and the compiled code return when the flag stopped them
INTERRUPTED, TIMED_OUT = 1, 2  # the flag's values
POLL = 0.05  # seconds between the waiting thread's looks at the clock (signals wake it at once)


class RenderTimeoutError(JsfxError):
    """A render ran past its time-out (an effect's code that never finishes, or a file too long for the limit)."""


@dataclass(frozen=True)
class Limit:
    """A deadline on the monotonic clock, and the time-out it came from (for the message)."""

    at: float
    seconds: float

    def error(self) -> RenderTimeoutError:
        return RenderTimeoutError(f"stopped after {self.seconds:g} s: the render ran past its time-out (an effect's "
                                  "code may never finish; give a longer --timeout if it is just slow)")


_limit: ContextVar[Limit | None] = ContextVar("reabridge_jsfx_limit", default=None)


@contextlib.contextmanager
def time_limit(seconds: float | None) -> Iterator[None]:
    """Renders inside stop with :class:`RenderTimeoutError` after ``seconds`` (None: no limit; an outer limit stays)."""
    if seconds is None:
        yield
        return
    wanted = Limit(time.monotonic() + seconds, seconds)
    outer = _limit.get()
    token = _limit.set(outer if outer is not None and outer.at <= wanted.at else wanted)
    try:
        yield
    finally:
        _limit.reset(token)


def check_time() -> None:
    """Raise :class:`RenderTimeoutError` when the current time limit has passed."""
    limit = _limit.get()
    if limit is not None and time.monotonic() >= limit.at:
        raise limit.error()


@intrinsic
def stop_requested(typingctx: object, flag: types.Array) -> tuple[object, Callable[..., object]]:
    """``flag[0]`` read atomically (monotonic order): another thread's store is seen, the load stays in the loop."""
    sig = types.int64(flag)

    def codegen(context: object, builder: object, signature: object, args: tuple[object, ...]) -> object:
        array = context.make_array(signature.args[0])(context, builder, args[0])  # type: ignore[attr-defined]
        return builder.load_atomic(array.data, "monotonic", 8)  # type: ignore[attr-defined]

    return sig, codegen


def new_flag() -> np.ndarray:
    """The one-word flag :func:`run` sets and the code reads."""
    return np.zeros(1, dtype=np.int64)


def run(work: Callable[[], int], flag: np.ndarray) -> int:
    """Run ``work`` (effect code that checks ``flag``) so that signals and the time limit can stop it.

    Returns what ``work`` returned. Raises what a signal handler raised (``KeyboardInterrupt``,
    the daemon's cancellation) or :class:`RenderTimeoutError`, after the code has stopped.
    """
    result: list[int] = []
    failure: list[BaseException] = []

    def target() -> None:
        try:
            result.append(work())
        except BaseException as exc:  # handed to the waiting thread
            failure.append(exc)

    limit = _limit.get()
    if limit is not None and time.monotonic() >= limit.at:
        raise limit.error()
    flag[0] = 0
    thread = threading.Thread(target=target, name="reabridge-jsfx-run", daemon=True)
    thread.start()
    try:
        while thread.is_alive():
            wait = POLL if limit is None else max(0.0, min(POLL, limit.at - time.monotonic()))
            thread.join(wait)
            if limit is not None and thread.is_alive() and time.monotonic() >= limit.at:
                flag[0] = TIMED_OUT
                thread.join()
                raise limit.error()
    except BaseException:
        flag[0] = flag[0] or INTERRUPTED
        thread.join()  # the code sees the flag within one loop iteration or sample frame
        raise
    if failure:
        raise failure[0]
    return result[0]
