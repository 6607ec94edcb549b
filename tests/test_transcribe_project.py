"""Transcribing project items: exactly what the item plays, placed in project time."""

from __future__ import annotations

import subprocess
import sys

import mido
import numpy as np
import pytest
import soundfile as sf
from audio_signals import melody, write
from conftest import run_job

from bridge import rpp
from bridge.changes import AddAudioItem, AddMidiItem, AddTrack, ChangeSet, Note, SetTempo, TempoChange
from bridge.changes.chunks import empty_project
from bridge.project import Project
from bridge.session import RppFileSession
from bridge.transcribe.midi_out import TICKS_PER_BEAT, write_midi_file

SR = 44100


@pytest.fixture(scope="module")
def engine(engines):
    return engines.transcriber()


def _project(tmp_path, *ops, bpm=120.0):
    path = tmp_path / "song.RPP"
    path.write_text(empty_project(SR, bpm))
    RppFileSession(path).apply(ChangeSet("setup", tuple(ops)))
    return path


def _notes_in_seconds(project: Project, track_name: str):
    track = project.find_track(track_name)
    (item,) = track.items
    source = item.active_take.source
    ppq, _ = source.midi()
    tm = project.tempo_map
    base = tm.qn_at(item.position)
    return [(tm.time_at(base + n.start / ppq), tm.time_at(base + n.end / ppq), n.pitch, n.velocity)
            for n in source.notes()], item


def test_item_with_offset_and_length_transcribes_that_slice(tmp_path, engine, engines):
    media = write(tmp_path / "mel.wav", melody(SR, 8.0), SR)
    t = AddTrack("Keys", guid="{00000000-0000-0000-0000-0000000000A1}")
    path = _project(tmp_path, t, AddAudioItem(t.guid, str(media), 10.0, 4.0, source_offset=1.5),
                    SetTempo(97.0, 4, 4, (TempoChange(0, 97.0), TempoChange(11.0, 131.0, linear=True),
                                          TempoChange(13.0, 80.0))))
    result = run_job("transcribe", path, {"tracks": ["Keys"]}, engines)
    assert not result.skipped and result.done and result.applied
    project = Project.load(path)
    names = [tr.name for tr in project.tracks]
    assert names == ["Keys", "Keys (MIDI)"]
    got, item = _notes_in_seconds(project, "Keys (MIDI)")
    assert (item.position, item.length) == (10.0, 4.0)
    expected = engine.transcribe_file(media, start=int(1.5 * SR), frames=4 * SR).sorted_notes()
    expected = [(10.0 + n.start, 10.0 + n.end, n.pitch, n.velocity) for n in expected]
    assert len(got) == len(expected) > 4
    # ticks through a tempo map with a ramp, back to seconds: within a tick (< 1 ms here)
    for g, e in zip(sorted(got), sorted(expected), strict=True):
        assert abs(g[0] - e[0]) < 1e-3 and abs(g[1] - min(e[1], 14.0)) < 1e-3 and g[2:] == e[2:]


def test_varispeed_item_plays_higher_and_faster(tmp_path, engines):
    media = write(tmp_path / "mel.wav", melody(SR, 8.0), SR)
    t = AddTrack("Keys")
    path = _project(tmp_path, t, AddAudioItem(t.guid, str(media), 0.0, 2.0))
    root = rpp.load(path)
    item_chunk = next(root.chunk("TRACK").chunks("ITEM"))
    item_chunk.line("PLAYRATE").set(2, 0, 0, -1, 0, 0.0025)  # rate 2, pitch not preserved
    rpp.dump(root, path)
    result = run_job("transcribe", path, {"tracks": ["Keys"]}, engines)
    (op,) = [o for o in result.changes.ops if isinstance(o, AddMidiItem)]
    pitches = {n.pitch for n in op.notes}
    assert {72, 74, 76, 77, 79, 81, 83, 84} <= pitches  # the melody an octave up
    c5 = min((n for n in op.notes if n.pitch == 74), key=lambda n: n.start)
    assert abs(c5.start - 0.25) < 0.03  # the second note, at half the time


def test_looped_item_repeats_its_notes(tmp_path, engines):
    media = write(tmp_path / "short.wav", melody(SR, 2.0), SR)
    t = AddTrack("Loop")
    path = _project(tmp_path, t, AddAudioItem(t.guid, str(media), 0.0, 4.0))
    root = rpp.load(path)
    next(root.chunk("TRACK").chunks("ITEM")).line("LOOP").set(1)
    rpp.dump(root, path)
    result = run_job("transcribe", path, {"tracks": ["Loop"]}, engines)
    (op,) = [o for o in result.changes.ops if isinstance(o, AddMidiItem)]
    starts = sorted(round(n.start, 2) for n in op.notes if n.pitch == 60)
    assert len(starts) == 2 and abs(starts[1] - starts[0] - 2.0) < 0.02


