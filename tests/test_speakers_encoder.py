"""The speaker encoder in numpy against Resemblyzer's own VoiceEncoder (torch), and the .pt reader."""

from __future__ import annotations

import pickle
import sys
import types
import warnings

import numpy as np
import pytest
import soundfile as sf
from conftest import CORPUS

from bridge.speech.encoder import PARTIAL, SpeakerEncoder, encoder_file, mel_filters, mel_frames
from bridge.speech.torch_file import TorchFileError, load_tensors
from bridge.speech.vad import to_16k


@pytest.fixture(scope="module")
def reference():
    """Resemblyzer's VoiceEncoder (its package imports webrtcvad, which we do not install: a stand-in module)."""
    import torch

    sys.modules.setdefault("webrtcvad", types.ModuleType("webrtcvad"))
    with warnings.catch_warnings():  # resemblyzer imports scipy.ndimage.morphology, deprecated
        warnings.simplefilter("ignore", DeprecationWarning)
        from resemblyzer import VoiceEncoder, audio

    torch.set_num_threads(1)
    return VoiceEncoder("cpu", verbose=False), audio


@pytest.fixture(scope="module")
def ours():
    return SpeakerEncoder()


def _speech(name: str, start: float, end: float) -> np.ndarray:
    samples, rate = sf.read(CORPUS / "speech" / name, dtype="float32", always_2d=True)
    return to_16k(samples.mean(axis=1)[int(start * rate):int(end * rate)], rate)


CLIPS = [("pyannote__sample.wav", 6.6, 12.0), ("pyannote__sample.wav", 14.4, 17.8),
         ("pyannote__dev00.wav", 3.0, 9.0), ("whisper__jfk.flac", 0.0, 4.0)]


@pytest.mark.parametrize(("name", "start", "end"), CLIPS)
def test_utterance_embeddings_equal_resemblyzers(reference, ours, name, start, end):
    encoder, audio = reference
    wav = _speech(name, start, end)
    assert np.abs(mel_frames(wav) - audio.wav_to_mel_spectrogram(wav)).max() <= 1e-6 * np.abs(mel_frames(wav)).max()
    theirs = encoder.embed_utterance(wav)
    mine = ours.embed_utterance(wav)
    assert np.abs(theirs - mine).max() <= 1e-5
    assert float(theirs @ mine) > 0.99999


def test_partials_of_different_lengths_share_a_batch(reference, ours):
    """Rows shorter than the batch's longest are embedded as if alone (each its own final state)."""
    import torch

    encoder, _ = reference
    mel = mel_frames(_speech("pyannote__sample.wav", 6.6, 20.0))
    lengths = np.array([PARTIAL, 57, 120, PARTIAL, 31])
    rows = np.zeros((len(lengths), PARTIAL, 40), dtype=np.float32)
    for i, n in enumerate(lengths):
        rows[i, :n] = mel[i * 100:i * 100 + n]
    mine = ours.embed(rows, lengths)
    with torch.no_grad():
        theirs = np.stack([encoder(torch.from_numpy(rows[i:i + 1, :n])).numpy()[0] for i, n in enumerate(lengths)])
    assert np.abs(theirs - mine).max() <= 1e-5
    threaded = SpeakerEncoder(batch=2, threads=2).embed(rows, lengths)
    assert np.abs(threaded - mine).max() <= 1e-6


def test_mel_filters_are_librosas():
    import librosa

    assert np.abs(mel_filters() - librosa.filters.mel(sr=16000, n_fft=400, n_mels=40)).max() < 1e-8


def test_the_pt_reader_keeps_only_tensors(tmp_path):
    state = load_tensors(encoder_file(), "model_state")
    assert state["lstm.weight_hh_l2"].shape == (1024, 256) and state["linear.bias"].shape == (256,)
    hostile = tmp_path / "hostile.pt"
    with open(hostile, "wb") as f:
        for head in (0x1950A86A20F9469CFC6C, 1001, {"little_endian": True}):
            pickle.dump(head, f)
        f.write(b"cos\nsystem\n(S'echo hi'\ntR.")  # a pickle that would run a shell command
    with pytest.raises(TorchFileError, match=r"os\.system"):
        load_tensors(hostile)
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(encoder_file().read_bytes()[:200000])
    with pytest.raises(TorchFileError, match="truncated"):
        load_tensors(truncated, "model_state")
