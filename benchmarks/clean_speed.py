"""Clean-up speed and memory: the whole ``reabridge clean`` command (voice chain) on a long file.

Builds ``MINUTES`` (default 5) of 48 kHz stereo speech-like audio with noise and 50 Hz hum in a
temporary folder, runs the command under ``/usr/bin/time -v`` and prints wall and CPU seconds, the
realtime factors and the peak resident memory. Run it twice with different MINUTES (5 and 60) to see
that memory does not grow with length.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf


def main() -> None:
    minutes = float(os.environ.get("MINUTES", "5"))
    rate = 48000
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "long.wav"
        rng = np.random.default_rng(0)
        with sf.SoundFile(path, "w", rate, 2, "PCM_24") as f:
            for _ in range(int(minutes * 6)):
                t = np.arange(10 * rate) / rate
                voice = 0.1 * np.sin(2 * np.pi * 150 * t + 3 * np.sin(2 * np.pi * 0.5 * t)) * (np.sin(2 * np.pi * t)
                                                                                              > 0)
                x = voice + 0.01 * rng.standard_normal(len(t)) + 0.005 * np.sin(2 * np.pi * 50 * t)
                f.write(np.stack([x, 0.9 * x], axis=1))
        reabridge = str(Path(sys.executable).with_name("reabridge"))
        run = subprocess.run(["/usr/bin/time", "-v", reabridge, "clean", str(path), "-o", str(Path(tmp) / "o.wav")],
                             capture_output=True, text=True)
        text = run.stderr
        cpu = sum(float(re.search(rf"{k} time \(seconds\): ([\d.]+)", text).group(1)) for k in ("User", "System"))
        wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): ([\d:.]+)", text).group(1)
        secs = sum(float(p) * 60 ** i for i, p in enumerate(reversed(wall.split(":"))))
        rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", text).group(1)) / 1024
        audio = minutes * 60
        print(f"{minutes:g} min 48 kHz stereo: wall {secs:.1f} s ({audio / secs:.1f}x realtime), CPU {cpu:.1f} s "
              f"({audio / cpu:.1f}x per core, {2 * audio / cpu:.1f}x on 2 cores at best), peak RSS {rss:.0f} MB")


if __name__ == "__main__":
    main()
