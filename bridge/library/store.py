"""The library's SQLite database: files, their fingerprints and descriptors, and who may write.

Tables (schema :data:`SCHEMA`, recorded in ``PRAGMA user_version`` and the ``meta`` table):

- ``sources``: one row per distinct content (SHA-1 of the bytes): length, tempo, key, melody
  line and timbre vector, and how many landmark rows it has;
- ``paths``: every indexed file as it was given to ``index`` (``given``), keyed by its resolved
  path (``real``), with the size and mtime seen when it was read and its source;
- ``landmarks``: ``(hash, source, time, pitch, span)`` rows, a ``WITHOUT ROWID`` table clustered
  on ``(hash, pitch)`` so a lookup -- a hash and a window of anchor pitches -- is one B-tree range;
- ``projects`` and ``project_media``: ``.RPP`` files indexed and the media they use (by content).

Each file is written in one transaction, so a kill leaves the database as it was before that
file (WAL journal). Landmarks of a source that no file uses any more are not deleted one by one
(that would scan the whole table): the source row goes, lookups skip rows of sources that are
gone, and :meth:`Store.compact` removes them in one pass once they are a quarter of the table.

Writers take an exclusive lock on ``DB.lock`` (``fcntl.flock``) for the whole run, so a second
``reabridge library index`` on the same database stops with one line instead of interleaving.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bridge.errors import ReabridgeError

SCHEMA = 4  # 1: the anchor's pitch band was part of the hash; 2: no chroma; 3: chroma of log magnitudes
APPLICATION = "reabridge-library"
#: stored integers: time in 1/8 frame, pitch in 1/32 semitone, span in 1/8 frame
TIME_SCALE, PITCH_SCALE = 8.0, 32.0
MAX_T = 1 << 24  # stored times (1/8 frames) a lookup can return


class LibraryError(ReabridgeError):
    """The library database cannot be used (missing, another version, locked, damaged)."""


def default_db() -> Path:
    """``$XDG_DATA_HOME/reabridge/library.sqlite`` (``~/.local/share/reabridge/library.sqlite``)."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "reabridge" / "library.sqlite"


_TABLES = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE sources (
    id INTEGER PRIMARY KEY, sha TEXT NOT NULL UNIQUE, frames INTEGER NOT NULL, duration REAL NOT NULL,
    rows INTEGER NOT NULL, tempo REAL, key TEXT, melody BLOB, timbre BLOB, chroma BLOB);
CREATE TABLE paths (
    real TEXT PRIMARY KEY, given TEXT NOT NULL, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,
    source INTEGER NOT NULL REFERENCES sources(id));
CREATE INDEX paths_source ON paths(source);
CREATE TABLE landmarks (
    hash INTEGER NOT NULL, source INTEGER NOT NULL, t INTEGER NOT NULL, p INTEGER NOT NULL, s INTEGER NOT NULL,
    PRIMARY KEY (hash, p, s, source, t)) WITHOUT ROWID;
CREATE TABLE projects (real TEXT PRIMARY KEY, given TEXT NOT NULL, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL);
CREATE TABLE project_media (project TEXT NOT NULL, sha TEXT NOT NULL, media TEXT NOT NULL,
    PRIMARY KEY (project, sha, media)) WITHOUT ROWID;
