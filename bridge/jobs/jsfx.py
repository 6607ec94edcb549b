"""JSFX jobs: run an audio file through any JSFX, or put a JSFX on a project track."""

from __future__ import annotations

from pathlib import Path

from bridge.changes.ops import AddJsEffect, ChangeSet, derived_guid
from bridge.jobs.result import JobResult, Progress, ProgressFn
from bridge.jobs.work import Work
from bridge.jsfx.effect import Effect, load_effect
from bridge.jsfx.errors import JsfxError
from bridge.jsfx.install import SUBFOLDER, install
from bridge.jsfx.interrupt import time_limit
from bridge.reaper.paths import default_resource_path
from bridge.requests.models import JsfxInsertRequest, JsfxRenderRequest


def effects_dirs(given: list[str], resource_path: Path | None = None) -> list[Path]:
    """Where imports are looked for after the effect's own folder: the given folders, then REAPER's Effects."""
    reaper = (resource_path or default_resource_path()) / "Effects"
    return [*(Path(d) for d in given), *([reaper] if reaper.is_dir() else [])]


def slider_values(effect: Effect, values: dict[str, float | str],
                  notices: list[str] | None = None) -> dict[int, float]:
    """Slider numbers and values from ``{"2": -6, "ratio": 4, "mode": "Peak"}``.

    A value beyond the slider's range is brought to the nearest end, as
    REAPER's slider does, and ``notices`` says so; an enum slider takes one
    of its labels or their index.
    """
    sliders: dict[int, float] = {}
    for key, value in values.items():
        number = effect.slider_number(key)
        wanted = effect.slider_value(number, str(value)) if isinstance(value, str) else float(value)
        slider = effect.sliders[number]
        low, high = sorted((slider.minimum, slider.maximum))
        kept = min(max(wanted, low), high) if high > low else wanted
        if kept != wanted and notices is not None:
            notices.append(f"slider {number} ({slider.label or slider.var}) goes from {low:g} to {high:g}; "
                           f"{wanted:g} became {kept:g}")
        sliders[number] = kept
    return sliders


def render(request: JsfxRenderRequest, work: Work, progress: ProgressFn) -> JobResult:
    """Run ``options.audio`` through ``options.effect`` into ``options.output``."""
    from bridge.audio.sink import SUBTYPES
    from bridge.jsfx.render import render_file

    o = request.options
    source, output = Path(o.audio), work.outputs.target(Path(o.output), "audio", "the output")
    with time_limit(o.timeout):  # the effect's <? ?> blocks, @init and every block count
        effect = load_effect(Path(o.effect), effects_dirs(o.effects_dirs, work.resource_path))
        notices: list[str] = []
        sliders = slider_values(effect, o.sliders, notices)
        label = effect.desc or Path(o.effect).name
        progress(Progress("compiling", None, label))  # a big effect takes seconds the first time
        result = render_file(effect, source, output, sliders, o.block, SUBTYPES[o.format or "32f"],
                             lambda f: progress(Progress("rendering", f, label)), o.tempo, o.channels,
                             strict=o.format is not None, outputs=work.outputs)
    return JobResult("jsfx_render", f"wrote {output} ({result.frames} frames; compiled in "
                                    f"{result.compile_seconds:.2f} s)",
                     files=[output], notices=notices + list(result.notices),
                     data={"output": str(output), "frames": result.frames, "latency": result.latency})


def _effects_reference(effect: Path, root: Path) -> str | None:
    """The effect's name relative to ``<root>/Effects`` when it lives there (REAPER's ``<JS`` reference)."""
    effects = (root / "Effects").resolve()
    real = effect.resolve()
    return real.relative_to(effects).as_posix() if effects in real.parents else None


def insert(request: JsfxInsertRequest, work: Work, progress: ProgressFn) -> JobResult:
    """Put ``options.effect`` on ``options.track`` with the given slider values."""
    assert work.project is not None and work.project.path is not None
    o = request.options
    path = Path(o.effect)
    root = Path(o.resource_path) if o.resource_path else (work.resource_path or default_resource_path())
    if o.resource_path is not None and not root.is_dir():
        raise JsfxError(f"REAPER's resource path {root} does not exist")
    effect = load_effect(path, effects_dirs(o.effects_dirs, root))
    notices: list[str] = []
    sliders = slider_values(effect, o.sliders, notices)
    if o.track == "master":
        track_ref, track_name = "master", "the master track"
    else:
        try:
            track = work.project.find_track(o.track)
        except KeyError:
            raise JsfxError(f"no track named or with GUID {o.track!r} in {work.project.path.name}") from None
        track_ref, track_name = track.guid, f"track '{track.display_name}'"
    progress(Progress("inserting", None, effect.desc or path.name))
    files: list[Path] = []
    reference = _effects_reference(path, root)
    if reference is None:
        reference = f"{SUBFOLDER}/{path.name}"
        if o.install and root.is_dir():
            files += install([path], root, work.outputs)
            if effect.imports:
                notices.append(f"{path.name} imports {', '.join(p.name for p in effect.imports)}; install those "
                               "too if REAPER does not already have them")
        else:
            notices.append(f"REAPER's resource path was not found: run 'reabridge jsfx install {path}' so REAPER "
                           "finds the effect")
    op = AddJsEffect(track_ref, reference, sliders, name=o.name or effect.desc or path.stem, bypass=o.bypass,
                     guid=derived_guid(request.id, "fx", track_ref))
    return JobResult("jsfx_insert", f"added {reference} to {track_name}",
                     changes=ChangeSet(request.id, (op,), f"Insert {reference} on {track_name}", request.created),
                     files=files, notices=notices,
                     data={"effect": reference, "track": track_ref, "sliders": {str(k): v for k, v in sliders.items()}})
