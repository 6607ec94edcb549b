"""Mastering speed and memory: reabridge against Matchering 2.0 on the same mix and reference.

Input: a 3-minute 44.1 kHz stereo mix (the demo's piano, guitar and drums, repeated) and a
reference (the same music brighter, wider and louder). Matchering 2.0.6 runs from its own venv
in benchmarks/out (it pins resampy 0.4.3, which basic-pitch forbids), created here when missing.
Anchor (issue 5): reabridge at least 10x faster with at most a quarter of the peak memory; the
preset path alone is timed too.

``--hour`` also masters a 60-minute mix (the 3-minute one 20 times) to show memory stays
bounded: the command streams, so its peak should be close to the 3-minute one's.

Run: ``.venv/bin/python benchmarks/master_speed.py [--hour]``
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf
from _common import OUT, VENV_BIN, measure

RATE = 44100
MATCHERING_VENV = OUT / "matchering-venv"
MATCHERING = """
import sys, matchering as mg
mg.log(lambda *_: None)
mg.process(target=sys.argv[1], reference=sys.argv[2], results=[mg.pcm24(sys.argv[3])])
"""


def make_inputs() -> tuple[Path, Path]:
    mix_path, ref_path = OUT / "mix_3min.wav", OUT / "reference_3min.wav"
    if mix_path.exists() and ref_path.exists():
        return mix_path, ref_path
    import soxr
    from scipy.signal import butter, lfilter

    from bridge.demo import synth

    mono = synth.piano() * 0.8 + synth.guitar_di() * 0.6 + synth.drums() * 0.7
    mono = soxr.resample(mono, synth.SAMPLE_RATE, RATE)
    reps = int(np.ceil(180 * RATE / len(mono)))
    mix = np.tile(np.stack([mono, np.roll(mono, 30) * 0.9], 1) * 0.35, (reps, 1))[: 180 * RATE]
    b, a = butter(2, 3000, "highpass", fs=RATE)
    bright = mix + 1.5 * lfilter(b, a, mix, axis=0)
    ref = np.stack([bright[:, 0], np.roll(bright[:, 1], 300) * 0.8], 1) * 0.9
    OUT.mkdir(parents=True, exist_ok=True)
    sf.write(mix_path, mix, RATE, subtype="PCM_24")
    sf.write(ref_path, np.clip(ref, -0.99, 0.99), RATE, subtype="PCM_24")
    return mix_path, ref_path


def matchering_python() -> Path:
    python = MATCHERING_VENV / "bin" / "python"
    if not python.exists():
        print("creating a venv with matchering 2.0.6 (once) ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(MATCHERING_VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "matchering==2.0.6"], check=True)
    return python


def make_hour(mix: Path) -> Path:
    path = OUT / "mix_60min.wav"
    if not path.exists():
        audio, rate = sf.read(mix, dtype="float32")
        with sf.SoundFile(path, "w", rate, audio.shape[1], "PCM_24") as f:
            for _ in range(20):
                f.write(audio)
    return path


def main() -> None:
    mix, ref = make_inputs()
    python = matchering_python()
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        ours = measure([str(VENV_BIN / "reabridge"), "master", str(mix), "--reference", str(ref), "-o",
                        str(t / "ours.wav")])
        preset = measure([str(VENV_BIN / "reabridge"), "master", str(mix), "--preset", "streaming", "-o",
                          str(t / "preset.wav")])
        theirs = measure([str(python), "-c", MATCHERING, str(mix), str(ref), str(t / "theirs.wav")])
    print(f"Matchering 2.0.6        : {theirs[0]:6.2f} s, peak {theirs[1]:6.0f} MB")
    print(f"reabridge --reference   : {ours[0]:6.2f} s, peak {ours[1]:6.0f} MB  -> {theirs[0] / ours[0]:.1f}x faster, "
          f"{ours[1] / theirs[1]:.2f} of the memory")
    print(f"reabridge --preset alone: {preset[0]:6.2f} s, peak {preset[1]:6.0f} MB")
    if "--hour" in sys.argv:
        hour = make_hour(mix)
        with tempfile.TemporaryDirectory() as tmp:
            long = measure([str(VENV_BIN / "reabridge"), "master", str(hour), "--preset", "streaming", "-o",
                            str(Path(tmp) / "hour.wav")])
        print(f"reabridge 60-min preset : {long[0]:6.2f} s, peak {long[1]:6.0f} MB  ({3600 / long[0]:.0f}x realtime)")


if __name__ == "__main__":
    main()
