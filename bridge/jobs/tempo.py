"""The tempo job: detect tempo and beats in an item, return a ChangeSet."""

from __future__ import annotations

from dataclasses import dataclass

from bridge.audio.item_audio import plan_item_audio
from bridge.changes.ops import ChangeSet, Op, SetTempo
from bridge.project.project import Project
from bridge.tempo.detect import TempoDetector, TempoResult
from bridge.tempo.tempo_map import beat_markers, tempo_map_ops


@dataclass
class TempoJobResult:
    """Detection in item time, beats in project time, and the ChangeSet."""

    result: TempoResult
    project_beats: list[float]
    changes: ChangeSet


def detect_item_tempo(project: Project, item_guid: str, request_id: str, apply_map: bool = False,
                      markers: str | None = None, detector: TempoDetector | None = None) -> TempoJobResult:
    """Detect the tempo of what an item plays and build the project change.

    Parameters
    ----------
    apply_map : bool
        A tempo map following the beats instead of one constant tempo.
    markers : {"bars", "beats"} or None
        Also add a marker per bar (every time-signature numerator beats) or per beat.
    """
    track, item = project.find_item(item_guid)
    plan = plan_item_audio(track, item)
    result = (detector or TempoDetector()).detect(plan.samples(), plan.effective_rate)
    scale = plan.time_scale
    beats = [item.position + b * scale for b in result.beats if b * scale <= item.length]
    bpm = result.bpm / scale
    tm = project.tempo_map
    ops: list[Op] = []
    if apply_map:
        ops.append(tempo_map_ops(beats, bpm, tm.numerator, tm.denominator))
    else:
        ops.append(SetTempo(round(bpm, 6), tm.numerator, tm.denominator))
    if markers == "bars":
        ops.extend(beat_markers(beats, tm.numerator, "Bar"))
    elif markers == "beats":
        ops.extend(beat_markers(beats, 1, "Beat"))
    return TempoJobResult(result, beats, ChangeSet(request_id, tuple(ops), f"Set tempo to {bpm:.2f} BPM"))
