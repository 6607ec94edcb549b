"""The speech engine: audio in, a :class:`~bridge.speech.transcript.Transcript` out (models loaded once).

Audio at any rate streams through: resampled to 16 kHz block by block, cut into
speech chunks by the VAD (:mod:`bridge.speech.chunks`), each chunk decoded by
Moonshine as soon as it ends, judged by the English-only guard
(:mod:`bridge.speech.guard`), and its words snapped to the user's vocabulary
(:mod:`bridge.speech.vocabulary`). Memory stays that of one chunk whatever the
length of the recording. Speaker labels need the whole recording at once
(``diarize`` clusters voices over all of it), so only then is the 16 kHz audio
kept (4 bytes a sample: 230 MB an hour).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bridge.audio.reader import audio_info, iter_blocks
from bridge.errors import ReabridgeError
from bridge.speech.chunks import speech_chunks
from bridge.speech.guard import check_recording, confidence, judge
from bridge.speech.moonshine import Moonshine
from bridge.speech.transcript import Segment, Transcript
from bridge.speech.vad import RATE, SileroVad, stream_16k
from bridge.speech.vocabulary import Vocabulary

#: called with (seconds of audio done, seconds in all, elapsed wall-clock seconds)
Report = Callable[[float, float, float], None]
MAX_HOURS = 12.0  #: longer recordings are refused before any work


@dataclass(frozen=True)
class SpeakerOptions:
    """Speaker labelling: a fixed count, or found between two bounds."""

    count: int | None = None
    min_speakers: int = 1
    max_speakers: int = 8


def clock(seconds: float) -> str:
    """``seconds`` as ``m:ss`` or ``h:mm:ss``."""
    whole = int(round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def label_speakers(segments: list[Segment], turns: list) -> list[Segment]:  # type: ignore[type-arg]
    """Each segment given the speaker whose turns overlap it most (None when none does)."""
    out = []
    for seg in segments:
        best, overlap = None, 0.0
        for turn in turns:
            o = min(seg.end, turn.end) - max(seg.start, turn.start)
            if o > overlap:
                best, overlap = turn.speaker, o
        out.append(Segment(seg.start, seg.end, seg.text, best, seg.confidence))
    return out


class SpeechEngine:
    """The VAD and Moonshine base-en, loaded once (the daemon keeps one warm).

    Parameters
    ----------
    model : Moonshine, optional
    vad : SileroVad, optional
    """

    def __init__(self, model: Moonshine | None = None, vad: SileroVad | None = None) -> None:
        self.model = model or Moonshine()
        self.vad = vad or SileroVad()

    def transcribe_blocks(self, blocks: Iterable[np.ndarray], rate: float, frames: int, *,
                          vocabulary: Vocabulary | None = None, speakers: SpeakerOptions | None = None,
                          report: Report | None = None) -> Transcript:
        """Transcribe mono float32 blocks at ``rate`` (``frames`` samples in all).

        Raises
        ------
        NoSpeechError, NotEnglishError
            See :func:`bridge.speech.guard.check_recording`; nothing is returned then.
        """
        duration = frames / rate
        if duration > MAX_HOURS * 3600:
            raise ReabridgeError(f"the audio is {duration / 3600:.1f} hours long; speech is transcribed for up to "
                                 f"{MAX_HOURS:g} hours at a time (split it, or trim the item)")
        started = time.monotonic()
        kept: list[np.ndarray] | None = [] if speakers is not None else None

        def stream() -> Iterable[np.ndarray]:
            for block in stream_16k(blocks, rate, frames):
                if kept is not None:
                    kept.append(block)
                yield block

        def heard(samples: int) -> None:
            if report is not None:
                report(min(duration, samples / RATE), duration, time.monotonic() - started)

        segments: list[Segment] = []
        left_out: list[tuple[float, float]] = []
        speech = trusted = untrusted = empty = 0.0
        for chunk in speech_chunks(stream(), vad=self.vad, heard=heard):
            seconds = chunk.end - chunk.start
            speech += seconds
            decoded = self.model.decode(chunk.samples)
            verdict = judge(decoded)
            if verdict.trusted:
                trusted += seconds
                segments.append(Segment(chunk.start, chunk.end, decoded.text, None, confidence(decoded)))
            elif verdict.empty:
                empty += seconds
            else:
                untrusted += seconds
                left_out.append((chunk.start, chunk.end))
        check_recording(duration, speech, trusted, untrusted, empty)
        transcript = Transcript(duration, segments, [], left_out, speech)
        if vocabulary is not None:
            vocabulary.common = self.model.tokenizer.words
            transcript = vocabulary.apply(transcript)
        if speakers is not None and kept is not None:
            transcript.segments = self._speakers(np.concatenate(kept) if kept else np.zeros(0, np.float32),
                                                 transcript.segments, speakers)
        return transcript

    def _speakers(self, samples16k: np.ndarray, segments: list[Segment], options: SpeakerOptions) -> list[Segment]:
        try:
            from bridge.speech.speakers import diarize
        except ImportError:  # pragma: no cover - the speakers module ships with this one
            raise ReabridgeError("speaker labels are not available in this installation") from None
        speech = [(s.start, s.end) for s in segments]
        turns = diarize(samples16k, RATE, speakers=options.count, min_speakers=options.min_speakers,
                        max_speakers=options.max_speakers, speech=speech)
        return label_speakers(segments, turns)

    def transcribe_file(self, path: Path, **options: object) -> Transcript:
        """Transcribe an audio file (any format reabridge reads), streaming."""
        info = audio_info(path)
        blocks = iter_blocks(path, 0, info.frames, mono=True)
        return self.transcribe_blocks(blocks, info.sample_rate, info.frames, **options)  # type: ignore[arg-type]
