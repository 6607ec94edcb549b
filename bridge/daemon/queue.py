"""The durable queue: every accepted request, its state and its result, in SQLite (WAL).

A request is recorded here before its file leaves the spool, and its
ChangeSet is recorded before it is applied, so a daemon killed at any moment
(SIGKILL included) finds, when it starts again, exactly what was left to do:
``queued`` requests wait, ``running`` ones run again (a bounded number of
times), ``applying`` ones have their recorded ChangeSet applied again (a
ChangeSet id is applied to a project once, so that is safe).
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS requests (
    id TEXT PRIMARY KEY,
    job TEXT NOT NULL,
    state TEXT NOT NULL,
    request TEXT NOT NULL,
    project TEXT,
    seq INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    queued_at REAL NOT NULL,
    started_at REAL,
    finished_at REAL,
    changes TEXT,
    result TEXT,
    message TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS requests_by_state ON requests (state, seq);
"""

#: states kept in the database (``applying`` shows as ``running`` in status files)
DB_STATES = ("queued", "running", "applying", "done", "error", "cancelled")


@dataclass(frozen=True)
class Row:
    """One request as the queue holds it."""

    id: str
    job: str
    state: str
    request: str
    project: str | None
    seq: int
    attempts: int
    queued_at: float
    started_at: float | None
    finished_at: float | None
    changes: str | None
    result: str | None
    message: str


class Queue:
    """The queue in ``path`` (one writer: the daemon; readers may open it read-only)."""

    def __init__(self, path: Path, readonly: bool = False) -> None:
        self.path = path
        if readonly:
            self.db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5.0, isolation_level=None)
        else:
            self.db = sqlite3.connect(path, timeout=10.0, isolation_level=None)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=FULL")
            self.db.executescript(SCHEMA)
        self.db.row_factory = sqlite3.Row

    def close(self) -> None:
        """Close the connection."""
        self.db.close()

    def _row(self, raw: sqlite3.Row | None) -> Row | None:
        return Row(**dict(raw)) if raw is not None else None

    def get(self, request_id: str) -> Row | None:
        """A request by id."""
        return self._row(self.db.execute("SELECT * FROM requests WHERE id = ?", (request_id,)).fetchone())

    def add(self, request_id: str, job: str, request_json: str, project: str | None) -> bool:
        """Record a new request as ``queued``; False when the id is already known (nothing changes)."""
        with self.db:
            seq = self.db.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM requests").fetchone()[0]
            cursor = self.db.execute(
                "INSERT OR IGNORE INTO requests (id, job, state, request, project, seq, queued_at) "
                "VALUES (?, ?, 'queued', ?, ?, ?, ?)", (request_id, job, request_json, project, seq, time.time()))
        return cursor.rowcount == 1

    def claim(self, request_id: str) -> Row:
        """Mark a queued request ``running`` (one more attempt)."""
        with self.db:
            self.db.execute("UPDATE requests SET state = 'running', attempts = attempts + 1, started_at = ? "
                            "WHERE id = ? AND state = 'queued'", (time.time(), request_id))
        row = self.get(request_id)
        assert row is not None
        return row

    def queued_ids(self) -> list[str]:
        """Ids of queued requests in arrival order (without their bodies)."""
        return [r[0] for r in self.db.execute("SELECT id FROM requests WHERE state = 'queued' ORDER BY seq")]

    def position(self, request_id: str) -> int:
        """A queued request's place in the queue (1 is next)."""
        row = self.db.execute("SELECT COUNT(*) FROM requests WHERE state = 'queued' AND seq <= "
                              "(SELECT seq FROM requests WHERE id = ?)", (request_id,)).fetchone()
        return int(row[0])

    def not_applied(self, request_id: str) -> None:
        """The recorded ChangeSet could not be applied: back to ``running``, the ChangeSet forgotten."""
        with self.db:
            self.db.execute("UPDATE requests SET state = 'running', changes = NULL WHERE id = ? AND state = 'applying'",
                            (request_id,))

    def keep_result(self, request_id: str, result_json: str, message: str) -> None:
        """The job finished but its ChangeSet waits (the project is closed in REAPER): keep its report."""
        with self.db:
            self.db.execute("UPDATE requests SET result = ?, message = ? WHERE id = ?",
                            (result_json, message, request_id))

    def forget_finished(self, before: float) -> list[str]:
        """Drop requests that ended before ``before`` (seconds since the epoch); returns their ids."""
        ids = [r[0] for r in self.db.execute(
            "SELECT id FROM requests WHERE state IN ('done', 'error', 'cancelled') AND finished_at < ?", (before,))]
        with self.db:
            self.db.executemany("DELETE FROM requests WHERE id = ?", [(i,) for i in ids])
        return ids

    def queued(self) -> list[Row]:
        """Queued requests in arrival order."""
        rows = self.db.execute("SELECT * FROM requests WHERE state = 'queued' ORDER BY seq").fetchall()
        return [r for r in (self._row(x) for x in rows) if r is not None]

    def in_state(self, *states: str) -> list[Row]:
        """Requests in any of ``states``, in arrival order."""
        marks = ",".join("?" * len(states))
        rows = self.db.execute(f"SELECT * FROM requests WHERE state IN ({marks}) ORDER BY seq", states).fetchall()
        return [r for r in (self._row(x) for x in rows) if r is not None]

    def applying(self, request_id: str, changes_json: str) -> None:
        """Record the ChangeSet about to be applied."""
        with self.db:
            self.db.execute("UPDATE requests SET state = 'applying', changes = ? WHERE id = ?",
                            (changes_json, request_id))

    def finish(self, request_id: str, state: str, message: str, result_json: str | None = None) -> None:
        """A final state: ``done``, ``error`` or ``cancelled``."""
        with self.db:
            self.db.execute("UPDATE requests SET state = ?, message = ?, result = COALESCE(?, result), "
                            "finished_at = ? WHERE id = ?", (state, message, result_json, time.time(), request_id))

    def requeue(self, request_id: str, message: str = "") -> None:
        """Put a request back in the queue (keeping its place)."""
        with self.db:
            self.db.execute("UPDATE requests SET state = 'queued', message = ? WHERE id = ?", (message, request_id))

    def recent(self, limit: int = 50) -> list[Row]:
        """The most recent requests, newest first."""
        rows = self.db.execute("SELECT * FROM requests ORDER BY seq DESC LIMIT ?", (limit,)).fetchall()
        return [r for r in (self._row(x) for x in rows) if r is not None]

    def counts(self) -> dict[str, Any]:
        """How many requests are in each state."""
        return {state: n for state, n in self.db.execute("SELECT state, COUNT(*) FROM requests GROUP BY state")}
