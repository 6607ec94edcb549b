"""Pitch correction: the forms users script against, what a listener hears (pitch, vibrato, timing), bad input."""

from __future__ import annotations

import json
from pathlib import Path

import mido
import numpy as np
import pytest
import soundfile as sf
from tune_signals import contour, notes_f0, steady_pitch, voice

from bridge.cli.app import main
from bridge.tune.scales import ScaleError, parse_key, parse_notes, scale_of

RATE = 44100
RNG = np.random.default_rng(24)
#: A3 30 cents sharp, C4 35 cents flat, E4 20 cents sharp: 0.6 s each, 0.1 s apart
DETUNED = [(57, 30.0), (60, -35.0), (64, 20.0)]


def cli(capsys, *args: str) -> tuple[int, str, str]:
    """Run ``reabridge ARGS`` in this process; exit code, stdout, stderr."""
    with pytest.raises(SystemExit) as done:
        main(list(args))
    out = capsys.readouterr()
    return int(done.value.code or 0), out.out, out.err


def note_windows(count: int, length: float = 0.6, gap: float = 0.1) -> list[tuple[float, float]]:
    """The steady middle of each note of :func:`notes_f0`."""
    return [(i * (length + gap) + 0.15, i * (length + gap) + length - 0.1) for i in range(count)]


def write_guide(path: Path, notes: list[tuple[float, float, int]], bpm: float = 120.0) -> Path:
    """A one-track MIDI file with ``(start s, end s, pitch)`` notes."""
    midi = mido.MidiFile(ticks_per_beat=480)
    track = mido.MidiTrack()
    midi.tracks.append(track)
    track.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm)))
    events = sorted([(s, "note_on", p) for s, _, p in notes] + [(e, "note_off", p) for _, e, p in notes])
    now = 0
    for seconds, kind, pitch in events:
        tick = int(round(seconds * bpm / 60 * 480))
        track.append(mido.Message(kind, note=pitch, velocity=90 if kind == "note_on" else 0, time=tick - now))
        now = tick
    midi.save(str(path))
    return path


# -- keys and scales --------------------------------------------------------------------------------
@pytest.mark.parametrize(("name", "shown", "classes"), [
    ("A minor", "A minor", {9, 11, 0, 2, 4, 5, 7}),
    ("Am", "A minor", {9, 11, 0, 2, 4, 5, 7}),
    ("a aeolian", "A minor", {9, 11, 0, 2, 4, 5, 7}),
    ("F# major", "F# major", {6, 8, 10, 11, 1, 3, 5}),
    ("F♯", "F# major", {6, 8, 10, 11, 1, 3, 5}),
    ("Bb dorian", "Bb dorian", {10, 0, 1, 3, 5, 7, 8}),
    ("C#m", "C# minor", {1, 3, 4, 6, 8, 9, 11}),
    ("E♭ lydian", "Eb lydian", {3, 5, 7, 9, 10, 0, 2}),
    ("D harmonic minor", "D harmonic minor", {2, 4, 5, 7, 9, 10, 1}),
    ("G blues", "G blues", {7, 10, 0, 1, 2, 5}),
    ("E minor pentatonic", "E minor pentatonic", {4, 7, 9, 11, 2}),
    ("chromatic", "chromatic", set(range(12))),
])
def test_keys_as_musicians_write_them_map_to_the_right_pitch_classes(name, shown, classes):
    scale = parse_key(name)
    assert scale.name == shown and set(scale.pitch_classes) == classes


def test_notes_roots_with_modes_and_nearest_notes():
    assert parse_notes("C D E G A").pitch_classes == (0, 2, 4, 7, 9)
    assert parse_notes("Bb, Eb F").name == "Eb F Bb"
    assert scale_of("A", "dorian").pitch_classes == parse_key("A dorian").pitch_classes
    c_major = parse_key("C major")
    assert c_major.nearest(61.1) == 62 and c_major.nearest(60.9) == 60 and c_major.nearest(66.0) == 65  # F# -> F
    with pytest.raises(ScaleError, match="'A minor', 'Am', 'F# major', 'Bb dorian'"):
        parse_key("H moll")


