"""Tempo detection cost: the one-off numba warm-up and the per-file analysis, in one process.

Input: the same fluidsynth render of MidiTok__Maestro_2.mid as transcribe_speed.py, 60 s and
10 min. Anchor: librosa's own ``beat_track`` on the same audio in the same process (after
reabridge's warm-up, so both run compiled code).

Run: ``.venv/bin/python benchmarks/tempo_speed.py``
"""

from __future__ import annotations

import time

import soundfile as sf
from _common import CORPUS, OUT, excerpt, librosa_beats, render_midi

from bridge.tempo import TempoDetector


def main() -> None:
    t0 = time.perf_counter()
    detector = TempoDetector()
    print(f"first TempoDetector in this process: {time.perf_counter() - t0:.2f} s "
          f"(numba warm-up {detector.warmup_seconds:.2f} s)")

    full = render_midi(CORPUS / "midi" / "MidiTok__Maestro_2.mid", OUT / "maestro2.wav")
    for label, seconds in (("60 s", 60), ("10 min", 600)):
        path = excerpt(full, OUT / f"maestro2_{seconds}s.wav", seconds)
        y, sr = sf.read(path, dtype="float32")
        y = y.mean(axis=1)
        t0 = time.perf_counter()
        result = detector.detect(y, sr)
        ours = time.perf_counter() - t0
        plain_bpm, _, plain = librosa_beats(y, sr)
        print(f"{label}: reabridge {ours:.2f} s ({seconds / ours:.0f}x realtime, {result.bpm:.1f} BPM, "
              f"{len(result.beats)} beats) | librosa beat_track {plain:.2f} s ({plain_bpm:.1f} BPM)"
              f" | ratio {ours / plain:.2f}")


if __name__ == "__main__":
    main()
