"""Rendering through captures: length, alignment, channels, gains, blocks, project takes."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf
from conftest import corpus_files, run_job

import bridge.amp.render as render_module
from bridge.amp import build_network, load_nam
from bridge.amp.render import AmpRenderer, input_gain_for_level
from bridge.changes import AddAudioItem, AddTrack, ChangeSet
from bridge.changes.chunks import empty_project
from bridge.project import Project
from bridge.session import RppFileSession

NAM = {p.name.split("__")[-1]: p for p in corpus_files("nam", ".nam")}


def di(sr: int, seconds: float = 2.0, channels: int = 1) -> np.ndarray:
    t = np.arange(int(sr * seconds)) / sr
    sig = 0.3 * np.sin(2 * np.pi * 196 * t) * np.exp(-(t % 0.5) * 4)
    sig = sig.astype(np.float32)
    return sig if channels == 1 else np.stack([sig * (1 - 0.3 * c) for c in range(channels)], axis=1)


def test_identity_capture_keeps_length_and_alignment(tmp_path):
    # linear_1.nam is a one-tap identity at 48 kHz: 44.1 kHz in, through 48 kHz, back
    src = tmp_path / "di.wav"
    sf.write(src, di(44100), 44100, subtype="PCM_24")
    out = tmp_path / "out.wav"
    report = AmpRenderer(load_nam(NAM["linear_1.nam"])).render_file(src, out)
    a, _ = sf.read(src, dtype="float32")
    b, rate = sf.read(out, dtype="float32")
    assert rate == 44100 and len(b) == len(a) and sf.info(out).subtype == "FLOAT"
    assert np.max(np.abs(a - b)) < 1e-3  # the resampler round trip on a band-limited signal
    lag = np.argmax(np.correlate(b[20000:24000], a[20000:24000], "full")) - 3999
    assert lag == 0 and report.model_rate == 48000


def test_stereo_channels_are_rendered_independently(tmp_path):
    src = tmp_path / "st.wav"
    sf.write(src, di(48000, 1.0, 2), 48000)
    out = tmp_path / "st-out.wav"
    model = load_nam(NAM["BossWN-nano.nam"])
    AmpRenderer(model).render_file(src, out)
    y, _ = sf.read(out, dtype="float32")
    x, _ = sf.read(src, dtype="float32")
    net = build_network(model)
    for ch in range(2):
        expected = net(np.concatenate([np.zeros(net.receptive_field - 1, np.float32), x[:, ch]]))
        assert np.max(np.abs(y[:, ch] - expected)) < 1e-5 * np.sqrt(np.mean(expected ** 2)) + 1e-7


def test_block_boundaries_change_nothing(tmp_path, monkeypatch):
    model = load_nam(NAM["BossWN-standard.nam"])
    x = np.concatenate([di(48000, 1.0)] * 3)
    whole = list(AmpRenderer(model).process(iter([x])))
    monkeypatch.setattr(render_module, "BLOCK", 3000)  # blocks shorter than the receptive field (4093)
    pieces = list(AmpRenderer(model, workers=3).process(iter([x[:7000], x[7000:]])))
    a, b = np.concatenate(whole), np.concatenate(pieces)
    assert len(a) == len(b) == len(x)
    assert np.max(np.abs(a - b)) < 1e-5 * np.sqrt(np.mean(a ** 2))


def test_lstm_renders_as_one_stream(tmp_path):
    model = load_nam(NAM["BossLSTM-2x8.nam"])
    x = di(48000, 1.0)
    one = np.concatenate(list(AmpRenderer(model).process(iter([x]))))
    split = np.concatenate(list(AmpRenderer(model).process(iter([x[:1234], x[1234:]]))))
    assert np.allclose(one, split, atol=1e-6)


def test_gains_from_metadata(tmp_path):
    model = load_nam(NAM["wavenet.nam"])
    assert model.input_level_dbu == 18.3 and model.loudness == pytest.approx(-20.0207, abs=1e-3)
    assert input_gain_for_level(model, 12.3) == pytest.approx(-6.0)
    assert input_gain_for_level(load_nam(NAM["linear_1.nam"]), 12.3) == 0.0
    src = tmp_path / "di.wav"
    sf.write(src, di(48000, 0.5), 48000)
    plain = AmpRenderer(model).render_file(src, tmp_path / "a.wav")
    louder = AmpRenderer(model).render_file(src, tmp_path / "b.wav", normalize=True)
    assert plain.output_gain_db == 0 and louder.output_gain_db == pytest.approx(-18 + 20.0207, abs=1e-3)
    a, _ = sf.read(tmp_path / "a.wav")
    b, _ = sf.read(tmp_path / "b.wav")
    assert np.allclose(b, a * 10 ** (louder.output_gain_db / 20), atol=1e-6)


def test_failed_render_leaves_nothing(tmp_path, monkeypatch):
    src = tmp_path / "di.wav"
    sf.write(src, di(48000, 0.5), 48000)
    renderer = AmpRenderer(load_nam(NAM["BossWN-nano.nam"]))

    def boom(x):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(renderer, "_run_block", boom)
    with pytest.raises(OSError):
        renderer.render_file(src, tmp_path / "out.wav")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["di.wav"]


def _project(tmp_path, rate=44100, seconds=3.0):
    media = tmp_path / "Media"
    media.mkdir()
    src = media / "gtr di.wav"
    sf.write(src, di(rate, seconds), rate, subtype="PCM_24")
    path = tmp_path / "song.RPP"
    path.write_text(empty_project(rate, 120, record_path="Media"))
    t = AddTrack("Gtr DI")
    RppFileSession(path).apply(ChangeSet("setup", (t, AddAudioItem(t.guid, str(src), 4.0, 2.0, source_offset=0.5))))
    return path, src


def test_project_mode_adds_an_active_take_and_never_touches_the_source(tmp_path):
    path, src = _project(tmp_path)
    before = hashlib.sha256(src.read_bytes()).hexdigest()
    model = load_nam(NAM["BossWN-feather.nam"])
    result = run_job("amp_render", path, {"tracks": ["Gtr DI"]}, model=NAM["BossWN-feather.nam"])
    assert not result.skipped and len(result.files) == 1 and result.applied
    assert hashlib.sha256(src.read_bytes()).hexdigest() == before
    item = Project.load(path).items()[0][1]
    assert [t.name for t in item.takes] == ["gtr di.wav", model.name] and item.active_take.name == model.name
    rendered = item.active_take.source.resolve()
    assert rendered.exists and rendered.path.parent == tmp_path / "Media"
    audio, rate = sf.read(rendered.path)
    assert rate == 44100 and len(audio) == 2 * 44100  # exactly what the item plays: 2 s from 0.5 s
    assert item.active_take.start_offset == 0 and item.active_take.playrate == 1
    # the same 2 s rendered from the file directly
    direct = tmp_path / "direct.wav"
    AmpRenderer(model).render_file(src, direct, start=int(0.5 * 44100), frames=2 * 44100)
    d, _ = sf.read(direct)
    assert np.max(np.abs(d - audio)) < 1e-6


def test_cli_render_and_info(tmp_path):
    src = tmp_path / "di.wav"
    sf.write(src, di(48000, 1.0), 48000)

    def run(*args):
        return subprocess.run([sys.executable, "-m", "bridge", "amp", *args], capture_output=True, text=True,
                              timeout=300)

    out = run("render", str(src), "--model", str(NAM["BossWN-nano.nam"]), "--bit-depth", "24")
    assert out.returncode == 0, out.stderr
    rendered = tmp_path / "di-mikeoliphant__NeuralAudio__BossWN-nano.wav"
    assert sf.info(rendered).subtype == "PCM_24" and sf.info(rendered).frames == 48000
    info = run("info", str(NAM["A2.nam"]), "--json")
    data = json.loads(info.stdout)
    assert data["architecture"] == "SlimmableContainer" and data["submodels"] == [0.5, 1.0]
    bad = run("render", str(src), "--model", str(tmp_path / "missing.nam"))
    assert bad.returncode == 1 and "does not exist" in bad.stderr and bad.stderr.count("\n") == 1


def test_integer_and_flac_outputs_clip_instead_of_wrapping(tmp_path):
    linear = next(p for p in corpus_files("nam", ".nam") if p.stem.endswith("linear_1"))
    di = tmp_path / "di.wav"
    t = np.arange(48000) / 48000
    sf.write(di, 4 * np.sin(2 * np.pi * 110 * t), 48000, subtype="FLOAT")  # a linear capture passes 4x full scale

    def render(name: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "bridge", "amp", "render", str(di), "--model", str(linear), "-o",
                               str(tmp_path / name)], capture_output=True, text=True, timeout=300)

    loud, flac = render("a.wav"), render("a.flac")
    assert loud.returncode == 0 and flac.returncode == 0, flac.stderr
    z, _ = sf.read(tmp_path / "a.wav")
    y, _ = sf.read(tmp_path / "a.flac")
    assert np.abs(z).max() > 3.0  # float keeps what went past full scale
    assert sf.info(tmp_path / "a.flac").subtype == "PCM_24" and "clipped" in flac.stdout
    np.testing.assert_allclose(y, np.clip(z, -1, 1), atol=2e-7)  # clipped, not wrapped around
    bad = render("a.xyz")
    assert bad.returncode == 1 and "a.xyz would hold audio; give it one of: .wav" in bad.stderr
