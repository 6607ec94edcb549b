"""Results handed back to the REAPER action that asked for them (REAPER without a working Python).

The action sends, with its request, the project as REAPER holds it (RPP text in
the spool's ``snapshots/`` folder). Jobs read that text; the result's chunk
text -- written by the same writer the live server gets its text from -- goes
into the request's status file, and the action applies it itself in one undo
block (``reaper_scripts/reabridge_lib.lua``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bridge.changes.ops import ChangeSet
from bridge.changes.text import changeset_text
from bridge.errors import ReabridgeError
from bridge.fileio import read_regular
from bridge.project.items import Item
from bridge.project.project import Project
from bridge.project.tracks import Track
from bridge.session.base import ApplyResult

#: a snapshot larger than this is refused (a project's text, not its media)
MAX_SNAPSHOT_BYTES = 256 << 20


def read_snapshot(path: Path, folder: Path) -> str:
    """The RPP text of a request's snapshot, which must be a file directly in ``folder``.

    Raises
    ------
    bridge.errors.ReabridgeError
        The snapshot is elsewhere, missing, not a regular file, too large or not text.
    """
    if path.parent.resolve() != folder.resolve() or path.suffix.upper() != ".RPP":
        raise ReabridgeError(f"project.snapshot must be an .RPP file in {folder} (got {path})")
    try:
        data = read_regular(path, MAX_SNAPSHOT_BYTES)
    except OSError as exc:
        raise ReabridgeError(f"cannot read the project snapshot {path} ({exc.strerror or exc})") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def handoff_document(changes: ChangeSet, project: Project, ref: dict[str, Any], undo_name: str) -> dict[str, Any]:
    """What the action applies: the ChangeSet as chunk text, with what it needs to apply it once."""
    from bridge.session.live import fields_for_reaper

    ops = [{**text.to_dict(), "op": fields_for_reaper(text.op)} for text in changeset_text(changes, project)]
    return {"change_id": changes.id, "created": changes.created, "undo_name": undo_name,
            "project": {"path": ref.get("path"), "id": ref.get("id")}, "ops": ops}


class HandoffSession:
    """A project REAPER holds but cannot be reached from Python: the result goes back to the action.

    Parameters
    ----------
    ref : dict
        The request's ``project`` (``path``, ``id``, ``snapshot``).
    text : str
        The snapshot's RPP text.
    undo_name : str
        The undo step's name in REAPER.
    """

    def __init__(self, ref: dict[str, Any], text: str, undo_name: str) -> None:
        self.ref = ref
        self.path = Path(ref["path"])
        self.project = Project.loads(text, self.path)
        self.undo_name = undo_name
        self.document: dict[str, Any] | None = None

    def items(self, selected_only: bool = False) -> list[tuple[Track, Item]]:
        """Items of the project with their tracks."""
        return self.project.selected_items() if selected_only else self.project.items()

    def apply(self, changes: ChangeSet) -> ApplyResult:
        """Make the handoff document (kept in :attr:`document`); the action applies it."""
        self.document = handoff_document(changes, self.project, self.ref, self.undo_name)
        return ApplyResult(False, changes.id, handed_off=True)
