"""Parse speed of the RPP layer on a 2 MB / 15k+ line project.

The project is assembled from real corpus projects (their tracks repeated
until the file is over 2 MB and 15,000 lines), then parsed, written back and
summarised several times in this one process. The anchor is the issue's
budget: parsing takes well under one second.

Run: ``.venv/bin/python benchmarks/rpp_parse.py``
"""

from __future__ import annotations

import os
import statistics
import time
from pathlib import Path

from bridge import rpp
from bridge.project import Project

CORPUS = Path(os.environ.get("REABRIDGE_CORPUS", Path(__file__).resolve().parents[2] / "shared" / "corpus"))
BUDGET_S = 1.0


def big_project(min_bytes: int = 2_000_000, min_lines: int = 15_000) -> str:
    """A real-looking project: corpus tracks (with plug-in state and MIDI) repeated."""
    base = rpp.load(CORPUS / "rpp" / "shreyasgune__reaper_projects__jettisoned_stepstones.rpp")
    donors = [base] + [rpp.load(p) for p in sorted((CORPUS / "rpp").iterdir())
                       if p.name.endswith(("soothesayer.rpp", "track2.rpp", "with-external-files.rpp"))]
    tracks = [c for d in donors for c in d.chunks("TRACK")]
    text = rpp.dumps(base)
    head, tail = text.rsplit(">", 1)
    body = "".join(rpp.dumps(t) for t in tracks)
    copies = []
    while len(head) + sum(map(len, copies)) < min_bytes or (head + "".join(copies)).count("\n") < min_lines:
        copies.append(body)
    return head + "".join(copies) + ">" + tail


def best_of(fn, repeat: int = 5) -> tuple[float, float]:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times), statistics.median(times)


def main() -> None:
    text = big_project()
    size, lines = len(text.encode()), text.count("\n")
    root = rpp.loads(text)
    assert rpp.dumps(root) == text
    parse_best, parse_med = best_of(lambda: rpp.loads(text))
    dump_best, _ = best_of(lambda: rpp.dumps(root))
    summary_best, _ = best_of(lambda: Project(rpp.loads(text)).summary(), repeat=3)
    print(f"input: {size / 1e6:.2f} MB, {lines} lines, {sum(1 for _ in root.chunks('TRACK'))} tracks")
    print(f"parse   best {parse_best * 1e3:7.1f} ms  median {parse_med * 1e3:7.1f} ms")
    print(f"write   best {dump_best * 1e3:7.1f} ms")
    print(f"parse + full project summary  best {summary_best * 1e3:7.1f} ms")
    print(f"ratio parse / budget ({BUDGET_S:.0f} s): {parse_best / BUDGET_S:.3f}  "
          f"(budget / parse: {BUDGET_S / parse_best:.1f}x headroom)")


if __name__ == "__main__":
    main()
