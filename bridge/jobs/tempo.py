"""The tempo job: tempo and beats of a file or of one project item, optionally written into the project."""

from __future__ import annotations

from pathlib import Path

from bridge.audio.item_audio import plan_item_audio
from bridge.audio.reader import read_audio
from bridge.changes.ops import ChangeSet, Op, RemoveMarker, SetTempo
from bridge.errors import ReabridgeError
from bridge.jobs.result import ItemNote, JobResult, Progress, ProgressFn
from bridge.jobs.work import Work
from bridge.project.made import Made, made_records
from bridge.requests.models import TempoRequest
from bridge.tempo.detect import TempoResult
from bridge.tempo.tempo_map import bar_numbers, beat_markers, tempo_map_ops


def _lines(data: dict, result: TempoResult) -> tuple[str, list[ItemNote]]:
    alts = ", ".join(f"{a['bpm']:.1f} {a['relation']} ({a['confidence']:.2f})" for a in data["alternatives"]) \
        or "none in the range"
    doubt = " -- close call, check the alternatives" if result.close_call else ""
    summary = (f"{data['bpm']:.2f} BPM (confidence {data['confidence']:.2f}), {result.metre}{doubt}; "
               f"alternatives: {alts}")
    shown = data["beats"][:16]
    more = f" ... ({len(data['beats'])} beats)" if len(data["beats"]) > 16 else ""
    notes = [ItemNote("beats", " ".join(f"{b:.3f}" for b in shown) + more),
             ItemNote("analysis", f"{result.analysis_seconds:.2f} s")]
    return summary, notes


def _search(request: TempoRequest, scale: float = 1.0) -> dict:
    """The detector's tempo constraints; ``scale`` turns the project tempi the user gives into the source's."""
    o = request.options
    return {"bpm_range": (o.bpm_range[0] * scale, o.bpm_range[1] * scale) if o.bpm_range else None,
            "prefer_bpm": o.prefer_bpm * scale if o.prefer_bpm else None}


def run(request: TempoRequest, work: Work, progress: ProgressFn) -> JobResult:
    """Detect tempo and beats; in a project, set the tempo (or a tempo map) and add bar or beat markers."""
    o = request.options
    progress(Progress("loading", None, "the beat tracker"))
    detector = work.engines.tempo()
    progress(Progress("analysing", None, "tempo and beats"))
    if work.project is None:
        samples, info = read_audio(Path(o.audio), mono=True)  # type: ignore[arg-type]
        result = detector.detect(samples, info.sample_rate, **_search(request))
        data = result.to_dict()
        summary, notes = _lines(data, result)
        return JobResult("tempo", summary, done=notes, data=data)
    if len(work.items) != 1:
        raise ReabridgeError(f"tempo analyses one item; {len(work.items)} were chosen")
    track, item = work.items[0]
    plan = plan_item_audio(track, item)
    scale = plan.time_scale
    result = detector.detect(plan.samples(), plan.effective_rate, **_search(request, scale))
    beats = [item.position + b * scale for b in result.beats if b * scale <= item.length]
    downbeats = [item.position + b * scale for b in result.downbeats if b * scale <= item.length]
    bpm = result.bpm / scale
    ops: list[Op] = []
    numbers = None
    if o.apply:  # the detected metre, its bars starting on the first downbeat
        if o.map:
            tempo = tempo_map_ops(beats, bpm, result.beats_per_bar, 4, downbeat=downbeats[0] if downbeats else None,
                                  tolerance=o.tolerance_ms / 1000.0, min_beats=o.min_beats)
            numbers = bar_numbers(tempo, downbeats)  # bar markers named as REAPER's ruler numbers them
        else:
            tempo = SetTempo(round(bpm, 6), result.beats_per_bar, 4)
        ops.append(tempo)
    if o.markers is not None:
        for old in made_records(work.project):  # markers made from this item before are replaced
            if old.same_source("tempo", item.guid, o.markers):
                ops += [RemoveMarker(old.guid), old.forget()]
        marked, label = (downbeats, "Bar") if o.markers == "bars" else (beats, "Beat")
        for marker in beat_markers(marked, 1, label, request.id, numbers if o.markers == "bars" else None):
            ops += [marker, Made(marker.guid, "tempo", item.guid, None, o.markers).record()]
    data = result.to_dict()
    data["beats"] = [round(b, 4) for b in beats]
    data["downbeats"] = [round(b, 4) for b in downbeats]
    data["bpm_in_project"] = round(bpm, 3)
    summary, notes = _lines(data, result)
    changes = None
    if ops:
        what = "tempo map" if o.map else ("tempo" if o.apply else "markers")
        changes = ChangeSet(request.id, tuple(ops), f"Set {what} from {bpm:.2f} BPM", request.created)
    return JobResult("tempo", summary, changes=changes, done=notes, data=data)
