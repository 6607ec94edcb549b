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
