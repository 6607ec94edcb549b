"""Voice activity: Silero VAD's ONNX model through onnxruntime, streaming, and its speech segments.

The model takes 512-sample windows of 16 kHz audio, each preceded by the last 64
samples of the window before (its context), and carries a recurrent state from
one window to the next; it answers with the probability that the window holds
speech. :class:`VadStream` feeds it audio of any block size, carrying both.

:class:`SpeechTracker` turns the probabilities into speech segments with the
rules of silero-vad's ``get_speech_timestamps`` (speech starts at a window at or
above ``threshold``, ends where it drops below ``threshold - 0.15`` and stays
there for ``min_silence``; segments not longer than ``min_speech`` are dropped;
``pad`` is added on both sides), one window at a time, so an hour of audio
needs no more memory than a minute. With ``max_length`` a segment that goes on
too long is cut at its quietest moment (the lowest speech probability over
~100 ms in its second half), which the recogniser needs (see
:mod:`bridge.speech.chunks`).

:func:`speech_segments` is the whole thing for audio in memory; without
``max_length`` it gives exactly the segments silero-vad's own
``get_speech_timestamps`` gives (tested).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bridge.speech.model_files import SpeechModelError, silero_vad_file

RATE = 16000  #: the sample rate the speech models work at
WINDOW = 512  #: samples per VAD window (32 ms)
CONTEXT = 64  #: samples of the previous window the model sees first
STATE_SHAPE = (2, 1, 128)


class SileroVad:
    """Silero VAD's network, loaded once (sessions are shared; every stream keeps its own state).

    Parameters
    ----------
    path : Path, optional
        The ``.onnx`` file; the one in the installed ``silero-vad`` wheel by default.
    threads : int
        onnxruntime threads: one is fastest for a 512-sample window (as silero-vad sets it).
    """

    def __init__(self, path: Path | None = None, threads: int = 1) -> None:
        import onnxruntime as ort

        self.path = path or silero_vad_file()
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        try:
            self._session = ort.InferenceSession(str(self.path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own exception types
            raise SpeechModelError(f"cannot load the voice activity model {self.path}: {exc}") from None
        self._rate = np.array(RATE, dtype=np.int64)

    def stream(self) -> VadStream:
        """A fresh stream (state and context zero, as silero-vad's ``reset_states``)."""
        return VadStream(self)

    def step(self, window: np.ndarray, state: np.ndarray) -> tuple[float, np.ndarray]:
        """One window (``CONTEXT + WINDOW`` samples, shape ``(1, 576)``): probability and next state."""
        out, new_state = self._session.run(None, {"input": window, "state": state, "sr": self._rate})
        return float(out[0, 0]), new_state


class VadStream:
    """Speech probabilities of a stream of 16 kHz audio, one per 512-sample window."""

    def __init__(self, vad: SileroVad) -> None:
        self._vad = vad
        self._state = np.zeros(STATE_SHAPE, dtype=np.float32)
        self._buffer = np.zeros((1, CONTEXT + WINDOW), dtype=np.float32)  # context, then the window
        self._fill = 0  # samples of the window already in the buffer
        self.samples = 0  #: samples fed so far

    def feed(self, samples: np.ndarray) -> np.ndarray:
        """Probabilities of the windows ``samples`` completes (the rest waits for the next call)."""
        samples = np.asarray(samples, dtype=np.float32).reshape(-1)
        self.samples += len(samples)
        out: list[float] = []
        pos = 0
        while pos < len(samples):
            take = min(WINDOW - self._fill, len(samples) - pos)
            self._buffer[0, CONTEXT + self._fill:CONTEXT + self._fill + take] = samples[pos:pos + take]
            self._fill += take
            pos += take
            if self._fill == WINDOW:
                out.append(self._run())
        return np.asarray(out, dtype=np.float64)

    def finish(self) -> np.ndarray:
        """The last, partial window, padded with zeros as silero-vad pads it (empty when there is none)."""
        if self._fill == 0:
            return np.zeros(0, dtype=np.float64)
        self._buffer[0, CONTEXT + self._fill:] = 0.0
        return np.asarray([self._run()], dtype=np.float64)

    def _run(self) -> float:
        probability, self._state = self._vad.step(self._buffer, self._state)
        self._buffer[0, :CONTEXT] = self._buffer[0, -CONTEXT:]
        self._fill = 0
        return probability


@dataclass(frozen=True)
class VadParams:
    """How probabilities become segments (silero-vad's ``get_speech_timestamps`` defaults).

    Attributes
    ----------
    threshold : float
        A window at or above this starts (or continues) speech.
    min_silence : float
        Seconds below ``threshold - 0.15`` that end a segment. At least ``2 * pad``,
        so the padding of one segment never reaches the next.
    min_speech : float
        Segments no longer than this (seconds, before padding) are dropped.
    pad : float
        Seconds added before and after each segment.
    max_length : float or None
        Longest segment (seconds, padding included); longer speech is cut at its
        quietest moment. None: no limit (silero-vad's default).
    """

    threshold: float = 0.5
    min_silence: float = 0.1
    min_speech: float = 0.25
    pad: float = 0.03
    max_length: float | None = None

    def __post_init__(self) -> None:
        if not 0.0 < self.threshold < 1.0:
            raise ValueError(f"threshold must be between 0 and 1, not {self.threshold}")
        if self.min_silence < 2 * self.pad:
            raise ValueError(f"min_silence ({self.min_silence} s) must be at least twice pad ({self.pad} s)")
        if self.max_length is not None and self.max_length < 2.0:
            raise ValueError(f"max_length must be at least 2 s, not {self.max_length}")


@dataclass(frozen=True)
class Span:
    """A speech segment in samples at 16 kHz, ``[start, end)``, padding included."""

    start: int
    end: int

    @property
    def seconds(self) -> tuple[float, float]:
        """``(start, end)`` in seconds."""
        return self.start / RATE, self.end / RATE


class SpeechTracker:
    """Probabilities in, finished speech segments out, one window at a time.

    Parameters
    ----------
    params : VadParams
    """

    def __init__(self, params: VadParams | None = None) -> None:
        self.params = p = params or VadParams()
        self._neg = max(p.threshold - 0.15, 0.01)
        self._min_speech = RATE * p.min_speech
        self._min_silence = RATE * p.min_silence
        self._pad = RATE * p.pad
        self._max = None if p.max_length is None else int(RATE * p.max_length - 2 * self._pad)
        self._index = 0  # windows seen
        self._start: int | None = None  # start of the open segment (samples, unpadded); None when not in speech
        self._cut_start = False  # the open segment starts at a cut (no padding before it)
        self._temp_end = 0
        self._open_probs: list[float] = []  # probabilities since the open segment started (only with max_length)

    @property
    def open_start(self) -> int | None:
        """Where the segment being tracked starts, padding included (None outside speech)."""
        if self._start is None:
            return None
        return self._start if self._cut_start else max(0, int(self._start - self._pad))

    def push(self, probabilities: Iterable[float]) -> list[Span]:
        """Segments that ended within these windows."""
        done: list[Span] = []
        for probability in probabilities:
            self._window(float(probability), done)
        return done

    def finish(self, total: int) -> list[Span]:
        """The segment still open at the end of ``total`` samples, if long enough."""
        done: list[Span] = []
        if self._start is not None and total - self._start > self._min_speech:
            done.append(self._span(self._start, total, self._cut_start, False, total))
        self._start = None
        self._open_probs = []
        return done

    def _span(self, start: int, end: int, cut_start: bool, cut_end: bool, total: int | None = None) -> Span:
        s = start if cut_start else int(max(0, start - self._pad))
        e = end if cut_end else int(end + self._pad if total is None else min(total, end + self._pad))
        return Span(s, e)

    def _window(self, probability: float, done: list[Span]) -> None:
        cur = WINDOW * self._index
        self._index += 1
        if self._start is not None and self._max is not None:
            self._open_probs.append(probability)
        if probability >= self.params.threshold and self._temp_end:
            self._temp_end = 0
        if probability >= self.params.threshold and self._start is None:
            self._start, self._cut_start = cur, False
            self._open_probs = [probability] if self._max is not None else []
            return
        if self._start is None:
            return
        if self._max is not None and cur - self._start > self._max:
            self._cut(done)
        if probability < self._neg:
            if not self._temp_end:
                self._temp_end = cur
            if cur - self._temp_end < self._min_silence:
                return
            if self._temp_end - self._start > self._min_speech:
                done.append(self._span(self._start, self._temp_end, self._cut_start, False))
            self._start, self._temp_end, self._open_probs = None, 0, []

    def _cut(self, done: list[Span]) -> None:
        """End the open segment at its quietest ~100 ms in the second half; the rest goes on."""
        assert self._start is not None
        probs = np.asarray(self._open_probs, dtype=np.float64)
        smooth = np.convolve(probs, np.ones(3) / 3.0, mode="same")
        half = len(smooth) // 2
        at = half + int(np.argmin(smooth[half:len(smooth) - 1])) if len(smooth) - 1 > half else len(smooth) - 1
        cut = self._start + WINDOW * at
        done.append(self._span(self._start, cut, self._cut_start, True))
        self._start, self._cut_start = cut, True
        self._open_probs = self._open_probs[at:]
        if self._temp_end and self._temp_end < cut:
            self._temp_end = 0


def track(probabilities: np.ndarray, total: int, params: VadParams | None = None) -> list[Span]:
    """Segments of audio whose windows have these probabilities (``total`` samples in all)."""
    tracker = SpeechTracker(params)
    return tracker.push(probabilities) + tracker.finish(total)


@functools.lru_cache(maxsize=1)
def default_vad() -> SileroVad:
    """One shared :class:`SileroVad` per process (the network is read-only; streams keep their state)."""
    return SileroVad()


_lock = threading.Lock()


def shared_vad() -> SileroVad:
    """:func:`default_vad`, loaded once even when threads ask at the same time."""
    with _lock:
        return default_vad()


def probabilities(samples16k: np.ndarray, vad: SileroVad | None = None,
                  progress: Callable[[float], None] | None = None) -> np.ndarray:
    """Speech probability of every 512-sample window of 16 kHz mono audio (the last one zero-padded)."""
    stream = (vad or shared_vad()).stream()
    samples16k = np.asarray(samples16k, dtype=np.float32).reshape(-1)
    step = RATE * 60
    parts = []
    for start in range(0, len(samples16k), step):
        parts.append(stream.feed(samples16k[start:start + step]))
        if progress is not None:
            progress(min(1.0, (start + step) / len(samples16k)))
    parts.append(stream.finish())
    return np.concatenate(parts) if parts else np.zeros(0)


def speech_segments(samples16k: np.ndarray, *, threshold: float = 0.5, min_silence: float = 0.1,
                    min_speech: float = 0.25, pad: float = 0.03, max_length: float | None = None,
                    vad: SileroVad | None = None,
                    progress: Callable[[float], None] | None = None) -> list[tuple[float, float]]:
    """Where there is speech in 16 kHz mono audio, as ``(start, end)`` seconds.

    Parameters
    ----------
    samples16k : numpy.ndarray
        Mono float32 audio at 16,000 Hz (:func:`to_16k` converts other rates).
    threshold, min_silence, min_speech, pad, max_length :
        See :class:`VadParams` (silero-vad's defaults).
    vad : SileroVad, optional
        A loaded model (one shared per process by default).
    progress : callable, optional
        Called with the fraction done (0-1) now and then.

    Returns
    -------
    list of (float, float)
        Segments in order, not overlapping. Without ``max_length`` these are the
        segments silero-vad's ``get_speech_timestamps`` finds with the same settings.
    """
    params = VadParams(threshold, min_silence, min_speech, pad, max_length)
    samples16k = np.asarray(samples16k, dtype=np.float32).reshape(-1)
    probs = probabilities(samples16k, vad, progress)
    return [span.seconds for span in track(probs, len(samples16k), params)]


def to_16k(samples: np.ndarray, rate: float) -> np.ndarray:
    """Mono audio at any rate resampled to 16 kHz (libsoxr HQ, as every reabridge resample)."""
    from bridge.audio.resample import resample_stream

    samples = np.asarray(samples, dtype=np.float32).reshape(-1)
    if rate == RATE:
        return samples
    blocks = list(resample_stream([samples], rate, RATE, len(samples)))
    return np.concatenate(blocks) if blocks else np.zeros(0, dtype=np.float32)


def stream_16k(blocks: Iterable[np.ndarray], rate: float, frames: int) -> Iterator[np.ndarray]:
    """Mono blocks at ``rate`` (``frames`` samples in all) as 16 kHz blocks, streaming."""
    from bridge.audio.resample import resample_stream

    yield from resample_stream(blocks, rate, RATE, frames)
