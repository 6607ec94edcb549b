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

from bridge.demo import build
from bridge.project.project import Project
from bridge.session.rpp_file import RppFileSession

OUT_NAME = "demo-processed.RPP"


@dataclass(frozen=True)
class DemoContext:
    """What a demo step gets: the session on the copy, and the output folder."""

    session: RppFileSession
    out_dir: Path
    console: Console


def _tempo_map(ctx: DemoContext) -> str:
    """Detect tempo and beats on the drums and write a tempo map with bar markers."""
    from bridge.jobs.tempo import detect_item_tempo

    project = ctx.session.project
    drums = project.find_track("Drums").items[0]
    job = detect_item_tempo(project, drums.guid, "demo-tempo", apply_map=True, markers="bars")
    ctx.session.apply(job.changes)
    return (f"{job.result.bpm:.2f} BPM from the drums (confidence {job.result.confidence:.2f}), "
            f"{len(job.project_beats)} beats, tempo map + bar markers")


def _transcribe_piano(ctx: DemoContext) -> str:
    """Transcribe the piano to a MIDI track below it."""
    from bridge.jobs.transcribe import transcribe_items

    project = ctx.session.project
    track = project.find_track("Piano")
    result = transcribe_items([(track, item) for item in track.items], "demo-transcribe")
    ctx.session.apply(result.changes)
    notes = sum(count for _, count in result.done)
    return f"{notes} notes on a new 'Piano (MIDI)' track"


STEPS: list[tuple[str, Callable[[DemoContext], str]]] = [
    ("tempo", _tempo_map),
    ("transcribe", _transcribe_piano),
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
