"""Transcription equals basic-pitch's reference predict() with the ONNX model."""

from __future__ import annotations

import numpy as np
import pytest
from audio_signals import melody, write
from conftest import CORPUS

from bridge.transcribe import NoteParams, Transcriber
from bridge.transcribe import frames as frames_module


@pytest.fixture(scope="module")
def reference():
    # importing basic_pitch here is fine: the no-TensorFlow promise is checked in a
    # clean interpreter by test_transcribe_imports.py
    from basic_pitch.inference import Model, predict

    from bridge.transcribe.model import model_path

    model = Model(model_path())

    def run(path, params: NoteParams):
        _, _, events = predict(
            path, model, params.onset_threshold, params.frame_threshold, params.minimum_note_length,
            params.minimum_frequency, params.maximum_frequency, params.multiple_pitch_bends,
            params.melodia_trick, None, params.midi_tempo,
        )
        return events

    return run


@pytest.fixture(scope="module")
def engine():
    return Transcriber()


def assert_same_notes(ours, theirs):
    a = sorted((n.start, n.end, n.pitch, n.velocity, n.bends) for n in ours)
    b = sorted((float(s), float(e), int(p), int(np.round(127 * amp)), tuple(bd) if bd else None)
               for s, e, p, amp, bd in theirs)
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        assert abs(x[0] - y[0]) <= 0.001 and abs(x[1] - y[1]) <= 0.001, (x, y)
        assert x[2] == y[2] and abs(x[3] - y[3]) <= 1, (x, y)
        assert x[4] == y[4], (x[:3], "pitch bends differ")


PARAMS = [
    NoteParams(),
    NoteParams(onset_threshold=0.3, frame_threshold=0.2, minimum_note_length=50),
    NoteParams(minimum_frequency=100, maximum_frequency=500, melodia_trick=False),
    NoteParams(onset_threshold=0.7, frame_threshold=0.4, minimum_note_length=250, multiple_pitch_bends=True),
]


@pytest.mark.parametrize("params", PARAMS, ids=["default", "sensitive", "band-no-melodia", "strict"])
@pytest.mark.parametrize("name", ["audio/basic-pitch-ts__C_major.mp3",
                                  "audio/mirdata__slakh_Track00001_S00_guitar_first2s.wav",
                                  "tempo/basic-pitch-ts__vocal-da-80bpm.22050.wav"])
def test_corpus_audio_matches_reference(name, params, engine, reference):
    path = CORPUS / name
    assert_same_notes(engine.transcribe_file(path, params).notes, reference(path, params))


@pytest.mark.parametrize(
    ("rate", "channels", "subtype", "suffix"),
    [(44100, 2, "PCM_16", ".wav"), (8000, 1, "PCM_16", ".wav"), (192000, 3, "FLOAT", ".wav"),
     (48000, 2, None, ".flac"), (32000, 1, None, ".ogg"), (96000, 2, "PCM_24", ".aiff")],
)
def test_synthesised_audio_matches_reference(tmp_path, rate, channels, subtype, suffix, engine, reference):
    mono = melody(rate, vibrato=0.4 if channels > 1 else 0.0)
    data = np.stack([mono * (0.6 + 0.2 * c) for c in range(channels)], axis=1) if channels > 1 else mono
    path = write(tmp_path / f"sig{suffix}", data, rate, subtype)
    ours = engine.transcribe_file(path, NoteParams())
    assert len(ours.notes) >= 8
    assert_same_notes(ours.notes, reference(path, NoteParams()))


def test_long_input_with_contour_on_disk_matches(tmp_path, engine, reference, monkeypatch):
    monkeypatch.setattr(frames_module, "CONTOUR_IN_MEMORY_BYTES", 1024)
    sr = 22050
    data = np.concatenate([melody(sr, 6.0, vibrato=0.5)] * 4)  # 24 s: several windows, bends
    path = write(tmp_path / "long.wav", data, sr, "FLOAT")
    assert_same_notes(engine.transcribe_file(path, NoteParams()).notes, reference(path, NoteParams()))


def test_silence_gives_no_notes_and_a_message(tmp_path, engine, reference):
    path = write(tmp_path / "silence.wav", np.zeros(44100 * 3, dtype=np.float32), 44100)
    result = engine.transcribe_file(path)
    assert result.notes == [] and "no notes found" in result.message
    assert reference(path, NoteParams()) == []


def test_pitches_of_a_clean_melody(tmp_path, engine):
    path = write(tmp_path / "m.wav", melody(44100), 44100)
    notes = engine.transcribe_file(path).sorted_notes()
    melody_notes = [n.pitch for n in notes if n.start < 3.9]
    for pitch in (60, 62, 64, 65, 67, 69, 71, 72):
        assert pitch in melody_notes
    first = next(n for n in notes if n.pitch == 60)
    assert abs(first.start - 0.0) < 0.05
