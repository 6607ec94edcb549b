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
    """Resample 1-D float32 blocks totalling ``frames`` samples.

    Parameters
    ----------
    blocks : iterable of numpy.ndarray
        Mono input, in order.
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
    stream = soxr.ResampleStream(in_rate, out_rate, 1, dtype="float32", quality=quality)
    produced = 0
    pending: np.ndarray | None = None
    for block in blocks:
        if pending is not None:
            out = stream.resample_chunk(pending, last=False)
            produced += len(out)
            yield out
        pending = np.ascontiguousarray(block, dtype=np.float32)
    tail = stream.resample_chunk(pending if pending is not None else np.zeros(0, np.float32), last=True)
    if produced + len(tail) > want:
        tail = tail[: max(0, want - produced)]
    produced += len(tail)
    if len(tail):
        yield tail
    if produced < want:
        yield np.zeros(want - produced, dtype=np.float32)
