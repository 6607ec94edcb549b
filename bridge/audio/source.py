"""Audio that can be read more than once, block by block: a file, an item's audio, or an array.

Jobs that go over their input several times (mastering measures, processes,
then renders) take an :class:`AudioSource`; each call to :meth:`blocks`
starts a fresh pass, so nothing longer than a block is held in memory.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from bridge.audio.item_audio import ItemAudio
from bridge.audio.reader import audio_info, iter_blocks
from bridge.audio.resample import resample_stream, resampled_length

BLOCK_FRAMES = 1 << 17


@dataclass(frozen=True)
class AudioSource:
    """A re-readable stream of ``(frames, channels)`` float blocks.

    Attributes
    ----------
    rate : float
        Sample rate of the blocks.
    channels : int
    frames : int
        Total length.
    key : tuple, optional
        What the audio is, for caches: a file's path, size, modification time
        and inode (and the rate it is resampled to); None when unknown.
    """

    rate: float
    channels: int
    frames: int
    _open: Callable[[], Iterator[np.ndarray]]
    key: tuple[object, ...] | None = None

    def blocks(self) -> Iterator[np.ndarray]:
        """A new pass over the audio."""
        return self._open()

    @classmethod
    def from_array(cls, audio: np.ndarray, rate: float, block: int = BLOCK_FRAMES) -> AudioSource:
        """Audio already in memory (``(frames,)`` or ``(frames, channels)``)."""
        x = audio if audio.ndim == 2 else audio[:, None]
        return cls(float(rate), x.shape[1], len(x), lambda: (x[i:i + block] for i in range(0, len(x), block)))

    @classmethod
    def from_file(cls, path: str | os.PathLike[str], rate: float | None = None) -> AudioSource:
        """A file, resampled (libsoxr, very high quality) to ``rate`` when given."""
        info = audio_info(path)
        stat = os.stat(info.path)
        key = ("file", str(info.path.resolve()), stat.st_size, stat.st_mtime_ns, stat.st_ino, info.frames)
        source = cls(float(info.sample_rate), info.channels, info.frames, lambda: iter_blocks(info.path), key)
        return source.resampled(rate) if rate else source

    @classmethod
    def from_item(cls, plan: ItemAudio) -> AudioSource:
        """What an item plays, at its file's rate (a varispeed playrate is resampled in)."""
        source = cls(plan.effective_rate, plan.info.channels, plan.frames, plan.frame_blocks)
        return source.resampled(plan.info.sample_rate)

    def resampled(self, rate: float) -> AudioSource:
        """The same audio at another rate (streaming, libsoxr very high quality)."""
        if rate == self.rate:
            return self
        return AudioSource(float(rate), self.channels, resampled_length(self.frames, self.rate, rate),
                           lambda: resample_stream(self.blocks(), self.rate, rate, self.frames, quality="VHQ"),
                           (*self.key, "resampled", float(rate)) if self.key is not None else None)
