"""A whole split: any audio in, vocals and accompaniment out at its rate, channels and length, sample-aligned.

The audio is resampled to 44.1 kHz (the model's rate; libsoxr, streaming, no delay), a mono
input is fed to both of the model's channels, the stems stream out of
:func:`bridge.stems.separate.separate_stream` and are resampled back (one four-channel stream:
vocals L R, accompaniment L R) and trimmed to the input's length; a mono input gets the mean
of the two channels of each stem. Nothing longer than a segment (~12 s) is held in memory.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from bridge.audio.resample import resample_stream
from bridge.audio.sink import Sink
from bridge.audio.source import AudioSource
from bridge.errors import ReabridgeError
from bridge.stems.separate import RATE, Net, segment_count, separate_stream

SILENT = 1e-6  #: a peak below this (-120 dBFS) is silence: there is nothing to separate


class StemsError(ReabridgeError):
    """Audio that cannot be split (silence, too many channels)."""


@dataclass(frozen=True)
class SplitReport:
    """What a split measured.

    Attributes
    ----------
    frames : int
        Samples written to each stem (the input's length).
    segments : int
        How many 512-frame segments the network ran on.
    peak : float
        The input's sample peak.
    vocals_rms, accompaniment_rms : float
        RMS of each stem as written (all channels).
    """

    frames: int
    segments: int
    peak: float
    vocals_rms: float
    accompaniment_rms: float


_SHARED: Net | None = None
_LOCK = threading.Lock()


def shared_net() -> Net:
    """Spleeter's two U-Nets, loaded once per process (a daemon worker keeps them for every later request)."""
    global _SHARED
    with _LOCK:
        if _SHARED is None:
            from bridge.stems.unet import SpleeterNet

            _SHARED = SpleeterNet()
        return _SHARED


def check_channels(channels: int, name: str) -> None:
    """Mono and stereo are split; more channels are refused in one line."""
    if channels > 2:
        raise StemsError(f"{name} has {channels} channels; stems splits mono or stereo audio (render or downmix "
                         "it to stereo first)")


def split_to_sinks(source: AudioSource, vocals: Sink, accompaniment: Sink, *, net: Net | None = None,
                   progress: Callable[[float], None] | None = None, name: str = "the audio") -> SplitReport:
    """Split ``source`` into the two sinks (each at ``source``'s rate with its channel count).

    Raises
    ------
    StemsError
        The audio is silent or has more than two channels (the sinks then hold nothing to keep;
        callers abort them).
    """
    check_channels(source.channels, name)
    net = net or shared_net()
    at_model = source.resampled(RATE)
    peak = np.zeros(1)

    def stereo() -> Iterator[np.ndarray]:
        for block in at_model.blocks():
            b = np.asarray(block, dtype=np.float32)
            if b.ndim == 1:
                b = b[:, None]
            if len(b):
                peak[0] = max(peak[0], float(np.max(np.abs(b))))
            yield np.repeat(b, 2, axis=1) if b.shape[1] == 1 else b

    stems = separate_stream(net, stereo(), at_model.frames, progress)
    back = resample_stream(stems, RATE, source.rate, at_model.frames, quality="VHQ")
    left = source.frames
    sums = np.zeros(2)
    for block in back:
        block = block[:left]
        left -= len(block)
        if not len(block):
            continue
        v, a = block[:, :2], block[:, 2:]
        if source.channels == 1:
            v, a = v.mean(axis=1, keepdims=True), a.mean(axis=1, keepdims=True)
        sums += (float(np.sum(v.astype(np.float64) ** 2)), float(np.sum(a.astype(np.float64) ** 2)))
        vocals.write(v)
        accompaniment.write(a)
    if left > 0:  # resample_stream always gives at least the input's length back; never short regardless
        vocals.write(np.zeros((left, source.channels), dtype=np.float32))
        accompaniment.write(np.zeros((left, source.channels), dtype=np.float32))
    if peak[0] < SILENT:
        raise StemsError(f"{name} is silent: there is nothing to separate")
    vocals.finish()
    accompaniment.finish()
    count = max(1, source.frames * source.channels)
    return SplitReport(source.frames, segment_count(at_model.frames), float(peak[0]),
                       float(np.sqrt(sums[0] / count)), float(np.sqrt(sums[1] / count)))
