"""reabridge speech: transcripts of files and project items, their files, and the bad inputs of issue 22.

The model runs on short real recordings (the corpus' JFK clip, 11 s) and on espeak-ng
speech made in the test; every figure asserted is something a user sees: the words, the
JSON shape, the subtitle bytes, the regions' names and times, the one error line.
"""

from __future__ import annotations

import itertools
import json
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from conftest import CORPUS, run_job

from bridge import rpp
from bridge.audio.reader import read_audio
from bridge.changes import AddAudioItem, AddTrack, ChangeSet
from bridge.changes.chunks import empty_project
from bridge.project import Project
from bridge.session import RppFileSession
from bridge.speech.transcript import Segment, Transcript
from bridge.speech.vad import to_16k
from bridge.speech.writers import render

JFK = CORPUS / "speech" / "whisper__jfk.flac"
JFK_WORDS = "and so my fellow americans ask not what your country can do for you ask what you can do for your country"
SR = 44100


def words(text: str) -> str:
    return " ".join(re.findall(r"[a-z']+", text.lower()))


def run_cli(args: list[str], capsys) -> tuple[int, str, str]:
    from bridge.cli.app import main
    from bridge.cli.common import state

    state.debug = False
    with pytest.raises(SystemExit) as info:
        main([str(a) for a in args])
    out = capsys.readouterr()
    return int(info.value.code or 0), out.out, out.err


@pytest.fixture(autouse=True)
def _one_model(engines, monkeypatch):
    """Every command in this module uses the run's loaded model (the CLI would load it per command, ~3 s)."""
    from bridge.jobs.engines import Engines

    shared = engines.speech()
    monkeypatch.setattr(Engines, "speech", lambda self: shared)


@pytest.fixture(scope="module")
def jfk16() -> np.ndarray:
    samples, info = read_audio(JFK, mono=True)
    return to_16k(samples, info.sample_rate)


# -- files ---------------------------------------------------------------------------------------
def test_jfk_json_has_the_known_words_and_the_fixed_shape(capsys, engines):
    code, out, err = run_cli(["speech", JFK, "--json"], capsys)
    assert code == 0 and err == ""
    data = json.loads(out)
    assert words(data["text"]) == JFK_WORDS == (CORPUS / "speech" / "whisper__jfk.txt").read_text().lower()\
        .replace(",", "").replace(".", "").strip()
    assert data["language"] == "en" and data["duration"] == 11.0
    assert data["segments"] and all(set(s) == {"start", "end", "text", "speaker"} for s in data["segments"])
    assert all(s["speaker"] is None for s in data["segments"])
    assert 0.0 <= data["segments"][0]["start"] < 0.5 and 10.5 < data["segments"][-1]["end"] <= 11.0
    assert words(" ".join(s["text"] for s in data["segments"])) == JFK_WORDS


def test_telephone_audio_at_8_khz_is_resampled(tmp_path, capsys, jfk16):
    import soxr

    phone = tmp_path / "call.wav"
    sf.write(phone, soxr.resample(jfk16, 16000, 8000), 8000, subtype="PCM_16")
    code, out, _ = run_cli(["speech", phone, "-o", tmp_path / "call.txt"], capsys)
    assert code == 0 and "wrote" in out
    assert words((tmp_path / "call.txt").read_text()) == JFK_WORDS


