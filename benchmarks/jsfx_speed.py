"""JSFX runner speed: compile time and render speed of typical compressor/EQ effects, 48 kHz stereo.

Effects:
- "hand-written": a 3-band EQ (RBJ biquads written out inline, old-style sliders) and an RMS
  compressor with attack/release, the way many user JSFX are written;
- "generated streaming chain": ``reabridge jsfx generate --preset streaming`` (EQ, compressor,
  saturation, lookahead limiter with a 240-sample minimum search per sample).

For each: the start (reading and compiling to instructions) with an empty program cache and with
it warm, then the render of 60 s of audio (processing only, in one process) as a realtime factor,
on the interpreter (``REABRIDGE_JSFX_NATIVE=never``, every effect's start) and on the effect's own
machine code (``wait``, compiled first, not timed here: see ``jsfx_tiers.py``). Best of ``--repeat``.
Anchor (issue 6): at least 5x realtime, starting in "a few seconds at most". To compare two
versions of the code, run it with ``PYTHONPATH`` pointing at each in turn.

Run: ``.venv/bin/python benchmarks/jsfx_speed.py``
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

from _common import OUT

HAND_WRITTEN = """desc:Typical 3-band EQ + RMS compressor (benchmark)
slider1:100<20,500,1>Low freq (Hz)
slider2:3<-12,12,0.1>Low gain (dB)
slider3:1000<200,5000,1>Mid freq (Hz)
slider4:-2<-12,12,0.1>Mid gain (dB)
slider5:8000<2000,20000,1>High freq (Hz)
slider6:2<-12,12,0.1>High gain (dB)
slider7:-20<-60,0,0.1>Threshold (dB)
slider8:4<1,20,0.1>Ratio
slider9:10<0.1,100,0.1>Attack (ms)
slider10:150<10,1000,1>Release (ms)

@init
rms = 0; env = 0;

@slider
// peaking bands, cookbook formulas
A = 10^(slider4/40); w = 2*$pi*slider3/srate; al = sin(w)/(2*0.7);
m_a0 = 1 + al/A; m_b0 = (1 + al*A)/m_a0; m_b1 = -2*cos(w)/m_a0; m_b2 = (1 - al*A)/m_a0;
m_a1 = -2*cos(w)/m_a0; m_a2 = (1 - al/A)/m_a0;
A = 10^(slider2/40); w = 2*$pi*slider1/srate; al = sin(w)/(2*0.7);
l_a0 = 1 + al/A; l_b0 = (1 + al*A)/l_a0; l_b1 = -2*cos(w)/l_a0; l_b2 = (1 - al*A)/l_a0;
l_a1 = -2*cos(w)/l_a0; l_a2 = (1 - al/A)/l_a0;
A = 10^(slider6/40); w = 2*$pi*slider5/srate; al = sin(w)/(2*0.7);
h_a0 = 1 + al/A; h_b0 = (1 + al*A)/h_a0; h_b1 = -2*cos(w)/h_a0; h_b2 = (1 - al*A)/h_a0;
h_a1 = -2*cos(w)/h_a0; h_a2 = (1 - al/A)/h_a0;
att = exp(-1/(slider9/1000*srate)); rel = exp(-1/(slider10/1000*srate));
rmsc = exp(-1/(0.01*srate)); slope = 1 - 1/slider8;

