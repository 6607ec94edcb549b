"""Clean-up: the forms users script against, each stage's measured effect, project takes, reports, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from daemon_helpers import song

from bridge.clean.declick import declick, find_clicks
from bridge.clean.dehum import HumSurvey, find_hum, remove_hum
from bridge.cli.app import main
from bridge.project.project import Project
from bridge.requests import parse_request
from bridge.requests.run import run_request

ITEM = "{00000000-0000-4000-8000-0000000000B1}"
RNG = np.random.default_rng(23)


def voice(rate: int, seconds: float) -> np.ndarray:
    """A speech-like signal: syllables of a gliding harmonic tone (-12 dB/octave, a formant-ish lift), pauses."""
    t = np.arange(int(rate * seconds)) / rate
    f0 = 140 + 30 * np.sin(2 * np.pi * 0.7 * t)
    phase = 2 * np.pi * np.cumsum(f0) / rate
    tone = sum(np.sin(k * phase) / k ** 2 * (2.0 if 3 <= k <= 5 else 1.0) for k in range(1, 30) if k * 170 < rate / 2)
    syllables = (np.sin(2 * np.pi * 2.2 * t) > 0.2) * (t % 2.3 < 1.8)
    envelope = np.convolve(syllables.astype(float), np.hanning(int(0.03 * rate)), "same")
    return (0.08 * tone * envelope / envelope.max()).astype(np.float32)


def cli(capsys, *args: str) -> tuple[int, str, str]:
    """Run ``reabridge ARGS`` in this process; exit code, stdout, stderr."""
    with pytest.raises(SystemExit) as done:
        main(list(args))
    out = capsys.readouterr()
    return int(done.value.code or 0), out.out, out.err


def level_at(x: np.ndarray, rate: int, freq: float) -> float:
    """Amplitude (dB) of the component at ``freq`` over the middle of ``x``."""
    mid = x[len(x) // 5: -len(x) // 5]
    t = np.arange(len(mid)) / rate
    amp = 2 * abs(np.dot(mid * np.hanning(len(mid)), np.exp(-2j * np.pi * freq * t))) / np.sum(np.hanning(len(mid)))
    return 20 * np.log10(amp + 1e-12)


# -- the forms kept exactly -----------------------------------------------------------------------
@pytest.mark.parametrize(("rate", "channels", "subtype"), [(16000, 1, "PCM_16"), (44100, 2, "PCM_24"),
                                                          (48000, 6, "FLOAT")])
def test_output_keeps_rate_channels_length_and_format(tmp_path, capsys, rate, channels, subtype):
    x = voice(rate, 3.0) + 0.004 * RNG.standard_normal(3 * rate).astype(np.float32)
    audio = np.stack([x * (1 - 0.1 * c) for c in range(channels)], axis=1)
    sf.write(tmp_path / "in.wav", audio, rate, subtype=subtype)
    code, out, err = cli(capsys, "clean", str(tmp_path / "in.wav"), "-o", str(tmp_path / "out.wav"), "--json")
    assert code == 0, err
    assert json.loads(out)["stages"] == ["dehum", "declick", "denoise"]  # the default voice chain
    info = sf.info(tmp_path / "out.wav")
    assert (info.samplerate, info.channels, info.frames, info.subtype) == (rate, channels, len(x), subtype)


def test_named_stages_run_alone_and_keep_the_signal_aligned(tmp_path, capsys):
    rate = 16000
    t = np.arange(4 * rate) / rate
    sine = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    sf.write(tmp_path / "sine.wav", sine, rate, subtype="FLOAT")
    code, out, err = cli(capsys, "clean", str(tmp_path / "sine.wav"), "-o", str(tmp_path / "a.wav"), "--denoise",
                         "off", "--dehum", "auto", "--declick", "--json")
    assert code == 0, err
    assert json.loads(out)["stages"] == ["dehum", "declick"]
    y, _ = sf.read(tmp_path / "a.wav", dtype="float32")
    assert 10 * np.log10(np.sum((y - sine) ** 2) / np.sum(sine ** 2)) < -60  # click-free, hum-free: untouched
    x = voice(rate, 6.0) + 0.01 * RNG.standard_normal(6 * rate).astype(np.float32)
    sf.write(tmp_path / "voice.wav", x, rate, subtype="FLOAT")
    code, _, err = cli(capsys, "clean", str(tmp_path / "voice.wav"), "-o", str(tmp_path / "v.wav"))
    assert code == 0, err
    y, _ = sf.read(tmp_path / "v.wav", dtype="float32")
    lags = range(-40, 41)
    corr = [np.dot(y[rate + lag:5 * rate + lag], x[rate:5 * rate]) for lag in lags]
    assert lags[int(np.argmax(corr))] == 0


# -- each stage's effect --------------------------------------------------------------------------
@pytest.mark.parametrize("mains", [50.0, 60.0, 57.0])
def test_hum_goes_30_db_down_and_a_55_hz_bass_note_stays(mains):
    rate = 8000
    t = np.arange(12 * rate) / rate
    hum = sum(0.01 / k * np.sin(2 * np.pi * k * mains * t + k) for k in range(1, 6))
    pluck = np.exp(-(t % 1.5) * 1.5) * (t % 3 < 1.5)  # a bass note played and let ring, then rests
    bass = 0.25 * pluck * np.sin(2 * np.pi * 55 * t)
    x = (hum + bass + 1e-4 * RNG.standard_normal(len(t))).astype(np.float32)
    survey = HumSurvey(rate, len(x))
    survey.add(x)
    found = find_hum(survey, "auto")
    assert found is not None and abs(found.f0 - mains) < 0.05 and {1, 2, 3, 4, 5} <= set(found.harmonics)
    y = remove_hum(x, rate, found)
    for k in range(1, 6):
        assert level_at(x, rate, k * mains) - level_at(y, rate, k * mains) >= 30, k
    assert abs(level_at(y, rate, 55.0) - level_at(x, rate, 55.0)) < 0.5
    assert find_hum(survey, "60" if mains == 50 else "50") is None or mains == 57.0


def test_clicks_are_found_and_repaired_but_bursts_and_drum_hits_stay():
    rate = 44100
    x = voice(rate, 5.0) + 0.002 * RNG.standard_normal(5 * rate).astype(np.float32)
    clicked = x.copy()
    spots = np.linspace(0.4, 4.6, 10)
    for i, at in enumerate(spots):
        n = int(rate * (0.0002 + 0.0015 * i / 9))
        start = int(at * rate)
        clicked[start:start + n] += 0.4 * np.sign(RNG.standard_normal(n)) * (-1) ** i
    y, found = declick(clicked, rate)
    hits = sum(any(abs(c.start / rate - at) < 0.003 for c in found) for at in spots)
    assert hits >= 7 and len(found) <= hits + 1  # clicks right at a syllable onset are left (they look like one)
    for c in found:  # each repair is close to what was there before the click
        near = slice(c.start - 50, c.start + c.length + 50)
        assert np.sum((y[near] - x[near]) ** 2) < 0.05 * np.sum((clicked[near] - x[near]) ** 2)
    t = np.arange(2 * rate) / rate
    burst = np.zeros(2 * rate, dtype=np.float32)
    burst[rate:rate + int(0.012 * rate)] = 0.5 * RNG.standard_normal(int(0.012 * rate))  # a 'p' after silence
    burst[rate:] += (0.3 * np.exp(-30 * t[:rate]) * np.sin(2 * np.pi * 80 * t[:rate])).astype(np.float32)
    drum = (0.8 * np.exp(-25 * (t % 0.5)) * np.sin(2 * np.pi * 180 * t * np.exp(-3 * (t % 0.5)))).astype(np.float32)
    drum += (0.3 * RNG.standard_normal(len(t)) * np.exp(-200 * (t % 0.5))).astype(np.float32)
    assert find_clicks(burst, rate) == [] and find_clicks(drum, rate) == []


@pytest.mark.parametrize("mode", ["voice", "broadband"])
def test_the_noise_floor_goes_down(tmp_path, capsys, mode):
    rate = 16000
    x = voice(rate, 6.0) + 0.01 * RNG.standard_normal(6 * rate).astype(np.float32)
    sf.write(tmp_path / "in.wav", x, rate, subtype="FLOAT")
    code, out, err = cli(capsys, "clean", str(tmp_path / "in.wav"), "-o", str(tmp_path / "out.wav"), "--denoise",
                         mode, "--strength", "0.75", "--json")
    assert code == 0, err
    floor = json.loads(out)["noise_floor_dbfs"]
    assert floor["before"] - floor["after"] >= 15
    y, _ = sf.read(tmp_path / "out.wav", dtype="float32")
    quiet = slice(int(1.9 * rate), int(2.2 * rate))  # a pause between syllables: the noise alone
    assert 10 * np.log10(np.mean(y[quiet] ** 2) / np.mean(x[quiet] ** 2)) < -15


# -- project mode and reports -------------------------------------------------------------------
def _clean_request(project: Path, rid: str, **options) -> object:
    return parse_request({"id": rid, "job": "clean", "project": {"path": str(project)},
                          "items": {"guids": [ITEM]}, "options": options})


def test_project_item_gets_a_named_take_replaced_on_rerun_from_the_original(tmp_path):
    project, _ = song(tmp_path / "song", seconds=3.0)
    first = run_request(_clean_request(project, "clean-a", dehum="off", report=str(tmp_path / "rep")))
    item = Project.load(project).find_item(ITEM)[1]
    assert [t.name for t in item.takes][-1] == "Cleaned (denoise, declick)" and item.active_take.name == \
        "Cleaned (denoise, declick)"
    original = item.takes[0]
    cleaned = Path(item.active_take.source.resolve().path)
    assert cleaned.is_file() and sf.info(cleaned).frames == sf.info(original.source.resolve().path).frames
    assert any(p.name == "clean-report.png" and p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in first.files)
    figures = json.loads(next(p for p in first.files if p.name == "clean-report.json").read_text())
    assert {"noise_floor_dbfs", "snr_estimate_db", "hum", "clicks_repaired", "reverberation_decay_s"} <= set(figures)
    run_request(_clean_request(project, "clean-b", dereverb=True))
    item = Project.load(project).find_item(ITEM)[1]
    names = [t.name for t in item.takes]
    assert names == [original.name, "Cleaned (denoise, dehum, declick, dereverb)"]  # replaced, not stacked
    assert not cleaned.exists() or cleaned != Path(item.active_take.source.resolve().path)
    records = (project.read_text().split("made.", 1)[1]).split()
    assert original.guid.strip("{}").upper() in " ".join(records).upper()  # made from the original take


def test_preview_writes_the_first_seconds_and_changes_nothing(tmp_path, capsys):
    project, _ = song(tmp_path / "song", seconds=4.0)
    before = project.read_bytes()
    code, out, err = cli(capsys, "clean", "--project", str(project), "--item", ITEM, "--preview", "2", "-o",
                         str(tmp_path / "preview.wav"), "--json")
    assert code == 0, err
    assert sf.info(tmp_path / "preview.wav").frames == 2 * sf.info(project.parent / "Media" / "keys.wav").samplerate
    assert project.read_bytes() == before and json.loads(out)["preview"] == str(tmp_path / "preview.wav")


# -- bad input: one line, nothing written ---------------------------------------------------------
def _bad_files(folder: Path) -> None:
    rate = 16000
    sf.write(folder / "silence.wav", np.zeros(3 * rate, dtype=np.float32), rate)
    sf.write(folder / "noise.wav", 0.1 * RNG.standard_normal(3 * rate).astype(np.float32), rate)
    sf.write(folder / "short.wav", voice(rate, 1.0), rate)
    sf.write(folder / "voice.wav", voice(rate, 3.0) + 0.003 * RNG.standard_normal(3 * rate).astype(np.float32), rate)


@pytest.mark.parametrize(("args", "words"), [
    (["silence.wav"], "silent"),
    (["noise.wav"], "steady noise alone"),
    (["voice.wav", "--noise-from", "2", "9"], "outside the audio"),
    (["short.wav"], "at least 2 s"),
    (["voice.wav", "--strength", "1.5"], "--strength"),
    (["voice.wav", "--denoise", "loud"], "--denoise"),
])
def test_bad_input_gets_one_line_and_nothing_is_written(tmp_path, capsys, args, words):
    _bad_files(tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())
    code, _, err = cli(capsys, "clean", *[str(tmp_path / a) if a.endswith(".wav") else a for a in args],
                       "-o", str(tmp_path / "out.wav"))
    assert code != 0
    lines = err.strip().splitlines()
    assert len(lines) == 1 and words in lines[0] and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_8_bit_and_192_khz_inputs_are_cleaned_with_a_note(tmp_path, capsys):
    x = voice(16000, 3.0) + 0.01 * RNG.standard_normal(48000).astype(np.float32)
    sf.write(tmp_path / "eight.wav", x, 16000, subtype="PCM_U8")
    code, out, err = cli(capsys, "clean", str(tmp_path / "eight.wav"), "-o", str(tmp_path / "e.wav"), "--json")
    assert code == 0, err
    assert any("8-bit" in n for n in json.loads(out)["notices"]) and sf.info(tmp_path / "e.wav").subtype == "PCM_16"
    hi = np.repeat(x, 12)[: 3 * 192000] * 0.5
    sf.write(tmp_path / "hi.wav", hi, 192000, subtype="PCM_24")
    code, out, err = cli(capsys, "clean", str(tmp_path / "hi.wav"), "-o", str(tmp_path / "h.wav"), "--json")
    assert code == 0, err
    info = sf.info(tmp_path / "h.wav")
    assert (info.samplerate, info.frames) == (192000, len(hi))
    assert any("192 kHz" in n for n in json.loads(out)["notices"])
