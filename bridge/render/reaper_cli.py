"""Rendering with REAPER itself (``reaper -renderproject``), on a temporary copy of the project.

The user's file is never edited: reabridge writes a copy beside it (so relative
media paths resolve the same), sets that copy's render settings -- the whole project,
a 24-bit WAV, the file to write -- runs REAPER on it with a time-out, and removes the
copy. REAPER could not be installed where this was built: the command line and its
handling were tested with a stand-in executable only.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import uuid
from pathlib import Path

from bridge import rpp
from bridge.render.plan import RenderError
from bridge.rpp.tree import Chunk

#: REAPER's render format for a 24-bit WAV file (base64 of its ``evaw`` settings, as REAPER writes it)
WAV24 = "ZXZhdxgAAA=="
#: where REAPER is usually installed
CANDIDATES = ("reaper", "/opt/REAPER/reaper", str(Path.home() / "opt" / "REAPER" / "reaper"),
              "/Applications/REAPER.app/Contents/MacOS/REAPER", r"C:\Program Files\REAPER (x64)\reaper.exe",
              r"C:\Program Files\REAPER\reaper.exe")


def find_reaper(given: str | None = None) -> Path:
    """REAPER's executable: ``given``, ``$REAPER_EXECUTABLE``, else the usual places.

    Raises
    ------
    RenderError
        None of them exists.
    """
    for candidate in (given, os.environ.get("REAPER_EXECUTABLE"), *([] if given else CANDIDATES)):
        if not candidate:
            continue
        found = shutil.which(candidate) or (candidate if Path(candidate).is_file() else None)
        if found:
            return Path(found)
        if candidate == given:
            raise RenderError(f"REAPER's executable {given} does not exist")
    raise RenderError("REAPER's executable was not found: pass --reaper PATH or set REAPER_EXECUTABLE (or use "
                      "--renderer offline)")


def _set(root: Chunk, key: str, *values: object) -> None:
    root.set(key, *values)


def render_copy_text(project: Path, output: Path) -> str:
    """The project with reabridge's render settings: the whole project into ``output`` as a 24-bit WAV."""
    root = rpp.load(project)
    _set(root, "RENDER_FILE", str(output))
    _set(root, "RENDER_PATTERN", "")
    _set(root, "RENDER_FMT", 0, 2, 0)
    _set(root, "RENDER_RANGE", 1, 0, 0, 18, 1000)
    _set(root, "RENDER_ADDTOPROJ", 0)
    _set(root, "RENDER_STEMS", 0)  # the master mix, whatever the project was set to render
    for old in list(root.chunks("RENDER_CFG")):
        root.children.remove(old)
    cfg = rpp.loads(f"<RENDER_CFG\n  {WAV24}\n>\n")
    root.append(cfg)
    return rpp.dumps(root)


def render_with_reaper(project: Path, output: Path, *, executable: Path, timeout: float = 3600.0) -> Path:
    """Render ``project`` with REAPER into ``output`` (a WAV file).

    Raises
    ------
    RenderError
        REAPER failed, timed out, or wrote nothing (its last output line is quoted).
    """
    copy = project.with_name(f".{project.stem}.reabridge-render-{uuid.uuid4().hex[:8]}.RPP")
    copy.write_text(render_copy_text(project, output), encoding="utf-8")
    try:
        try:
            done = subprocess.run([str(executable), "-nosplash", "-renderproject", str(copy)], capture_output=True,
                                  text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise RenderError(f"REAPER did not finish rendering {project.name} within {timeout:g} s") from None
        except OSError as exc:
            raise RenderError(f"REAPER could not be started ({executable}: {exc.strerror or exc})") from None
        if done.returncode != 0 or not output.is_file() or output.stat().st_size == 0:
            last = (done.stderr.strip() or done.stdout.strip() or "no output").splitlines()[-1]
            raise RenderError(f"REAPER did not render {project.name} (exit code {done.returncode}: {last})")
    finally:
        with contextlib.suppress(FileNotFoundError):
            copy.unlink()
        for leftover in project.parent.glob(f"{copy.name}-bak"):  # REAPER keeps backups of what it opens
            with contextlib.suppress(OSError):
                leftover.unlink()
    return output


__all__ = ["find_reaper", "render_copy_text", "render_with_reaper"]
