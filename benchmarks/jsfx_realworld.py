"""Real-world JSFX: how many effects from public repositories run, and match a reference engine.

Needs a corpus prepared outside the repository (the effects' licences keep them out of it):
``JSFX_CORPUS`` (default ``/work/jsfx-corpus``) with ``effects.tsv``, ``input.wav`` and
reference renders made by ysfx (the JSFX engine several hosts embed) under ``ref_fork/``.
Each effect renders ``input.wav`` with its default sliders in a fresh process (time-out
``--timeout`` seconds, compile included); it passes when its output is within 1e-6 of the
reference's peak. Effects that draw random numbers or read the clock are counted
separately (the reference's sequence may differ legitimately).

Run: ``.venv/bin/python benchmarks/jsfx_realworld.py [--timeout 120] [--only SUBSTRING] [-o results.tsv]``
"""

from __future__ import annotations

import argparse
import csv
import multiprocessing as mp
import os
import re
import sys
import time
from collections import Counter
from pathlib import Path

CORPUS = Path(os.environ.get("JSFX_CORPUS", "/work/jsfx-corpus"))
os.environ.setdefault("REABRIDGE_JSFX_NATIVE", "never")  # the start every new effect gets: the interpreter


def _render(path: str, root: str, queue: mp.Queue) -> None:
    """In a child process: our runner on input.wav; puts (status, detail, seconds, maxdiff) on the queue."""
    import numpy as np
    import soundfile as sf

    from bridge.jsfx.effect import load_effect
    from bridge.jsfx.errors import JsfxError
    from bridge.jsfx.runtime import JsfxProcessor

    started = time.perf_counter()
    try:
        x, sr = sf.read(CORPUS / "input.wav", dtype="float64", always_2d=True)
        effect = load_effect(Path(path), [Path(root)])
        channels = max(2, len(effect.in_pins), len(effect.out_pins), x.shape[1])
        host = np.zeros((len(x), channels))
        host[:, :x.shape[1]] = x
        processor = JsfxProcessor(effect, float(sr), channels)
        compiled = time.perf_counter() - started
        out = np.concatenate([processor.process(host[i:i + 512 * 64]) for i in range(0, len(host), 512 * 64)])
        queue.put(("ran", "", compiled, out))
    except JsfxError as exc:
        queue.put(("refused", str(exc).splitlines()[0], time.perf_counter() - started, None))
    except RecursionError:
        queue.put(("crashed", "RecursionError", time.perf_counter() - started, None))
    except Exception as exc:  # a crash is what this measures
        queue.put(("crashed", f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}",
                   time.perf_counter() - started, None))


def classify(detail: str) -> str:
    """A failure's class: the message without its file, line and names."""
    text = re.sub(r"^.*?:\d+:\d+: ", "", detail)
    text = re.sub(r"^[^:]*\.jsfx(-inc)?:?\s*", "", text)
    text = re.sub(r"'[^']*'", "'…'", text)
    text = re.sub(r"\d+", "N", text)
    return text[:90]


def main() -> None:
    import numpy as np
    import soundfile as sf

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("--only", default="")
    parser.add_argument("-o", "--output", default="")
    args = parser.parse_args()
    with open(CORPUS / "effects.tsv", newline="") as fh:
        rows = [r for r in csv.DictReader(fh, delimiter="\t")
                if r.get("fork_rendered") == "yes" and r.get("kind") != "instrument" and args.only in r["path"]]
    ctx = mp.get_context("spawn")
    results = []
    for n, row in enumerate(rows, 1):
        queue: mp.Queue = ctx.Queue()
        proc = ctx.Process(target=_render, args=(str(CORPUS / row["path"]), str(CORPUS / row["root"]), queue))
        proc.start()
        try:
            status, detail, seconds, out = queue.get(timeout=args.timeout)
        except Exception:
            status, detail, seconds, out = "timeout", f"no output within {args.timeout:g} s", args.timeout, None
        proc.kill()
        proc.join()
        diff = None
        if out is not None:
            ref, _ = sf.read(CORPUS / row["fork_ref"], dtype="float64", always_2d=True)
            k = min(ref.shape[1], out.shape[1])
            m = min(len(ref), len(out))
            peak = max(1e-9, float(np.max(np.abs(ref[:m, :k]))))
            a, b = out[:m, :k], ref[:m, :k]
            same_gaps = np.array_equal(np.isnan(a), np.isnan(b)) and np.array_equal(a[np.isinf(a)], b[np.isinf(a)])
            finite = np.isfinite(a) & np.isfinite(b)  # NaN/inf where the reference has them too count as equal
            diff = float(np.max(np.abs(a[finite] - b[finite]), initial=0.0)) if same_gaps else float("inf")
            status = "match" if diff <= 1e-6 * max(1.0, peak) else "differs"
            if status == "differs" and row.get("nondeterministic_calls"):
                status = "differs (random)"
        results.append({"path": row["path"], "status": status, "detail": detail, "seconds": round(seconds, 2),
                        "maxdiff": diff})
        print(f"[{n}/{len(rows)}] {status:16s} {seconds:6.1f} s  {row['path']}  {detail[:100]}", flush=True)
    counts = Counter(r["status"] for r in results)
    total = len(results)
    print(f"\n{total} effects: " + ", ".join(f"{k} {v} ({100 * v / total:.0f}%)" for k, v in counts.most_common()))
    classes = Counter(classify(r["detail"]) for r in results if r["status"] in ("refused", "crashed", "timeout"))
    for text, count in classes.most_common():
        print(f"  {count:3d}  {text}")
    slow = sorted((r for r in results if r["status"] in ("match", "differs")), key=lambda r: -r["seconds"])[:5]
    print("slowest starts: " + ", ".join(f"{Path(r['path']).name} {r['seconds']} s" for r in slow))
    if args.output:
        with open(args.output, "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=["path", "status", "detail", "seconds", "maxdiff"], delimiter="\t")
            writer.writeheader()
            writer.writerows(results)


if __name__ == "__main__":
    sys.exit(main())