CREATE INDEX project_media_sha ON project_media(sha);
"""


@dataclass(frozen=True)
class SourceRow:
    """What the store holds about one content (see the module docstring)."""

    id: int
    sha: str
    frames: int
    duration: float
    tempo: float | None
    key: str | None
    melody: np.ndarray | None
    timbre: np.ndarray | None
    chroma: np.ndarray | None = None


@dataclass(frozen=True)
class SourceData:
    """What indexing one file produced, ready to store."""

    sha: str
    frames: int
    duration: float
    hashes: np.ndarray
    times: np.ndarray
    pitches: np.ndarray
    spans: np.ndarray
    tempo: float | None = None
    key: str | None = None
    melody: np.ndarray | None = None
    timbre: np.ndarray | None = None
    chroma: np.ndarray | None = None


def _blob(array: np.ndarray | None) -> bytes | None:
    return None if array is None else np.ascontiguousarray(array, dtype="<f4").tobytes()


def _array(blob: bytes | None, width: int = 1) -> np.ndarray | None:
    if blob is None:
        return None
    a = np.frombuffer(blob, dtype="<f4")
    return a.reshape(-1, width) if width > 1 else a


class Store:
    """An open library database (use :func:`open_store`)."""

    def __init__(self, path: Path, connection: sqlite3.Connection, lock: int | None) -> None:
        self.path = path
        self.db = connection
        self._lock = lock

    # -- lifetime ------------------------------------------------------------------------
    def close(self) -> None:
        """Close the connection and drop the writer's lock."""
        self.db.close()
        if self._lock is not None:
            os.close(self._lock)
            self._lock = None

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One atomic write (``BEGIN IMMEDIATE`` ... ``COMMIT``; rolled back on any error)."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    # -- paths and sources ---------------------------------------------------------------
    def path_row(self, real: str) -> tuple[int, int, int] | None:
        """``(size, mtime_ns, source)`` stored for a resolved path, or None."""
        row = self.db.execute("SELECT size, mtime_ns, source FROM paths WHERE real = ?", (real,)).fetchone()
        return None if row is None else (int(row[0]), int(row[1]), int(row[2]))

    def source_id(self, sha: str) -> int | None:
        """The id of the source with this content hash, or None."""
        row = self.db.execute("SELECT id FROM sources WHERE sha = ?", (sha,)).fetchone()
        return None if row is None else int(row[0])

    def set_path(self, real: str, given: str, size: int, mtime_ns: int, source: int) -> None:
        """Record (or update) one file; call inside :meth:`transaction`."""
        old = self.path_row(real)
        self.db.execute("INSERT OR REPLACE INTO paths (real, given, size, mtime_ns, source) VALUES (?, ?, ?, ?, ?)",
                        (real, given, size, mtime_ns, source))
        if old is not None and old[2] != source:
            self._drop_if_unused(old[2])

    def add_source(self, data: SourceData) -> int:
        """Store a new content with its landmarks; call inside :meth:`transaction`."""
        t = np.round(np.asarray(data.times) * TIME_SCALE).astype(np.int64)
        p = np.round(np.asarray(data.pitches) * PITCH_SCALE).astype(np.int64)
        s = np.round(np.asarray(data.spans) * TIME_SCALE).astype(np.int64)
        h = np.asarray(data.hashes, dtype=np.int64)
        fits = t < MAX_T  # lookups pack the time into 24 bits: the first 9.3 hours of a file are fingerprinted
        # one row per distinct (hash, pitch, span, time), in key order: `rows` is then exactly what is stored
        keys = np.unique(np.stack([h[fits], p[fits], s[fits], t[fits]], axis=1), axis=0)
        cur = self.db.execute(
            "INSERT INTO sources (sha, frames, duration, rows, tempo, key, melody, timbre, chroma) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (data.sha, data.frames, data.duration, len(keys), data.tempo, data.key, _blob(data.melody),
             _blob(data.timbre), _blob(data.chroma)))
        sid = int(cur.lastrowid or 0)
        rows = ((hh, sid, tt, pp, ss) for hh, pp, ss, tt in keys.tolist())
        self.db.executemany("INSERT INTO landmarks (hash, source, t, p, s) VALUES (?, ?, ?, ?, ?)", rows)
        return sid

    def _drop_if_unused(self, source: int) -> None:
        used = self.db.execute("SELECT 1 FROM paths WHERE source = ? LIMIT 1", (source,)).fetchone()
        if used is None:
            rows = self.db.execute("SELECT rows FROM sources WHERE id = ?", (source,)).fetchone()
            self.db.execute("DELETE FROM sources WHERE id = ?", (source,))
            if rows is not None:
                self._add_meta_int("orphan_rows", int(rows[0]))

    def drop_path(self, real: str) -> None:
        """Forget one file (and its source when no other file has that content); call inside a transaction."""
        old = self.path_row(real)
        self.db.execute("DELETE FROM paths WHERE real = ?", (real,))
        if old is not None:
            self._drop_if_unused(old[2])

    def all_paths(self) -> list[tuple[str, str]]:
        """``(real, given)`` of every indexed file."""
        return [(str(r[0]), str(r[1])) for r in self.db.execute("SELECT real, given FROM paths ORDER BY given")]

    def given_paths(self, source: int) -> list[str]:
        """The paths (as given) of the files holding one source."""
        return [str(r[0]) for r in self.db.execute("SELECT given FROM paths WHERE source = ? ORDER BY given",
                                                   (source,))]

    def source(self, source: int) -> SourceRow | None:
        """One source's descriptors."""
        row = self.db.execute("SELECT id, sha, frames, duration, tempo, key, melody, timbre, chroma FROM sources "
                              "WHERE id = ?", (source,)).fetchone()
        return None if row is None else self._source_row(row)

    def sources(self, with_melody: bool = False, with_timbre: bool = False) -> list[SourceRow]:
        """Every source (optionally only those with a melody line and chroma / a timbre vector)."""
        where = []
        if with_melody:
            where.append("melody IS NOT NULL AND chroma IS NOT NULL")
        if with_timbre:
            where.append("timbre IS NOT NULL")
        sql = "SELECT id, sha, frames, duration, tempo, key, melody, timbre, chroma FROM sources"
        if where:
            sql += " WHERE " + " AND ".join(where)
        return [self._source_row(r) for r in self.db.execute(sql + " ORDER BY id")]

    @staticmethod
    def _source_row(row: tuple) -> SourceRow:  # type: ignore[type-arg]
        return SourceRow(int(row[0]), str(row[1]), int(row[2]), float(row[3]), row[4], row[5], _array(row[6], 3),
                         _array(row[7]), _array(row[8], 12))

    def file_frames(self) -> dict[int, int]:
        """Each live source's length in landmark frames."""
        return {int(r[0]): int(r[1]) for r in self.db.execute("SELECT id, frames FROM sources")}

    def counts(self) -> tuple[int, int, int]:
        """``(files, sources, landmark rows)``."""
        files = self.db.execute("SELECT count(*) FROM paths").fetchone()[0]
        sources, rows = self.db.execute("SELECT count(*), coalesce(sum(rows), 0) FROM sources").fetchone()
        return int(files), int(sources), int(rows)

    # -- projects ------------------------------------------------------------------------
    def project_row(self, real: str) -> tuple[int, int] | None:
        """``(size, mtime_ns)`` stored for an indexed project."""
        row = self.db.execute("SELECT size, mtime_ns FROM projects WHERE real = ?", (real,)).fetchone()
        return None if row is None else (int(row[0]), int(row[1]))

    def set_project(self, real: str, given: str, size: int, mtime_ns: int, media: list[tuple[str, str]]) -> None:
        """Record a project and the media it uses (``(sha, media path)``); call inside a transaction."""
        self.db.execute("INSERT OR REPLACE INTO projects (real, given, size, mtime_ns) VALUES (?, ?, ?, ?)",
                        (real, given, size, mtime_ns))
        self.db.execute("DELETE FROM project_media WHERE project = ?", (real,))
        self.db.executemany("INSERT OR IGNORE INTO project_media (project, sha, media) VALUES (?, ?, ?)",
                            [(real, sha, m) for sha, m in media])

    def drop_project(self, real: str) -> None:
        """Forget a project; call inside a transaction."""
        self.db.execute("DELETE FROM projects WHERE real = ?", (real,))
        self.db.execute("DELETE FROM project_media WHERE project = ?", (real,))

    def all_projects(self) -> list[str]:
        """Resolved paths of every indexed project."""
        return [str(r[0]) for r in self.db.execute("SELECT real FROM projects")]

    def projects_using(self, sha: str) -> list[tuple[str, str]]:
        """``(project as given, media path)`` of the indexed projects that use this content."""
        return [(str(r[0]), str(r[1])) for r in self.db.execute(
            "SELECT p.given, m.media FROM project_media m JOIN projects p ON p.real = m.project WHERE m.sha = ? "
            "ORDER BY p.given", (sha,))]

    # -- landmarks -----------------------------------------------------------------------
    def lookup(self, hashes: np.ndarray, times: np.ndarray, pitches: np.ndarray, spans: np.ndarray, *,
               max_shift: float, min_stretch: float, max_stretch: float) -> tuple[np.ndarray, ...]:
        """Stored rows matching query groups: ``(query index, source, time, pitch)`` arrays.

        A stored row matches a query group with the same hash whose anchor pitch is within
        ``max_shift`` semitones and whose length is within the stretch range (checked by SQLite,
        so only real candidates come back). Rows of dropped sources are left out.
        """
        db = self.db
        db.execute("CREATE TEMP TABLE IF NOT EXISTS q (i INTEGER, hash INTEGER, p INTEGER, slo INTEGER, shi INTEGER)")
        db.execute("DELETE FROM q")
        p = np.round(np.asarray(pitches) * PITCH_SCALE).astype(np.int64)
        slo = np.floor(np.asarray(spans) * min_stretch * TIME_SCALE - TIME_SCALE).astype(np.int64)
        shi = np.ceil(np.asarray(spans) * max_stretch * TIME_SCALE + TIME_SCALE).astype(np.int64)
        db.executemany("INSERT INTO q VALUES (?, ?, ?, ?, ?)",
                       zip(range(len(hashes)), np.asarray(hashes, dtype=np.int64).tolist(), p.tolist(), slo.tolist(),
                           shi.tolist(), strict=True))
        shift = int(round(max_shift * PITCH_SCALE))
        # two packed integers a row: Python builds a tuple per row, and that is most of a lookup's time
        rows = db.execute(
            "SELECT (q.i << 24) | l.t, (l.source << 13) | l.p FROM q CROSS JOIN landmarks l ON l.hash = q.hash "
            "WHERE l.p BETWEEN q.p - ? AND q.p + ? AND l.s BETWEEN q.slo AND q.shi", (shift, shift)).fetchall()
        db.execute("DELETE FROM q")
        if not rows:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, np.zeros(0), np.zeros(0)
        a = np.array(rows, dtype=np.int64)
        i, t, source, p = a[:, 0] >> 24, a[:, 0] & 0xFFFFFF, a[:, 1] >> 13, a[:, 1] & 0x1FFF
        live = np.fromiter((r[0] for r in db.execute("SELECT id FROM sources")), dtype=np.int64)
        keep = np.isin(source, live)
        return i[keep], source[keep], t[keep] / TIME_SCALE, p[keep] / PITCH_SCALE

    def compact(self, force: bool = False) -> bool:
        """Delete landmark rows of dropped sources once they are a quarter of the table (one pass)."""
        orphans = self._meta_int("orphan_rows")
        if orphans <= 0:
            return False
        _, _, live = self.counts()
        if not force and orphans < 0.25 * (live + orphans):
            return False
        with self.transaction() as db:
            db.execute("DELETE FROM landmarks WHERE source NOT IN (SELECT id FROM sources)")
            db.execute("UPDATE meta SET value = '0' WHERE key = 'orphan_rows'")
        return True

    # -- meta ----------------------------------------------------------------------------
    def _meta_int(self, key: str) -> int:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return int(row[0]) if row is not None else 0

    def _add_meta_int(self, key: str, value: int) -> None:
        self.db.execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET "
                        "value = CAST(CAST(value AS INTEGER) + ? AS TEXT)", (key, str(value), value))


