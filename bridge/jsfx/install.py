"""Putting JSFX where REAPER finds them: ``<resource path>/Effects/reabridge/``.

The resource path is ``--resource-path``, else ``$REAPER_RESOURCE_PATH``, else
REAPER's default for the platform (``~/.config/REAPER`` on Linux,
``~/Library/Application Support/REAPER`` on macOS, ``%APPDATA%\\REAPER`` on
Windows). Shipped effects live in the repository's ``jsfx/`` folder (package data).
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from bridge.assets import jsfx_dir
from bridge.fileio import Outputs
from bridge.jsfx.errors import JsfxError
from bridge.reaper.paths import default_resource_path

SUBFOLDER = "reabridge"


def shipped_effects() -> list[Path]:
    """The JSFX files shipped in the repository's ``jsfx/`` folder."""
    folder = jsfx_dir()
    return sorted(p for p in folder.glob("*.jsfx*") if p.is_file()) if folder.is_dir() else []


def looks_like_jsfx(data: bytes) -> bool:
    """Whether file contents can be a JSFX: text with a ``desc:`` line or a code section."""
    if b"\x00" in data[:4096]:
        return False
    head = data[:65536].decode("utf-8", "replace").lower()
    return "desc:" in head or any(f"@{s}" in head for s in ("init", "slider", "block", "sample"))


def install(files: list[Path], resource_path: Path | None = None, outputs: Outputs | None = None) -> list[Path]:
    """Copy ``files`` into ``<resource path>/Effects/reabridge/``; returns the installed paths.

    Installing replaces an effect of the same name there (that is what installing
    a new version means). ``outputs`` is the command's output transaction.

    Raises
    ------
    JsfxError
        The resource path does not exist (REAPER shows it under Options > Show REAPER resource path),
        a file is missing, or it is not a JSFX.
    """
    root = resource_path or default_resource_path()
    if not root.is_dir():
        raise JsfxError(f"REAPER's resource path {root} does not exist; pass --resource-path (in REAPER: "
                        "Options > Show REAPER resource path in explorer/finder)")
    contents = []
    for file in files:  # every file is checked before anything is written
        if not file.is_file():
            raise JsfxError(f"{file} does not exist")
        data = file.read_bytes()
        if file.suffix.lower() not in (".jsfx", ".jsfx-inc", "") or not looks_like_jsfx(data):
            raise JsfxError(f"{file.name} is not a JSFX effect (no desc: line or code section); nothing was installed")
        contents.append((file.name, data))
    own = outputs is None
    outputs = outputs or Outputs()
    target = outputs.make_folder(root / "Effects" / SUBFOLDER, "REAPER's Effects folder")
    done = []
    with contextlib.ExitStack() as stack:
        if own:
            stack.enter_context(outputs)
        for name, data in contents:
            done.append(outputs.write_bytes(target / name, data, "jsfx", "the installed effect", replace=True))
    return done
