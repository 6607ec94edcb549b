"""The transcription engine: audio in, note events out (model loaded once)."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from bridge.audio.reader import audio_info, iter_blocks
from bridge.audio.resample import resample_stream, resampled_length
from bridge.transcribe.frames import Progress, run_model
from bridge.transcribe.model import SAMPLE_RATE, BasicPitchModel
from bridge.transcribe.notes import NoteEvent, NoteParams, output_to_notes


@dataclass(frozen=True)
class Transcription:
    """The result of transcribing one piece of audio.

    Attributes
    ----------
    notes : list of NoteEvent
        In basic-pitch's order of discovery; :meth:`sorted_notes` sorts them.
    duration : float
        Seconds of audio transcribed.
    params : NoteParams
    """

    notes: list[NoteEvent]
    duration: float
    params: NoteParams = field(default_factory=NoteParams)

    def sorted_notes(self) -> list[NoteEvent]:
        """Notes by start time, then pitch."""
        return sorted(self.notes, key=lambda n: (n.start, n.pitch, n.end))

    @property
    def message(self) -> str:
        """One line for the user."""
        if not self.notes:
            return (f"no notes found in {self.duration:.1f} s of audio "
                    "(silence, or nothing pitched above the thresholds)")
        return f"{len(self.notes)} notes in {self.duration:.1f} s of audio"


class Transcriber:
    """basic-pitch transcription with the network loaded once (as in the daemon).

    Parameters
    ----------
    model : BasicPitchModel, optional
        A loaded network; the packaged basic-pitch model by default.
    batch : int
        Model windows per network call. One, as basic-pitch's own ``predict``
        runs them: onnxruntime's working memory (its arena grows to the largest
        batch) is then 60-70 MB smaller than with 4, at the same speed on two
        cores, and the notes are the same.
    """

    def __init__(self, model: BasicPitchModel | None = None, batch: int = 1) -> None:
        self.model = model or BasicPitchModel()
        self.batch = batch

    def transcribe_blocks(self, blocks: Iterable[np.ndarray], sample_rate: float, frames: int,
                          params: NoteParams | None = None, progress: Progress | None = None) -> Transcription:
        """Transcribe mono float32 audio arriving in blocks (``frames`` samples in all)."""
        params = params or NoteParams()
        n = resampled_length(frames, sample_rate, SAMPLE_RATE)
        stream = resample_stream(blocks, sample_rate, SAMPLE_RATE, frames)
        output = run_model(self.model, stream, n, self.batch, progress)
        notes = output_to_notes(output, params)
        return Transcription(notes, frames / sample_rate, params)

    def transcribe_file(self, path: str | os.PathLike[str], params: NoteParams | None = None,
                        progress: Progress | None = None, start: int = 0, frames: int | None = None) -> Transcription:
        """Transcribe an audio file (or ``frames`` samples of it from ``start``), streaming."""
        info = audio_info(path)
        count = info.frames - start if frames is None else min(frames, info.frames - start)
        blocks = iter_blocks(path, start, count, mono=True)
        return self.transcribe_blocks(blocks, info.sample_rate, max(count, 0), params, progress)
