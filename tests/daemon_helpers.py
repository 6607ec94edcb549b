"""Driving the daemon as a client would: request files dropped atomically, status files read back."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from audio_signals import melody, write

from bridge.assets import jsfx_dir
from bridge.changes import AddAudioItem, AddTrack, ChangeSet, derived_guid
from bridge.changes.chunks import empty_project
from bridge.session import RppFileSession

FINAL = ("done", "error", "cancelled")
EFFECT = jsfx_dir() / "reabridge_master_gentle.jsfx"
SR = 22050


def env(**extra: str) -> dict[str, str]:
    """The environment of a command under test: no failpoints, and no REAPER unless a test brings one."""
    out = {k: v for k, v in os.environ.items() if k != "REABRIDGE_FAILPOINT"}
    out.update({"COLUMNS": "200", "REAPER_RESOURCE_PATH": "/nonexistent/reaper-resource-path", **extra})
    return out


def start(spool: Path, *args: str, failpoint: str | None = None, workers: int = 1) -> subprocess.Popen:
    """``reabridge serve`` in the background (engines load on first use unless asked)."""
    extra = {"REABRIDGE_FAILPOINT": failpoint} if failpoint else {}
    return subprocess.Popen([sys.executable, "-m", "bridge", "serve", "--spool", str(spool), "--workers",
                             str(workers), *(args or ("--warm", "none"))], env=env(**extra),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def serve_once(spool: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bridge", "serve", "--spool", str(spool), "--once",
                           *(args or ("--warm", "none"))], env=env(), capture_output=True, text=True,
                          timeout=timeout)


def cli(*args: str, cwd: Path | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bridge", *args], env=env(), capture_output=True, text=True,
                          cwd=cwd, timeout=timeout)


def drop(spool: Path, data: dict[str, Any] | bytes, name: str | None = None) -> str:
    """Write a request file under a temporary name and rename it, as a client must."""
    folder = spool / "requests"
    folder.mkdir(parents=True, exist_ok=True)
    stem = name or (data["id"] if isinstance(data, dict) else "raw")
    body = data if isinstance(data, bytes) else json.dumps(data).encode()
    tmp = folder / f".{stem}.tmp"
    tmp.write_bytes(body)
    os.replace(tmp, folder / f"{stem}.json")
    return stem


def status(spool: Path, rid: str) -> dict[str, Any] | None:
    try:
        return json.loads((spool / "status" / f"{rid}.json").read_text())
    except (FileNotFoundError, ValueError):
        return None


def wait_status(spool: Path, rid: str, states: tuple[str, ...] = FINAL, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        doc = status(spool, rid)
        if doc is not None and doc["state"] in states:
            return doc
        time.sleep(0.02)
    raise AssertionError(f"{rid} did not reach {states} in {timeout} s: {status(spool, rid)}")


def stop(process: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 30) -> subprocess.Popen:
    if process.poll() is None:
        process.send_signal(sig)
        process.wait(timeout)
    return process


def insert_request(rid: str, project: Path, track: str = "master") -> dict[str, Any]:
    """A quick request: put a shipped JSFX on a track (no engine to load)."""
    return {"id": rid, "job": "jsfx_insert", "project": {"path": str(project)},
            "options": {"effect": str(EFFECT), "track": track, "install": False, "sliders": {"1": -1.5}}}


def transcribe_request(rid: str, project: Path, track: str = "Keys") -> dict[str, Any]:
    return {"id": rid, "job": "transcribe", "project": {"path": str(project)}, "items": {"tracks": [track]}}


def fx_count(project: Path, rid: str, track: str = "master") -> int:
    """How many effects request ``rid`` put into the project (its FXID is derived from the request)."""
    return project.read_text().count(derived_guid(rid, "fx", track))


def midi_tracks(project: Path, rid: str, source_track_guid: str) -> int:
    return project.read_text().count(f"TRACKID {derived_guid(rid, 'track', source_track_guid)}")


def song(folder: Path, seconds: float = 3.0) -> tuple[Path, str]:
    """A project with one 'Keys' track playing a melody; returns the .RPP and the track's GUID."""
    folder.mkdir(parents=True, exist_ok=True)
    media = folder / "Media"
    media.mkdir(exist_ok=True)
    write(media / "keys.wav", melody(SR, seconds), SR)
    path = folder / "song.RPP"
    path.write_text(empty_project(SR, 120.0))
    track = AddTrack("Keys", guid="{00000000-0000-4000-8000-00000000000A}")
    item = AddAudioItem(track.guid, str(media / "keys.wav"), 0.0, seconds,
                        guid="{00000000-0000-4000-8000-0000000000B1}")
    RppFileSession(path).apply(ChangeSet("setup", (track, item), created="2026-01-01T00:00:00Z"))
    path.with_name(path.name + "-bak").unlink()
    return path, track.guid
