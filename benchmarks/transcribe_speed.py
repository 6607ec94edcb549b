"""Transcription speed and memory: reabridge against the basic-pitch CLI, same files, one run.

Input: a real piano performance (corpus MIDI MidiTok__Maestro_2.mid, 15 min) rendered with
fluidsynth and the FluidR3 GM soundfont, cut to 60 s and 10 min (44.1 kHz stereo WAV).
Anchors (issue 3): one-shot ``reabridge transcribe`` at least 2x faster than ``basic-pitch``
with at most half its peak memory (issue 21 found 0.58 on the 60 s file: onnxruntime's arena
for batches of 4 windows; one window per call, as basic-pitch's ``predict``, fixed it); the warm
path (model loaded, as in the daemon) at least 150x realtime on 2 cores. ``--hour`` also
transcribes a 1-hour file (the 10 min repeated) to show bounded memory.

Run: ``.venv/bin/python benchmarks/transcribe_speed.py [--hour]``
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from _common import CORPUS, OUT, VENV_BIN, excerpt, measure, render_midi

from bridge.transcribe import Transcriber


def main() -> None:
    full = render_midi(CORPUS / "midi" / "MidiTok__Maestro_2.mid", OUT / "maestro2.wav")
    files = {"60 s": excerpt(full, OUT / "maestro2_60s.wav", 60),
             "10 min": excerpt(full, OUT / "maestro2_600s.wav", 600)}
    if "--hour" in sys.argv:
        files["60 min"] = excerpt(full, OUT / "maestro2_3600s.wav", 600, repeat=6)
    durations = {"60 s": 60.0, "10 min": 600.0, "60 min": 3600.0}

    print(f"{'input':>7} | {'basic-pitch CLI':>22} | {'reabridge transcribe':>22} | speed-up | memory ratio")
    for label, path in files.items():
        if label == "60 min":
            bp = (float("nan"), float("nan"))
        else:
            with tempfile.TemporaryDirectory() as out_dir:
                bp = measure([str(VENV_BIN / "basic-pitch"), out_dir, str(path)])
        with tempfile.TemporaryDirectory() as out_dir:
            ours = measure([str(VENV_BIN / "reabridge"), "transcribe", str(path), "-o", str(Path(out_dir) / "o.mid")])
        print(f"{label:>7} | {bp[0]:7.2f} s {bp[1]:8.0f} MB | {ours[0]:7.2f} s {ours[1]:8.0f} MB | "
              f"{bp[0] / ours[0]:7.2f}x | {ours[1] / bp[1]:.2f}")

    engine = Transcriber()
    engine.transcribe_file(files["60 s"])  # warm: model loaded, first-call costs paid
    for label in ("60 s", "10 min"):
        t0 = time.perf_counter()
        result = engine.transcribe_file(files[label])
        wall = time.perf_counter() - t0
        print(f"warm path {label}: {wall:.2f} s for {durations[label]:.0f} s of audio = "
              f"{durations[label] / wall:.0f}x realtime ({len(result.notes)} notes)")


if __name__ == "__main__":
    main()
