"""Pitch correction, composed: f0 -> notes -> targets -> resynthesis, from a source to a sink.

Two passes over the input: the first tracks the pitch (and listens for polyphony on a few
windows), the second resynthesises the regions that move and copies the rest. Both
stream, so a long file costs time, not memory.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from bridge.audio.sink import Sink
from bridge.audio.source import AudioSource
from bridge.errors import ReabridgeError
from bridge.tune.notes import segment
from bridge.tune.polyphony import Polyphony, measure, window_starts
from bridge.tune.scales import note_name
from bridge.tune.targets import Chooser, Decision, Settings, plan
from bridge.tune.track import SILENCE_DB, PitchTrack, Snippets, track_pitch

StageProgress = Callable[[str, float], None]


class TuneError(ReabridgeError):
    """Input pitch correction cannot work on (silence, no pitched notes, several notes at once)."""


@dataclass
class TuneReport:
    """What the correction found and did."""

    target: str
    settings: Settings
    rate: float
    channels: int
    duration: float
    track: PitchTrack
    shift: np.ndarray
    decisions: list[Decision]
    polyphony: Polyphony
    resynthesised_seconds: float
    notices: list[str] = field(default_factory=list)

    @property
    def corrected(self) -> list[Decision]:
        """Notes that were moved."""
        return [d for d in self.decisions if d.target is not None]

    def note_rows(self) -> list[dict[str, object]]:
        """One row per note: times, detected pitch, target, correction."""
        rows = []
        for d in self.decisions:
            nearest = int(round(d.note.centre))
            rows.append({
                "start": round(d.note.start_time, 3), "end": round(d.note.end_time, 3),
                "detected": f"{note_name(nearest)} {100 * (d.note.centre - nearest):+.0f}c",
                "detected_midi": round(d.note.centre, 3),
                "target": note_name(d.target) if d.target is not None else None, "target_midi": d.target,
                "correction_cents": round(d.correction_cents, 1),
            })
        return rows

    def figures(self) -> dict[str, object]:
        """The report's JSON content (without the file names)."""
        moved = [abs(d.correction_cents) for d in self.corrected]
        return {
            "target": self.target,
            "settings": {"speed_ms": self.settings.speed_ms, "strength": self.settings.strength,
                         "humanize_cents": self.settings.humanize_cents, "keep_vibrato": self.settings.keep_vibrato},
            "sample_rate": self.rate, "channels": self.channels, "duration_s": round(self.duration, 3),
            "notes_found": len(self.decisions), "notes_corrected": len(self.corrected),
            "mean_abs_correction_cents": round(float(np.mean(moved)), 1) if moved else 0.0,
            "voiced_share": round(float(np.mean(self.track.voiced)), 3) if len(self.track.f0) else 0.0,
            "polyphony_share": round(self.polyphony.share, 3),
            "resynthesised_seconds": round(self.resynthesised_seconds, 3),
            "notes": self.note_rows(),
        }

    def summary(self) -> str:
        """One line for the command's output."""
        moved = [abs(d.correction_cents) for d in self.corrected]
        mean = f", {np.mean(moved):.0f} cents on average" if moved else ""
        return f"{len(self.corrected)} of {len(self.decisions)} note(s) tuned to {self.target}{mean}"


def _stage(progress: StageProgress | None, name: str, lo: float, hi: float) -> Callable[[float], None]:
    return lambda f: progress(name, lo + (hi - lo) * min(1.0, f)) if progress is not None else None


def analyse(source: AudioSource, what: str, progress: StageProgress | None = None,
            model: object | None = None) -> tuple[PitchTrack, Polyphony]:
    """Pass 1: the pitch track and the polyphony check, refusing silence and polyphonic input.

    Raises
    ------
    TuneError
        Silence; clearly polyphonic input.
    """
    from bridge.transcribe.model import SAMPLE_RATE, WINDOW_SAMPLES

    length = int(np.ceil(WINDOW_SAMPLES * source.rate / SAMPLE_RATE))
    snippets = Snippets([(s, length) for s in window_starts(source.frames, source.rate)])
    track = track_pitch(source, _stage(progress, "tracking pitch", 0.0, 0.35), snippets)
    if len(track.level) == 0 or float(track.level.max()) <= SILENCE_DB:
        raise TuneError(f"{what} is silent: there is nothing to tune")
    poly = measure(snippets.audio, source.rate, model)
    if poly.polyphonic:
        raise TuneError(f"{what} sounds polyphonic (several notes at once in {100 * poly.share:.0f}% of what was "
                        "heard): reabridge tune corrects one voice or instrument (solo vocal, bass, wind, lead "
                        "guitar); split that part out first")
    return track, poly


def tune_to_sink(source: AudioSource, choose: Chooser, target: str, settings: Settings, sink: Sink, what: str,
                 progress: StageProgress | None = None, model: object | None = None) -> TuneReport:
    """Correct the pitch of ``source`` into ``sink`` (same rate, channels and length).

    Parameters
    ----------
    source : AudioSource
    choose : Chooser
        Each note's target (:func:`bridge.tune.targets.scale_chooser` or ``guide_chooser``).
    target : str
        What the notes are tuned to, for reports (``"A minor"``).
    settings : Settings
    sink : Sink
    what : str
        The input, as messages name it (``"vocal.wav"``).
    progress : callable, optional
        ``(stage, fraction)``.
    model : BasicPitchModel, optional
        A loaded basic-pitch network for the polyphony check.

    Raises
    ------
    TuneError
        Silence, polyphony, or no pitched notes.
    """
    track, poly = analyse(source, what, progress, model)
    segmentation = segment(track)
    if not segmentation.notes:
        raise TuneError(f"no pitched notes found in {what} (drums, noise or speech?): there is nothing to tune")
    decided = plan(track, segmentation, choose, settings)
    changed = _resynthesise(source, track, decided.shift, sink, progress)
    return TuneReport(target, settings, source.rate, source.channels, source.frames / source.rate, track,
                      decided.shift, decided.decisions, poly, changed / source.rate)


def _resynthesise(source: AudioSource, track: PitchTrack, shift: np.ndarray, sink: Sink,
                  progress: StageProgress | None) -> int:
    from bridge.tune.resynth import resynthesize

    return resynthesize(source, track.f0, shift, sink, _stage(progress, "resynthesising", 0.35, 1.0))
