"""Which file format a path asks for, and whether it can hold the samples."""

from __future__ import annotations

from pathlib import Path

import soundfile as sf

from bridge.audio.reader import AudioError

CONTAINERS = {".wav": "WAV", ".wave": "WAV", ".flac": "FLAC", ".aif": "AIFF", ".aiff": "AIFF", ".w64": "W64",
              ".caf": "CAF"}


def file_format(target: Path, subtype: str, strict: bool = False) -> tuple[str, str]:
    """The container for ``target``'s extension and a subtype it can hold.

    Without ``strict`` a subtype the container cannot hold (32-bit float in
    FLAC) becomes 24-bit; with it (the user asked for that format) it is an error.

    Raises
    ------
    AudioError
        An extension libsndfile cannot write, or a format it cannot hold.
    """
    container = CONTAINERS.get(target.suffix.lower())
    if container is None:
        raise AudioError(f"cannot write {target.name}: give the output one of the extensions "
                         f"{', '.join(sorted(CONTAINERS))}")
    if sf.check_format(container, subtype):
        return container, subtype
    if not strict and sf.check_format(container, "PCM_24"):
        return container, "PCM_24"
    names = {"PCM_16": "16", "PCM_24": "24", "FLOAT": "32f"}
    raise AudioError(f"{container} files cannot hold --format {names.get(subtype, subtype)}; choose another "
                     "--format or a .wav output")


def write_failed(target: Path, exc: Exception) -> AudioError:
    """The error for a write the file system refused (libsndfile only says "System error")."""
    import shutil

    try:
        free = shutil.disk_usage(target.parent).free
    except OSError:
        free = None
    if free is not None and free < (64 << 20):
        reason = f"the disk is full ({free // 1024} kB free)"
    elif isinstance(exc, OSError) and exc.strerror:
        reason = exc.strerror
    else:
        reason = "the file system refused the write (disk full, file too large, or a quota)"
    return AudioError(f"could not write {target.name}: {reason}; nothing was written")
