"""The live session: results land in the project open in REAPER, as one undo step.

reabridge's server script runs inside REAPER (``reaper_scripts/reabridge_server.py``)
and publishes, in ``<resource path>/reabridge/``, its port (``server.json``) and
a secret (``server.token``). :class:`ReaperLink` connects with python-reapy's own
client, presents the token, and calls what the server allows. A
:class:`LiveSession` reads the project as REAPER holds it (one call) and applies
a whole ChangeSet, as the same chunk text the offline session splices into a
file, in one more call: the server runs it inside one undo block named for the
job, so Ctrl+Z in REAPER takes the whole result back.

``reapy`` is imported only here, when a link is made: importing it looks for a
REAPER on the network.
"""

from __future__ import annotations

import contextlib
import json
import os
import warnings
from pathlib import Path
from typing import Any

from bridge.changes.ops import ChangeSet
from bridge.changes.text import changeset_text
from bridge.errors import ReabridgeError
from bridge.project.items import Item
from bridge.project.project import Project
from bridge.project.tracks import Track
from bridge.session.base import ApplyResult

SERVER_MODULE = "reabridge_server"
REASCRIPT_MODULE = "reapy.reascript_api"
TIMEOUT_S = 60.0
CONNECT_TIMEOUT_S = 10.0  # for the server's greeting (it greets in its next defer tick)


class ReaperUnavailableError(ReabridgeError):
    """REAPER (with reabridge's server) cannot be reached right now."""


class ProjectNotOpenError(ReabridgeError):
    """REAPER is running but does not have the request's project open."""


