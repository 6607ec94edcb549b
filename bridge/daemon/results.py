"""Where results go: REAPER, the ``.RPP`` file, or the REAPER action that asked; and results that wait.

A result goes to the project open in REAPER (one undo step) when REAPER runs
reabridge's server with that project open; to the ``.RPP`` file when no REAPER
runs; back to the REAPER action that asked (a *handoff*) when REAPER's Python
does not answer. When REAPER runs but does not have the project open, or does
not answer, the request -- or its recorded result -- waits and is applied,
once, when the project is back. The link to REAPER reconnects with back-off.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bridge.changes.ops import ChangeSet
from bridge.daemon import failpoints
from bridge.daemon.failpoints import failpoint
from bridge.daemon.queue import Queue, Row
from bridge.daemon.spool import Spool
from bridge.errors import ReabridgeError
from bridge.fileio import read_regular
from bridge.requests.paths import PathPolicy
from bridge.session.base import Session

log = logging.getLogger("reabridge.daemon")

WAITING_EVERY = 2.0  # seconds between attempts to apply results that wait for their project


class Wait(Exception):  # noqa: N818 - not an error: a request waiting for its project in REAPER
    """A request (or its result) waits: REAPER runs but the project is not open, or REAPER does not answer."""


class Results:
    """Finds where each request's project is, applies results, and keeps those that wait.

    Parameters
    ----------
    spool : Spool
    queue : Queue
    paths : PathPolicy
        The daemon's rules (which project files may be read).
    project : Path, optional
        ``serve --project``: every result goes to this file (REAPER is not asked).
    resource_path : Path, optional
        REAPER's resource path (where its server's address is published).
    status : callable
        ``status(id)`` rewrites a request's status file.
    fail : callable
        ``fail(id, message)`` ends a request with an error.
    """

    def __init__(self, spool: Spool, queue: Queue, paths: PathPolicy, project: Path | None,
                 resource_path: Path | None, status: Callable[[str], None],
                 fail: Callable[[str, str], None]) -> None:
        self.spool = spool
        self.queue = queue
        self.paths = paths
        self.project = project
        self.resource_path = resource_path
        self.status = status
        self.fail = fail
        self.waiting: dict[str, tuple[float, str]] = {}  # request -> (next look, why it waits)
        self.handoffs: dict[str, dict[str, Any]] = {}  # request -> the result its REAPER action applies
        self._link: Any = None  # the live REAPER, when one runs (bridge.session.live.ReaperLink)
        self._link_failures = 0
        self._link_retry_at = 0.0
        self._waiting_at = 0.0

    # -- the link to REAPER -------------------------------------------------------------
    def _reaper(self) -> Any:
        """The live REAPER (a link), None when no REAPER runs; :class:`Wait` when one runs but does not answer."""
        from bridge.session.live import ReaperLink, ReaperUnavailableError, server_info

        if self.project is not None or self.resource_path is None:
            return None
        if server_info(self.resource_path) is None:  # REAPER is not running: results go to the files
            self.drop_link(lost=False)
            return None
        if self._link is not None:
            return self._link
        if time.monotonic() < self._link_retry_at:
            raise Wait("waiting for REAPER to answer")
        try:
            self._link = ReaperLink.connect(self.resource_path)
        except ReaperUnavailableError as exc:
            self._link_failures += 1
            self._link_retry_at = time.monotonic() + min(30.0, 0.5 * 2 ** self._link_failures)
            log.warning("REAPER does not answer (%s); trying again in %.0f s", exc,
                        self._link_retry_at - time.monotonic())
            raise Wait("waiting for REAPER to answer") from None
        if self._link is None:
            return None
        self._link_failures = 0
        log.info("connected to REAPER (reabridge server on port %s)", self._link.port)
        return self._link

    def drop_link(self, lost: bool = True) -> None:
        """Forget the connection to REAPER (it went away, or stopped answering)."""
        if self._link is not None:
            self._link.close()
            self._link = None
            log.info("lost the connection to REAPER; waiting for it to answer again" if lost else
                     "REAPER is not running any more; results go to the project files until it is back")

    # -- where a request reads its project --------------------------------------------
    def target(self, request: dict[str, Any]) -> tuple[str | None, str | None]:
        """Where a request reads its project: ``(path, REAPER's text)`` live, ``(path, None)`` from the file.

        A request asking for a handoff reads the snapshot its action sent when REAPER's
        Python does not answer (raises :class:`bridge.errors.ReabridgeError` when that
        snapshot is unusable).
        """
        from bridge.session.live import ReaperUnavailableError

        project = request.get("project")
        if project is None:
            return None, None
        if self.project is not None:
            return str(self.project), None
        handoff = bool(request.get("handoff"))
        try:
            link = self._reaper()
        except Wait:
            if not handoff:
                raise
            link = None
        if link is None:
            return project["path"], self._snapshot_text(project) if handoff else None
        try:
            state = link.call("project_state", {"path": project["path"], "id": project.get("id")})
        except ReaperUnavailableError:
            self.drop_link()
            if handoff:
                return project["path"], self._snapshot_text(project)
            raise Wait("waiting for REAPER to answer") from None
        if state is None:
            if handoff:
                return project["path"], self._snapshot_text(project)
            raise Wait(f"waiting for {Path(project['path']).name} to be open in REAPER")
        return state["path"], state["text"]

    def _snapshot_text(self, project: dict[str, Any]) -> str | None:
        """The project as the action's REAPER held it (None: no snapshot, the file is read)."""
        from bridge.session.handoff import read_snapshot

        snapshot = project.get("snapshot")
        return read_snapshot(Path(snapshot), self.spool.snapshots) if snapshot else None

    def wait(self, rid: str, why: str) -> None:
        """Keep a request (or its result) waiting; look again in a second."""
        first = rid not in self.waiting or self.waiting[rid][1] != why
        self.waiting[rid] = (time.monotonic() + 1.0, why)
        if first:
            log.info("%s: %s", rid, why)
            self.status(rid)

    def may_look(self, rid: str, now: float) -> bool:
        """Whether a waiting request is due for another look."""
        return rid not in self.waiting or now >= self.waiting[rid][0]

    # -- where changes go -------------------------------------------------------------
    def session_for(self, request: dict[str, Any], undo_name: str) -> Session:
        """Where a request's changes go: the project open in REAPER (one undo step), else its ``.RPP`` file.

        A request asking for a handoff goes back to its REAPER action instead of the
        file, or of waiting, when REAPER's Python does not answer.

        Raises
        ------
        Wait
            REAPER runs but does not have the project open, or does not answer.
        """
        from bridge.session.live import LiveSession, ProjectNotOpenError, ReaperUnavailableError
        from bridge.session.rpp_file import RppFileSession

        if self.project is not None:
            return RppFileSession(self.project)
        handoff = bool(request.get("handoff"))
        try:
            link = self._reaper()
        except Wait:
            if not handoff:
                raise
            link = None
        if link is None:
            return self._handoff(request, undo_name) if handoff else RppFileSession(Path(request["project"]["path"]))
        try:
            return LiveSession(link, request["project"], undo_name)
        except ProjectNotOpenError:
            if handoff:
                return self._handoff(request, undo_name)
            raise Wait(f"waiting for {Path(request['project']['path']).name} to be open in REAPER") from None
        except ReaperUnavailableError:
            self.drop_link()
            if handoff:
                return self._handoff(request, undo_name)
            raise Wait("waiting for REAPER to answer") from None

    def _handoff(self, request: dict[str, Any], undo_name: str) -> Session:
        from bridge.session.handoff import HandoffSession

        project = request["project"]
        text = self._snapshot_text(project)
        if text is None:
            self.paths.check_project(project["path"])
            text = read_regular(project["path"]).decode("utf-8", "replace")
        return HandoffSession(project, text, undo_name)

    # -- applying -----------------------------------------------------------------------
    def apply_for_worker(self, rid: str, changes: dict[str, Any], refused: bool) -> dict[str, Any]:
        """Record a worker's ChangeSet, then apply it; what the worker is told."""
        if refused:
            return {"op": "refused", "id": rid, "cancelled": True}
        try:
            self.queue.applying(rid, json.dumps(changes))
        except sqlite3.Error as exc:  # not recorded: not applied (a crash could not tell it had been)
            log.error("%s: could not record the result before applying it (%s)", rid, exc)
            return {"op": "refused", "id": rid, "message": "the daemon could not record the result (is the disk "
                                                            "full?); nothing was changed"}
        row = self.queue.get(rid)
        assert row is not None
        reply = self.apply(row, changes)
        if reply["op"] == "refused":  # nothing landed: the row goes back to running, its ChangeSet forgotten
            self.queue.not_applied(rid)
            failpoint("refused")
        return reply

    def apply(self, row: Row, changes: dict[str, Any]) -> dict[str, Any]:
        """Apply a recorded ChangeSet where it belongs; the answer a worker would get."""
        from bridge.jobs.table import JOBS
        from bridge.session.live import ProjectNotOpenError, ReaperUnavailableError

        failpoint("before_apply")
        try:
            if failpoints.active("apply_fails"):
                raise OSError(5, "Input/output error (a failure the tests asked for)")
            request = json.loads(row.request)
            session = self.session_for(request, JOBS[row.job].undo_name)
            try:
                applied = session.apply(ChangeSet.from_dict(changes))
            except (ProjectNotOpenError, ReaperUnavailableError):
                if not request.get("handoff"):
                    raise
                session = self._handoff(request, JOBS[row.job].undo_name)
                applied = session.apply(ChangeSet.from_dict(changes))
            failpoint("after_apply")
        except Wait as wait:  # kept: applied when the project (or REAPER) is back
            self.wait(row.id, str(wait))
            return {"op": "applied", "id": row.id, "applied": None, "waiting": f"{wait}; the result will be "
                                                                                  "applied then"}
        except (ProjectNotOpenError, ReaperUnavailableError) as exc:
            if isinstance(exc, ReaperUnavailableError):
                self.drop_link()
            self.wait(row.id, str(exc))
            return {"op": "applied", "id": row.id, "applied": None, "waiting": f"{exc}; the result will be "
                                                                                 "applied later"}
        except Exception as exc:
            message = str(exc) if isinstance(exc, ReabridgeError) else (
                f"{exc.strerror}: {exc.filename}" if isinstance(exc, OSError) and exc.strerror
                else f"{type(exc).__name__}: {exc}")
            log.error("%s: applying failed: %s", row.id, message)
            return {"op": "refused", "id": row.id, "message": message}
        self.waiting.pop(row.id, None)
        if applied.handed_off:
            self.handoffs[row.id] = session.document  # type: ignore[attr-defined]
            log.info("%s: handed to the REAPER action that asked for it (REAPER's Python does not answer)", row.id)
            return {"op": "applied", "id": row.id, "applied": None, "handoff": True}
        where = "in REAPER" if type(session).__name__ == "LiveSession" else f"to {Path(session.path).name}"
        log.info("%s: %s", row.id, f"applied {where}" if applied.applied else "was applied before; nothing changed")
        return {"op": "applied", "id": row.id, "applied": applied.applied}

    def apply_waiting(self, busy: set[str | None]) -> None:
        """Apply the results that wait for their project (every couple of seconds)."""
        now = time.monotonic()
        if now - self._waiting_at < WAITING_EVERY:
            return
        self._waiting_at = now
        for row in self.queue.in_state("applying"):
            if row.id in self.waiting and row.id not in busy:
                self.finish_apply(row, json.loads(row.changes or "{}"))

    def finish_apply(self, row: Row, changes: dict[str, Any], restarted: bool = False) -> None:
        """End a request whose ChangeSet was recorded: apply it (again; ids make that safe) and say done."""
        reply = self.apply(row, changes)
        if reply.get("waiting"):
            self.status(row.id)
            return
        if reply["op"] == "applied":
            stored = json.loads(row.result) if row.result else None
            summary = (stored or {}).get("summary") or changes.get("description") or "applied"
            notices = ["applied after the daemon restarted"] if restarted else []
            result = stored or {"job": row.job, "summary": summary, "changes": changes, "files": [], "done": [],
                                "skipped": [], "notices": [], "data": {}}
            result.update({"notices": [*result.get("notices", []), *notices], "applied": reply["applied"],
                           "project": json.loads(row.request)["project"]["path"]})
            if row.id in self.handoffs:
                result["handoff"] = self.handoffs.pop(row.id)
            self.queue.finish(row.id, "done", summary, json.dumps(result))
            log.info("%s: done", row.id)
        else:
            self.fail(row.id, reply["message"])
        self.status(row.id)
