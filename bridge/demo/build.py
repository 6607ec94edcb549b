"""Building the example project (``examples/demo/`` in the repository) from nothing.

The project is written with reabridge's own ChangeSets (so the demo also
exercises the writer): three tracks, each holding one item of synthesised
audio, at the demo tempo. GUIDs are derived from names, so two builds give the
same project apart from the time stamp of the applied-ChangeSet record.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from bridge.changes.chunks import empty_project
from bridge.changes.ops import AddAudioItem, AddMarker, AddTrack, ChangeSet
from bridge.demo import synth
from bridge.rpp.parse import write_atomic
from bridge.session.rpp_file import RppFileSession

PROJECT_NAME = "demo.RPP"
MEDIA_DIR = "Media"


@dataclass(frozen=True)
class DemoTrack:
    """One track of the demo: its name, media file and how to synthesise it."""

    name: str
    file: str
    make: object


TRACKS = (
    DemoTrack("Piano", "piano.wav", synth.piano),
    DemoTrack("Gtr DI", "gtr_di.wav", synth.guitar_di),
    DemoTrack("Drums", "drums.wav", synth.drums),
)


def _guid(name: str) -> str:
    return "{" + str(uuid.uuid5(uuid.NAMESPACE_URL, f"reabridge-demo/{name}")).upper() + "}"


def project_path(folder: Path) -> Path:
    """Where the demo project lives."""
    return folder / PROJECT_NAME


def build(folder: Path, force: bool = False) -> Path:
    """Write the demo media and project into ``folder`` (if missing or ``force``).

    Returns
    -------
    Path
        The ``.RPP`` file.
    """
    media = folder / MEDIA_DIR
    media.mkdir(parents=True, exist_ok=True)
    for track in TRACKS:
        target = media / track.file
        if force or not target.exists():
            audio = np.asarray(track.make(), dtype=np.float64)  # type: ignore[operator]
            tmp = target.with_suffix(".tmp.wav")
            sf.write(tmp, audio.astype(np.float32), synth.SAMPLE_RATE, subtype="PCM_24")
            tmp.replace(target)
    path = project_path(folder)
    if path.exists() and not force:
        return path
    write_atomic(path, empty_project(synth.SAMPLE_RATE, synth.BPM, synth.BEATS_PER_BAR, 4, MEDIA_DIR).encode())
    length = synth.duration()
    ops: list[object] = []
    previous: str | None = None
    for track in TRACKS:
        guid = _guid(track.name)
        ops.append(AddTrack(track.name, after=previous, guid=guid))
        ops.append(AddAudioItem(guid, f"{MEDIA_DIR}/{track.file}", 0.0, length, name=track.file,
                                guid=_guid(track.name + "/item")))
        previous = guid
    ops.append(AddMarker(0.0, "Riff", guid=_guid("marker/riff")))
    ops.append(AddMarker(synth.beats_to_seconds(8), "Answer", guid=_guid("marker/answer")))
    changes = ChangeSet("demo-build", tuple(ops), "Build the reabridge demo project")  # type: ignore[arg-type]
    RppFileSession(path).apply(changes)
    backup = path.with_name(path.name + "-bak")
    backup.unlink(missing_ok=True)  # the empty template is not worth keeping
    return path
