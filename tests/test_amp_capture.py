"""Creating a capture: alignment, checks, and a short training run on a known chain."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from pedalboard import Distortion, HighpassFilter, LowpassFilter, Pedalboard

from bridge.amp import build_network, load_nam
from bridge.amp.capture import CaptureError, find_latency, prepare_pair, train_capture
from bridge.demo import synth

SR = 48000
ESR_THRESHOLD = 0.1  # neural-amp-modeler calls < 0.1 "might sound ok"; 6 nano epochs reach about 0.06 here


def chain_pair(latency: int = 37) -> tuple[np.ndarray, np.ndarray]:
    riff = synth.guitar_di().astype(np.float32)
    di = np.concatenate([riff[: int(4.8 * SR)] * g for g in (0.6, 1.2)])
    chain = Pedalboard([HighpassFilter(80), Distortion(drive_db=12), LowpassFilter(6000)])
    wet = chain(di[None, :], SR)[0].astype(np.float32) * 0.5
    return di, np.concatenate([np.zeros(latency, np.float32), wet])[: len(di)]


@pytest.mark.parametrize("latency", [0, 37, 480])
def test_latency_is_found_by_cross_correlation(latency):
    rng = np.random.default_rng(1)
    di = rng.normal(0, 0.1, SR * 6).astype(np.float32)
    reamp = np.concatenate([np.zeros(latency, np.float32), np.tanh(3 * di)])[: len(di)]
    assert find_latency(di, reamp, SR) == latency


def test_mismatched_rates_and_lengths_are_refused():
    di, reamp = chain_pair()
    with pytest.raises(CaptureError, match="same rate"):
        prepare_pair(di, reamp, SR, 44100)
    with pytest.raises(CaptureError, match="within 1 s"):
        prepare_pair(di, reamp[: len(reamp) - 2 * SR], SR, SR)
    with pytest.raises(CaptureError, match="at least 5 seconds"):
        prepare_pair(di[:SR], reamp[:SR], SR, SR)
    with pytest.raises(CaptureError, match="re-amp clips"):
        prepare_pair(di, reamp * 10, SR, SR)


def test_short_training_captures_a_distortion_chain(tmp_path):
    di, reamp = chain_pair()
    seen = []
    result = train_capture(di, reamp, SR, tmp_path / "chain.nam", size="nano", epochs=6, name="Test chain",
                           lr=0.01, segment=2048, progress=lambda e, n, v: seen.append((e, v)))
    assert [e for e, _ in seen] == list(range(1, 7))
    assert abs(result.latency_samples - 37) <= 2  # the IIR filters add about a sample of phase delay
    assert result.validation_esr < ESR_THRESHOLD, result
    assert seen[-1][1] < seen[0][1]
    # the file loads back in reabridge and in neural-amp-modeler, with our metadata
    model = load_nam(result.path)
    meta = model.metadata
    assert meta["name"] == "Test chain" and meta["modeled_by"] == "reabridge"
    assert meta["training"]["validation_esr"] == pytest.approx(result.validation_esr)
    assert meta["training"]["architecture"] == "WaveNet nano" and "date" in meta
    from nam.models._from_nam import init_from_nam

    raw = json.loads(result.path.read_text())
    ref = init_from_nam(raw).eval()
    net = build_network(model)
    ours = net(np.concatenate([np.zeros(net.receptive_field - 1, np.float32), di[:SR]]))
    with torch.no_grad():
        theirs = ref(torch.from_numpy(di[:SR])).numpy()
    assert np.allclose(ours, theirs, atol=1e-5 * float(np.sqrt(np.mean(theirs ** 2))))


def test_cli_capture_from_project_items(tmp_path):
    import subprocess
    import sys

    import soundfile as sf

    from bridge.changes import AddAudioItem, AddTrack, ChangeSet
    from bridge.changes.chunks import empty_project
    from bridge.project import Project
    from bridge.session import RppFileSession

    di, reamp = chain_pair(latency=120)
    sf.write(tmp_path / "di.wav", di, SR, subtype="FLOAT")
    sf.write(tmp_path / "amp.wav", reamp, SR, subtype="FLOAT")
    path = tmp_path / "song.RPP"
    path.write_text(empty_project(SR, 120))
    a, b = AddTrack("DI"), AddTrack("Amp")
    RppFileSession(path).apply(ChangeSet("s", (a, b, AddAudioItem(a.guid, str(tmp_path / "di.wav"), 0, len(di) / SR),
                                                 AddAudioItem(b.guid, str(tmp_path / "amp.wav"), 0, len(di) / SR))))
    (_, di_item), (_, amp_item) = Project.load(path).items()
    out = subprocess.run([sys.executable, "-m", "bridge", "amp", "capture", "--project", str(path), "--di-item",
                          di_item.guid, "--reamp-item", amp_item.guid, "--size", "nano", "--epochs", "1",
                          "-o", str(tmp_path / "new.nam")], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "latency 12" in out.stdout and "validation ESR" in out.stdout
    assert load_nam(tmp_path / "new.nam").metadata["training"]["epochs"] == 1
