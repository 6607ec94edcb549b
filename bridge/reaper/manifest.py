"""``<resource path>/reabridge/install.json``: what ``reabridge install`` did, so uninstall undoes exactly that.

Fields (all paths relative to the resource path, ``/``-separated):

- ``files``: installed file -> SHA-256 of what install wrote;
- ``replaced``: installed file -> backup of the file that was there before (not ours);
- ``folders``: folders install made (removed when empty);
- ``kb_lines`` / ``kb_created``: lines added to ``reaper-kb.ini``, and whether install made the file;
- ``ini``: per ini file, ``created``, ``section_created`` and ``keys`` (``was`` / ``set``);
- ``startup``: ``{"created": bool}`` when the start-up block was added;
- ``made``: files install made in ``reabridge/`` (config, token); ``backups``: backups of REAPER's files;
- ``unterminated``: REAPER's files whose last line had no line ending before install added lines after it;
- ``complete``: false while an install is under way (a crash leaves it false: uninstall still works).

The manifest is data in a folder others can write to, so it is checked before use: every
path must be a plain relative path inside the resource path (:meth:`Place.path`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bridge import __version__
from bridge.reaper.paths import reabridge_folder
from bridge.reaper.targets import InstallError, Place

MANIFEST = "install.json"


def empty_manifest() -> dict[str, Any]:
    """The manifest of an install that has not done anything yet."""
    return {"version": 1, "reabridge": __version__, "files": {}, "replaced": {}, "folders": [], "kb_lines": [],
            "ini": {}, "startup": None, "made": [], "backups": [], "unterminated": [], "complete": False}


def _strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _check(data: Any, place: Place, where: Path) -> dict[str, Any]:
    damaged = InstallError(f"{where} is damaged (not what install writes); move it away to install afresh")
    if not isinstance(data, dict):
        raise damaged
    merged = {**empty_manifest(), **data}
    if not (isinstance(merged["files"], dict) and all(isinstance(v, str) for v in merged["files"].values())
            and isinstance(merged["replaced"], dict) and all(isinstance(v, str) for v in merged["replaced"].values())
            and _strings(merged["folders"]) and _strings(merged["kb_lines"]) and _strings(merged["made"])
            and _strings(merged["backups"]) and _strings(merged["unterminated"]) and isinstance(merged["ini"], dict)
            and (merged["startup"] is None or isinstance(merged["startup"], dict))):
        raise damaged
    for name, record in merged["ini"].items():
        if not isinstance(record, dict) or not isinstance(record.get("keys", {}), dict):
            raise damaged
        place.path(name, str(where))
    listed = [*merged["files"], *merged["replaced"].values(), *merged["replaced"], *merged["folders"],
              *merged["made"], *merged["backups"]]
    for rel in listed:
        place.path(rel, str(where))
    return merged


def read_manifest(resource: Path, verb: str = "install") -> dict[str, Any] | None:
    """What an earlier install wrote down (None when reabridge is not installed there).

    Raises
    ------
    InstallError
        The file is not what install writes, or names paths outside the resource path.
    """
    path = reabridge_folder(resource) / MANIFEST
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise InstallError(f"{path} is damaged ({exc}); move it away to install afresh") from None
    return _check(data, Place(resource, verb), path)


def encode_manifest(manifest: dict[str, Any]) -> bytes:
    """The manifest as install writes it."""
    return (json.dumps(manifest, indent=1) + "\n").encode()
