"""Speech speed and memory: 10 minutes of speech, the whole command one-shot and warm, beside moonshine-cpp.

Input: every English recording of ``speech_accuracy.py`` plus the corpus' AMI excerpts, joined
with 0.5 s pauses and repeated to 10 minutes (16 kHz WAV, written to benchmarks/out).

- one-shot: ``reabridge speech long.wav -o long.json`` as a user runs it (model loading included);
- warm: ``run_request`` in a process whose engines are already loaded (the daemon's case);
- the same segments (our VAD chunks) decoded by our decoder and by moonshine-cpp's own C++
  runtime (``libmoonshine.so``), each in its own process, with the peak memory of each (the
  0.1.4 runtime keeps ~300 MB more after every call, so it runs 8 segments per process);
- moonshine-cpp on the first 30, 60 and 120 s in one call each: what a long call costs it
  (its memory grows with the square of the length; ours is bounded by the 20 s chunks).
``--hour`` also runs the one-shot command on 60 minutes (the 10 repeated) to show flat memory.

Realtime factor = processing seconds / audio seconds (lower is faster), given for wall-clock time
and for CPU time (all threads; the fair figure when other work shares the 2 cores). Peak memory is
the process's maximum resident set. Run: ``.venv/bin/python benchmarks/speech_speed.py [--hour]``
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf
from _common import CORPUS, OUT, REPO, VENV_BIN
from speech_accuracy import CONVERSATIONAL, READ

from bridge.audio.reader import read_audio
from bridge.speech.vad import to_16k

RATE = 16000
BATCH = 8  #: segments per moonshine-cpp process


def build(seconds: float, path: Path) -> Path:
    if path.exists():
        return path
    pieces = []
    clips = [p for p, _ in READ + CONVERSATIONAL] + [CORPUS / "speech" / f"pyannote__dev0{i}.wav" for i in (0, 1)]
    for clip in clips:
        samples, info = read_audio(clip, mono=True)
        pieces += [to_16k(samples, info.sample_rate), np.zeros(RATE // 2, dtype=np.float32)]
    one = np.concatenate(pieces)
    reps = int(np.ceil(seconds * RATE / len(one)))
    audio = np.tile(one, reps)[: int(seconds * RATE)]
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, audio, RATE, subtype="PCM_16")
    return path


WARM = """
import json, resource, sys, time
from pathlib import Path
from bridge.jobs.engines import Engines
from bridge.requests import parse_request
from bridge.requests.run import run_request
engines = Engines()
t = time.perf_counter(); engines.warm(["speech"]); load = time.perf_counter() - t
request = parse_request({"id": "speech-bench", "job": "speech",
                         "options": {"audio": sys.argv[1], "output": sys.argv[2], "overwrite": True}})
