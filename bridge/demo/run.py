"""``reabridge demo``: the main job on the bundled example project.

The example stays untouched: the job works on a copy in ``examples/demo/out``
and writes ``demo-processed.RPP`` there. Each capability adds its step to
:data:`STEPS` as it lands; today's steps are the ones the spine offers.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from bridge.changes.ops import AddMarker, ChangeSet
from bridge.demo import build, synth
from bridge.project.project import Project
from bridge.session.rpp_file import RppFileSession

OUT_NAME = "demo-processed.RPP"


@dataclass(frozen=True)
class DemoContext:
    """What a demo step gets: the session on the copy, and the output folder."""

    session: RppFileSession
    out_dir: Path
    console: Console


def _bar_markers(ctx: DemoContext) -> str:
    """Mark every bar of the arrangement from the project's own tempo map."""
    tempo = ctx.session.project.tempo_map
    beats = synth.BARS * synth.BEATS_PER_BAR
    ops = tuple(
        AddMarker(tempo.time_at(float(bar * synth.BEATS_PER_BAR)), f"Bar {bar + 1}")
        for bar in range(beats // synth.BEATS_PER_BAR)
    )
    ctx.session.apply(ChangeSet("demo-bars", ops, "Bar markers"))
    return f"added {len(ops)} bar markers from the tempo map ({tempo.bpm:g} BPM)"


STEPS: list[tuple[str, Callable[[DemoContext], str]]] = [
    ("bar markers", _bar_markers),
]


def run_demo(fresh: bool = False, folder: Path = build.EXAMPLE_DIR) -> Path:
    """Build the example if needed, run every step on a copy, print what happened.

    Returns
    -------
    Path
        ``examples/demo/out/demo-processed.RPP``.
    """
    console = Console(highlight=False)
    started = time.perf_counter()
    source = build.build(folder, force=fresh)
    out_dir = folder / "out"
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / OUT_NAME
    shutil.copyfile(source, target)
    # media paths in the copy are relative to the example folder: point REAPER there
    media_link = out_dir / build.MEDIA_DIR
    if not media_link.exists():
        media_link.symlink_to(Path("..") / build.MEDIA_DIR, target_is_directory=True)
    session = RppFileSession(target)
    ctx = DemoContext(session, out_dir, console)
    console.print(f"[bold]reabridge demo[/bold] on {source}")
    for name, step in STEPS:
        t0 = time.perf_counter()
        console.print(f"  {name}: {step(ctx)} ({time.perf_counter() - t0:.2f} s)")
    project = Project.load(target)
    console.print(
        f"wrote {target} ({len(project.tracks)} tracks, {len(project.markers)} markers) "
        f"in {time.perf_counter() - started:.1f} s"
    )
    return target
