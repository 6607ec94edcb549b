"""``reabridge demo``: the main job on the bundled example project, as a list of requests.

The example stays untouched: the job works on a copy in ``<folder>/out`` (made
afresh on every run, media copied, so the folder can be moved to another
machine) and writes ``demo-processed.RPP`` there. Every step is a request run
through :func:`bridge.requests.run_request`, exactly as the daemon would run
it; the one step that is not a job (bouncing the stems to a mix, which the
offline renderer will do) writes its track with a ChangeSet.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape

from bridge.demo import build
from bridge.jobs.engines import Engines
from bridge.jobs.result import JobResult
from bridge.project.project import Project
from bridge.requests import AnyRequest, parse_request
from bridge.requests.run import run_request
from bridge.session.rpp_file import RppFileSession

OUT_NAME = "demo-processed.RPP"


def _request(job: str, target: Path, options: dict[str, Any], items: dict[str, Any] | None = None) -> AnyRequest:
    data: dict[str, Any] = {"id": f"demo-{job.replace('_', '-')}", "job": job, "project": {"path": str(target)},
                            "options": options}
    if items is not None:
        data["items"] = items
    return parse_request(data)


def _mix_guid(target: Path) -> str:
    return Project.load(target).find_track("Mix (bounce)").items[0].guid


def demo_requests(target: Path, out_dir: Path) -> list[tuple[str, Callable[[], AnyRequest]]]:
    """The demo's requests, in order (each built when its turn comes: later ones name items earlier steps made)."""
    from bridge.amp.bundled import bundled_capture

    drums = Project.load(target).find_track("Drums").items[0].guid
    return [
        ("tempo", lambda: _request("tempo", target, {"apply": True, "map": True, "markers": "bars"},
                                   {"guids": [drums]})),
        ("transcribe", lambda: _request("transcribe", target, {}, {"tracks": ["Piano"]})),
        ("amp", lambda: _request("amp_render", target, {"model": str(bundled_capture("reabridge Crunch"))},
                                 {"tracks": ["Gtr DI"]})),
        ("master", lambda: _request("master", target, {"preset": "streaming", "report": str(out_dir / "master-report")},
                                    {"guids": [_mix_guid(target)]})),
        ("jsfx", lambda: _request("master_jsfx", target, {"preset": "streaming", "install": False, "bypass": True},
                                  {"guids": [_mix_guid(target)]})),
    ]


def _line(name: str, result: JobResult) -> str:
    if name == "tempo":
        beats = len(result.data["beats"])
        return f"{result.data['bpm']:.2f} BPM from the drums, {beats} beats, tempo map + bar markers"
    if result.done and name in ("transcribe", "master"):
        return f"{result.done[0]}; {result.summary}"
    return result.summary


def bounce(target: Path, out_dir: Path) -> str:
    """Sum the stems (with the amp take) into a 'Mix (bounce)' track: what the offline renderer will do."""
    import numpy as np
    import soundfile as sf

    from bridge.changes import AddAudioItem, AddTrack, ChangeSet, derived_guid

    session = RppFileSession(target)
    project = session.project
    parts = []
    for name, level in (("Piano", 0.8), ("Gtr DI", 0.5), ("Drums", 0.7)):
        take = project.find_track(name).items[0].active_take  # the guitar's is the amp render
        audio, rate = sf.read(take.source.resolve().path, dtype="float32", always_2d=True)
        parts.append(audio.mean(axis=1) * level)
    length = min(len(p) for p in parts)
    mono = sum(p[:length] for p in parts) * 0.35
    mix = out_dir / build.MEDIA_DIR / "demo-mix.wav"
    sf.write(mix, np.stack([mono, np.roll(mono, 24) * 0.9], axis=1), rate, subtype="PCM_24")
    track = AddTrack("Mix (bounce)", guid=derived_guid("demo-bounce", "track"))
    item = AddAudioItem(track.guid, str(mix), 0.0, length / rate, name="demo-mix.wav",
                        guid=derived_guid("demo-bounce", "item"))
    session.apply(ChangeSet("demo-bounce", (track, item), "Bounce the stems to a mix track"))
    return "stems bounced to a 'Mix (bounce)' track"


def _fresh_copy(source: Path, folder: Path) -> Path:
    out_dir = folder / "out"
    if out_dir.exists():
        shutil.rmtree(out_dir)
    (out_dir / build.MEDIA_DIR).mkdir(parents=True)
    for media in sorted((folder / build.MEDIA_DIR).iterdir()):
        shutil.copy2(media, out_dir / build.MEDIA_DIR / media.name)
    target = out_dir / OUT_NAME
    shutil.copyfile(source, target)
    return target


def run_demo(fresh: bool = False, folder: Path = Path("reabridge-demo")) -> Path:
    """Build the example if needed, run every step on a fresh copy, print what happened.

    Returns
    -------
    Path
        ``<folder>/out/demo-processed.RPP``.
    """
    console = Console(highlight=False)
    started = time.perf_counter()
    folder = folder.absolute()
    source = build.build(folder, force=fresh)
    target = _fresh_copy(source, folder)
    out_dir = target.parent
    engines = Engines()
    console.print("[bold]reabridge demo[/bold] on " + escape(str(source)))
    for name, make in demo_requests(target, out_dir):
        if name == "master":  # the mix to master is the stems' bounce
            t0 = time.perf_counter()
            console.print(f"  bounce: {bounce(target, out_dir)} ({time.perf_counter() - t0:.2f} s)", markup=False)
        t0 = time.perf_counter()
        result = run_request(make(), engines=engines)
        console.print(f"  {name}: {_line(name, result)} ({time.perf_counter() - t0:.2f} s)", markup=False)
    project = Project.load(target)
    console.print(f"wrote {target} ({len(project.tracks)} tracks, {len(project.markers)} markers) "
                  f"in {time.perf_counter() - started:.1f} s", markup=False)
    return target
