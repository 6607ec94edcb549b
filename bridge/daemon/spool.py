"""The spool folder: how requests reach the daemon and how it answers.

::

    SPOOL/
      requests/<id>.json   a client writes the request under a temporary name
                           (starting with ".") and renames it: the daemon never
                           sees half a file. Removed once queued.
      status/<id>.json     the daemon's answer, rewritten (temp + rename) at each change:
                           {"id", "job", "state", "progress", "message", ...}
      cancel/<id>          a client asks for a request to be cancelled
      rejected/<id>.json   request files that could not be read (kept for a while)
      queue.db             the durable queue (SQLite, WAL)
      daemon.lock          held by the running daemon (its pid inside)
      daemon.log           the daemon's log (rotated)

Status ``state`` is one of ``queued``, ``running``, ``done``, ``error``,
``cancelled``.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

STATES = ("queued", "running", "done", "error", "cancelled")
FINAL_STATES = ("done", "error", "cancelled")
MAX_REQUEST_BYTES = 8 << 20


def default_spool() -> Path:
    """``<REAPER resource path>/reabridge/spool`` (``$REABRIDGE_SPOOL`` overrides it)."""
    env = os.environ.get("REABRIDGE_SPOOL")
    if env:
        return Path(env)
    from bridge.reaper.paths import default_resource_path

    return default_resource_path() / "reabridge" / "spool"


def write_json(path: Path, data: Any, durable: bool = False) -> None:
    """Write JSON so readers see the old or the new file, never half of one."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=1)
            fh.write("\n")
            if durable:
                fh.flush()
                os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def read_json(path: Path) -> dict[str, Any] | None:
    """A JSON object from a file, or None when it is missing or not a JSON object."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


class Spool:
    """The folders of one spool (created on first use)."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = Path(root) if root is not None else default_spool()

    @property
    def requests(self) -> Path:
        """Incoming request files."""
        return self.root / "requests"

    @property
    def status(self) -> Path:
        """One status file per request."""
        return self.root / "status"

    @property
    def cancel(self) -> Path:
        """Cancellation requests."""
        return self.root / "cancel"

    @property
    def rejected(self) -> Path:
        """Request files that could not be read."""
        return self.root / "rejected"

    @property
    def snapshots(self) -> Path:
        """The project as REAPER held it, sent by the REAPER actions with their requests."""
        return self.root / "snapshots"

    @property
    def heartbeat(self) -> Path:
        """``{"pid", "updated"}``, rewritten every few seconds while a daemon serves (what the actions check)."""
        return self.root / "daemon.json"

    @property
    def stop(self) -> Path:
        """A file here asks the daemon to stop (what the REAPER action 'Start/stop' writes)."""
        return self.root / "stop"

    @property
    def database(self) -> Path:
        """The durable queue."""
        return self.root / "queue.db"

    @property
    def lock(self) -> Path:
        """Held by the running daemon."""
        return self.root / "daemon.lock"

    @property
    def log(self) -> Path:
        """The daemon's log file."""
        return self.root / "daemon.log"

    def create(self) -> Spool:
        """Make the folders (readable and writable by the user only)."""
        for folder in (self.root, self.requests, self.status, self.cancel, self.rejected, self.snapshots):
            folder.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(OSError):
            self.root.chmod(0o700)
        return self

    def status_path(self, request_id: str) -> Path:
        """Where a request's status is written."""
        return self.status / f"{request_id}.json"

    def read_status(self, request_id: str) -> dict[str, Any] | None:
        """A request's status, when there is one."""
        return read_json(self.status_path(request_id))

    def pending(self) -> list[Path]:
        """Request files waiting to be queued, oldest first (temporary names are skipped)."""
        found = []
        try:
            for entry in os.scandir(self.requests):
                if entry.name.startswith(".") or not entry.name.endswith(".json"):
                    continue
                try:  # a file a client removes between the listing and here is simply gone
                    found.append((entry.stat(follow_symlinks=False).st_mtime_ns, entry.name, Path(entry.path)))
                except FileNotFoundError:
                    continue
        except FileNotFoundError:
            return []
        return [path for _, _, path in sorted(found)]

    def cancellations(self) -> list[str]:
        """Ids someone asked to cancel (anything but a plain file there is removed or ignored)."""
        names = []
        try:
            entries = list(os.scandir(self.cancel))
        except FileNotFoundError:
            return []
        for entry in entries:
            if entry.name.startswith("."):
                continue
            try:
                if entry.is_dir(follow_symlinks=False):
                    os.rmdir(entry.path)  # not a cancellation; an empty folder is cleared, a full one ignored
                    continue
            except OSError:
                continue
            names.append(entry.name)
        return sorted(names)

    def daemon_pid(self) -> int | None:
        """The pid of the daemon holding the lock, or None when no daemon is serving this spool."""
        import fcntl

        try:
            fd = os.open(self.lock, os.O_RDONLY)
        except FileNotFoundError:
            return None
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                text = os.pread(fd, 64, 0).decode("ascii", "replace").strip()
                return int(text) if text.isdigit() else -1
            fcntl.flock(fd, fcntl.LOCK_UN)
            return None
        finally:
            os.close(fd)
