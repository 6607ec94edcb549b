"""Speech cut into pieces the recogniser can take: VAD segments of at most ~20 s, streaming.

Moonshine decodes one piece of audio per call; past ~20-30 s its output degrades
and its memory grows with the square of the length. :func:`speech_chunks` reads
16 kHz audio block by block, runs the VAD (:mod:`bridge.speech.vad`) over it, and
yields each speech segment with its samples as soon as the segment has ended:
a segment longer than ``max_length`` is cut at its quietest moment, and segments
are joined to the next while the pause between them is short and the result at
most ~12 s (the model does better with context, and a subtitle with a whole
phrase). Only the audio of the segment being tracked is kept, so an hour needs
the memory of a minute.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from bridge.speech.vad import RATE, WINDOW, SileroVad, Span, SpeechTracker, VadParams, shared_vad

#: the recogniser's settings: longer pauses and padding than silero-vad's defaults keep words whole
SPEECH_VAD = VadParams(threshold=0.5, min_silence=0.3, min_speech=0.25, pad=0.15, max_length=20.0)
JOIN_UP_TO = 12.0  #: seconds: segments are joined while the result is no longer than this ...
JOIN_GAP = 0.8  #: ... and the pause between them at most this long


@dataclass(frozen=True)
class Chunk:
    """One piece of speech: where it is (samples at 16 kHz) and its samples."""

    span: Span
    samples: np.ndarray

    @property
    def start(self) -> float:
        """Start in seconds."""
        return self.span.start / RATE

    @property
    def end(self) -> float:
        """End in seconds."""
        return self.span.end / RATE


class _Audio:
    """The 16 kHz audio from some point on: appended block by block, dropped from the front."""

    def __init__(self) -> None:
        self._blocks: list[np.ndarray] = []
        self.start = 0  # sample index of the first sample kept
        self.end = 0  # sample index after the last sample

    def append(self, block: np.ndarray) -> None:
        if len(block):
            self._blocks.append(block)
            self.end += len(block)

    def get(self, start: int, end: int) -> np.ndarray:
        """Samples ``[start, end)`` (those past the end of the audio are left out)."""
        start, end = max(start, self.start), min(end, self.end)
        out = np.empty(max(0, end - start), dtype=np.float32)
        at, filled = self.start, 0
        for block in self._blocks:
            lo, hi = max(start, at), min(end, at + len(block))
            if hi > lo:
                out[filled:filled + hi - lo] = block[lo - at:hi - at]
                filled += hi - lo
            at += len(block)
            if at >= end:
                break
        return out

    def drop_before(self, sample: int) -> None:
        """Forget the samples before ``sample``."""
        while self._blocks and self.start + len(self._blocks[0]) <= sample:
            self.start += len(self._blocks.pop(0))


def join_short(spans: Iterable[Span], up_to: float = JOIN_UP_TO, gap: float = JOIN_GAP) -> Iterator[Span]:
    """Spans joined to the next while the pause is short and the result not too long (a phrase, not a word)."""
    held: Span | None = None
    for span in spans:
        if held is not None:
            if span.start - held.end <= gap * RATE and span.end - held.start <= up_to * RATE:
                held = Span(held.start, span.end)
                continue
            yield held
        held = span
    if held is not None:
        yield held


def speech_chunks(blocks: Iterable[np.ndarray], *, params: VadParams = SPEECH_VAD, vad: SileroVad | None = None,
                  join: bool = True, heard: Callable[[int], None] | None = None) -> Iterator[Chunk]:
    """The speech in a stream of 16 kHz mono blocks, chunk by chunk.

    Parameters
    ----------
    blocks : iterable of numpy.ndarray
        The audio, float32 at 16 kHz, in blocks of any size.
    params : VadParams
        The VAD settings (``max_length`` bounds a chunk).
    vad : SileroVad, optional
        A loaded VAD (one shared per process by default).
    join : bool
        Join short segments to their neighbours (:func:`join_short`).
    heard : callable, optional
        Called with the number of samples read so far, after every block.

    Yields
    ------
    Chunk
        In order, not overlapping, each at most ``params.max_length`` seconds.
    """
    stream = (vad or shared_vad()).stream()
    tracker = SpeechTracker(params)
    audio = _Audio()
    max_length = params.max_length or 20.0
    pending: list[Span] = []  # finished segments not yet joined/yielded
    margin = int(params.pad * RATE) + 2 * WINDOW  # a segment starting in the next block reaches back this far

    def ready(final: bool) -> Iterator[Chunk]:
        spans = list(join_short(pending, min(JOIN_UP_TO, max_length))) if join else list(pending)
        keep = [] if final or not spans else [spans.pop()]  # the last may still take the next one in
        for span in spans:
            yield Chunk(span, audio.get(span.start, span.end))
        pending[:] = keep
        earliest = [s.start for s in keep]
        if tracker.open_start is not None:
            earliest.append(tracker.open_start)
        audio.drop_before(min(earliest) if earliest else audio.end - margin)

    for block in blocks:
        block = np.asarray(block, dtype=np.float32).reshape(-1)
        audio.append(block)
        pending += tracker.push(stream.feed(block))
        if heard is not None:
            heard(audio.end)
        if pending:
            yield from ready(False)
        elif tracker.open_start is None:
            audio.drop_before(audio.end - margin)
    pending += tracker.push(stream.finish())
    pending += tracker.finish(audio.end)
    yield from ready(True)
