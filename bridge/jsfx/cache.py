"""What the JSFX cache folder holds (programs, native code, failed compiles, the compile under way); clearing it.

``reabridge jsfx cache`` lists it; ``--clear`` empties it, except the files of a compile
that is running (they are left whole, and the command says so): the compile lock is held
while clearing, so no compile starts half-way through.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bridge.jsfx import background
from bridge.jsfx.native import cache_dir, effect_name
from bridge.jsfx.promotion import read_spent


@dataclass
class Entry:
    """One thing in the cache: a kept program or an effect's native module (with its machine code)."""

    kind: str  # "program", "native", "compiling", "interpreted" (not paid for yet), "failed"
    effect: str
    size: int  # bytes, every file of the entry
    age: float  # seconds since its newest file changed
    files: list[Path]
    detail: str = ""


@dataclass
class Contents:
    """The cache folder's entries and the compile under way (pid, effect, module, started), if any."""

    folder: Path
    entries: list[Entry]
    running: dict[str, Any] | None


def _entry(kind: str, effect: str, files: list[Path], detail: str = "") -> Entry:
    files = [f for f in files if f.exists()]
    stats = [f.stat() for f in files]
    newest = max((s.st_mtime for s in stats), default=time.time())
    return Entry(kind, effect, sum(s.st_size for s in stats), max(0.0, time.time() - newest), files, detail)


def contents(folder: Path | None = None) -> Contents:
    """What the cache folder (default :func:`~bridge.jsfx.native.cache_dir`) holds."""
    folder = folder or cache_dir()
    entries: list[Entry] = []
    if not folder.is_dir():
        return Contents(folder, entries, None)
    running = background.under_way(folder)
    for program in sorted(folder.glob("program_*.pickle")):
        name = program.with_suffix(".name")
        effect = name.read_text().strip() if name.exists() else ""
        entries.append(_entry("program", effect, [program, name]))
    compiled = folder / "__pycache__"
    stems = sorted({f.name.split(".")[0] for pattern in ("jsfx_*.py", "jsfx_*.spent", "jsfx_*.failed")
                    for f in folder.glob(pattern)})
    for stem in stems:
        module = folder / f"{stem}.py"
        files = [module, *(module.with_suffix(s) for s in (".json", ".spent", ".failed"))]
        files += sorted(compiled.glob(f"{stem}.*")) if compiled.is_dir() else []
        spent, cost, effect = read_spent(module)
        effect = effect_name(module) or effect or str((background.failed(module) or {}).get("effect", ""))
        failure = background.failed(module)
        if running is not None and running.get("module") == module.name:
            kind, detail = "compiling", f"pid {running.get('pid')}"
        elif failure is not None:
            kind, detail = "failed", str(failure.get("reason", ""))
        elif background.is_compiled(module):
            info = _json(module.with_suffix(".json"))
            kind = "native"
            detail = (f"compiled in {info['seconds']:g} s, peak {info['peak_mb']} MB"
                      if {"seconds", "peak_mb"} <= info.keys() else "")
        else:
            kind, detail = "interpreted", f"{spent:.1f} s so far; compiles at ~{cost:.0f} s"
        entries.append(_entry(kind, effect, files, detail))
    return Contents(folder, entries, running)


def _json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


@dataclass
class Cleared:
    """What ``--clear`` removed, and what it left because a compile is using it."""

    removed: int
    freed: int  # bytes
    kept: dict[str, Any] | None  # the compile under way, whose files were left


def clear(folder: Path | None = None) -> Cleared:
    """Remove every kept program, module, machine code and failure mark (not a running compile's files)."""
    folder = folder or cache_dir()
    if not folder.is_dir():
        return Cleared(0, 0, None)
    removed = freed = 0
    with background.holding_lock(folder) as fd:
        running = None if fd is not None else (background.under_way(folder) or {"module": None})
        keep = str(running.get("module") or "") if running else ""
        keep_stem = keep.removesuffix(".py")
        for entry in contents(folder).entries:
            if keep_stem and any(f.name.startswith(keep_stem + ".") for f in entry.files):
                continue
            for f in entry.files:
                with contextlib.suppress(OSError):
                    size = f.stat().st_size
                    f.unlink()
                    removed += 1
                    freed += size
        if fd is not None:  # nothing compiles: leftovers of a killed one go too
            shutil.rmtree(folder / background.STAGING, ignore_errors=True)
            with contextlib.suppress(OSError):
                (folder / background.STATUS).unlink()
            for stray in [*folder.glob(".*.tmp"), *folder.glob("*.compiling")]:  # also an older version's marks
                with contextlib.suppress(OSError):
                    stray.unlink()
    return Cleared(removed, freed, running)


def describe_age(seconds: float) -> str:
    """``42 s``, ``5 min``, ``3 h``, ``12 days``."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.0f} h"
    return f"{seconds / 86400:.0f} days"


def describe_size(size: int) -> str:
    """``812 B``, ``14 kB``, ``3.2 MB``."""
    if size < 1000:
        return f"{size} B"
    if size < 1_000_000:
        return f"{size / 1000:.0f} kB"
    return f"{size / 1e6:.1f} MB"

