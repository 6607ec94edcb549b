"""Pitch correction in a project: a new active take 'Tuned (<key>)', re-runs, a MIDI item as the guide."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from tune_signals import notes_f0, steady_pitch, voice

from bridge.changes import AddAudioItem, AddMidiItem, AddTrack, ChangeSet
from bridge.changes.chunks import empty_project
from bridge.changes.ops import Note
from bridge.cli.app import main
from bridge.project.project import Project
from bridge.requests import parse_request
from bridge.requests.run import run_request
from bridge.session import RppFileSession

RATE = 44100
VOCAL = "{00000000-0000-4000-8000-0000000000C1}"
MELODY = "{00000000-0000-4000-8000-0000000000C2}"
LATE = "{00000000-0000-4000-8000-0000000000C3}"
POSITION = 2.0


def studio(folder: Path) -> Path:
    """At 90 BPM: a vocal item at 2 s (E4 +30 cents, G4 -30 cents, 0.8 s each) and its melody as a MIDI item.

    The melody item says D4 then A4; a second MIDI item far later holds a note nowhere near the vocal.
    """
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "Media").mkdir()
    x = voice(notes_f0([(64, 30.0), (67, -30.0)], RATE, length=0.8), RATE)
    sf.write(folder / "Media" / "vocal.wav", x, RATE, subtype="PCM_24")
    project = folder / "song.RPP"
    project.write_text(empty_project(RATE, 90.0))
    vocal = AddTrack("Vocal", guid="{00000000-0000-4000-8000-0000000000A1}")
    keys = AddTrack("Melody", guid="{00000000-0000-4000-8000-0000000000A2}")
    ops = (vocal, keys,
           AddAudioItem(vocal.guid, str(folder / "Media" / "vocal.wav"), POSITION, len(x) / RATE, guid=VOCAL),
           AddMidiItem(keys.guid, POSITION, 1.8, (Note(0.0, 0.8, 62), Note(0.9, 1.7, 69)), name="Melody",
                       guid=MELODY),
           AddMidiItem(keys.guid, 30.0, 2.0, (Note(0.0, 1.0, 60),), name="Later", guid=LATE))
    RppFileSession(project).apply(ChangeSet("setup", ops, created="2026-01-01T00:00:00Z"))
    project.with_name(project.name + "-bak").unlink()
    return project


def _request(project: Path, rid: str, **options) -> object:
    return parse_request({"id": rid, "job": "tune", "project": {"path": str(project)},
                          "items": {"guids": [VOCAL]}, "options": {"speed": 0.0, **options}})


def _tuned_audio(project: Path) -> tuple[np.ndarray, str, list[str]]:
    item = Project.load(project).find_item(VOCAL)[1]
    return sf.read(item.active_take.source.resolve().path)[0], item.active_take.name, [t.name for t in item.takes]


def test_item_gets_a_tuned_take_replaced_on_rerun_from_the_original(tmp_path):
    project = studio(tmp_path / "song")
    original = sf.info(tmp_path / "song" / "Media" / "vocal.wav")
    run_request(_request(project, "tune-a", key="A minor"))
    y, name, names = _tuned_audio(project)
    assert name == "Tuned (A minor)" and len(names) == 2 and len(y) == original.frames
    assert abs(steady_pitch(y, RATE, 0.2, 0.7, 64) - 64) * 100 < 4.0  # E4 is in A minor
    assert abs(steady_pitch(y, RATE, 1.1, 1.6, 67) - 67) * 100 < 4.0  # so is G4
    first_file = Project.load(project).find_item(VOCAL)[1].active_take.source.resolve().path
    run_request(_request(project, "tune-b", key="F# major"))  # G4 -30 -> F#4 (G is not in F# major)
    y, name, names = _tuned_audio(project)
    assert names == [names[0], "Tuned (F# major)"]  # replaced, not stacked
    assert abs(steady_pitch(y, RATE, 1.1, 1.6, 66) - 66) * 100 < 4.0  # from the original take, not the A minor one
    assert Project.load(project).find_item(VOCAL)[1].active_take.source.resolve().path != first_file


def test_a_midi_item_of_the_project_is_the_guide_through_its_tempo_map(tmp_path, capsys):
    project = studio(tmp_path / "song")
    with pytest.raises(SystemExit) as done:
        main(["tune", "--project", str(project), "--item", VOCAL, "--guide", MELODY, "--speed", "0"])
    assert int(done.value.code or 0) == 0, capsys.readouterr().err
    y, name, _ = _tuned_audio(project)
    assert name == "Tuned (guide 'Melody')"
    assert abs(steady_pitch(y, RATE, 0.2, 0.7, 62) - 62) * 100 < 4.0  # E4 sung, D4 in the melody
    assert abs(steady_pitch(y, RATE, 1.1, 1.6, 69) - 69) * 100 < 4.0  # G4 sung, A4 in the melody


def test_a_guide_item_with_no_notes_in_the_items_span_is_one_line(tmp_path, capsys):
    project = studio(tmp_path / "song")
    before = project.read_bytes()
    with pytest.raises(SystemExit) as done:
        main(["tune", "--project", str(project), "--item", VOCAL, "--guide", LATE])
    err = capsys.readouterr().err
    assert int(done.value.code or 0) != 0
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "the guide 'Later' has no notes where" in lines[0] and "Traceback" not in err
    assert project.read_bytes() == before
    assert sorted(p.name for p in (tmp_path / "song" / "Media").iterdir()) == ["vocal.wav"]
