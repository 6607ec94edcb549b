"""Clean-up speed and memory: the whole ``reabridge clean`` command (the voice chain) on real speech.

Builds ``MINUTES`` (default 1.44, i.e. 86.5 s) of 48 kHz stereo 24-bit material in a temporary folder:
LibriSpeech test-other utterances (``CLEAN_SPEECH``, CC BY 4.0) with 0.4 s pauses, Blanket's coffee-shop
noise (``CLEAN_NOISE``, public domain) at 10 dB SNR and 50 Hz hum with four harmonics; the right channel
is 0.9 x the left plus the noise 0.1 s later. ``CLEAN_SPEED_INPUT`` names a file to use instead.

Runs ``reabridge clean IN -o OUT`` (no stage options: de-hum, de-click, denoise voice) ``RUNS`` times
(default 3) under ``/usr/bin/time -v`` and prints the median wall and CPU (user + system) seconds, the
realtime factors and the peak resident memory. The anchor, in the same run: RNNoise alone (the shipped
library through :func:`bridge.clean.rnnoise.rnnoise`) over the same file's channel mean, in a fresh
process, CPU seconds (median of ``RUNS``). On a loaded machine the wall time says little; the CPU time is
what two free cores would share, so ``2 x audio / CPU`` is the best a 2-core machine can reach.

Run with MINUTES=10 and MINUTES=60 (RUNS=1) to see that the peak memory does not grow with the length.
"""

from __future__ import annotations

import glob
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

RATE = 48000
ANCHOR = """
import sys, soundfile as sf
from bridge.clean.rnnoise import rnnoise
with sf.SoundFile(sys.argv[1]) as f:
    for block in f.blocks(blocksize=20 * 48000, dtype='float32', always_2d=True):
        rnnoise(block.mean(axis=1))
"""


def material(path: Path, minutes: float) -> None:
    """Real speech, real noise and hum, streamed to ``path`` (48 kHz stereo, 24-bit)."""
    from bridge.audio.resample import resample_stream

    def rs(x: np.ndarray, a: float, b: float) -> np.ndarray:
        return x if a == b else np.concatenate(list(resample_stream([x.astype(np.float32)], a, b, len(x))))

    speech = sorted(glob.glob(os.environ.get("CLEAN_SPEECH", "/work/speakers-data/audio_data/librispeech_test-other")
                              + "/*/*.flac"))
    noise, nrate = sf.read(os.environ.get("CLEAN_NOISE", "/work/clean-corpus/noise") + "/blanket_coffee-shop.ogg",
                           dtype="float32")
    noise = rs(noise.mean(axis=1) if noise.ndim == 2 else noise, nrate, RATE)
    rng = np.random.default_rng(1)
    total, done, level = int(minutes * 60 * RATE), 0, None
    with sf.SoundFile(path, "w", RATE, 2, "PCM_24") as f:
        while done < total:
            s, sr = sf.read(speech[rng.integers(len(speech))], dtype="float32")
            s = rs(np.concatenate([s, np.zeros(int(0.4 * sr), np.float32)]), sr, RATE)[: total - done]
            start = int(rng.integers(0, len(noise) - len(s) - RATE)) if len(noise) > len(s) + RATE else 0
            n = np.resize(noise[start:], len(s) + 4800)
            level = level or float(np.sqrt(np.mean(s ** 2) / np.mean(n ** 2)) * 10 ** (-10 / 20))
            t = (done + np.arange(len(s))) / RATE
            hum = sum(0.003 / k * np.sin(2 * np.pi * 50 * k * t + k) for k in range(1, 6))
            x = s + level * n[4800:] + hum
            f.write(np.stack([x, 0.9 * x + 0.1 * level * n[: len(s)]], axis=1))
            done += len(s)


def timed(command: list[str]) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds (user + system) and peak resident MB of ``command``."""
    run = subprocess.run(["/usr/bin/time", "-v", *command], capture_output=True, text=True)
    text = run.stderr
    if run.returncode != 0:
        raise SystemExit(text[-2000:])
    cpu = sum(float(re.search(rf"{k} time \(seconds\): ([\d.]+)", text).group(1)) for k in ("User", "System"))
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): ([\d:.]+)", text).group(1)
    secs = sum(float(p) * 60 ** i for i, p in enumerate(reversed(wall.split(":"))))
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", text).group(1)) / 1024
    return secs, cpu, rss


def main() -> None:
    minutes = float(os.environ.get("MINUTES", "1.44"))
    runs = int(os.environ.get("RUNS", "3"))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(os.environ.get("CLEAN_SPEED_INPUT") or Path(tmp) / "speech.wav")
        if not path.exists():
            material(path, minutes)
        audio = sf.info(str(path)).frames / sf.info(str(path)).samplerate
        reabridge = str(Path(sys.executable).with_name("reabridge"))
        ours, anchor = [], []
        for _ in range(runs):
            ours.append(timed([reabridge, "clean", str(path), "-o", str(Path(tmp) / "o.wav"), "--overwrite"]))
            anchor.append(timed([sys.executable, "-c", ANCHOR, str(path)]))
        wall, cpu, rss = (statistics.median(v) for v in zip(*ours, strict=True))
        anchor_cpu = statistics.median(c for _, c, _ in anchor)
        print(f"{audio:.1f} s of 48 kHz stereo speech, median of {runs}: wall {wall:.1f} s ({audio / wall:.1f}x "
              f"realtime), CPU {cpu:.2f} s ({audio / cpu:.1f}x per core, {2 * audio / cpu:.1f}x on 2 free cores at "
              f"best), peak RSS {rss:.0f} MB; anchor RNNoise alone: CPU {anchor_cpu:.2f} s "
              f"({anchor_cpu / audio:.3f} s per audio second)")
        print("runs (wall, CPU, MB):", ", ".join(f"({w:.1f}, {c:.2f}, {r:.0f})" for w, c, r in ours),
              "anchor CPU:", ", ".join(f"{c:.2f}" for _, c, _ in anchor))


if __name__ == "__main__":
    main()
