"""Batch throughput: projects per minute, local 1 and 2 processes and Dask 1 and 2 workers, same 8 projects.

Each project: 4 tracks of 60 s, 44.1 kHz stereo, fades and pans; the batch renders
and masters each to -14 LUFS. Every configuration starts from an empty output
folder (nothing up to date) and is timed as the whole command, start-up included.

Run: ``.venv/bin/python benchmarks/batch_throughput.py``
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

SR = 44100
PROJECTS = 8


def make_projects(root: Path) -> None:
    rng = np.random.default_rng(7)
    for p in range(PROJECTS):
        folder = root / f"song{p}"
        folder.mkdir(parents=True)
        tracks = []
        for n in range(4):
            t = np.arange(60 * SR) / SR
            x = 0.2 * np.sin(2 * np.pi * 110 * (n + 1 + p) * t)[:, None] + 0.03 * rng.standard_normal((len(t), 2))
            sf.write(folder / f"t{n}.wav", x.astype(np.float32), SR, subtype="PCM_24")
            tracks.append(f"""  <TRACK
    NAME t{n}
    VOLPAN 0.7 {(n - 1.5) / 3} -1 -1 1
    MUTESOLO 0 0 0
    NCHAN 2
    MAINSEND 1 0
    <ITEM
      POSITION 0
      LENGTH 60
      FADEIN 1 0.2 0 1 0 0 0
      FADEOUT 1 1 0 1 0 0 0
      VOLPAN 1 0 1 -1
      <SOURCE WAVE
        FILE "t{n}.wav"
      >
    >
  >
""")
        (folder / "song.RPP").write_text(f'<REAPER_PROJECT 0.1 "7.27/bench" 0\n  SAMPLERATE {SR} 1 0\n'
                                         f"{''.join(tracks)}>\n")


def timed(args: list[str]) -> float:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "bridge", "batch", *args], capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode:
        raise SystemExit(done.stderr)
    return seconds


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        make_projects(root / "songs")
        configs = [("local, 1 process", ["--jobs", "1"]), ("local, 2 processes", ["--jobs", "2"]),
                   ("Dask, 1 worker", ["--jobs", "1", "--executor", "dask"]),
                   ("Dask, 2 workers", ["--jobs", "2", "--executor", "dask"])]
        for label, extra in configs:
            out = root / "out"
            shutil.rmtree(out, ignore_errors=True)
            seconds = timed([str(root / "songs"), "--out", str(out), "--preset", "streaming", *extra])
            print(f"{label:20s} {seconds:6.1f} s for {PROJECTS} projects -> {PROJECTS * 60 / seconds:5.1f} "
                  "projects/minute")


if __name__ == "__main__":
    main()
