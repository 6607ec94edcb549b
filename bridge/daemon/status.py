"""Status documents: what ``status/<id>.json`` says about a request, built from its row in the queue."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from bridge.daemon.queue import Row
from bridge.jobs.result import ItemNote
from bridge.requests.models import VERSION

#: the state a status file shows for each state the queue keeps
SHOWN = {"queued": "queued", "running": "running", "applying": "running", "done": "done", "error": "error",
         "cancelled": "cancelled"}


def now_stamp() -> str:
    """Now, as status files write times."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _stamp(seconds: float | None) -> str | None:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds)) if seconds else None


def status_document(row: Row, progress: dict[str, Any] | None = None, position: int | None = None,
                    worker: int | None = None) -> dict[str, Any]:
    """What ``status/<id>.json`` holds for a request in the queue."""
    state = SHOWN[row.state]
    fraction = (progress or {}).get("fraction")
    if state == "done":
        fraction = 1.0
    doc: dict[str, Any] = {
        "version": VERSION, "id": row.id, "job": row.job, "state": state,
        "progress": fraction, "percent": round(100 * fraction) if fraction is not None else None,
        "stage": (progress or {}).get("stage") if state in ("running", "queued") and progress else None,
        "message": (progress or {}).get("message", "") if state == "running" or (state == "queued" and progress)
        else (row.message or ""),
        "position": position if state == "queued" else None,
        "project": row.project, "attempts": row.attempts, "worker": worker if state == "running" else None,
        "queued_at": _stamp(row.queued_at), "started_at": _stamp(row.started_at),
        "finished_at": _stamp(row.finished_at), "updated": now_stamp(),
    }
    if state == "error":
        doc["error"] = row.message
    if state == "done" and row.result:
        result = json.loads(row.result)
        changes = result.get("changes") or {}
        doc["result"] = {
            "summary": result.get("summary", ""),
            "files": result.get("files", []),
            "done": [d if isinstance(d, str) else _note(d) for d in result.get("done", [])],
            "skipped": [_note(d) for d in result.get("skipped", [])],
            "notices": result.get("notices", []),
            "added": [_op_line(op) for op in changes.get("ops", []) if _shown_op(op)],
            "applied": result.get("applied"),
            "data": result.get("data", {}),
        }
        if result.get("handoff"):  # REAPER's Python did not answer: the action that asked applies this
            doc["apply"] = result["handoff"]
    return doc


def _note(note: dict[str, Any]) -> str:
    return str(ItemNote(note.get("where", ""), note.get("message", ""), note.get("item")))


def _shown_op(op: dict[str, Any]) -> bool:
    """Whether an operation is something a person sees added or changed (not bookkeeping, not a removal)."""
    kind = str(op.get("op", ""))
    return kind != "set_ext_state" and not kind.startswith("remove_")


def _op_line(op: dict[str, Any]) -> str:
    kind = op.get("op", "")
    if kind == "add_track":
        return f"track '{op.get('name', '')}'"
    if kind == "add_midi_item":
        return f"MIDI item '{op.get('name', '')}' ({len(op.get('notes', []))} notes)"
    if kind == "add_audio_take":
        return f"take '{op.get('name', '')}' ({Path(op.get('file', '')).name})"
    if kind == "add_audio_item":
        return f"item '{op.get('name', '')}'"
    if kind == "add_js_effect":
        return f"JS effect {op.get('path', '')}"
    if kind == "set_tempo":
        return f"tempo {op.get('bpm')} BPM" + (f" with {len(op['points'])} tempo points" if op.get("points") else "")
    if kind == "add_marker":
        return f"{'region' if op.get('end') is not None else 'marker'} '{op.get('name', '')}'"
    if kind == "add_take_marker":
        return f"take marker '{op.get('name', '')}'"
    if kind == "add_notes_item":
        return f"item with notes '{str(op.get('notes', '')).splitlines()[0][:60]}'"
    if kind == "add_item_copy":
        return f"item '{op.get('name', '')}'" if op.get("name") else "a copy of an item"
    if kind == "set_item_mute":
        return "muted an item" if op.get("mute") else "unmuted an item"
    if kind == "set_item_notes":
        return "item notes"
    return kind
