"""Offline render speed and memory: ``reabridge render`` on a 10-track, 3-minute project, and an hour-long one.

The project: 10 tracks, each a 3-minute 44.1 kHz stereo WAV item with fades, a JS EQ
(a peaking biquad written here) on two tracks, pans and volumes. Goal (issue 14): at
least 60x realtime for the whole command on 2 cores; memory bounded by blocks, so
the hour-long project (the same tracks, items looping for 60 minutes) must not need
20x the memory.

Run: ``.venv/bin/python benchmarks/render_speed.py``
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

SR = 44100
EQ = """desc:benchmark peaking EQ
slider1:1000<20,20000,1>Frequency (Hz)
slider2:3<-24,24,0.1>Gain (dB)
slider3:1<0.1,10,0.01>Q
@init
x1l = x2l = y1l = y2l = x1r = x2r = y1r = y2r = 0;
@slider
a = 10^(slider2/40); w = 2*$pi*slider1/srate; alpha = sin(w)/(2*slider3);
b0 = 1 + alpha*a; b1 = -2*cos(w); b2 = 1 - alpha*a;
a0 = 1 + alpha/a; a1 = -2*cos(w); a2 = 1 - alpha/a;
b0 /= a0; b1 /= a0; b2 /= a0; a1 /= a0; a2 /= a0;
@sample
yl = b0*spl0 + b1*x1l + b2*x2l - a1*y1l - a2*y2l; x2l = x1l; x1l = spl0; y2l = y1l; y1l = yl; spl0 = yl;
yr = b0*spl1 + b1*x1r + b2*x2r - a1*y1r - a2*y2r; x2r = x1r; x1r = spl1; y2r = y1r; y1r = yr; spl1 = yr;
"""


def make_project(folder: Path, minutes: float, loop: bool) -> Path:
    rng = np.random.default_rng(1)
    (folder / "Effects" / "bench").mkdir(parents=True, exist_ok=True)
    (folder / "Effects" / "bench" / "eq.jsfx").write_text(EQ)
    source_seconds = 180.0
    tracks = []
    for n in range(10):
        media = folder / f"t{n}.wav"
        if not media.exists():
            t = np.arange(int(source_seconds * SR)) / SR
            x = 0.2 * np.sin(2 * np.pi * (110 * (n + 1)) * t)[:, None] + 0.02 * rng.standard_normal((len(t), 2))
            sf.write(media, x.astype(np.float32), SR, subtype="PCM_24")
        fx = ""
        if n in (2, 7):
            fx = ("    <FXCHAIN\n      BYPASS 0 0 0\n      <JS bench/eq \"\"\n        2500 4 0.7 - -\n      >\n"
                  "      WAK 0 0\n    >\n")
        length = minutes * 60
        tracks.append(f"""  <TRACK
    NAME "t{n}"
    VOLPAN {0.5 + 0.05 * n} {(n - 5) / 10} -1 -1 1
    MUTESOLO 0 0 0
    NCHAN 2
    FX 1
    MAINSEND 1 0
{fx}    <ITEM
      POSITION 0
      LENGTH {length}
      LOOP {1 if loop else 0}
      FADEIN 1 0.5 0 1 0 0 0
      FADEOUT 5 2 0 5 0 0.3 0
      MUTE 0 0
      VOLPAN 1 0 1 -1
      SOFFS 0
      PLAYRATE 1 1 0 -1 0 0.0025
      CHANMODE 0
      <SOURCE WAVE
        FILE "t{n}.wav"
      >
    >
  >
""")
    path = folder / f"song-{minutes:g}min.RPP"
    path.write_text(f'<REAPER_PROJECT 0.1 "7.27/bench" 0\n  SAMPLERATE {SR} 1 0\n  PANLAW 1\n  PANMODE 3\n'
                    f"  MASTER_VOLUME 1 0 -1 -1 1\n  MASTER_NCH 2 2\n{''.join(tracks)}>\n")
    return path


#: runs the command and writes its own peak memory (KB) to the file named first
_MEASURED = ("import resource, runpy, sys\n"
             "out = sys.argv.pop(1)\n"
             "try:\n    runpy.run_module('bridge', run_name='__main__')\n"
             "finally:\n    open(out, 'w').write(str(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))\n")


def run(path: Path, native: str = "background") -> tuple[float, float]:
    """Whole-command seconds and that command's own peak memory (MB)."""
    out = path.with_suffix(".wav")
    peak_file = path.with_suffix(".peak")
    cmd = [sys.executable, "-c", _MEASURED, str(peak_file), "render", str(path), "-o", str(out), "-y",
           "--effects-dir", str(path.parent / "Effects")]
    started = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "REABRIDGE_JSFX_NATIVE": native})
    seconds = time.perf_counter() - started
    if proc.returncode:
        raise SystemExit(proc.stderr)
    return seconds, int(peak_file.read_text()) / 1024


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        short = make_project(folder, 3.0, loop=False)
        cold, _ = run(short, "never")  # a first render: the EQ runs on the interpreter (its code is compiled after)
        run(short, "wait")  # the EQ's own code compiled and cached (what every later render uses)
        seconds, peak = run(short)
        print(f"first render of a new effect (interpreter): {cold:.2f} s -> {180 / cold:.0f}x realtime")
        print(f"10 tracks x 3 min, 2 JS EQs: {seconds:.2f} s whole command -> {180 / seconds:.0f}x realtime, "
              f"peak {peak:.0f} MB")
        long = make_project(folder, 60.0, loop=True)
        seconds, peak_long = run(long)
        print(f"10 tracks x 60 min (looped items):  {seconds:.1f} s -> {3600 / seconds:.0f}x realtime, "
              f"peak {peak_long:.0f} MB (memory follows the blocks, not the length)")


if __name__ == "__main__":
    main()