def server_info(resource_path: Path) -> dict[str, Any] | None:
    """What the server published (port, pid, token file), or None when no REAPER has it running.

    A ``server.json`` left behind by a REAPER that crashed (its process is gone)
    counts as none.
    """
    try:
        info = json.loads((resource_path / "reabridge" / "server.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(info, dict) or not isinstance(info.get("port"), int):
        return None
    pid = info.get("pid")
    if isinstance(pid, int) and pid > 0:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            pass
    return info


class ReaperLink:
    """A connection to reabridge's server in REAPER, through python-reapy's client.

    Parameters
    ----------
    port : int
    token : str
        The secret from ``server.token``.
    """

    def __init__(self, port: int, token: str) -> None:
        with warnings.catch_warnings():  # reapy looks for a REAPER when imported and warns if none
            warnings.simplefilter("ignore")
            from reapy.tools.network.client import Client

        class _Client(Client):  # reapy's client, with time-outs instead of waiting forever
            def _connect(self, port: int, host: str) -> None:
                self._socket.settimeout(CONNECT_TIMEOUT_S)
                self._socket.connect((host, port))
                self.address = self.recv(timeout=CONNECT_TIMEOUT_S).decode("ascii")  # the greeting

            def _get_result(self) -> Any:
                from reapy.tools import json as reapy_json

                return reapy_json.loads(self.recv(timeout=TIMEOUT_S).decode())

        try:
            self.client = _Client(port, "127.0.0.1")
            self.client._socket.settimeout(TIMEOUT_S)
            with contextlib.suppress(OSError):  # a server that said why ("busy") and closed: its answer is still there
                self.client.send(json.dumps({"token": token}).encode())
            answer = self.client._get_result()
        except (OSError, ConnectionError, ValueError) as exc:  # ValueError: not reapy's wire (another program)
            raise ReaperUnavailableError(f"REAPER's reabridge server on port {port} does not answer ({exc})") from None
        if not isinstance(answer, dict) or answer.get("type") != "result":
            why = str(answer.get("traceback")) if isinstance(answer, dict) else ""
            if "busy" in why:
                raise ReaperUnavailableError("REAPER's reabridge server is busy (too many connections); "
                                             "try again in a moment")
            raise ReaperUnavailableError("REAPER's reabridge server refused the token; run 'reabridge doctor'")
        self.round_trips = 2
        self.port = port

    @classmethod
    def connect(cls, resource_path: Path) -> ReaperLink | None:
        """A link to the REAPER whose server published itself in ``resource_path``; None when none runs."""
        info = server_info(resource_path)
        if info is None:
            return None
        token_file = Path(info.get("token_file") or resource_path / "reabridge" / "server.token")
        try:
            token = token_file.read_text(encoding="ascii").strip()
        except OSError as exc:
            raise ReaperUnavailableError(f"cannot read REAPER's reabridge token {token_file}: {exc.strerror}") from None
        return cls(int(info["port"]), token)

    def _request(self, module: str, name: str, *args: Any) -> Any:
        from reapy.errors import DistError

        self.round_trips += 1
        function = {"__callable__": True, "module_name": module, "name": name}
        try:
            return self.client.request(function, {"args": list(args), "kwargs": {}})
        except DistError as exc:
            last = [line for line in str(exc).strip().splitlines() if line.strip()][-1:]
            raise ReabridgeError(f"REAPER: {last[0] if last else exc}") from None
        except (TimeoutError, OSError, ConnectionError) as exc:
            raise ReaperUnavailableError(f"the connection to REAPER was lost ({exc})") from None

    def call(self, name: str, *args: Any) -> Any:
        """One of reabridge's server functions (``project_state``, ``apply_changes``...)."""
        return self._request(SERVER_MODULE, name, *args)

    def reascript(self, name: str, *args: Any) -> Any:
        """An allowed ReaScript function, reapy style (``CountTracks``...)."""
        return self._request(REASCRIPT_MODULE, name, *args)

    def close(self) -> None:
        """Drop the connection."""
        with contextlib.suppress(OSError):
            self.client.close()


#: operations the server applies from their chunk text alone (their fields would only be weight on the wire)
_TEXT_ONLY = ("add_track", "add_midi_item", "add_audio_item", "add_js_effect")


def fields_for_reaper(op: Any) -> dict[str, Any]:
    """What REAPER's side needs of an operation besides its chunk text."""
    from bridge.changes.ops import op_data

    return {"op": op.kind} if op.kind in _TEXT_ONLY else op_data(op)


class LiveSession:
    """The project open in REAPER, as a session: reading it, and applying ChangeSets as one undo step each.

    Parameters
    ----------
    link : ReaperLink
    ref : dict
        ``{"path", "id"}`` of the request's project (the id recorded in its
        ext state finds it even when it was saved elsewhere).
    undo_name : str
        What REAPER's undo history shows for each apply ("reabridge: Transcribe to MIDI").

    Raises
    ------
    ProjectNotOpenError
        REAPER does not have that project open.
    """

    def __init__(self, link: ReaperLink, ref: dict[str, Any], undo_name: str) -> None:
        self.link = link
        self.ref = {"path": ref.get("path"), "id": ref.get("id")}
        self.undo_name = undo_name
        self.reload()

    def reload(self) -> Project:
        """Read the project from REAPER again."""
        state = self.link.call("project_state", self.ref)
        if state is None:
            raise ProjectNotOpenError(f"REAPER does not have {Path(str(self.ref['path'])).name} open")
        self.path = Path(state["path"])
        self.text = state["text"]
        self.project = Project.loads(state["text"], self.path)
        return self.project

    def items(self, selected_only: bool = False) -> list[tuple[Track, Item]]:
        """Items of the project with their tracks."""
        return self.project.selected_items() if selected_only else self.project.items()

    def apply(self, changes: ChangeSet) -> ApplyResult:
        """Apply a ChangeSet in REAPER as one undo step (two round trips, whatever its size).

        Raises
        ------
        ProjectNotOpenError
            The project was closed meanwhile (nothing was applied).
        bridge.errors.ReabridgeError
            REAPER refused an operation (the undo step was taken back whole).
        """
        self.reload()  # the text is written against the project as it is now
        ops = [{**text.to_dict(), "op": fields_for_reaper(text.op)} for text in changeset_text(changes, self.project)]
        result = self.link.call("apply_changes", self.ref, changes.id, changes.created, self.undo_name, ops)
        if result is None:
            raise ProjectNotOpenError(f"REAPER closed {self.path.name} before the result could be applied")
        return ApplyResult(bool(result["applied"]), changes.id)