def test_subtitle_files_as_players_read_them():
    t = Transcript(75.0, [Segment(1.0, 3.5, "Hello there.", "S1"),
                          Segment(61.25, 74.0, "This one is long enough that it needs more than two lines on "
                                               "screen, so it is split into cues by characters.", "S2")])
    srt = render(t, "srt").decode()
    assert srt.startswith("1\n00:00:01,000 --> 00:00:03,500\nS1: Hello there.\n\n2\n00:01:01,250 --> ")
    cues = srt.strip().split("\n\n")
    assert len(cues) == 3 and cues[-1].split("\n")[1].endswith("--> 00:01:14,000")
    assert all(len(line) <= 42 for cue in cues for line in cue.split("\n")[2:])
    assert all(cue.split("\n")[2].startswith(("S1: ", "S2: ")) for cue in cues)
    vtt = render(t, "vtt").decode()
    assert vtt.startswith("WEBVTT\n\n00:00:01.000 --> 00:00:03.500\nS1: Hello there.\n")
    assert render(t, "txt").decode().splitlines()[0] == "S1: Hello there."
    assert json.loads(render(t, "json"))["segments"][1] == {"start": 61.25, "end": 74.0, "speaker": "S2",
                                                            "text": t.segments[1].text}


def test_vocabulary_snaps_near_misses_and_lists_them(tmp_path, capsys, engines):
    vocab = tmp_path / "terms.txt"
    vocab.write_text("# names\nAmericans-for-Kennedy\nKuntry\nFellowe\n")
    code, out, _ = run_cli(["speech", JFK, "--vocabulary", vocab, "--json"], capsys)
    data = json.loads(out)
    assert code == 0
    assert {(r["heard"], r["term"]) for r in data["replacements"]} == {("fellow", "Fellowe")}
    assert "my Fellowe Americans" in data["text"]
    assert "country" in data["text"]  # 'Kuntry' is short: it needs a closer spelling than 'country'


def test_a_cancelled_job_leaves_nothing(tmp_path, engines):
    from bridge.jobs.result import Progress

    out = tmp_path / "jfk.srt"

    def cancel(p: Progress) -> None:
        if p.stage == "transcribing":
            raise KeyboardInterrupt

    from bridge.requests import parse_request
    from bridge.requests.run import run_request

    request = parse_request({"id": "speech-cancel", "job": "speech", "options": {"audio": str(JFK),
                                                                                 "output": str(out)}})
    with pytest.raises(KeyboardInterrupt):
        run_request(request, engines=engines, progress=cancel)
    assert list(tmp_path.iterdir()) == []


# -- bad input: one line each ----------------------------------------------------------------------
def _espeak(tmp_path: Path, voice: str, text: str) -> Path:
    out = tmp_path / f"{voice}.wav"
    subprocess.run(["espeak-ng", "-v", voice, "-w", str(out), text], check=True)
    return out


def _bad(tmp_path: Path) -> dict[str, Path]:
    silence = tmp_path / "silence.wav"
    sf.write(silence, np.zeros(SR * 5, dtype=np.float32), SR)
    empty = tmp_path / "empty.txt"
    empty.write_text("\n# nothing\n\n")
    binary = tmp_path / "terms.bin"
    binary.write_bytes(bytes(range(256)))
    return {"silence": silence, "music": CORPUS / "audio" / "basic-pitch-ts__C_major.mp3", "empty": empty,
            "binary": binary}