def _connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(str(path), isolation_level=None, timeout=30.0, check_same_thread=False)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = NORMAL")
    db.execute("PRAGMA cache_size = -65536")
    db.execute("PRAGMA temp_store = MEMORY")
    return db


def _check(db: sqlite3.Connection, path: Path) -> None:
    try:
        version = int(db.execute("PRAGMA user_version").fetchone()[0])
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.DatabaseError:
        raise LibraryError(f"{path} is not a reabridge library (not an SQLite database); give another --db") from None
    app = None
    if "meta" in tables:
        row = db.execute("SELECT value FROM meta WHERE key = 'application'").fetchone()
        app = row[0] if row else None
    if app != APPLICATION:
        raise LibraryError(f"{path} is an SQLite database but not a reabridge library; give another --db")
    if version != SCHEMA:
        newer = "a newer" if version > SCHEMA else "an older"
        raise LibraryError(f"{path} is a library of schema version {version} ({newer} reabridge); this reabridge "
                           f"reads version {SCHEMA}: index into a new database (--db NEW.sqlite) or delete this one "
                           "and index again")


def _create(db: sqlite3.Connection) -> None:
    db.execute("BEGIN IMMEDIATE")
    try:
        if db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0:
            for statement in _TABLES.split(";"):
                if statement.strip():
                    db.execute(statement)
            db.execute("INSERT INTO meta (key, value) VALUES ('application', ?), ('schema', ?), ('orphan_rows', '0')",
                       (APPLICATION, str(SCHEMA)))
            db.execute(f"PRAGMA user_version = {SCHEMA}")
        db.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(sqlite3.Error):
            db.execute("ROLLBACK")
        raise


