"""The audio an item plays: which part of which file, at what speed.

REAPER plays an item's active take from ``SOFFS`` seconds into the source, at
``PLAYRATE``, for the item's length; a looped item wraps around the source;
a ``SECTION`` source plays only part of its file. This module turns that
into a list of pieces to read, and streams them as one mono signal.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bridge.audio.reader import BLOCK_FRAMES, AudioInfo, audio_info, iter_blocks
from bridge.errors import ReabridgeError
from bridge.project.items import Item, Take
from bridge.project.limits import check_item
from bridge.project.tracks import Track


class NoAudioError(ReabridgeError):
    """An item cannot be rendered: no take, not audio, or media missing."""


@dataclass(frozen=True)
class Piece:
    """``frames`` samples of the file from ``start`` (``start`` None: silence)."""

    start: int | None
    frames: int


@dataclass(frozen=True)
class ItemAudio:
    """How to get the audio an item plays.

    Attributes
    ----------
    path : Path
        The media file.
    info : AudioInfo
    pieces : tuple of Piece
        In playback order, at the file's sample rate.
    playrate : float
        Item playback rate.
    preserve_pitch : bool
        REAPER's "preserve pitch when changing rate".
    """

    path: Path
    info: AudioInfo
    pieces: tuple[Piece, ...]
    playrate: float
    preserve_pitch: bool

    @property
    def frames(self) -> int:
        """Source samples in all pieces."""
        return sum(p.frames for p in self.pieces)

    @property
    def effective_rate(self) -> float:
        """The rate to treat the samples as having so they last as long as the item.

        Without pitch preservation REAPER resamples (varispeed), which is the
        same as playing the samples at ``rate * playrate``.
        """
        if self.preserve_pitch:
            return float(self.info.sample_rate)
        return self.info.sample_rate * self.playrate

    @property
    def time_scale(self) -> float:
        """Multiply times found in the samples at :attr:`effective_rate` by this for item time."""
        return 1.0 / self.playrate if self.preserve_pitch else 1.0

    def samples(self, channel: int | None = None) -> np.ndarray:
        """All of what the item plays in memory: the channels' mean, or one channel."""
        blocks = list(self.blocks(channel))
        return np.concatenate(blocks) if blocks else np.zeros(0, dtype=np.float32)

    def frames_by_channel(self) -> np.ndarray:
        """All of what the item plays as ``(frames, channels)``."""
        return np.stack([self.samples(ch) for ch in range(self.info.channels)], axis=1)

    def blocks(self, channel: int | None = None) -> Iterator[np.ndarray]:
        """The pieces as one stream of 1-D float32 blocks: the channels' mean, or one channel."""
        for block in self._stream(mono=channel is None):
            yield block if channel is None else block[:, channel].copy()

    def frame_blocks(self, block: int = BLOCK_FRAMES) -> Iterator[np.ndarray]:
        """The pieces as one stream of ``(n, channels)`` float32 blocks of at most ``block`` frames."""
        yield from self._stream(mono=False, block=block)

    def _stream(self, mono: bool, block: int = BLOCK_FRAMES) -> Iterator[np.ndarray]:
        shape = () if mono else (self.info.channels,)
        for piece in self.pieces:
            if piece.start is None:
                left = piece.frames
                while left > 0:
                    n = min(left, block)
                    yield np.zeros((n, *shape), dtype=np.float32)
                    left -= n
            else:
                got = 0
                for data in iter_blocks(self.path, piece.start, piece.frames, block=block, mono=mono):
                    got += len(data)
                    yield data
                if got < piece.frames:
                    yield np.zeros((piece.frames - got, *shape), dtype=np.float32)


def describe(track: Track, item: Item) -> str:
    """How an item is named in messages."""
    position = f"{item.position:.2f} s"
    return f"item '{item.name or '(unnamed)'}' at {position} on track '{track.display_name}'"


def plan_item_audio(track: Track, item: Item, take: Take | None = None) -> ItemAudio:
    """Work out what an item plays (with its active take, or ``take``).

    Raises
    ------
    NoAudioError
        The item has no active take, its take is not audio, or the file is missing.
    ProjectLimitError
        A position, length, play rate or offset outside what REAPER allows (a crafted project).
    """
    take = take or item.active_take
    where = describe(track, item)
    check_item(item, where)
    if take is None or take.source is None:
        raise NoAudioError(f"{where} has no audio source")
    source = take.source
    if source.is_midi:
        raise NoAudioError(f"{where} is a MIDI item")
    if not source.is_audio:
        raise NoAudioError(f"{where} has a {source.type or 'empty'} source, not audio")
    resolved = source.resolve()
    if resolved is None or not resolved.exists:
        looked = resolved.path if resolved else "?"
        raise NoAudioError(f"{where} plays {source.file}, which is missing (looked at {looked})")
    info = audio_info(resolved.path)
    sr = info.sample_rate
    section = source.section
    base = int(round(section[0] * sr)) if section else 0
    src_len = int(round(section[1] * sr)) if section and section[1] > 0 else info.frames - base
    src_len = max(0, min(src_len, info.frames - base))
    rate = take.playrate
    start = int(round(take.start_offset * sr))
    total = int(math.ceil(item.length * rate * sr))
    pieces: list[Piece] = []
    pos, left = start, total
    while left > 0:
        if pos < 0:
            n = min(-pos, left)
            pieces.append(Piece(None, n))
        elif pos >= src_len:
            if item.loop and src_len > 0:
                pos %= src_len
                continue
            pieces.append(Piece(None, left))
            n = left
        else:
            n = min(src_len - pos, left)
            pieces.append(Piece(base + pos, n))
        pos += n
        left -= n
    return ItemAudio(resolved.path, info, tuple(pieces), rate, take.preserve_pitch)
