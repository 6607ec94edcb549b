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


def _amp(ctx: DemoContext) -> str:
    """Render the guitar DI through a bundled capture as a new take."""
    from bridge.amp.bundled import bundled_capture
    from bridge.amp.nam_file import load_nam
    from bridge.jobs.amp import render_items

    model = load_nam(bundled_capture("reabridge Crunch"))
    project = ctx.session.project
    track = project.find_track("Gtr DI")
    result = render_items(project, [(track, item) for item in track.items], model, "demo-amp")
    ctx.session.apply(result.changes)
    return f"Gtr DI through '{model.name}' -> {result.files[0].name} (new active take)"


def _master(ctx: DemoContext) -> str:
    """Bounce the stems (with the amp take) to a 'Mix' track, master it for streaming, write a report."""
    import numpy as np
    import soundfile as sf

    from bridge.changes import AddAudioItem, AddTrack, ChangeSet
    from bridge.jobs.master import master_items
    from bridge.master.presets import load_preset

    project = ctx.session.project
    parts = []
    for name, level in (("Piano", 0.8), ("Gtr DI", 0.5), ("Drums", 0.7)):
        take = project.find_track(name).items[0].active_take  # the guitar's is the amp render
        audio, rate = sf.read(take.source.resolve().path, dtype="float32", always_2d=True)
        parts.append(audio.mean(axis=1) * level)
    length = min(len(p) for p in parts)
    mono = sum(p[:length] for p in parts) * 0.35
    bounce = ctx.out_dir / build.MEDIA_DIR / "demo-mix.wav"
    sf.write(bounce, np.stack([mono, np.roll(mono, 24) * 0.9], axis=1), rate, subtype="PCM_24")
    track = AddTrack("Mix (bounce)")
    item = AddAudioItem(track.guid, str(bounce), 0.0, length / rate, name="demo-mix.wav")
    ctx.session.apply(ChangeSet("demo-bounce", (track, item), "Bounce the stems to a mix track"))
    project = ctx.session.project
    mix_track = project.find_track("Mix (bounce)")
    result = master_items(project, [(mix_track, mix_track.items[0])], load_preset("streaming"), "demo-master",
                          report=ctx.out_dir / "master-report")
    ctx.session.apply(result.changes)
    return f"{result.lines[0]} (report in {ctx.out_dir.name}/master-report/)"


def _master_chain(ctx: DemoContext) -> str:
    """Put the analysed streaming chain on the master track as a JSFX (bypassed: the mix take is mastered)."""
    from bridge.jobs.master_jsfx import chain_on_master
    from bridge.master.presets import load_preset

    project = ctx.session.project
    mix_track = project.find_track("Mix (bounce)")
    item = mix_track.items[0]
    result = chain_on_master(project, mix_track, item, load_preset("streaming"), "demo-master-jsfx",
                             install_it=False, bypass=True)
    ctx.session.apply(result.changes)
    return (f"analysed chain on the master track, bypassed ({result.local_copy.relative_to(ctx.out_dir)}; "
            "'reabridge jsfx install' puts it where REAPER finds it)")


STEPS: list[tuple[str, Callable[[DemoContext], str]]] = [
    ("tempo", _tempo_map),
    ("transcribe", _transcribe_piano),
    ("amp", _amp),
    ("master", _master),
    ("jsfx", _master_chain),
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
    # the copy's media folder links to the example's files; new renders land beside the links
    media = out_dir / build.MEDIA_DIR
    if media.is_symlink():
        media.unlink()
    media.mkdir(exist_ok=True)
    for source_file in sorted((folder / build.MEDIA_DIR).iterdir()):
        link = media / source_file.name
        if not link.exists():
            link.symlink_to(Path("..") / ".." / build.MEDIA_DIR / source_file.name)
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
