"""Our speech models against their own reference code, segment by segment (as basic-pitch's notes were proved).

- The VAD: silero-vad's own ``get_speech_timestamps`` (its Python package, with torch) on the
  same 16 kHz audio gives exactly our segments.
- The recogniser: moonshine-cpp's C++ runtime (``libmoonshine.so``, its own onnxruntime 1.22)
  gives exactly our text on every segment we decode; ``transcribe_wav`` on a 16-bit WAV gives
  our text for the same samples. ``benchmarks/speech_speed.py`` and ``speech_accuracy.py``
  repeat the comparison on every segment of the four corpus clips and more.
- Neither package's Python code runs in reabridge (silero_vad imports torch).
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf
from conftest import CORPUS

from bridge.audio.reader import read_audio
from bridge.speech.chunks import speech_chunks
from bridge.speech.vad import speech_segments, to_16k
from tests.speech_reference import Reference

CLIPS = ["whisper__jfk.flac", "pyannote__sample.wav", "pyannote__dev00.wav", "pyannote__dev01.wav"]


def clip16(name: str) -> np.ndarray:
    samples, info = read_audio(CORPUS / "speech" / name, mono=True)
    return to_16k(samples, info.sample_rate)


@pytest.fixture(scope="module")
def reference() -> Reference:
    return Reference()


@pytest.mark.parametrize("name", CLIPS)
def test_vad_segments_equal_silero_vads_own(name):
    import torch
    from silero_vad import get_speech_timestamps, load_silero_vad

    audio = clip16(name)
    theirs = get_speech_timestamps(torch.from_numpy(audio), load_silero_vad(onnx=True), sampling_rate=16000)
    assert speech_segments(audio) == [(t["start"] / 16000, t["end"] / 16000) for t in theirs]
    theirs = get_speech_timestamps(torch.from_numpy(audio), load_silero_vad(onnx=True), sampling_rate=16000,
                                   threshold=0.6, min_silence_duration_ms=300, speech_pad_ms=120)
    assert speech_segments(audio, threshold=0.6, min_silence=0.3, pad=0.12) == \
        [(t["start"] / 16000, t["end"] / 16000) for t in theirs]


@pytest.mark.parametrize("name", ["whisper__jfk.flac"])  # the benchmarks cover the other clips (time)
def test_every_segment_decodes_to_the_reference_runtimes_words(name, engines, reference):
    model = engines.speech().model
    chunks = list(speech_chunks([clip16(name)]))
    assert chunks
    for chunk in chunks:
        ours = model.decode(chunk.samples)
        assert ours.finished
        assert ours.text == reference.transcribe(chunk.samples), f"{name} at {chunk.start:.2f} s"


def test_transcribe_wav_on_a_16_bit_file_gives_our_words(tmp_path, engines, reference):
    wav = tmp_path / "jfk16.wav"
    sf.write(wav, clip16("whisper__jfk.flac"), 16000, subtype="PCM_16")
    samples = sf.read(wav, dtype="int16")[0].astype(np.float32) / 32768.0  # as the runtime reads a WAV
    assert engines.speech().model.decode(samples).text == reference.transcribe_wav(wav) == \
        "And so my fellow Americans ask not what your country can do for you ask what you can do for your country"


def test_the_packages_are_used_for_their_files_only():
    code = ("import sys\n"
            "from bridge.speech.engine import SpeechEngine\n"
            "SpeechEngine()\n"
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'silero_vad', 'moonshine_cpp', 'torch', "
            "'tensorflow', 'torchaudio'}))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
