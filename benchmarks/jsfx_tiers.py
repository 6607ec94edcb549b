"""What the JSFX native tier buys against what it costs: interpreter vs compiled speed, compile time and memory.

For each effect (the two of ``jsfx_speed.py``, the shipped presets, and any files or folders given
-- e.g. public JSFX collections kept outside the repository):

- the interpreter's speed (``REABRIDGE_JSFX_NATIVE=never``) over ``--seconds`` of 48 kHz stereo
  noise at -20 dBFS, as a realtime factor, in a fresh process;
- the native compile (``python -m bridge.jsfx.native MODULE``, exactly what a background compile
  runs) from an empty cache: wall time, CPU time and peak resident memory of that process;
- the compiled code's speed on the same audio (cache warm);
- the break-even: how much audio a render must be for the compile's CPU time to be paid back
  (``cpu / (1/interp - 1/native)``).

Anchor: the interpreter, in the same run, on the same audio. Effects that use strings or files,
have no ``@sample``, or are over the native tier's size limit are listed as such (they never compile).

Run: ``nice .venv/bin/python benchmarks/jsfx_tiers.py [PATHS...] [--seconds 20] [--limit N] [-o out.tsv]``
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from _common import OUT, REPO

from bridge.jsfx import background

sys.path.insert(0, str(Path(__file__).parent))
from jsfx_speed import HAND_WRITTEN

SPEED = """
import json, sys, time, numpy as np
from pathlib import Path
from bridge.jsfx.effect import load_effect
from bridge.jsfx.runtime import JsfxProcessor
path, seconds = Path(sys.argv[1]), float(sys.argv[2])
effect = load_effect(path, [path.parent, *[Path(p) for p in sys.argv[3:]]])
ch = max(2, len(effect.in_pins), len(effect.out_pins))
p = JsfxProcessor(effect, 48000, ch, block=512)
p.process(np.zeros((512, p.channels)))  # loads the interpreter's machine code (not timed)
x = np.random.default_rng(0).normal(0, 0.1, (int(48000 * seconds), ch))
t = time.perf_counter()
for i in range(0, len(x), 1 << 16):
    p.process(x[i:i + (1 << 16)])
print(json.dumps({"rt": seconds / (time.perf_counter() - t), "native": p.native is not None}))
"""

PREPARE = """
import json, sys
from pathlib import Path
import numpy as np
from bridge.jsfx import native, vm
from bridge.jsfx.effect import load_effect
from bridge.jsfx.runtime import compile_effect
path = Path(sys.argv[1])
program = compile_effect(load_effect(path, [path.parent, *[Path(p) for p in sys.argv[2:]]]))
module = native.module_path(program)
why = ("strings or files" if bool(np.any(program.code[:, 0] >= vm.STRING_OPS)) else
       "no @sample" if program.entries["sample"] < 0 else "over the size limit" if module is None else "")
if not why:
    native.write_module(program, module)
