"""Transcription accuracy: corpus MIDI rendered to audio, scored with mir_eval.

Each MIDI file is rendered with fluidsynth (FluidR3 GM soundfont, Debian), the
first 60 s are transcribed by reabridge and by basic-pitch's own ``predict``
(ONNX model, same parameters), and both are scored against the MIDI notes with
``mir_eval.transcription``: note F-measure with onsets only (50 ms) and with
offsets (50 ms onsets, 20 % offset ratio). The two engines should score the
same; any difference is a bug.

Run: ``.venv/bin/python benchmarks/transcribe_accuracy.py``
"""

from __future__ import annotations

import numpy as np
from _common import CORPUS, OUT, excerpt, midi_notes, render_midi

from bridge.transcribe import NoteParams, Transcriber
from bridge.transcribe.model import model_path

PIECES = [
    "MidiTok__6338816_Etude_No._4.mid",
    "MidiTok__POP909_008.mid",
    "MidiTok__Maestro_1.mid",
    "mirdata__slakh_Track00001_S02_piano.mid",
    "mirdata__slakh_Track00001_S03_bass.mid",
    "mirdata__slakh_Track00001_S00_guitar.mid",
]
SECONDS = 60.0


def scores(ref_iv, ref_p, est_iv, est_p) -> tuple[float, float]:
    import mir_eval

    if len(est_iv) == 0 or len(ref_iv) == 0:
        return 0.0, 0.0
    onset = mir_eval.transcription.precision_recall_f1_overlap(ref_iv, ref_p, est_iv, est_p, offset_ratio=None)[2]
    full = mir_eval.transcription.precision_recall_f1_overlap(ref_iv, ref_p, est_iv, est_p)[2]
    return onset, full


def main() -> None:
    from basic_pitch.inference import Model, predict

    reference_model = Model(model_path())
    engine = Transcriber()
    params = NoteParams()
    print(f"{'piece (first 60 s)':44} {'notes':>5} | {'reabridge F(on) F(on+off)':>25} | "
          f"{'basic-pitch F(on) F(on+off)':>27}")
    totals = []
    for name in PIECES:
        wav = excerpt(render_midi(CORPUS / "midi" / name, OUT / f"{name}.wav"), OUT / f"{name}.60s.wav", SECONDS)
        ref_iv, ref_p = midi_notes(CORPUS / "midi" / name)
        keep = ref_iv[:, 0] < SECONDS
        ref_iv, ref_p = ref_iv[keep], ref_p[keep]
        ref_iv[:, 1] = np.minimum(ref_iv[:, 1], SECONDS)
        ours = engine.transcribe_file(wav, params).notes
        est_iv = np.array([[n.start, n.end] for n in ours]).reshape(-1, 2)
        est_p = np.array([440.0 * 2 ** ((n.pitch - 69) / 12) for n in ours])
        _, _, theirs = predict(wav, reference_model)
        bp_iv = np.array([[s, e] for s, e, *_ in theirs]).reshape(-1, 2)
        bp_p = np.array([440.0 * 2 ** ((p - 69) / 12) for _, _, p, *_ in theirs])
        a, b = scores(ref_iv, ref_p, est_iv, est_p), scores(ref_iv, ref_p, bp_iv, bp_p)
        totals.append((a, b))
        flag = "" if np.allclose(a, b) else "   <-- differs"
        print(f"{name:44} {len(ref_p):5d} | {a[0]:12.3f} {a[1]:12.3f} | {b[0]:13.3f} {b[1]:13.3f}{flag}")
    mean_a = np.mean([t[0] for t in totals], axis=0)
    mean_b = np.mean([t[1] for t in totals], axis=0)
    print(f"{'mean':44} {'':5} | {mean_a[0]:12.3f} {mean_a[1]:12.3f} | {mean_b[0]:13.3f} {mean_b[1]:13.3f}")


if __name__ == "__main__":
    main()
