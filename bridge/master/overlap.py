"""Two things at once on the machine's second core: a job in the background, a consumer one block behind.

NumPy, BLAS, libsndfile and pedalboard let go of the interpreter while they
work, so a second thread gets a core of its own. Mastering uses it twice: the
reference is surveyed while the mix is (:func:`in_background`), and each pass
hands its blocks to a consumer that measures (and spills) them while the
next block is read and processed (:class:`Behind`). Only the calling thread
reports progress; the threads run in the caller's context, so warnings about
the audio still reach whoever collects them.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")

_SECOND = ThreadPoolExecutor(max_workers=1, thread_name_prefix="reabridge-second")


def in_background(fn: Callable[..., T], *args: Any) -> Future[T]:
    """Start ``fn(*args)`` on the second thread; ``.result()`` gives its value or raises its error."""
    return _SECOND.submit(contextvars.copy_context().run, fn, *args)


class Behind:
    """Calls ``consume(item)`` on the second thread for each :meth:`put` item, in order, one item behind.

    Use it in a ``with`` block: leaving waits for the last item (and raises
    its error), so nothing is still being consumed afterwards.
    """

    def __init__(self, consume: Callable[[Any], None]) -> None:
        self._consume = consume
        self._pending: Future[None] | None = None

    def put(self, item: Any) -> None:
        """Wait for the previous item, then hand this one over."""
        self.wait()
        self._pending = in_background(self._consume, item)

    def wait(self) -> None:
        """Wait until everything handed over is consumed."""
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()

    def __enter__(self) -> Behind:
        return self

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        """Wait for the last item; when the block already failed, its error is the one that counts."""
        if kind is None:
            self.wait()
            return
        with contextlib.suppress(Exception):  # the block's own error is raised instead
            self.wait()