print(json.dumps({"rows": len(program.code), "module": str(module) if module else None, "skip": why}))
"""


def _python(code: str, *args: str, env: dict[str, str], timeout: float) -> dict[str, object]:
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env,
                         timeout=timeout, cwd=REPO)
    if out.returncode != 0:
        raise RuntimeError((out.stderr.strip().splitlines() or ["failed"])[-1])
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def _compile(module: str, env: dict[str, str], timeout: float, ceiling: int) -> tuple[float, float, float, int]:
    """Wall s, CPU s, peak RSS MB and exit code of one compile process (address space limited to ``ceiling``)."""
    started = time.perf_counter()

    def limit() -> None:
        if ceiling:
            resource.setrlimit(resource.RLIMIT_AS, (ceiling, ceiling))

    proc = subprocess.Popen([sys.executable, "-m", "bridge.jsfx.native", module], env=env, cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=limit)
    deadline = started + timeout
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.perf_counter() > deadline:
            proc.kill()
            pid, status, usage = os.wait4(proc.pid, 0)
            break
        time.sleep(0.05)
    code = os.waitstatus_to_exitcode(status)
    return time.perf_counter() - started, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, code


def effects(paths: list[str], dirs: list[str], builtin: bool = True) -> list[tuple[Path, list[str]]]:
    """The effects to measure, each with its import folders."""
    OUT.mkdir(parents=True, exist_ok=True)
    hand = OUT / "typical_eq_comp.jsfx"
    hand.write_text(textwrap.dedent(HAND_WRITTEN))
    chosen: list[tuple[Path, list[str]]] = [(hand, [])] if builtin else []
    chosen += [(p, []) for p in sorted((REPO / "jsfx").glob("*.jsfx"))] if builtin else []
    for given in paths:
        root = Path(given)
        if root.is_file():
            chosen.append((root, dirs))
            continue
        for p in sorted(root.rglob("*")):
            if p.is_file() and p.suffix not in (".jsfx-inc", ".py") and b"desc:" in p.read_bytes()[:4000]:
                chosen.append((p, [str(root)]))
    return chosen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("paths", nargs="*", help="effect files or folders of effects")
    parser.add_argument("--effects-dir", action="append", default=[], help="where the given files' imports are")
    parser.add_argument("--no-builtin", action="store_true", help="only the given effects")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--limit", type=int, default=0, help="measure every k-th effect so that about N are")
    parser.add_argument("--compile-timeout", type=float, default=900.0)
    parser.add_argument("--ceiling", type=float, default=None, help="GB of address space for a compile (default: "
                        "the background compile's ceiling; 0: none)")
    parser.add_argument("-o", "--output", default="")
    args = parser.parse_args()
    chosen = effects(args.paths, args.effects_dir, not args.no_builtin)
    ceiling = background.memory_ceiling() if args.ceiling is None else int(args.ceiling * 2**30)
    if args.limit and len(chosen) > args.limit:
        step = len(chosen) / args.limit
        chosen = [chosen[int(k * step)] for k in range(args.limit)]
    rows = []
    print(f"{'effect':44s} {'rows':>6s} {'interp':>8s} {'native':>8s} {'gain':>6s} {'compile':>8s} {'cpu':>7s} "
          f"{'peak MB':>8s} {'pays after':>11s}")
    for path, roots in chosen:
        with tempfile.TemporaryDirectory() as cache:
            env = {**os.environ, "REABRIDGE_CACHE": cache, "REABRIDGE_JSFX_NATIVE": "never"}
            row: dict[str, object] = {"effect": str(path)}
            try:
                row.update(_python(PREPARE, str(path), *roots, env=env, timeout=300))
                if row["skip"]:
                    raise RuntimeError(str(row["skip"]))
                row["interp_rt"] = _python(SPEED, str(path), str(args.seconds), *roots, env=env, timeout=3600)["rt"]
                wall, cpu, peak, code = _compile(str(row["module"]), env, args.compile_timeout, ceiling)
                row.update(compile_s=wall, compile_cpu=cpu, peak_mb=peak)
                if code != 0:
                    raise RuntimeError(f"the compile failed (exit {code}) after {wall:.0f} s, {peak:.0f} MB")
                warm = {**env, "REABRIDGE_JSFX_NATIVE": "wait"}
                fast = _python(SPEED, str(path), str(args.seconds), *roots, env=warm, timeout=3600)
                row["native_rt"] = fast["rt"]
                gain = float(row["native_rt"]) / float(row["interp_rt"])  # type: ignore[arg-type]
                saved = 1 / float(row["interp_rt"]) - 1 / float(row["native_rt"])  # type: ignore[arg-type]
                row["gain"] = gain
                row["pays_after_s"] = cpu / saved if saved > 0 else float("inf")
            except (RuntimeError, subprocess.TimeoutExpired, ValueError) as exc:
                row["skip"] = str(exc)[:80]
            rows.append(row)
            name = str(path.relative_to(path.parents[1]) if len(path.parents) > 1 else path)[-44:]
            if row.get("gain"):
                print(f"{name:44s} {row['rows']:6d} {row['interp_rt']:7.1f}x {row['native_rt']:7.1f}x "
                      f"{row['gain']:5.1f}x {row['compile_s']:7.1f}s {row['compile_cpu']:6.1f}s {row['peak_mb']:8.0f} "
                      f"{row['pays_after_s']:9.0f} s", flush=True)
            else:
                print(f"{name:44s} {row.get('rows', 0):6d}  -- {row.get('skip')}", flush=True)
    measured = [r for r in rows if r.get("gain")]
    if measured:
        gains = sorted(float(r["gain"]) for r in measured)  # type: ignore[arg-type]
        print(f"\n{len(measured)} effects compiled: speed-up median {statistics.median(gains):.1f}x "
              f"(min {gains[0]:.1f}x, max {gains[-1]:.1f}x); within 2x: {sum(g < 2 for g in gains)}; compile median "
              f"{statistics.median(float(r['compile_s']) for r in measured):.1f} s wall, peak "
              f"{max(float(r['peak_mb']) for r in measured):.0f} MB; pays back after a median "
              f"{statistics.median(float(r['pays_after_s']) for r in measured):.0f} s of audio")
    print(f"children's peak RSS: {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024:.0f} MB")
    if args.output:
        with open(args.output, "w", newline="") as fh:
            keys = ["effect", "rows", "interp_rt", "native_rt", "gain", "compile_s", "compile_cpu", "peak_mb",
                    "pays_after_s", "skip"]
            writer = csv.DictWriter(fh, fieldnames=keys, delimiter="\t", extrasaction="ignore")
            writer.writeheader()
            writer.writerows(rows)


if __name__ == "__main__":
    main()
