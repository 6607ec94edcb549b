"""Who speaks when: diarize(), ``reabridge speakers`` on files and project items (--split), bad input, DER."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
import soundfile as sf
from conftest import CORPUS

from bridge.changes import AddAudioItem, AddTrack, ChangeSet
from bridge.changes.chunks import empty_project
from bridge.project.project import Project
from bridge.session import RppFileSession
from bridge.speech.der import der, read_rttm
from bridge.speech.speakers import diarize
from bridge.speech.vad import speech_segments, to_16k

RATE = 16000


def run_cli(args: list[str], capsys) -> tuple[int, str, str]:
    from bridge.cli.app import main
    from bridge.cli.common import state

    state.debug = False
    with pytest.raises(SystemExit) as info:
        main(list(args))
    out = capsys.readouterr()
    return int(info.value.code or 0), out.out, out.err


@pytest.fixture(scope="module")
def conversation(tmp_path_factory):
    """21 s: J. F. Kennedy (1961 broadcast) and Diane (a phone call) taking turns, with the truth."""
    jfk, rate = sf.read(CORPUS / "speech" / "whisper__jfk.flac", dtype="float32")
    jfk = to_16k(jfk.mean(axis=1), rate)
    call, _ = sf.read(CORPUS / "speech" / "pyannote__sample.wav", dtype="float32")
    gap = np.zeros(RATE // 2, np.float32)
    parts = [("", gap), ("jfk", jfk[:int(5.5 * RATE)]), ("", gap), ("diane", call[int(10.57 * RATE):int(14.7 * RATE)]),
             ("", gap), ("jfk", jfk[int(5.5 * RATE):]), ("", gap), ("diane", call[int(18.05 * RATE):int(21.49 * RATE)]),
             ("", gap)]
    truth, at = [], 0  # where each voice speaks, alone (pauses under 0.3 s are part of a turn, as in NIST's RT)
    for who, x in parts:
        for s, e in speech_segments(x) if who else []:
            if truth and truth[-1][2] == who and at / RATE + s - truth[-1][1] < 0.3:
                truth[-1] = (truth[-1][0], at / RATE + e, who)
            else:
                truth.append((at / RATE + s, at / RATE + e, who))
        at += len(x)
    audio = np.concatenate([x for _, x in parts])
    path = tmp_path_factory.mktemp("talk") / "talk.wav"
    sf.write(path, audio, RATE, subtype="PCM_16")
    return path, audio, truth


def _segments(turns):
    return [(t.start, t.end, t.speaker) for t in turns]


def test_two_voices_are_told_apart_with_the_count_found(conversation):
    _, audio, truth = conversation
    turns = diarize(audio, RATE)
    assert {t.speaker for t in turns} == {"S1", "S2"} and turns[0].speaker == "S1"
    assert der(truth, _segments(turns)).der < 0.10
    assert all(a.end <= b.start for a, b in itertools.pairwise(turns))
    fixed = diarize(audio, RATE, speakers=2)
    assert der(truth, _segments(fixed)).der < 0.10
    assert {t.speaker for t in diarize(audio, RATE, speakers=1)} == {"S1"}
    # a 44.1 kHz copy gives the same turns (to the window's resolution)
    resampled = diarize(_up(audio), 44100)
    assert der(_segments(turns), _segments(resampled)).der < 0.02


def _up(audio: np.ndarray) -> np.ndarray:
    from bridge.audio.resample import resample_stream

    return np.concatenate(list(resample_stream([audio], RATE, 44100, len(audio))))


def test_der_as_md_eval_scores_it():
    """Hand-worked: a change of speaker 2 s late, with and without the 0.25 s collar; a missed overlap."""
    ref = [(0.0, 10.0, "A"), (10.0, 20.0, "B")]
    late = [(0.0, 12.0, "x"), (12.0, 20.0, "y")]
    plain = der(ref, late, collar=0.0)
    assert (plain.total, plain.confusion, plain.missed, plain.false_alarm) == (20.0, 2.0, 0.0, 0.0)
    # collars [-0.25, 0.25], [9.75, 10.25], [19.75, 20.25]: 19 s scored, 1.75 s confused
    assert der(ref, late).der == pytest.approx(1.75 / 19.0)
    overlap = der([(0.0, 10.0, "A"), (5.0, 8.0, "B")], [(0.0, 10.0, "x")], collar=0.0)
    assert (overlap.total, overlap.missed) == (13.0, 3.0) and overlap.der == pytest.approx(3 / 13)
    assert der(ref, [(0.0, 10.0, "q"), (10.0, 20.0, "q")], collar=0.0).confusion == 10.0


def test_cli_prints_json_and_writes_rttm(conversation, tmp_path, capsys):
    path, _, _ = conversation
    code, out, err = run_cli(["speakers", str(path), "--json"], capsys)
    assert code == 0, err
    data = json.loads(out)
    assert data["speakers"] == 2 and data["duration"] == pytest.approx(21.07, abs=0.01)
    assert set(data["segments"][0]) == {"start", "end", "speaker"}
    rttm = tmp_path / "talk.rttm"
    code, out, err = run_cli(["speakers", str(path), "-o", str(rttm)], capsys)
    assert code == 0, err
    lines = rttm.read_text().splitlines()
    assert all(line.startswith("SPEAKER talk 1 ") and line.endswith(" <NA> <NA>") for line in lines)
    written = read_rttm(rttm)
    assert [(round(s, 3), round(e, 3), spk) for s, e, spk in written] == \
        [(d["start"], d["end"], d["speaker"]) for d in data["segments"]]
    code, out, err = run_cli(["speakers", str(path), "--speakers", "2"], capsys)
    assert code == 0 and out.splitlines()[0].startswith("SPEAKER talk 1 ") and "2 speaker(s)" in out


@pytest.mark.parametrize(("make", "args", "words"), [
    ("talk", ["--speakers", "0"], "--speakers must be 'auto' or a number of speakers from 1 to 20, not 0"),
    ("talk", ["--speakers", "two"], "--speakers must be 'auto' or a number of speakers, not 'two'"),
    ("talk", ["--min-speakers", "3", "--max-speakers", "2"], "--min-speakers (3) must not be above --max-speakers"),
    ("silence", [], "no speech found"),
    ("music", [], "no speech found"),
    ("short", [], "the audio is 0.30 s long; finding speakers needs at least 0.5 s"),
    ("talk", ["--split"], "--split works on a project item"),
])
def test_bad_input_is_one_line_and_writes_nothing(conversation, tmp_path, capsys, make, args, words):
    talk, _, _ = conversation
    if make == "talk":
        source = talk
    elif make == "music":
        source = CORPUS / "audio" / "basic-pitch-ts__C_major.mp3"
    else:
        source = tmp_path / f"{make}.wav"
        sf.write(source, np.zeros(int(RATE * (0.3 if make == "short" else 5.0)), np.float32), RATE)
    out_file = tmp_path / "out.rttm"
    code, out, err = run_cli(["speakers", str(source), *args, "-o", str(out_file)], capsys)
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and "Traceback" not in err
    assert words in err
    assert not out_file.exists()


def _project(tmp_path, media):
    path = tmp_path / "podcast.RPP"
    path.write_text(empty_project(44100, 120.0))
    t = AddTrack("Interview")
    RppFileSession(path).apply(ChangeSet("setup", (t, AddAudioItem(t.guid, str(media), 2.0, 21.0,
                                                                   source_offset=0.05))))
    path.with_name(path.name + "-bak").unlink()
    return path


def test_split_gives_each_speaker_a_track_of_trimmed_copies(conversation, tmp_path, capsys):
    media, _, truth = conversation
    path = _project(tmp_path, media)
    (_, original), = Project.load(path).items()
    code, out, err = run_cli(["speakers", "--project", str(path), "--item", original.guid, "--split", "--json"],
                             capsys)
    assert code == 0, err
    data = json.loads(out)
    project = Project.load(path)
    assert [t.name for t in project.tracks] == ["Interview", "S1", "S2"]
    (_, muted), = [(t, i) for t, i in project.items() if i.guid == original.guid]
    assert muted.mute
    copies = {t.name: t.items for t in project.tracks[1:]}
    # every copy plays the original's own timeline: position - 2.0 s into the item, the same source offset
    for name, items in copies.items():
        for item in items:
            assert item.name == f"talk.wav ({name})"
            assert item.fade_in == pytest.approx(0.03) and item.fade_out == pytest.approx(0.03)
            assert item.active_take.start_offset == pytest.approx(0.05 + item.position - 2.0, abs=1e-9)
    # in project time the copies cover each voice's truth (shifted by the item's position and source offset)
    spoken = {"S1": "jfk", "S2": "diane"}
    shifted = [(s + 2.0 - 0.05, e + 2.0 - 0.05, who) for s, e, who in truth if e + 1.95 <= 23.0]
    placed = [(i.position, i.position + i.length, spoken[name]) for name, items in copies.items() for i in items]
    assert der(shifted, placed).der < 0.12
    assert data["segments"][0]["speaker"] == "S1" and data["speakers"] == 2 and data["item"] == original.guid
    assert data["segments"][0]["start"] == pytest.approx(2.0 - 0.05 + truth[0][0], abs=0.5)  # project time
    count = sum(len(v) for v in copies.values())
    # again: the copies are replaced, the tracks reused (a renamed track keeps its name)
    code, out, err = run_cli(["speakers", "--project", str(path), "--item", original.guid, "--split"], capsys)
    assert code == 0, err
    assert "replacing" in out
    again = Project.load(path)
    assert [t.name for t in again.tracks] == ["Interview", "S1", "S2"]
    assert sum(len(t.items) for t in again.tracks[1:]) == count
    copy_guid = again.tracks[1].items[0].guid
    code, out, err = run_cli(["speakers", "--project", str(path), "--item", copy_guid, "--split"], capsys)
    assert code == 1 and "select the original (muted) item" in err and err.count("\n") == 1
