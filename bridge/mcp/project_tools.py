"""Reading a project for an LLM: ``project_info``, ``find_items`` and the ``reaper://project/...`` resources.

A project is read from REAPER when REAPER runs with reabridge's server and has it open
(so unsaved edits and the current selection count), else from its ``.RPP``. Its path is
checked by the daemon's rules first (a REAPER project, in the user's folders, the temporary
folder, REAPER's resource path or an ``--allow`` folder); nothing is ever written.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from bridge.errors import ReabridgeError
from bridge.project.project import Project
from bridge.requests.parse import RequestError
from bridge.requests.paths import PathPolicy

URI_PREFIX = "reaper://project/"
URI_TEMPLATE = URI_PREFIX + "{path}"


class ProjectToolError(ReabridgeError):
    """A project that cannot be read (refused, missing, not a REAPER project)."""


def project_uri(path: Path | str) -> str:
    """The resource URI of a project: its absolute path, percent-encoded (``/`` as ``%2F``)."""
    return URI_PREFIX + quote(str(path), safe="")


def uri_path(uri: str) -> str:
    """The project path a ``reaper://project/...`` URI names."""
    if not uri.startswith(URI_PREFIX):
        raise ProjectToolError(f"{uri}: not a reabridge resource (they start with {URI_PREFIX})")
    path = unquote(uri[len(URI_PREFIX):])
    return path if path.startswith("/") or ":" in path[:3] else "/" + path


class ProjectReader:
    """Projects as the tools see them.

    Parameters
    ----------
    policy : PathPolicy
        The daemon's rules, with the server's ``--allow`` folders.
    resource_path : Path
        Where REAPER's server publishes itself.
    """

    def __init__(self, policy: PathPolicy, resource_path: Path) -> None:
        self.policy = policy
        self.resource_path = resource_path
        self.seen: dict[str, None] = {}  # projects read this session (listed as resources)

    def _live(self, path: Path) -> Project | None:
        """The project as REAPER holds it, when REAPER runs and has it open."""
        from bridge.session.live import ReaperLink, ReaperUnavailableError, server_info

        if server_info(self.resource_path) is None:
            return None
        link = None
        try:
            link = ReaperLink.connect(self.resource_path)
            if link is None:
                return None
            state = link.call("project_state", {"path": str(path), "id": None})
        except (ReaperUnavailableError, ReabridgeError):
            return None
        finally:
            if link is not None:
                link.close()
        return Project.loads(state["text"], Path(state["path"])) if state else None

    def load(self, value: str) -> tuple[Project, str]:
        """The project at ``value`` and where it was read from (``"REAPER"`` or ``"file"``).

        Raises
        ------
        ProjectToolError
            The path is refused by the rules, or the file cannot be read as a project.
        """
        try:
            path = self.policy.check_project(value)
        except RequestError as exc:
            raise ProjectToolError(f"path: {exc.reason}") from None
        live = self._live(path)
        self.seen[str(path)] = None
        if live is not None:
            return live, "REAPER"
        try:
            return Project.load(path), "file"
        except OSError as exc:
            raise ProjectToolError(f"path: cannot read {path} ({exc.strerror})") from None

    def info(self, path: str) -> dict[str, Any]:
        """``project_info``: the ``project info --json`` content, and where it was read from."""
        project, source = self.load(path)
        return {**project.summary(), "read_from": source}

    def find(self, path: str, *, track: str | None = None, name: str | None = None, start: float | None = None,
             end: float | None = None, selected: bool | None = None) -> dict[str, Any]:
        """``find_items``: the items matching every condition given, and ``items`` ready for a job tool."""
        project, source = self.load(path)
        if start is not None and end is not None and end <= start:
            raise ProjectToolError(f"end ({end:g} s) must be after start ({start:g} s)")
        matches = []
        for t, item in project.items():
            if track is not None and track.lower() not in t.display_name.lower():
                continue
            if name is not None and name.lower() not in item.name.lower():
                continue
            if start is not None and item.position + item.length <= start:
                continue
            if end is not None and item.position >= end:
                continue
            if selected is not None and item.selected != selected:
                continue
            take = item.active_take
            source_file = None
            if take is not None and take.source is not None:
                with contextlib.suppress(Exception):
                    source_file = take.source.file
            matches.append({"guid": item.guid, "track": t.display_name, "track_guid": t.guid, "name": item.name,
                            "position": item.position, "length": item.length, "selected": item.selected,
                            "mute": item.mute, "source": source_file})
        return {"project": str(project.path), "read_from": source, "count": len(matches), "matches": matches,
                "items": {"guids": [m["guid"] for m in matches]}}

    def known(self) -> list[str]:
        """Projects to list as resources: those REAPER has open, then those read this session."""
        from bridge.session.live import ReaperLink, ReaperUnavailableError, server_info

        found: dict[str, None] = {}
        if server_info(self.resource_path) is not None:
            link = None
            try:
                link = ReaperLink.connect(self.resource_path)
                hello = link.call("hello") if link is not None else None
                for entry in (hello or {}).get("projects", []):
                    if isinstance(entry, dict) and entry.get("path"):
                        found[str(entry["path"])] = None
            except (ReaperUnavailableError, ReabridgeError):
                pass
            finally:
                if link is not None:
                    link.close()
        found.update(self.seen)
        return list(found)
