"""Intake: request files from the spool into the queue, and the refusals.

Every tick the daemon lists ``requests/``. A file that reads, validates and names
an allowed project is recorded in the queue, *then* removed. Anything else --
unreadable, too big, nested too deep, not a request, a project outside the
allowed folders, an id already taken by a different request -- ends as that
file's ``error`` status, with a bounded copy of the file and the reason in
``rejected/``; intake goes on with the next file. One bad file never stops the
queue.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bridge.daemon.failpoints import failpoint
from bridge.daemon.queue import Queue
from bridge.daemon.spool import Spool, write_json
from bridge.daemon.status import now_stamp
from bridge.errors import ReabridgeError
from bridge.fileio import OutputError, read_regular
from bridge.requests.models import VERSION, AnyRequest
from bridge.requests.parse import MAX_BYTES, RequestError, parse_request
from bridge.requests.paths import PathPolicy

log = logging.getLogger("reabridge.daemon")

KEEP_REJECTED = 200  # refused files kept in rejected/ (oldest go first)
REJECTED_PREFIX = 4096  # bytes of a refused file kept with its reason
CONFLICT_RECHECK = 1.0  # seconds between looks at a file whose id is taken by a request still running


def _same_request(stored: str, request: AnyRequest) -> bool:
    """Whether a stored request and a new one ask for the same thing (their ``created`` stamps aside)."""
    try:
        old = json.loads(stored)
    except ValueError:
        return False
    new = json.loads(request.model_dump_json())
    old.pop("created", None)
    new.pop("created", None)
    return bool(old == new)


class Intake:
    """Takes request files in.

    Parameters
    ----------
    spool : Spool
    queue : Queue
    paths : PathPolicy
        The daemon's rules (where projects may be).
    project : Path, optional
        ``serve --project``: every project request goes to this file instead.
    status : callable
        ``status(id)`` rewrites a queued request's status file.
    write_status : callable
        ``write_status(id, document)`` writes a status file as it is.
    """

    def __init__(self, spool: Spool, queue: Queue, paths: PathPolicy, project: Path | None,
                 status: Callable[[str], None], write_status: Callable[[str, dict[str, Any]], None]) -> None:
        self.spool = spool
        self.queue = queue
        self.paths = paths
        self.project = project
        self.status = status
        self.write_status = write_status
        self._ignored: set[str] = set()
        self._deferred: dict[str, float] = {}  # file name -> next look (its id is taken by a running request)

    def run(self) -> None:
        """One pass over the pending files; a database that cannot record stops the pass (tried again later)."""
        now = time.monotonic()
        for path in self.spool.pending():
            if self._deferred.get(path.name, 0.0) > now:
                continue
            try:
                if not self._take(path):
                    return
            except Exception as exc:  # anything at all about this one file: refused, and on to the next
                self.reject(path, path.stem, exc)

    def _take(self, path: Path) -> bool:
        """Queue one file; False when the queue cannot record it now (full disk: the file stays)."""
        stem = path.stem
        if path.is_dir() and not path.is_symlink():
            if stem not in self._ignored:
                log.warning("%s: a folder in requests/ is not a request; ignored", path.name)
                self._ignored.add(stem)
            return True
        try:
            data = read_regular(path, MAX_BYTES, follow=False)
            request = parse_request(data)
            if request.id != stem:
                raise RequestError(f"the request's id {request.id!r} differs from its file name "
                                   f"({stem}.json); name the file <id>.json", "id")
            if request.project is not None:
                if self.project is not None:
                    request = request.model_copy(update={"project": request.project.model_copy(
                        update={"path": str(self.project)})})
                else:
                    self.paths.check_project(request.project.path, read=False)
        except FileNotFoundError:
            return True
        except (RequestError, OutputError, OSError) as exc:
            self.reject(path, stem, exc)
            return True
        known = self.queue.get(request.id)
        if known is not None and not _same_request(known.request, request):
            return self._conflict(path, request, known.state)
        try:
            added = self.queue.add(request.id, request.job, request.model_dump_json(),
                                   request.project.path if request.project else None)
        except sqlite3.Error as exc:  # full disk, a locked database: leave the file, try again later
            log.error("%s: could not record the request (%s); will retry", stem, exc)
            time.sleep(0.2)
            return False
        failpoint("queued")
        if added:
            log.info("%s: queued (%s)", request.id, request.job)
            self.status(request.id)
        else:
            log.info("%s: the same request again; already %s", request.id, known.state if known else "known")
        self._deferred.pop(path.name, None)
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        return True

    def _conflict(self, path: Path, request: AnyRequest, state: str) -> bool:
        """A different request under an id already taken: refused once the first one has ended."""
        if state in ("queued", "running", "applying"):
            if path.name not in self._deferred:
                log.warning("%s: a different request reuses the id of one that is %s; it will be refused when that "
                            "one ends", request.id, state)
            self._deferred[path.name] = time.monotonic() + CONFLICT_RECHECK
            return True
        self._deferred.pop(path.name, None)
        row = self.queue.get(request.id)
        previous = {"state": state, "message": row.message if row else "",
                    "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(row.finished_at))
                    if row and row.finished_at else None}
        self.reject(path, request.id, RequestError(
            f"the id {request.id!r} was already used by a different request (which ended {state}); this one was "
            "not run: give it a new id", "id"), previous=previous)
        return True

    def reject(self, path: Path, stem: str, exc: BaseException, previous: dict[str, Any] | None = None) -> None:
        """Refuse one request file: an ``error`` status named after it, and a bounded copy in ``rejected/``."""
        if isinstance(exc, ReabridgeError):
            message = str(exc)
        elif isinstance(exc, RecursionError):
            message = "cannot read the request: it nests too deeply"
        else:
            message = f"cannot read the request: {type(exc).__name__}: {exc}".splitlines()[0][:300]
        log.warning("%s: rejected: %s", stem[:200], message)
        name = stem[:200] or "request"
        known = self.queue.get(name)
        if previous is not None or known is None or known.state in ("error", "cancelled"):
            now = now_stamp()
            doc: dict[str, Any] = {"version": VERSION, "id": name, "job": None, "state": "error", "progress": None,
                                   "percent": None, "stage": None, "message": message, "error": message,
                                   "position": None, "queued_at": now, "updated": now}
            if previous is not None:
                doc["previous"] = previous
            self.write_status(name, doc)
        else:  # never overwrite the status of a request that was accepted under this id
            log.warning("%s: a request with this id is already %s; its status is kept", name, known.state)
        self._keep(path, name, message)

    def _keep(self, path: Path, name: str, message: str) -> None:
        """Move the refused file out of ``requests/``, keeping its first bytes and why it was refused."""
        prefix, size = b"", None
        with contextlib.suppress(OSError):
            if path.is_file() and not path.is_symlink():
                size = path.stat().st_size
                with open(path, "rb") as fh:
                    prefix = fh.read(REJECTED_PREFIX)
        with contextlib.suppress(OSError):
            if path.is_dir() and not path.is_symlink():
                os.rmdir(path)
            else:
                path.unlink()
        try:
            write_json(self.spool.rejected / f"{name}.json",
                       {"reason": message, "size": size, "kept": len(prefix),
                        "start": prefix.decode("utf-8", "replace")})
            kept = sorted(self.spool.rejected.iterdir(), key=lambda p: p.lstat().st_mtime)
            for old in kept[:-KEEP_REJECTED]:
                old.unlink()
        except OSError as exc:
            log.error("%s: could not note the refusal in %s (%s)", name, self.spool.rejected, exc)