@pytest.mark.parametrize(("case", "args", "line"), [
    ("silence", ["{silence}"], "no speech found in 5.0 s of audio; nothing was written"),
    ("music", ["{music}", "-o", "{tmp}/m.srt"], "no speech found in"),
    ("german", ["{german}", "-o", "{tmp}/g.srt"], "the speech model (Moonshine base-en) is English-only, so nothing"),
    ("empty vocabulary", [JFK, "--vocabulary", "{empty}"], "is empty; write one term per line"),
    ("binary vocabulary", [JFK, "--vocabulary", "{binary}"], "is a binary file, not text with one term per line"),
    ("no speakers", [JFK, "--speakers", "0"], "--speakers must be 'auto' or a number of speakers from 1 to 20, not "
                                              "'0'"),
    ("bad landing", ["--project", "{tmp}/x.RPP", "--selected", "--as", "subtitles"], "--as must be one of regions, "
                                                                                      "markers, take-markers, notes"),
    ("as without project", [JFK, "--as", "regions"], "--as says how segments land in a project"),
    ("wrong extension", [JFK, "-o", "{tmp}/out.doc"], "would hold a transcript"),
])
def test_bad_input_is_one_clear_line_and_writes_nothing(tmp_path, capsys, engines, case, args, line):
    files = _bad(tmp_path)
    if case == "german":
        files["german"] = _espeak(tmp_path, "de", "Der Ausschuss traf sich am Dienstag, um den Haushalt für das "
                                                  "nächste Jahr zu besprechen. Mehrere Mitglieder äußerten Bedenken "
                                                  "wegen der Kosten des neuen Gebäudes.")
    before = sorted(p.name for p in tmp_path.iterdir())
    argv = ["speech", *[str(a).format(tmp=tmp_path, **files) for a in args]]
    code, out, err = run_cli(argv, capsys)
    assert code != 0 and out == ""
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert line in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_a_very_long_recording_is_refused_before_any_work(tmp_path, capsys, engines, monkeypatch):
    import bridge.speech.engine as engine

    monkeypatch.setattr(engine, "MAX_HOURS", 0.002)  # 7.2 s: the JFK clip stands in for a 13-hour file
    code, _, err = run_cli(["speech", JFK], capsys)
    assert code == 1 and err.strip() == ("error: the audio is 0.0 hours long; speech is transcribed for up to "
                                         "0.002 hours at a time (split it, or trim the item)")


# -- projects ------------------------------------------------------------------------------------
def _project(tmp_path: Path, *, offset: float = 0.0, length: float = 11.0, playrate: float = 1.0,
             fades: tuple[float, float] = (0.0, 0.0), media: Path = JFK) -> tuple[Path, str]:
    path = tmp_path / "show.RPP"
    path.write_text(empty_project(SR, 120.0))
    track = AddTrack("Voice", guid="{00000000-0000-4000-8000-00000000005A}")
    item = AddAudioItem(track.guid, str(media), 20.0, length, source_offset=offset,
                        guid="{00000000-0000-4000-8000-0000000000C1}")
    RppFileSession(path).apply(ChangeSet("setup", (track, item), created="2026-01-01T00:00:00Z"))
    if playrate != 1.0 or any(fades):
        root = rpp.load(path)
        chunk = next(c for c in root.walk() if c.tag == "ITEM")
        chunk.set("FADEIN", 0, fades[0], 0, 0, 0, 0, 0)  # shape 0: linear
        chunk.set("FADEOUT", 0, fades[1], 0, 0, 0, 0, 0)
        chunk.set("PLAYRATE", playrate, 1, 0, -1, 0, 0.0025)  # pitch preserved: the voice keeps its pitch
        path.write_bytes(rpp.dumps(root).encode())
    path.with_name(path.name + "-bak").unlink(missing_ok=True)
    return path, item.guid


def _regions(path: Path) -> list[tuple[float, float, str]]:
    return [(m.position, m.end, m.name) for m in Project.load(path).markers if m.is_region]


def test_regions_in_project_time_then_notes_replace_them(tmp_path, engines):
    path, guid = _project(tmp_path, offset=5.2, length=5.8)  # the item plays only "what your country can do ..."
    result = run_job("speech", path, {"guids": [guid]}, engines)
    assert result.applied and not result.skipped
    regions = _regions(path)
    assert [words(r[2]) for r in regions] == ["what your country can do for you ask what you can do for your country"]
    (start, end, _), = regions
    assert 20.0 <= start < 20.5 and 25.5 < end <= 25.8  # project time: item at 20 s, its source from 5.2 s

    again = run_job("speech", path, {"guids": [guid]}, engines, request_id="speech-2", **{"as": "notes"})
    assert "replacing 1 earlier transcript" in again.summary
    project = Project.load(path)
    assert _regions(path) == []  # the regions made before are gone
    assert [t.name for t in project.tracks] == ["Voice", "Voice (transcript)"]
    (notes_item,) = project.find_track("Voice (transcript)").items
    assert words(notes_item.notes) == words(regions[0][2])
    assert (round(notes_item.position, 6), round(notes_item.position + notes_item.length, 3)) == \
        (round(start, 6), round(end, 3))

    from bridge.speech.find import find

    (hit,) = find(project, "Ask what you")
    assert (round(hit.time, 6), hit.kind, hit.item) == (round(start, 6), "notes", guid)
    assert find(project, "fellow") == []