@sample
// low band
yl = l_b0*spl0 + l_x1l*l_b1 + l_x2l*l_b2 - l_a1*l_y1l - l_a2*l_y2l;
l_x2l = l_x1l; l_x1l = spl0; l_y2l = l_y1l; l_y1l = yl; spl0 = yl;
yr = l_b0*spl1 + l_x1r*l_b1 + l_x2r*l_b2 - l_a1*l_y1r - l_a2*l_y2r;
l_x2r = l_x1r; l_x1r = spl1; l_y2r = l_y1r; l_y1r = yr; spl1 = yr;
// mid band
yl = m_b0*spl0 + m_x1l*m_b1 + m_x2l*m_b2 - m_a1*m_y1l - m_a2*m_y2l;
m_x2l = m_x1l; m_x1l = spl0; m_y2l = m_y1l; m_y1l = yl; spl0 = yl;
yr = m_b0*spl1 + m_x1r*m_b1 + m_x2r*m_b2 - m_a1*m_y1r - m_a2*m_y2r;
m_x2r = m_x1r; m_x1r = spl1; m_y2r = m_y1r; m_y1r = yr; spl1 = yr;
// high band
yl = h_b0*spl0 + h_x1l*h_b1 + h_x2l*h_b2 - h_a1*h_y1l - h_a2*h_y2l;
h_x2l = h_x1l; h_x1l = spl0; h_y2l = h_y1l; h_y1l = yl; spl0 = yl;
yr = h_b0*spl1 + h_x1r*h_b1 + h_x2r*h_b2 - h_a1*h_y1r - h_a2*h_y2r;
h_x2r = h_x1r; h_x1r = spl1; h_y2r = h_y1r; h_y1r = yr; spl1 = yr;
// RMS compressor
rms = rmsc*rms + (1-rmsc)*(sqr(spl0) + sqr(spl1))/2;
lvl = 10*log10(max(rms, 0.0000000001));
gr = lvl > slider7 ? (lvl - slider7)*slope : 0;
env = gr > env ? att*env + (1-att)*gr : rel*env + (1-rel)*gr;
g = 10^(-env/20);
spl0 *= g; spl1 *= g;
"""

MEASURE = """
import sys, time, numpy as np
t0 = time.perf_counter()
from bridge.jsfx.effect import load_effect
from bridge.jsfx.runtime import JsfxProcessor
effect = load_effect(sys.argv[1])
t1 = time.perf_counter()
p = JsfxProcessor(effect, 48000, 2, block=512)
t2 = time.perf_counter()
p.process(np.zeros((512, p.channels)))  # loads the interpreter's machine code (not timed)
x = np.random.default_rng(0).normal(0, 0.2, (48000 * 60, 2))
t3 = time.perf_counter()
for i in range(0, len(x), 1 << 16):
    p.process(x[i:i + (1 << 16)])
t4 = time.perf_counter()
print(f"{t2 - t1:.3f} {60 / (t4 - t3):.1f}")
"""


def run(effect: Path, cache: Path, tier: str) -> tuple[float, float]:
    env = {**os.environ, "REABRIDGE_CACHE": str(cache), "REABRIDGE_JSFX_NATIVE": tier}
    out = subprocess.run([sys.executable, "-c", MEASURE, str(effect)], capture_output=True, text=True, env=env,
                         check=True)
    compile_s, realtime = out.stdout.split()
    return float(compile_s), float(realtime)


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--tiers", default="never,wait", help="which tiers to time (never, wait)")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    hand = OUT / "typical_eq_comp.jsfx"
    hand.write_text(textwrap.dedent(HAND_WRITTEN))
    chain = OUT / "generated_streaming.jsfx"
    subprocess.run([str(Path(sys.executable).parent / "reabridge"), "jsfx", "generate", "--preset", "streaming", "-o",
                    str(chain), "--overwrite"], check=True, capture_output=True)
    for label, effect in (("hand-written EQ + compressor", hand), ("generated streaming chain", chain)):
        with tempfile.TemporaryDirectory() as cache:
            cold, _ = run(effect, Path(cache), "never")
            warm, _ = run(effect, Path(cache), "never")
            speeds = {}
            for tier in args.tiers.split(","):
                if tier == "wait":
                    run(effect, Path(cache), "wait")  # compiles the machine code (untimed)
                speeds[tier] = max(run(effect, Path(cache), tier)[1] for _ in range(args.repeat))
        shown = ", ".join(f"{'interpreter' if t == 'never' else 'native'} {v:6.1f}x" for t, v in speeds.items())
        print(f"{label:30s}: start {cold:5.2f} s cold, {warm:5.2f} s cached; render {shown} realtime (goal 5x) at "
              "48 kHz stereo", flush=True)


if __name__ == "__main__":
    main()