# -- the forms kept exactly -------------------------------------------------------------------------
def test_hard_tune_lands_each_note_on_the_semitone_grid(tmp_path, capsys):
    x = voice(notes_f0(DETUNED, RATE), RATE)
    sf.write(tmp_path / "in.wav", x, RATE, subtype="FLOAT")
    code, _, err = cli(capsys, "tune", str(tmp_path / "in.wav"), "-o", str(tmp_path / "out.wav"), "--scale",
                         "chromatic", "--speed", "0", "--report", str(tmp_path / "rep"))
    assert code == 0, err
    y, rate = sf.read(tmp_path / "out.wav")
    assert rate == RATE and len(y) == len(x)
    for (midi, cents), (a, b) in zip(DETUNED, note_windows(3), strict=True):
        assert abs(steady_pitch(x, RATE, a, b, midi) - midi - cents / 100) < 0.02  # the input really was off
        assert abs(steady_pitch(y, RATE, a, b, midi) - midi) * 100 < 3.0  # and now it is within 3 cents
    report = json.loads((tmp_path / "rep" / "tune-report.json").read_text())
    assert [(n["detected"], n["target"]) for n in report["notes"]] == [("A3 +30c", "A3"), ("C4 -35c", "C4"),
                                                                       ("E4 +20c", "E4")]
    assert [round(n["correction_cents"] / 5) * 5 for n in report["notes"]] == [-30, 35, -20]
    assert (tmp_path / "rep" / "tune-report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(("rate", "channels", "subtype"), [(22050, 1, "PCM_16"), (48000, 2, "PCM_24")])
def test_output_keeps_rate_channels_length_and_both_channels_are_tuned(tmp_path, capsys, rate, channels, subtype):
    x = voice(notes_f0(DETUNED[:2], rate), rate)
    stereo = np.stack([x, 0.5 * x], axis=1)[:, :channels]
    sf.write(tmp_path / "in.wav", stereo, rate, subtype=subtype)
    code, _, err = cli(capsys, "tune", str(tmp_path / "in.wav"), "-o", str(tmp_path / "out.wav"), "--key", "A minor")
    assert code == 0, err
    info = sf.info(tmp_path / "out.wav")
    assert (info.samplerate, info.channels, info.frames, info.subtype) == (rate, channels, len(x), subtype)
    y = sf.read(tmp_path / "out.wav", always_2d=True)[0]
    for c in range(channels):  # C4 -35 cents (in A minor) ends up on C4 in every channel
        assert abs(steady_pitch(y[:, c], rate, 0.85, 1.2, 60) - 60) * 100 < 4.0
    if channels == 2:  # the image stays: the right channel is still half the left
        assert np.std(y[:, 1]) / np.std(y[:, 0]) == pytest.approx(0.5, abs=0.02)


def test_a_key_pulls_notes_to_its_own_scale(tmp_path, capsys):
    x = voice(notes_f0([(61, 10.0)], RATE, length=0.8), RATE)  # C#4 +10: in C major, D4 is nearest
    sf.write(tmp_path / "in.wav", x, RATE)
    code, out, err = cli(capsys, "tune", str(tmp_path / "in.wav"), "-o", str(tmp_path / "out.wav"), "--key",
                         "C major", "--speed", "0", "--json")
    assert code == 0, err
    assert json.loads(out)["notes"][0]["target"] == "D4"
    assert abs(steady_pitch(sf.read(tmp_path / "out.wav")[0], RATE, 0.2, 0.7, 62) - 62) * 100 < 3.0


def test_unvoiced_sounds_pass_unchanged_and_keep_their_timing(tmp_path, capsys):
    f0 = notes_f0([(57, 40.0)], RATE, length=0.8, gap=0.0)
    hiss = 0.05 * RNG.standard_normal(int(0.3 * RATE))  # an 's' before and after the vowel
    x = np.concatenate([hiss, voice(f0, RATE), hiss[::-1]]).astype(np.float32)
    sf.write(tmp_path / "in.wav", x, RATE, subtype="FLOAT")
    code, _, err = cli(capsys, "tune", str(tmp_path / "in.wav"), "-o", str(tmp_path / "out.wav"), "--scale",
                       "chromatic", "--speed", "0")
    assert code == 0, err
    y = sf.read(tmp_path / "out.wav", dtype="float32")[0]
    edge = int(0.27 * RATE)  # the consonants, up to 30 ms from the vowel: the input's own samples
    assert np.array_equal(y[:edge], x[:edge]) and np.array_equal(y[-edge:], x[-edge:])
    assert abs(steady_pitch(y, RATE, 0.45, 0.95, 57) - 57) * 100 < 3.0


def test_speed_zero_is_instant_and_a_slow_speed_glides_to_the_target(tmp_path, capsys):
    x = voice(notes_f0([(57, 40.0)], RATE, length=1.0), RATE)
    sf.write(tmp_path / "in.wav", x, RATE)
    dev = {}
    for speed in ("0", "400"):
        code, _, err = cli(capsys, "tune", str(tmp_path / "in.wav"), "-o", str(tmp_path / f"s{speed}.wav"), "--scale",
                           "chromatic", "--speed", speed)
        assert code == 0, err
        t, midi = contour(sf.read(tmp_path / f"s{speed}.wav")[0], RATE)
        dev[speed] = [float(np.nanmedian(midi[(t >= a) & (t < b)]) - 57) * 100 for a, b in ((0.05, 0.1), (0.8, 0.9))]
    assert abs(dev["0"][0]) < 5 and abs(dev["0"][1]) < 5  # on the note from its start
    assert dev["400"][0] > 20 and abs(dev["400"][1]) < 5  # starts near where it was sung, arrives later


def test_keep_vibrato_keeps_the_vibrato_around_the_target(tmp_path, capsys):
    x = voice(notes_f0([(57, 30.0)], RATE, length=1.5, vibrato=(5.5, 40.0)), RATE)
    sf.write(tmp_path / "in.wav", x, RATE)
    depth, centre = {}, {}
    for name, extra in (("kept", ["--keep-vibrato"]), ("flat", [])):
        code, _, err = cli(capsys, "tune", str(tmp_path / "in.wav"), "-o", str(tmp_path / f"{name}.wav"), "--scale",
                           "chromatic", "--speed", "0", *extra)
        assert code == 0, err
        t, midi = contour(sf.read(tmp_path / f"{name}.wav")[0], RATE)
        middle = midi[(t > 0.3) & (t < 1.2)]
        depth[name], centre[name] = float(np.nanstd(middle)) * 100, float(np.nanmean(middle) - 57) * 100
    t, midi = contour(x, RATE)
    sung = float(np.nanstd(midi[(t > 0.3) & (t < 1.2)])) * 100  # about 28 cents (40 cents peak)
    assert depth["kept"] == pytest.approx(sung, rel=0.2) and abs(centre["kept"]) < 5
    assert depth["flat"] < 0.3 * sung and abs(centre["flat"]) < 5


def test_humanize_leaves_small_deviations_and_strength_applies_part_of_the_correction(tmp_path, capsys):
    x = voice(notes_f0([(57, 30.0), (60, 45.0)], RATE), RATE)
    sf.write(tmp_path / "in.wav", x, RATE)
    found = {}
    for name, extra in (("humanize", ["--humanize", "40"]), ("half", ["--strength", "0.5"])):
        code, _, err = cli(capsys, "tune", str(tmp_path / "in.wav"), "-o", str(tmp_path / f"{name}.wav"), "--scale",
                           "chromatic", "--speed", "0", *extra)
        assert code == 0, err
        y = sf.read(tmp_path / f"{name}.wav")[0]
        found[name] = [round((steady_pitch(y, RATE, a, b, m) - m) * 100) for (a, b), m in zip(note_windows(2), (57, 60),
                                                                                              strict=True)]
    assert abs(found["humanize"][0] - 30) <= 3 and abs(found["humanize"][1] - 40) <= 3  # 30 kept, 45 down to 40
    assert abs(found["half"][0] - 15) <= 3 and abs(found["half"][1] - 22.5) <= 3  # half of each correction


def test_a_guide_melody_sets_each_notes_target(tmp_path, capsys):
    x = voice(notes_f0([(64, 30.0), (67, -30.0)], RATE, length=0.8), RATE)  # E4, G4 sung
    sf.write(tmp_path / "in.wav", x, RATE)
    guide = write_guide(tmp_path / "melody.mid", [(0.0, 0.8, 62), (0.9, 1.7, 69)])  # the melody says D4, A4
    code, out, err = cli(capsys, "tune", str(tmp_path / "in.wav"), "-o", str(tmp_path / "out.wav"), "--guide",
                         str(guide), "--speed", "0", "--json")
    assert code == 0, err
    assert [n["target"] for n in json.loads(out)["notes"]] == ["D4", "A4"]
    y = sf.read(tmp_path / "out.wav")[0]
    assert abs(steady_pitch(y, RATE, 0.2, 0.7, 62) - 62) * 100 < 4.0
    assert abs(steady_pitch(y, RATE, 1.1, 1.6, 69) - 69) * 100 < 4.0


# -- bad input: one line, nothing written -------------------------------------------------------------
def _bad_files(folder: Path) -> None:
    rate = 22050
    sf.write(folder / "silence.wav", np.zeros(2 * rate, dtype=np.float32), rate)
    t = np.arange(int(0.25 * rate)) / rate
    kick = np.sin(2 * np.pi * (50 * t + 200 * (1 - np.exp(-t * 30)) / 30)) * np.exp(-t * 25)
    hat = RNG.standard_normal(len(t)) * np.exp(-t * 60) * 0.3
    sf.write(folder / "drums.wav", np.tile(np.concatenate([kick, hat]), 4).astype(np.float32) * 0.5, rate)
    chord = sum(voice(np.full(2 * rate, f), rate) for f in (261.63, 329.63, 392.0))
    sf.write(folder / "chord.wav", chord / 3, rate)
    sf.write(folder / "voice.wav", voice(notes_f0([(60, 20.0)], rate), rate), rate)
    write_guide(folder / "late.mid", [(10.0, 11.0, 60)])
    write_guide(folder / "empty.mid", [])


@pytest.mark.parametrize(("args", "words"), [
    (["silence.wav", "--scale", "chromatic"], "silence.wav is silent"),
    (["drums.wav", "--scale", "chromatic"], "no pitched notes found in drums.wav"),
    (["chord.wav", "--scale", "chromatic"], "chord.wav sounds polyphonic"),
    (["voice.wav", "--key", "H moll"], "--key: unknown key 'H moll': write it like 'A minor', 'Am', 'F# major'"),
    (["voice.wav", "--guide", "late.mid"], "the guide late.mid has no notes where voice.wav plays"),
    (["voice.wav", "--guide", "empty.mid"], "it has no notes in that span"),
    (["voice.wav"], "say what to tune to"),
    (["voice.wav", "--key", "Am", "--notes", "C D E"], "not key/scale and notes"),
    (["voice.wav", "--scale", "chromatic", "--strength", "2"], "--strength"),
])
def test_bad_input_gets_one_line_and_nothing_is_written(tmp_path, capsys, args, words):
    _bad_files(tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())
    resolved = [str(tmp_path / a) if a.endswith((".wav", ".mid")) else a for a in args]
    code, _, err = cli(capsys, "tune", *resolved, "-o", str(tmp_path / "out.wav"))
    assert code != 0
    lines = err.strip().splitlines()
    assert len(lines) == 1 and words in lines[0] and "Traceback" not in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_help_says_polyphonic_input_is_refused(capsys):
    code, out, _ = cli(capsys, "tune", "--help")
    assert code == 0 and "Polyphonic input" in out and "refused" in out


def _long_take(path: Path, minutes: float, rate: int = 16000) -> int:
    """Quiet room tone with a sung phrase (two notes) at the start of every minute, written block by block."""
    phrase = voice(notes_f0([(60, 25.0), (62, -25.0)], rate), rate)
    frames = int(minutes * 60 * rate)
    with sf.SoundFile(path, "w", rate, 1, "PCM_16") as out:
        for start in range(0, frames, 60 * rate):
            block = 0.001 * RNG.standard_normal(min(60 * rate, frames - start))
            block[:len(phrase)] += phrase[:len(block)]
            out.write(block)
    return frames


def _peak_memory_mb(*args: str) -> float:
    """Run ``reabridge ARGS`` in a fresh Python and return its peak resident memory (MB)."""
    import subprocess
    import sys

    code = ("import resource, sys\nfrom bridge.cli.app import main\ntry:\n    main(sys.argv[1:])\n"
            "except SystemExit as e:\n    assert not e.code, e.code\n"
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)")
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return int(done.stdout.strip().splitlines()[-1]) / 1024


def test_a_10_minute_file_streams_with_flat_memory(tmp_path):
    short_frames = _long_take(tmp_path / "one.wav", 1)
    long_frames = _long_take(tmp_path / "ten.wav", 10)
    one = _peak_memory_mb("tune", str(tmp_path / "one.wav"), "-o", str(tmp_path / "one-out.wav"), "--key", "C")
    ten = _peak_memory_mb("tune", str(tmp_path / "ten.wav"), "-o", str(tmp_path / "ten-out.wav"), "--key", "C")
    assert sf.info(tmp_path / "one-out.wav").frames == short_frames
    assert sf.info(tmp_path / "ten-out.wav").frames == long_frames
    # ten times the audio (69 MB more as float64 samples, far more as WORLD spectra), about the same memory
    assert ten - one < 40, (one, ten)
    y = sf.read(tmp_path / "ten-out.wav", start=9 * 60 * 16000, frames=2 * 16000)[0]
    assert abs(steady_pitch(y, 16000, 0.15, 0.5, 60) - 60) * 100 < 4.0  # the last minute's phrase is tuned too


def test_a_note_held_longer_than_a_chunk_is_tuned_throughout_without_a_seam(tmp_path, capsys, monkeypatch):
    from bridge.tune import resynth

    monkeypatch.setattr(resynth, "CHUNK_SECONDS", 10.0)  # 30 s in use: the same code, a shorter test
    rate = 16000
    x = voice(notes_f0([(57, 30.0)], rate, length=12.0, gap=0.2), rate)  # one 12 s note: cut into 10 s pieces
    sf.write(tmp_path / "in.wav", x, rate, subtype="FLOAT")
    code, _, err = cli(capsys, "tune", str(tmp_path / "in.wav"), "-o", str(tmp_path / "out.wav"), "--scale",
                       "chromatic", "--speed", "0")
    assert code == 0, err
    y = sf.read(tmp_path / "out.wav")[0]
    for a, b in ((1.0, 2.0), (9.5, 10.5), (11.0, 11.8)):
        assert abs(steady_pitch(y, rate, a, b, 57) - 57) * 100 < 3.0, (a, b)
    step = np.abs(np.diff(y))  # no click where the pieces join...
    assert step[int(9.8 * rate):int(10.2 * rate)].max() < 1.2 * step[int(2 * rate):int(9 * rate)].max()
    peaks = [np.abs(y[int(t * rate):int((t + 0.01) * rate)]).max() for t in np.arange(9.9, 10.1, 0.01)]
    assert min(peaks) > 0.5 * np.abs(y[2 * rate:9 * rate]).max()  # ...and the level dips less than 6 dB
