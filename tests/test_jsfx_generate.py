"""Generated JSFX: the runner's output equals the Python reference, the ceiling holds, text is escaped."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from bridge.assets import jsfx_dir
from bridge.jsfx.chain import SLIDERS, chain_from_preset
from bridge.jsfx.effect import load_effect
from bridge.jsfx.generate import generate_jsfx
from bridge.jsfx.install import install
from bridge.jsfx.reference import latency, render_reference
from bridge.jsfx.runtime import JsfxProcessor
from bridge.master.presets import bundled_presets, load_preset, parse_preset


def _music(rate: int, seconds: float = 1.5, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(rate * seconds)) / rate
    kick = np.sin(2 * np.pi * 55 * t) * np.exp(-(t % 0.5) * 12)
    return np.stack([0.5 * kick + rng.normal(0, 0.1, len(t)), 0.4 * kick + rng.normal(0, 0.12, len(t))], 1)


def _random_values(spec, rng) -> dict[int, float]:
    values = {}
    for number, var, default, low, high, step, _ in spec.sliders():
        del var, default, step
        values[number] = float(rng.uniform(low, high))
    return values


@pytest.mark.parametrize("rate", [44100, 48000])
@pytest.mark.parametrize("preset", ["streaming", "club", "podcast", "gentle"])
def test_generated_jsfx_matches_the_reference(tmp_path, preset, rate):
    spec = chain_from_preset(load_preset(preset))
    path = tmp_path / "chain.jsfx"
    path.write_text(generate_jsfx(spec))
    effect = load_effect(path)
    x = _music(rate)
    rng = np.random.default_rng(hash((preset, rate)) % 2**32)
    for values in [{}, _random_values(spec, rng), _random_values(spec, rng)]:
        processor = JsfxProcessor(effect, rate, 2, values, block=300)
        assert processor.latency == latency(spec, rate)
        ours = np.concatenate([processor.process(x[i:i + 3000]) for i in range(0, len(x), 3000)])
        by_name = {effect.sliders[n].var: v for n, v in values.items()}
        reference = render_reference(spec, x, rate, by_name)
        assert np.abs(ours - reference).max() <= 1e-6
        assert np.abs(ours).max() > 0.01  # something came out


def test_limiter_holds_its_ceiling_and_stays_aligned(tmp_path):
    preset = parse_preset({"target": {"lufs": -10, "true_peak": -1},
                           "stage": [{"type": "limiter", "lookahead_ms": 3.0, "release_ms": 50.0}]}, "lim.toml")
    spec = chain_from_preset(preset, input_gain_db=12.0)
    path = tmp_path / "lim.jsfx"
    path.write_text(generate_jsfx(spec))
    mix = tmp_path / "in.wav"
    x = _music(48000, 3.0)
    x[:48000] *= 0.05  # a quiet first second: no limiting there
    sf.write(mix, x, 48000, subtype="FLOAT")
    out = subprocess.run([sys.executable, "-m", "bridge", "jsfx", "render", str(path), str(mix), "-o",
                          str(tmp_path / "out.wav"), "--slider", "lim1_ceiling_db=-2"],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "latency" in out.stdout  # the shift is reported
    y, rate = sf.read(tmp_path / "out.wav")
    assert y.shape == x.shape and rate == 48000
    ceiling = 10 ** (-2 / 20)
    assert np.abs(y).max() <= ceiling * (1 + 1e-6)
    assert np.abs(y).max() >= ceiling * 0.999  # it is a limiter, not a fader
    # the quiet second comes out as the input times the input gain, sample-aligned (latency compensated)
    gain = 10 ** (12 / 20)
    np.testing.assert_allclose(y[:47000], x[:47000] * gain, atol=1e-6)


def test_names_cannot_inject_code(tmp_path):
    evil = parse_preset({"name": "evil\n@init\nspl0 = 1;", "description": "x\r\nslider1:0<0,1,1>Hijack\n@sample",
                         "target": {"lufs": -14, "true_peak": -1},
                         "stage": [{"type": "peak", "cutoff_hz": 1000, "gain_db": 2, "q": 1}]}, "evil.toml")
    text = generate_jsfx(chain_from_preset(evil))
    sections = [line for line in text.splitlines() if line.lstrip().startswith("@")]
    assert sections == ["@init", "@slider", "@sample"]
    assert "\r" not in text and "Hijack" in text.splitlines()[5]  # kept, inside the comment line
    assert all(not line.startswith("slider1:0<") for line in text.splitlines())
    path = tmp_path / "evil.jsfx"
    path.write_text(text)
    effect = load_effect(path)
    assert effect.desc == "reabridge chain: evil @init spl0 = 1;" and list(effect.sliders) == [1, 2, 3]
    y = JsfxProcessor(effect, 44100, 2).process(np.zeros((10, 2)))
    assert np.abs(y).max() < 1e-12  # silence in, silence out (but for REAPER's 1e-16 anti-denormal offset)


def test_numbers_are_written_without_exponents():
    from bridge.jsfx.generate import number

    assert [number(v) for v in (1e-7, 25.0, -0.0, 1234567.5, -3.25)] == ["0.0000001", "25", "0", "1234567.5",
                                                                        "-3.25"]


def test_every_stage_has_sliders_in_range():
    spec = chain_from_preset(load_preset("streaming"))
    assert {s.type for s in spec.stages} == set(SLIDERS)
    for _, _, default, low, high, _, _ in spec.sliders():
        assert low <= default <= high


@pytest.mark.parametrize("name", bundled_presets())
def test_shipped_effects_are_what_the_generator_writes(name):
    shipped = jsfx_dir() / f"reabridge_master_{name}.jsfx"
    assert shipped.read_text() == generate_jsfx(chain_from_preset(load_preset(name)))


def test_generate_from_an_analysis_and_install(tmp_path):
    mix = tmp_path / "mix.wav"
    sf.write(mix, _music(44100, 6.0) * 0.3, 44100, subtype="PCM_24")
    out_file = tmp_path / "chain.jsfx"
    out = subprocess.run([sys.executable, "-m", "bridge", "jsfx", "generate", "--preset", "streaming", "--analyze",
                          str(mix), "-o", str(out_file)], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "compressor threshold" in out.stdout and "limiter input gain" in out.stdout
    effect = load_effect(out_file)
    threshold = next(s for s in effect.sliders.values() if s.var.endswith("threshold_db"))
    assert threshold.default != -18.0  # set from the mix's crest factor
    gain = next(s for s in effect.sliders.values() if s.var.endswith("input_db"))
    assert gain.default > 3
    resource = tmp_path / "REAPER"
    resource.mkdir()
    done = install([out_file], resource)
    assert done == [resource / "Effects" / "reabridge" / "chain.jsfx"] and done[0].read_bytes() == out_file.read_bytes()
    out = subprocess.run([sys.executable, "-m", "bridge", "jsfx", "install", "--resource-path", str(tmp_path / "no")],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 1 and "resource path" in out.stderr


def test_master_insert_jsfx_puts_the_analysed_chain_on_the_master_track(tmp_path):
    from bridge.changes import AddAudioItem, AddTrack, ChangeSet
    from bridge.changes.chunks import empty_project
    from bridge.project import Project
    from bridge.rpp import load
    from bridge.session import RppFileSession

    media = tmp_path / "Media"
    media.mkdir()
    sf.write(media / "mix.wav", _music(44100, 6.0) * 0.3, 44100, subtype="PCM_24")
    path = tmp_path / "song.RPP"
    path.write_text(empty_project(44100, 120, record_path="Media"))
    t = AddTrack("Mix")
    RppFileSession(path).apply(ChangeSet("s", (t, AddAudioItem(t.guid, str(media / "mix.wav"), 0, 6.0))))
    guid = Project.load(path).items()[0][1].guid
    resource = tmp_path / "REAPER"
    resource.mkdir()
    out = subprocess.run([sys.executable, "-m", "bridge", "master", "--project", str(path), "--item", guid,
                          "--preset", "club", "--insert-jsfx", "--resource-path", str(resource)],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    name = "reabridge_master_song_club.jsfx"
    installed = resource / "Effects" / "reabridge" / name
    assert installed.read_bytes() == (tmp_path / "reabridge-jsfx" / name).read_bytes()
    chain = load(path).chunk("MASTERFXLIST")
    js = chain.chunk("JS")
    assert js.params[:2] == [f"reabridge/{name}", "reabridge chain: club"]
    effect = load_effect(installed)
    stored = next(js.lines()).tokens
    for number, slider in effect.sliders.items():
        assert float(stored[number - 1]) == pytest.approx(slider.default)
    assert chain.line("BYPASS").values[:1] == ["0"] and chain.line("FXID") is not None
    assert chain.line("WAK") is not None
    assert (tmp_path / "song.RPP-bak").exists()
    assert len(Project.load(path).items()[0][1].takes) == 1  # a live chain instead of a rendered take
    JsfxProcessor(effect, 44100, 2).process(np.zeros((16, 2)))  # and it compiles


def test_jsfx_info_lists_what_slider_takes():
    import os

    effect = jsfx_dir() / "reabridge_master_club.jsfx"
    out = subprocess.run([sys.executable, "-m", "bridge", "jsfx", "info", str(effect)], capture_output=True, text=True,
                         timeout=120, env={**os.environ, "COLUMNS": "200"})
    assert out.returncode == 0, out.stderr
    assert "lim" in out.stdout and "ceiling_db" in out.stdout and "pins: in left, right" in out.stdout


def test_render_plays_a_mono_file_into_both_sides_on_request(tmp_path):
    mono = tmp_path / "mono.wav"
    sf.write(mono, _music(44100, 1.0)[:, 0], 44100, subtype="FLOAT")
    fx = tmp_path / "swap.jsfx"
    fx.write_text("desc: right gets inverted\n@sample\nspl1 = -spl1;\n")
    out = subprocess.run([sys.executable, "-m", "bridge", "jsfx", "render", str(fx), str(mono), "-o",
                          str(tmp_path / "out.wav"), "--channels", "2"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    y, _ = sf.read(tmp_path / "out.wav")
    x, _ = sf.read(mono)
    assert y.shape == (len(x), 2)
    np.testing.assert_allclose(y[:, 0], x, atol=1e-7)
    np.testing.assert_allclose(y[:, 1], -x, atol=1e-7)
