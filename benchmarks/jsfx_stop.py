"""How fast Ctrl-C and SIGTERM stop ``reabridge jsfx render`` of an effect that never finishes.

The effect runs ``loop(1000000, loop(1000000, x += 1))`` per sample (10^12 iterations: before
issue 20 only SIGKILL stopped it, leaving its temporary file). For each tier and signal: the time
from the signal to the "interrupted" line on stderr (the code stopped and the temporary file is
gone) and to the process's exit (Python's own teardown included), median of ``--repeat``. Anchor,
in the same run: the time from a normal render's last line to its exit (the teardown every run pays).

Run: ``nice .venv/bin/python benchmarks/jsfx_stop.py [--repeat 5]``
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

FOREVER = "desc: never ends\n@sample\nloop(1000000, loop(1000000, x += 1));\nspl0 = x;\n"


def _one(folder: Path, tier: str, sig: int) -> tuple[float, float, bool]:
    """Seconds to the 'interrupted' line and to exit, and whether the output folder is empty afterwards."""
    out = folder / "out"
    out.mkdir(exist_ok=True)
    env = {**os.environ, "REABRIDGE_JSFX_NATIVE": tier, "REABRIDGE_CACHE": str(folder / "cache")}
    proc = subprocess.Popen([sys.executable, "-m", "bridge", "jsfx", "render", str(folder / "forever.jsfx"),
                             str(folder / "in.wav"), "-o", str(out / "o.wav")], env=env, stderr=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, text=True)
    while not any(n.endswith(".tmp.wav") for n in os.listdir(out)):
        time.sleep(0.02)
    time.sleep(0.5)
    started = time.perf_counter()
    proc.send_signal(sig)
    assert proc.stderr is not None
    line = ""
    while "interrupted" not in line:
        line = proc.stderr.readline()
        if not line:
            break
    told = time.perf_counter() - started
    proc.wait()
    return told, time.perf_counter() - started, not os.listdir(out)


def _anchor(folder: Path) -> float:
    """Seconds from a normal render's last line to its exit: the teardown every reabridge run pays."""
    (folder / "gain.jsfx").write_text("desc: gain\n@sample\nspl0 *= 0.5;\n")
    env = {**os.environ, "REABRIDGE_JSFX_NATIVE": "never"}
    proc = subprocess.Popen([sys.executable, "-m", "bridge", "jsfx", "render", str(folder / "gain.jsfx"),
                             str(folder / "in.wav"), "-o", str(folder / "gain.wav"), "--overwrite"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    while not proc.stdout.readline().startswith("wrote"):
        pass
    started = time.perf_counter()
    proc.wait()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "forever.jsfx").write_text(FOREVER)
        sf.write(folder / "in.wav", np.zeros((44100, 2)), 44100, subtype="FLOAT")
        anchor = statistics.median(_anchor(folder) for _ in range(args.repeat))
        print(f"anchor: a finished render exits {anchor:.2f} s after its last line")
        for tier in ("never", "wait"):
            for sig in (signal.SIGINT, signal.SIGTERM):
                runs = [_one(folder, tier, sig) for _ in range(args.repeat)]
                name = "interpreter" if tier == "never" else "native"
                print(f"{name:11s} {sig.name:7s}: stopped and cleaned up after "
                      f"{statistics.median(r[0] for r in runs):.3f} s, exited after "
                      f"{statistics.median(r[1] for r in runs):.2f} s (median of {len(runs)}); nothing left behind: "
                      f"{all(r[2] for r in runs)}", flush=True)


if __name__ == "__main__":
    main()
