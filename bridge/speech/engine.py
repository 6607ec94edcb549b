"""The speech engine: audio in, a :class:`~bridge.speech.transcript.Transcript` out (models loaded once).

Audio at any rate streams through: resampled to 16 kHz block by block, cut into
speech chunks by the VAD (:mod:`bridge.speech.chunks`), each chunk decoded by
Moonshine as soon as it ends, judged by the English-only guard
(:mod:`bridge.speech.guard`), and its words snapped to the user's vocabulary
(:mod:`bridge.speech.vocabulary`). Memory stays that of one chunk whatever the
length of the recording. With speaker labels the recording is diarized first
(``diarize`` clusters voices over all of it, so the 16 kHz audio is kept: 4 bytes
a sample, 230 MB an hour) and each speaker's turn is decoded on its own, so a
segment never mixes two voices.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
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
MAX_CHUNK = 20.0  #: seconds: a speaker's turn longer than this is cut at its pauses


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

        def heard(samples: int) -> None:
            if report is not None:
                report(min(duration, samples / RATE), duration, time.monotonic() - started)

        if speakers is None:
            pieces: Iterable[tuple[float, float, np.ndarray, str | None]] = (
                (c.start, c.end, c.samples, None)
                for c in speech_chunks(stream_16k(blocks, rate, frames), vad=self.vad, heard=heard))
        else:
            pieces = self._turns(stream_16k(blocks, rate, frames), speakers, heard)
        segments: list[Segment] = []
        left_out: list[tuple[float, float]] = []
        speech = trusted = untrusted = empty = 0.0
        for start, end, samples, speaker in pieces:
            seconds = end - start
            speech += seconds
            decoded = self.model.decode(samples)
            verdict = judge(decoded)
            if verdict.trusted:
                trusted += seconds
                segments.append(Segment(start, end, decoded.text, speaker, confidence(decoded)))
            elif verdict.empty:
                empty += seconds
            else:
                untrusted += seconds
                left_out.append((start, end))
        check_recording(duration, speech, trusted, untrusted, empty)
        transcript = Transcript(duration, segments, [], left_out, speech)
        if vocabulary is not None:
            vocabulary.common = self.model.tokenizer.words
            transcript = vocabulary.apply(transcript)
        return transcript

    def _turns(self, blocks: Iterable[np.ndarray], options: SpeakerOptions, heard: Callable[[int], None]
               ) -> Iterator[tuple[float, float, np.ndarray, str | None]]:
        """Speaker turns (the whole recording diarized first), each decoded on its own; long ones cut at pauses."""
        from bridge.speech.guard import NoSpeechError
        from bridge.speech.speakers import NoSpeechError as NoTurnsError
        from bridge.speech.speakers import diarize

        kept = []
        for block in blocks:
            kept.append(block)
            heard(sum(len(b) for b in kept))
        audio = np.concatenate(kept) if kept else np.zeros(0, dtype=np.float32)
        try:
            turns = diarize(audio, RATE, speakers=options.count, min_speakers=options.min_speakers,
                            max_speakers=options.max_speakers)
        except NoTurnsError:
            raise NoSpeechError(f"no speech found in {len(audio) / RATE:.1f} s of audio; nothing was written") from None
        for turn in turns:
            a, b = int(turn.start * RATE), int(turn.end * RATE)
            if b - a <= MAX_CHUNK * RATE:
                yield turn.start, turn.end, audio[a:b], turn.speaker
                continue
            for c in speech_chunks([audio[a:b]], vad=self.vad):
                yield turn.start + c.start, turn.start + c.end, c.samples, turn.speaker

    def transcribe_file(self, path: Path, **options: object) -> Transcript:
        """Transcribe an audio file (any format reabridge reads), streaming."""
        info = audio_info(path)
        blocks = iter_blocks(path, 0, info.frames, mono=True)
        return self.transcribe_blocks(blocks, info.sample_rate, info.frames, **options)  # type: ignore[arg-type]