def test_items_without_audio_are_skipped_and_the_rest_succeed(tmp_path, engines):
    media = write(tmp_path / "mel.wav", melody(SR, 4.0), SR)
    gone = write(tmp_path / "gone.wav", melody(SR, 1.0), SR)
    a, b, c = AddTrack("Audio"), AddTrack("Synth"), AddTrack("Lost")
    path = _project(tmp_path, a, b, c, AddAudioItem(a.guid, str(media), 0.0, 4.0),
                    AddMidiItem(b.guid, 0.0, 2.0, notes=(Note(0, 1, 60),)),
                    AddAudioItem(c.guid, str(gone), 0.0, 1.0))
    gone.unlink()
    result = run_job("transcribe", path, {"tracks": ["Audio", "Synth", "Lost"]}, engines)
    assert len(result.done) == 1 and result.applied
    assert any("MIDI item" in str(s) for s in result.skipped)
    assert any("gone.wav" in str(s) and "missing" in str(s) for s in result.skipped)
    assert [t.name for t in Project.load(path).tracks] == ["Audio", "Audio (MIDI)", "Synth", "Lost"]


def test_nan_audio_is_a_clear_error(tmp_path, engine):
    data = melody(SR, 2.0)
    data[SR] = np.nan
    path = write(tmp_path / "nan.wav", data, SR, "FLOAT")
    with pytest.raises(Exception, match=r"NaN or infinity\) at 1\.000 s"):
        engine.transcribe_file(path)


def test_unreadable_file_is_a_clear_error(tmp_path, engine):
    path = tmp_path / "junk.wav"
    path.write_bytes(b"RIFF\x00\x00not audio at all")
    with pytest.raises(Exception, match="not an audio file"):
        engine.transcribe_file(path)


def test_midi_file_holds_the_notes_and_bends(tmp_path, engine):
    media = write(tmp_path / "vib.wav", melody(SR, 6.0, vibrato=0.6), SR)
    result = engine.transcribe_file(media)
    out = tmp_path / "vib.mid"
    count = write_midi_file(out, result.notes, tempo=90.0)
    mid = mido.MidiFile(out)
    assert mid.ticks_per_beat == TICKS_PER_BEAT
    seconds_per_tick = 60.0 / 90.0 / TICKS_PER_BEAT
    now, on, notes, bends = 0, {}, [], []
    for msg in mid.tracks[0]:
        now += msg.time
        if msg.type == "note_on" and msg.velocity:
            on[msg.note] = (now, msg.velocity)
        elif msg.type in ("note_off", "note_on"):
            start, vel = on.pop(msg.note)
            notes.append((start * seconds_per_tick, now * seconds_per_tick, msg.note, vel))
        elif msg.type == "pitchwheel":
            bends.append(msg.pitch)
    expected = sorted((n.start, n.end, n.pitch, n.velocity) for n in result.notes)
    assert count == len(notes) == len(expected)
    for g, e in zip(sorted(notes), expected, strict=True):
        assert abs(g[0] - e[0]) <= seconds_per_tick and abs(g[1] - e[1]) <= seconds_per_tick and g[2:] == e[2:]
    assert any(b != 0 for b in bends) and bends[-1] == 0


def test_cli_project_mode(tmp_path):
    media = write(tmp_path / "mel.wav", melody(SR, 3.0), SR)
    t = AddTrack("Gtr DI")
    path = _project(tmp_path, t, AddAudioItem(t.guid, str(media), 1.0, 3.0))
    guid = Project.load(path).items()[0][1].guid

    def run(*args):
        return subprocess.run([sys.executable, "-m", "bridge", "transcribe", "--project", str(path), *args],
                              capture_output=True, text=True, timeout=300)

    nothing = run("--selected")
    assert nothing.returncode == 1 and nothing.stderr.count("\n") == 1 and "no items" in nothing.stderr
    ok = run("--item", guid)
    assert ok.returncode == 0, ok.stderr
    assert "notes" in ok.stdout and "added 1 MIDI track" in ok.stdout
    assert [t.name for t in Project.load(path).tracks] == ["Gtr DI", "Gtr DI (MIDI)"]


def test_cli_file_mode_writes_midi(tmp_path):
    media = write(tmp_path / "mel.wav", melody(SR, 3.0), SR)
    out = subprocess.run([sys.executable, "-m", "bridge", "transcribe", str(media)], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "mel.mid").exists() and "notes" in out.stdout
    assert sf.info(media).samplerate == SR  # the source is untouched