def _take_lock(path: Path) -> int:
    fd = os.open(str(path) + ".lock", os.O_RDWR | os.O_CREAT, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise LibraryError(f"another `reabridge library index` is running on {path}; wait for it to finish "
                           "(or stop it) and run this again") from None
    return fd


def open_store(path: Path | None = None, *, write: bool = False) -> Store:
    """Open the library (the default one when ``path`` is None).

    Parameters
    ----------
    path : Path, optional
    write : bool
        Open for indexing: create the database when missing and take the writer's lock.

    Raises
    ------
    LibraryError
        Missing (when reading), another schema version, not a library, or locked by another indexer.
    """
    path = Path(path) if path is not None else default_db()
    if not write and not path.exists():
        raise LibraryError(f"there is no library at {path}: run `reabridge library index FOLDER` first"
                           + ("" if path == default_db() else f" with --db {path}"))
    if path.exists() and not path.is_file():
        raise LibraryError(f"{path} is not a file; give --db a database file")
    lock = None
    if write:
        path.parent.mkdir(parents=True, exist_ok=True)
        lock = _take_lock(path)
    try:
        db = _connect(path)
        if write:
            _create(db)
        _check(db, path)
    except sqlite3.DatabaseError as exc:
        if lock is not None:
            os.close(lock)
        raise LibraryError(f"{path} cannot be used as a library ({exc}); give another --db") from None
    except BaseException:
        if lock is not None:
            os.close(lock)
        raise
    return Store(path, db, lock)
