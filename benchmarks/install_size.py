"""What each extra costs on disk: the distributions it brings into an environment, and their installed size.

Method: reabridge's requirements (``pyproject.toml``: the base, then each extra) are followed
through the installed distributions' own metadata (``importlib.metadata``) in this venv,
markers evaluated for this machine; a distribution counts for an extra when the base does not
already need it. Sizes are the bytes of the files each distribution's ``RECORD`` lists, as
installed here (the same wheels ``make install`` puts in; ``__pycache__`` included once written).
The venv itself (``du``) is printed for scale. The ``--no-deps`` step of the Makefile
(basic-pitch, silero-vad, resemblyzer) is counted separately: those packages go in without their
declared dependencies, so only their own files count.

Run: ``.venv/bin/python benchmarks/install_size.py``
"""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement

REPO = Path(__file__).resolve().parents[1]
NO_DEPS = ("basic-pitch", "silero-vad", "resemblyzer")  # the Makefile's second step


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _installed() -> dict[str, metadata.Distribution]:
    return {_norm(d.metadata["Name"]): d for d in metadata.distributions()}


def closure(requirements: list[str], installed: dict[str, metadata.Distribution]) -> set[str]:
    """Every installed distribution the requirements lead to (markers for this machine)."""
    seen: set[str] = set()
    env = {**default_environment(), "extra": ""}
    todo = [Requirement(r) for r in requirements]
    todo = [r for r in todo if r.marker is None or r.marker.evaluate(env)]
    while todo:
        req = todo.pop()  # its marker already holds (checked with the extras that asked for it)
        name = _norm(req.name)
        dist = installed.get(name)
        key = name + "[" + ",".join(sorted(req.extras)) + "]"
        if dist is None or key in seen:
            continue
        seen.add(key)
        seen.add(name)
        for spec in dist.requires or []:
            sub = Requirement(spec)
            wanted = sub.marker is None or any(sub.marker.evaluate({**default_environment(), "extra": e})
                                               for e in ("", *req.extras))
            if wanted:
                todo.append(sub)
    return {s for s in seen if "[" not in s}


def size(dist: metadata.Distribution) -> int:
    """Bytes of the files the distribution's RECORD lists (as installed here)."""
    total = 0
    for f in dist.files or []:
        path = Path(str(dist.locate_file(f)))
        if path.is_file():
            total += path.stat().st_size
    return total


def main() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    installed = _installed()
    base = closure(project["dependencies"], installed)
    base.discard("reabridge")
    mb = 1 << 20
    base_size = sum(size(installed[n]) for n in base)
    print(f"base install: {len(base)} distributions, {base_size / mb:.0f} MB")
    for extra, reqs in project.get("optional-dependencies", {}).items():
        only = closure(reqs, installed) - base
        cost = sorted(((size(installed[n]), n) for n in only), reverse=True)
        total = sum(c for c, _ in cost)
        top = ", ".join(f"{n} {c / mb:.0f}" for c, n in cost[:6])
        print(f"extra [{extra}]: +{len(only)} distributions, +{total / mb:.0f} MB ({top} ...)")
    extra_nd = sum(size(installed[_norm(n)]) for n in NO_DEPS if _norm(n) in installed)
    print(f"--no-deps step ({', '.join(NO_DEPS)}): {extra_nd / mb:.0f} MB")
    venv = Path(sys.prefix)
    du = subprocess.run(["du", "-sm", str(venv)], capture_output=True, text=True).stdout.split()[0]
    print(f"this venv ({venv}): {du} MB on disk (all extras, pip, caches)")


if __name__ == "__main__":
    main()
