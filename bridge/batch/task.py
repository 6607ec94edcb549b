"""One project of a batch: render its mix, master it, write ``<name>.master.wav`` and ``<name>.json``.

A task is two requests (``render``, then ``master``) run through :func:`run_request`,
and takes only paths and plain settings, so it runs the same in a local process
pool and on a Dask worker. It is skipped when its outputs are up to date: the
project's bytes, its media's bytes and the settings hash to the key its JSON holds.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bridge.errors import ReabridgeError

VERSION = 1  # of the per-project JSON
_ENGINES: Any = None  # loaded once per worker process, kept between its projects


def engines() -> Any:
    global _ENGINES
    if _ENGINES is None:
        from bridge.jobs.engines import Engines

        _ENGINES = Engines()
    return _ENGINES


def media_files(project: Path) -> list[Path]:
    """Every media file the project's items refer to (that exists), sorted."""
    from bridge.project.project import Project

    found = set()
    for track in Project.load(project).tracks:
        for item in track.items:
            for take in item.takes:
                source = take.source
                resolved = source.resolve() if source is not None else None
                if resolved is not None and resolved.exists:
                    found.add(resolved.path)
    return sorted(found)


def input_key(project: Path, settings: dict[str, Any]) -> str:
    """What the outputs depend on: the project, its media (by content) and the settings."""
    digest = hashlib.sha256()
    digest.update(json.dumps(settings, sort_keys=True).encode())
    for path in [project, *media_files(project)]:
        digest.update(str(path).encode() + b"\0")
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def master_choice(settings: dict[str, Any]) -> dict[str, Any]:
    """The master request's options every project of the batch shares."""
    return {k: settings[k] for k in ("preset", "target_lufs", "ceiling", "format") if settings.get(k) is not None}


def check_settings(settings: dict[str, Any]) -> None:
    """Refuse, once and before any project runs, settings every project would fail on.

    Raises
    ------
    RequestError
        A master option out of range (``options.target_lufs: ...``).
    PresetError
        No bundled preset has that name.
    """
    from bridge.master.presets import load_preset
    from bridge.requests import parse_request

    choice = master_choice(settings)
    parse_request({"id": "batch-settings", "job": "master", "options": {"mix": "batch.wav", **choice}})
    if choice.get("preset"):
        load_preset(choice["preset"])


def outputs_for(out_dir: Path, name: str) -> dict[str, Path]:
    return {"master": out_dir / f"{name}.master.wav", "json": out_dir / f"{name}.json",
            "mix": out_dir / f"{name}.mix.wav"}


def up_to_date(out_dir: Path, name: str, key: str, keep_mix: bool) -> dict[str, Any] | None:
    """The stored result when the outputs were made from exactly these inputs."""
    paths = outputs_for(out_dir, name)
    try:
        stored = json.loads(paths["json"].read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(stored, dict) or stored.get("key") != key or stored.get("status") != "done":
        return None
    if not paths["master"].is_file() or (keep_mix and not paths["mix"].is_file()):
        return None
    return stored


def process_project(project: str, out_dir: str, name: str, settings: dict[str, Any],
                    stage: Callable[[str, str], None] | None = None) -> dict[str, Any]:
    """Render and master one project; returns its summary (also written to ``<name>.json``).

    ``settings``: ``preset``, ``target_lufs``, ``ceiling``, ``keep_mix``, ``missing``, ``renderer``
    (``offline``/``reaper``), ``reaper`` (executable), ``timeout``, ``effects_dirs``, ``format``.
    Failures are returned (``status`` ``"failed"`` with the reason), never raised.
    """
    from bridge.requests import parse_request
    from bridge.requests.run import run_request

    began = time.perf_counter()
    path, out = Path(project), Path(out_dir)
    paths = outputs_for(out, name)
    say = stage or (lambda _name, _stage: None)
    summary: dict[str, Any] = {"version": VERSION, "project": str(path), "name": name, "status": "failed"}
    try:
        key = input_key(path, settings)
        summary["key"] = key
        stored = up_to_date(out, name, key, bool(settings.get("keep_mix")))
        if stored is not None:
            say(name, "up to date")
            return {**stored, "skipped": True}
        mix = paths["mix"] if settings.get("keep_mix") else out / f".{name}.mix.tmp.wav"
        say(name, "rendering")
        if settings.get("renderer") == "reaper":
            from bridge.render.reaper_cli import find_reaper, render_with_reaper

            render_with_reaper(path, mix, executable=find_reaper(settings.get("reaper")),
                               timeout=float(settings.get("timeout") or 3600))
            summary["render"] = {"renderer": "reaper"}
        else:
            render = run_request(parse_request({
                "id": f"render-{name}"[:100], "job": "render",
                "options": {"project_file": str(path), "output": str(mix), "overwrite": True,
                            "missing": settings.get("missing", "fail"),
                            "effects_dirs": list(settings.get("effects_dirs") or [])}}), engines=engines())
            summary["render"] = {**render.data, "renderer": "offline"}
        say(name, "mastering")
        choice = master_choice(settings)
        master = run_request(parse_request({
            "id": f"master-{name}"[:100], "job": "master",
            "options": {"mix": str(mix), "output": str(paths["master"]), "overwrite": True, **choice}}),
            engines=engines())
        summary["master"] = master.data
        summary["outputs"] = {"master": str(paths["master"]), **({"mix": str(mix)} if settings.get("keep_mix")
                                                                 else {})}
        summary["status"] = "done"
        if not settings.get("keep_mix"):
            with contextlib.suppress(FileNotFoundError):
                mix.unlink()
    except ReabridgeError as exc:
        summary["reason"] = str(exc)
    except OSError as exc:
        summary["reason"] = f"{exc.strerror or exc}: {exc.filename}" if exc.filename else str(exc)
    except Exception as exc:  # one project's bug must not stop the batch
        summary["reason"] = f"internal error ({type(exc).__name__}: {exc})"
    finally:
        with contextlib.suppress(FileNotFoundError, UnboundLocalError):
            if summary["status"] != "done" and not settings.get("keep_mix"):
                (out / f".{name}.mix.tmp.wav").unlink()
    summary["seconds"] = round(time.perf_counter() - began, 2)
    say(name, summary["status"])
    from bridge.fileio import write_atomic

    with contextlib.suppress(OSError):
        write_atomic(paths["json"], (json.dumps(summary, indent=1) + "\n").encode())
    return summary
