"""Mastering: an exact meter (checked against ffmpeg), valid presets, targets met on the final file."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from bridge.changes import AddAudioItem, AddTrack, ChangeSet
from bridge.changes.chunks import empty_project
from bridge.demo import synth
from bridge.master.engine import master
from bridge.master.limiter import limit
from bridge.master.loudness import LoudnessError, measure_array
from bridge.master.presets import PresetError, bundled_presets, load_preset, parse_preset
from bridge.project import Project
from bridge.session import RppFileSession

SR = 48000
assert shutil.which("ffmpeg"), "ffmpeg is needed (make install puts it there)"


def ffmpeg_ebur128(path) -> dict[str, float]:
    err = subprocess.run(["ffmpeg", "-nostats", "-hide_banner", "-i", str(path), "-af", "ebur128=peak=true",
                          "-f", "null", "-"], capture_output=True, text=True, timeout=120).stderr
    summary = err[err.rindex("Summary:"):]
    return {"I": float(re.search(r"I:\s+(-?[\d.]+) LUFS", summary).group(1)),
            "LRA": float(re.search(r"LRA:\s+(-?[\d.]+) LU", summary).group(1)),
            "TP": float(re.search(r"Peak:\s+(-?[\d.inf]+) dBFS", summary).group(1))}


def demo_mix(seconds_repeat: int = 3, level: float = 0.4) -> np.ndarray:
    mix = synth.piano() * 0.8 + synth.guitar_di() * 0.6 + synth.drums() * 0.7
    stereo = np.stack([mix, np.roll(mix, 30) * 0.9], axis=1) * level
    return np.tile(stereo, (seconds_repeat, 1))


def _signals():
    rng = np.random.default_rng(0)
    t = np.arange(SR * 12) / SR
    return {
        "noise": np.stack([rng.normal(0, 0.1, len(t)), rng.normal(0, 0.07, len(t))], 1),
        "sine -20": np.stack([0.1 * np.sin(2 * np.pi * 997 * t)] * 2, 1),
        "dynamic": np.stack([np.sin(2 * np.pi * 220 * t) * np.where(t % 4 < 2, 0.5, 0.02)] * 2, 1),
        "demo mix": demo_mix(1)[: len(t)],
        "mono 44.1k": None,
    }


@pytest.mark.parametrize("name", list(_signals()))
def test_meter_agrees_with_ffmpeg_and_pyloudnorm(tmp_path, name):
    import pyloudnorm

    x, rate = _signals()[name], SR
    if x is None:
        rate = 44100
        x = np.random.default_rng(5).normal(0, 0.05, rate * 8) * np.sin(np.linspace(0, 20, rate * 8)) ** 2
    path = tmp_path / "x.wav"
    sf.write(path, x.astype(np.float32), rate, subtype="FLOAT")
    ours = measure_array(x.astype(np.float32).astype(np.float64), rate)
    theirs = ffmpeg_ebur128(path)
    assert ours.integrated == pytest.approx(theirs["I"], abs=0.1)
    assert ours.lra == pytest.approx(theirs["LRA"], abs=0.3)
    assert ours.true_peak == pytest.approx(theirs["TP"], abs=0.25)
    assert ours.integrated == pytest.approx(pyloudnorm.Meter(rate).integrated_loudness(x), abs=0.1)


def test_true_peak_sees_between_samples():
    t = np.arange(SR * 2) / SR
    x = np.stack([0.9 * np.sin(2 * np.pi * SR / 4 * t + np.pi / 4)] * 2, 1)  # samples at 0.636, peaks at 0.9
    r = measure_array(x, SR)
    assert r.sample_peak == pytest.approx(20 * np.log10(0.9 * np.sin(np.pi / 4)), abs=0.01)
    assert r.true_peak == pytest.approx(20 * np.log10(0.9), abs=0.15)


@pytest.mark.parametrize("preset", ["streaming", "club", "podcast"])
def test_targets_are_met_on_the_final_file(tmp_path, preset):
    chosen = load_preset(preset)
    result = master(demo_mix(), SR, chosen)
    path = tmp_path / "m.wav"
    sf.write(path, result.audio.astype(np.float32), SR, subtype="FLOAT")
    final = measure_array(sf.read(path)[0], SR)
    assert abs(final.integrated - chosen.lufs) <= 0.1
    assert final.true_peak <= chosen.true_peak
    independent = ffmpeg_ebur128(path)
    assert abs(independent["I"] - chosen.lufs) <= 0.1
    assert independent["TP"] <= chosen.true_peak + 0.05  # ffmpeg prints 0.1 dB steps and reads high
    assert result.after.to_dict()["integrated_lufs"] == pytest.approx(final.integrated, abs=0.01)


def test_limiter_holds_a_ceiling_where_pedalboards_overshoots():
    from pedalboard import Limiter

    x = demo_mix(1, level=1.5)
    ceiling = -1.0
    ours, _ = limit(x, SR, ceiling - 0.05)
    assert measure_array(ours, SR).true_peak <= ceiling
    theirs = Limiter(threshold_db=ceiling)(x.T.astype(np.float32), SR).T
    assert measure_array(theirs.astype(np.float64), SR).true_peak > ceiling


def test_auto_parameters_are_explained():
    result = master(demo_mix(), SR, load_preset("streaming"))
    why = " ".join(result.decisions)
    assert "compressor threshold" in why and "crest factor" in why and "target curve" in why
    comp = next(s for s in result.chain if s["type"] == "compressor")
    assert isinstance(comp["threshold_db"], float)


@pytest.mark.parametrize(
    ("audio", "words"),
    [(np.zeros((SR * 3, 2)), "silent"), (np.full((SR // 10, 2), 0.1), "at least 0.4 s"),
     (np.full((SR * 2, 2), 1e-6), "silent")],
)
def test_unmasterable_input_is_explained(audio, words):
    with pytest.raises(LoudnessError, match=words):
        master(audio, SR, load_preset("streaming"))


def test_nan_is_refused():
    x = demo_mix(1)
    x[1000, 0] = np.nan
    with pytest.raises(LoudnessError, match="NaN"):
        master(x, SR, load_preset("streaming"))


def test_clipped_input_gets_a_warning():
    x = np.clip(demo_mix(1, level=3.0), -1, 1)
    result = master(x, SR, load_preset("gentle"))
    assert any("already clipped" in w for w in result.warnings)


def test_every_bundled_preset_is_valid():
    names = bundled_presets()
    assert {"streaming", "apple", "club", "podcast", "gentle"} <= set(names)
    targets = {n: (load_preset(n).lufs, load_preset(n).true_peak) for n in names}
    assert targets["streaming"] == (-14.0, -1.0) and targets["apple"] == (-16.0, -1.0)
    assert targets["club"] == (-8.0, -0.3) and targets["podcast"] == (-16.0, -1.5)


@pytest.mark.parametrize(
    ("data", "words"),
    [({"target": {"lufs": -14, "true_peak": -1}, "stage": [{"type": "compresor"}]}, "'type' must be one of"),
     ({"target": {"lufs": -14, "true_peak": -1}, "stage": [{"type": "compressor", "ration": 2}]},
      "unknown key 'ration'; allowed: threshold_db, ratio"),
     ({"target": {"lufs": -14, "true_peak": -1}, "stage": [{"type": "compressor", "threshold_db": -20,
                                                            "ratio": 50}]}, "'ratio' = 50 is out of range"),
     ({"target": {"lufs": 3, "true_peak": -1}}, "'lufs' = 3 is out of range; allowed -40 to -3"),
     ({"stage": []}, "[target] table"),
     ({"target": {"lufs": -14, "true_peak": -1}, "stage": [{"type": "highpass"}]}, "'cutoff_hz' is required")],
)
def test_invalid_presets_name_the_key_and_allowed_values(data, words):
    with pytest.raises(PresetError) as info:
        parse_preset(data, "mine.toml")
    assert words in str(info.value) and "mine.toml" in str(info.value)


def test_cli_master_writes_master_and_report(tmp_path):
    mix = tmp_path / "mix.wav"
    sf.write(mix, demo_mix(), SR, subtype="PCM_24")
    out = subprocess.run([sys.executable, "-m", "bridge", "master", str(mix), "-o", str(tmp_path / "m.wav"),
                          "--preset", "apple", "--format", "16", "--report", str(tmp_path / "rep")],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    info = sf.info(tmp_path / "m.wav")
    assert info.subtype == "PCM_16" and info.samplerate == SR
    data = json.loads((tmp_path / "rep" / "master-report.json").read_text())
    assert data["met"] == {"loudness_within_0.1_lu": True, "true_peak_at_or_below_ceiling": True}
    assert data["before"]["integrated_lufs"] < data["after"]["integrated_lufs"]
    assert [s["type"] for s in data["chain"]][-1] == "limiter" and data["why"]
    png = tmp_path / "rep" / "master-report.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20000
    final = measure_array(sf.read(tmp_path / "m.wav")[0], SR)
    assert abs(final.integrated + 16) <= 0.1 and final.true_peak <= -1.0


def test_project_mode_adds_a_master_take(tmp_path):
    media = tmp_path / "Media"
    media.mkdir()
    sf.write(media / "mix.wav", demo_mix(), SR, subtype="PCM_24")
    path = tmp_path / "song.RPP"
    path.write_text(empty_project(SR, 100, record_path="Media"))
    t = AddTrack("Mix")
    RppFileSession(path).apply(ChangeSet("s", (t, AddAudioItem(t.guid, str(media / "mix.wav"), 0, 20.0))))
    guid = Project.load(path).items()[0][1].guid
    out = subprocess.run([sys.executable, "-m", "bridge", "master", "--project", str(path), "--item", guid,
                          "--preset", "streaming"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    item = Project.load(path).items()[0][1]
    assert item.active_take.name == "Master (streaming)"
    rendered = item.active_take.source.resolve()
    assert rendered.exists and rendered.path.parent == media
    final = measure_array(sf.read(rendered.path)[0], SR)
    assert abs(final.integrated + 14) <= 0.1 and final.true_peak <= -1.0


def test_reference_matching_moves_the_tonal_balance_and_loudness():
    from scipy.signal import butter, lfilter

    from bridge.master.analysis import analyse

    mix = demo_mix(2, level=0.3)
    b, a = butter(2, 3000, "highpass", fs=SR)
    bright = mix + 1.5 * lfilter(b, a, mix, axis=0)
    reference = np.stack([bright[:, 0], np.roll(bright[:, 1], 300) * 0.8], axis=1) * 1.4
    ref_lufs = measure_array(reference, SR).integrated
    result = master(mix, SR, load_preset("streaming"), reference=reference)
    assert abs(result.after.integrated - ref_lufs) <= 0.1
    assert result.preset.lufs == pytest.approx(ref_lufs)
    assert any("reference" in d for d in result.decisions)

    def highs(x):
        a = analyse(x, SR)
        return a.band_deviation(4000, 16000)

    assert abs(highs(result.audio) - highs(reference)) < abs(highs(mix) - highs(reference)) / 2
    kept = master(mix, SR, load_preset("streaming"), reference=reference, keep_target=True)
    assert abs(kept.after.integrated + 14) <= 0.1