def test_play_rate_maps_segments_into_the_item(tmp_path, engines):
    """At play rate 2 (pitch kept) the item plays the whole clip in 5.5 s: the words, at half the times."""
    path, guid = _project(tmp_path, length=5.5, playrate=2.0)
    run_job("speech", path, {"guids": [guid]}, engines, **{"as": "markers"})
    markers = [m for m in Project.load(path).markers if not m.is_region]
    assert words(" ".join(m.name for m in markers)) == JFK_WORDS
    assert all(20.0 <= m.position < 20.25 for m in markers)  # one segment, starting ~0.2 s source = 0.1 s item


def test_fades_shape_what_is_heard(tmp_path):
    from bridge.audio.item_audio import plan_item_audio
    from bridge.jobs.speech import faded_blocks

    tone = tmp_path / "tone.wav"
    sf.write(tone, np.full(SR * 4, 0.5, dtype=np.float32), SR)
    path, _ = _project(tmp_path, length=4.0, fades=(1.0, 0.5), media=tone)
    track, item = Project.load(path).items()[0]
    heard = np.concatenate(list(faded_blocks(plan_item_audio(track, item), item)))
    assert heard[0] == 0.0 and abs(heard[SR // 2] - 0.25) < 0.001  # linear: half gain half way in
    assert np.all(heard[SR:int(3.5 * SR)] == 0.5) and heard[-1] < 0.001


def test_speaker_labels_follow_the_turns(engines, capsys):
    """Two people on the phone (pyannote's sample): two labels, S1 first, each segment one speaker's turn.

    How well the turns match the reference is the diarizer's measure (``benchmarks/speakers_accuracy.py``);
    here the transcript must carry them: most of the speech time under the label of the voice that spoke.
    """
    code, out, _ = run_cli(["speech", CORPUS / "speech" / "pyannote__sample.wav", "--speakers", "auto", "--json"],
                           capsys)
    assert code == 0
    segments = json.loads(out)["segments"]
    turns = []
    for line in (CORPUS / "speech" / "pyannote__sample.rttm").read_text().splitlines():
        f = line.split()
        turns.append((float(f[3]), float(f[3]) + float(f[4]), f[7]))
    assert [s["speaker"] for s in segments][:2] == ["S1", "S2"] and {s["speaker"] for s in segments} == {"S1", "S2"}
    assert sum(a["speaker"] != b["speaker"] for a, b in itertools.pairwise(segments)) >= 3
    best = 0.0
    for mapping in ({"S1": "speaker90", "S2": "speaker91"}, {"S1": "speaker91", "S2": "speaker90"}):
        agree = total = 0.0
        for seg in segments:
            for start, end, who in turns:
                overlap = max(0.0, min(end, seg["end"]) - max(start, seg["start"]))
                total += overlap
                agree += overlap if mapping[seg["speaker"]] == who else 0.0
        best = max(best, agree / total)
    assert best > 0.6


def test_a_long_recording_says_how_it_went(engines, monkeypatch):
    import bridge.jobs.speech as job

    monkeypatch.setattr(job, "LONG", 10.0)  # the 11 s clip stands in for a 2-hour podcast
    result = run_job("speech", engines=engines, audio=JFK)
    (line,) = result.notices
    assert re.fullmatch(r"0:11 of audio took \d+:\d\d; it streamed phrase by phrase, so memory stayed that of one "
                        r"phrase", line), line
