"""Streaming resampling that gives exactly what ``librosa.resample`` gives.

libsoxr's streaming interface produces the same samples as its one-shot call
(checked in the tests); like librosa (``fix=True``) the result is padded or
trimmed to ``ceil(n * out_rate / in_rate)`` samples.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator

import numpy as np
import soxr


def resampled_length(frames: int, in_rate: float, out_rate: float) -> int:
    """Number of samples ``librosa.resample`` returns for ``frames`` input samples."""
    if in_rate == out_rate:
        return frames
    return int(math.ceil(frames * float(out_rate) / in_rate))


def resample_stream(blocks: Iterable[np.ndarray], in_rate: float, out_rate: float, frames: int,
                    quality: str = "HQ") -> Iterator[np.ndarray]:
    """Resample float32 blocks totalling ``frames`` samples.

    Parameters
    ----------
    blocks : iterable of numpy.ndarray
        In order: 1-D (mono) or all ``(n, channels)`` with the same channel count.
    in_rate, out_rate : float
        Sample rates.
    frames : int
        Total input length (needed to give librosa's exact output length).
    quality : str
        libsoxr quality; ``"HQ"`` is librosa's default ``soxr_hq``.

    Yields
    ------
    numpy.ndarray
        float32 output blocks, ``resampled_length(frames, ...)`` samples in all.
    """
    if in_rate == out_rate:
        yield from blocks
        return
    want = resampled_length(frames, in_rate, out_rate)
    stream: soxr.ResampleStream | None = None
    produced = 0
    pending: np.ndarray | None = None
    for block in blocks:
        if stream is None:
            channels = 1 if block.ndim == 1 else block.shape[1]
            stream = soxr.ResampleStream(in_rate, out_rate, channels, dtype="float32", quality=quality)
        if pending is not None:
            out = stream.resample_chunk(pending, last=False)
            produced += len(out)
            yield out
        pending = np.ascontiguousarray(block, dtype=np.float32)
    if stream is None or pending is None:
        if want:
            yield np.zeros(want, dtype=np.float32)
        return
    tail = stream.resample_chunk(pending, last=True)
    if produced + len(tail) > want:
        tail = tail[: max(0, want - produced)]
    produced += len(tail)
    if len(tail):
        yield tail
    if produced < want:
        yield np.zeros((want - produced, *pending.shape[1:]), dtype=np.float32)