t, c = time.perf_counter(), time.process_time(); run_request(request, engines=engines)
run, cpu = time.perf_counter() - t, time.process_time() - c
print(json.dumps({"load": load, "run": run, "cpu": cpu,
                  "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

SEGMENTS = """
import json, resource, sys, time
import numpy as np, soundfile as sf
from bridge.speech.chunks import speech_chunks
audio = sf.read(sys.argv[1], dtype="float32")[0]
chunks = [c.samples for c in speech_chunks([audio[i:i + 65536] for i in range(0, len(audio), 65536)])]
total = len(chunks)
chunks = chunks[int(sys.argv[4]):int(sys.argv[4]) + int(sys.argv[5])]
if sys.argv[2] == "ours":
    from bridge.speech.moonshine import Moonshine
    model = Moonshine(); decode = lambda x: model.decode(x).text
else:
    sys.path.insert(0, sys.argv[3])
    from tests.speech_reference import Reference
    model = Reference(); decode = model.transcribe
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
t, c = time.perf_counter(), time.process_time(); texts = [decode(x) for x in chunks]
run, cpu = time.perf_counter() - t, time.process_time() - c
print(json.dumps({"run": run, "cpu": cpu, "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "before": base,
                  "segments": len(chunks), "total": total, "texts": texts,
                  "speech": sum(len(c) for c in chunks) / 16000}))
"""

LONG_CALL = """
import json, resource, sys, time
import soundfile as sf
sys.path.insert(0, sys.argv[3])
from tests.speech_reference import Reference
audio = sf.read(sys.argv[1], dtype="float32")[0][: int(float(sys.argv[2]) * 16000)]
model = Reference()
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
t, c = time.perf_counter(), time.process_time(); text = model.transcribe(audio)
run, cpu = time.perf_counter() - t, time.process_time() - c
print(json.dumps({"run": run, "cpu": cpu, "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "before": base,
                  "words": len(text.split())}))
"""


def measure_cpu(cmd: list[str]) -> tuple[float, float, float]:
    """Run a command: (wall seconds, CPU seconds of all its threads, peak resident MB)."""
    import os
    import time

    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{cmd[1:3]} failed: {proc.stderr.read().decode()[-500:] if proc.stderr else ''}")
    return time.perf_counter() - t0, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024.0


def python(code: str, *args: str) -> dict:
    out = subprocess.run([str(VENV_BIN / "python"), "-c", code, *args], capture_output=True, text=True, cwd=REPO,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    ten = build(600.0, OUT / "speech_600s.wav")
    minutes = sf.info(ten).duration
    print(f"input: {ten.name}, {minutes:.0f} s of audio (2 cores)\n")
    with tempfile.TemporaryDirectory() as tmp:
        wall, cpu, rss = measure_cpu([str(VENV_BIN / "reabridge"), "speech", str(ten), "-o", f"{tmp}/a.json"])
        print(f"one-shot  reabridge speech -o .json : {wall:6.1f} s wall ({wall / minutes:.3f} x realtime), "
              f"{cpu:6.1f} s CPU ({cpu / minutes:.3f}), peak {rss:.0f} MB")
        warm = python(WARM, str(ten), f"{tmp}/b.json")
        print(f"warm      run_request (engines loaded in {warm['load']:.1f} s): {warm['run']:6.1f} s wall "
              f"({warm['run'] / minutes:.3f}), {warm['cpu']:6.1f} s CPU ({warm['cpu'] / minutes:.3f}), "
              f"peak {warm['rss']:.0f} MB")
    ours = python(SEGMENTS, str(ten), "ours", str(REPO), "0", "100000")
    theirs = {"run": 0.0, "cpu": 0.0, "rss": 0.0, "before": 0.0, "texts": []}
    for start in range(0, ours["total"], BATCH):  # the runtime keeps ~300 MB per call: a fresh process per batch
        part = python(SEGMENTS, str(ten), "reference", str(REPO), str(start), str(BATCH))
        for key in ("run", "cpu"):
            theirs[key] += part[key]
        theirs["rss"], theirs["before"] = max(theirs["rss"], part["rss"]), max(theirs["before"], part["before"])
        theirs["texts"] += part["texts"]
    same = sum(a == b for a, b in zip(ours["texts"], theirs["texts"], strict=True))
    print(f"\nthe same {ours['segments']} segments ({ours['speech']:.0f} s of speech), decoding only:")
    for label, r in (("reabridge decoder        ", ours), ("moonshine-cpp C++ runtime", theirs)):
        print(f"  {label} : {r['run']:6.1f} s wall, {r['cpu']:6.1f} s CPU, peak {r['rss']:.0f} MB "
              f"({r['before']:.0f} MB after loading)")
    print(f"  (moonshine-cpp 0.1.4 does not give back ~300 MB per call: it ran {BATCH} segments per process, and its "
          "peak is the largest of those processes')")
    print(f"  speed-up {theirs['run'] / ours['run']:.2f}x wall, {theirs['cpu'] / ours['cpu']:.2f}x CPU; identical text "
          f"on {same} of {ours['segments']} segments")
    print("\nmoonshine-cpp on one long call (what chunking avoids):")
    for seconds in (30, 60, 120):
        long = python(LONG_CALL, str(ten), str(seconds), str(REPO))
        print(f"  {seconds:4d} s in one call: {long['run']:6.1f} s wall, {long['cpu']:6.1f} s CPU, "
              f"peak {long['rss']:.0f} MB "
              f"(+{long['rss'] - long['before']:.0f} MB for the call), {long['words']} words")
    if "--hour" in sys.argv:
        hour = OUT / "speech_3600s.wav"
        if not hour.exists():
            audio = sf.read(ten, dtype="int16")[0]
            sf.write(hour, np.tile(audio, 6), RATE, subtype="PCM_16")
        with tempfile.TemporaryDirectory() as tmp:
            wall, cpu, rss = measure_cpu([str(VENV_BIN / "reabridge"), "speech", str(hour), "-o", f"{tmp}/h.srt"])
        print(f"\none-shot on 60 minutes: {wall:6.1f} s wall ({wall / 3600:.3f} x realtime), {cpu:6.1f} s CPU "
              f"({cpu / 3600:.3f}), peak {rss:.0f} MB")


if __name__ == "__main__":
    main()
