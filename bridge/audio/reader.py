"""Reading audio files in blocks, with checks a musician can act on.

Everything libsndfile reads works: WAV/W64/RF64, AIFF, FLAC, OGG/Vorbis/Opus,
MP3, at any rate from 8 to 192 kHz, any channel count. Samples come out as
float32 and are checked for NaN/Inf block by block, so a damaged file is
reported with the time of the first bad sample. A file shorter than its header
says (a copy that stopped half-way) is read as far as it goes, and a warning
says so: jobs report the warnings collected while they ran
(:func:`collect_warnings`).
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from bridge.errors import ReabridgeError
from bridge.fileio import is_regular

BLOCK_FRAMES = 1 << 17
MIN_RATE, MAX_RATE = 1000, 768000

_warnings: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar("audio_warnings", default=None)


@contextlib.contextmanager
def collect_warnings() -> Iterator[list[str]]:
    """Collect the warnings audio reading raises inside the block (each once)."""
    found: list[str] = []
    token = _warnings.set(found)
    try:
        yield found
    finally:
        _warnings.reset(token)


def warn(message: str) -> None:
    """A warning for whoever collects them (nothing happens when nobody does)."""
    found = _warnings.get()
    if found is not None and message not in found:
        found.append(message)


class AudioError(ReabridgeError):
    """An audio file cannot be used (unreadable, damaged, or holds NaN/Inf)."""


@dataclass(frozen=True)
class AudioInfo:
    """What a file holds.

    Attributes
    ----------
    path : Path
    sample_rate : int
    channels : int
    frames : int
        Length in samples per channel.
    format : str
        Container as libsndfile names it (``WAV``, ``FLAC``, ``MP3``...).
    """

    path: Path
    sample_rate: int
    channels: int
    frames: int
    format: str
    subtype: str = ""

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.frames / self.sample_rate


def audio_info(path: str | os.PathLike[str]) -> AudioInfo:
    """Open a file and report its rate, channels and length.

    Raises
    ------
    AudioError
        The file does not exist or is not audio libsndfile can read.
    """
    p = Path(path)
    if not p.exists():
        raise AudioError(f"audio file {p} does not exist")
    if not is_regular(p):
        raise AudioError(f"{p} is not a regular file (a folder, pipe or device); it cannot be read as audio")
    try:
        with sf.SoundFile(p) as f:
            info = AudioInfo(p, int(f.samplerate), int(f.channels), int(f.frames), str(f.format), str(f.subtype))
            log = f.extra_info
    except (sf.LibsndfileError, RuntimeError, TypeError) as exc:
        raise AudioError(f"{p.name} is not an audio file this program can read ({exc})") from None
    if not MIN_RATE <= info.sample_rate <= MAX_RATE:
        raise AudioError(f"{p.name} says its sample rate is {info.sample_rate} Hz; that is not audio reabridge can "
                         f"work with ({MIN_RATE} to {MAX_RATE} Hz)")
    if info.channels < 1:
        raise AudioError(f"{p.name} has no channels")
    short = re.search(r"^data\s*:\s*(\d+)\s*\(should be (\d+)\)", log or "", re.MULTILINE)
    if short and int(short.group(2)) < int(short.group(1)):
        warn(f"{p.name} is shorter than its header says ({info.duration:.2f} s of "
             f"{int(short.group(1)) / max(1, int(short.group(2))) * info.duration:.2f} s): the file was cut off, "
             "only what is there was used")
    return info


def iter_blocks(path: str | os.PathLike[str], start: int = 0, frames: int | None = None,
                block: int = BLOCK_FRAMES, mono: bool = False) -> Iterator[np.ndarray]:
    """Read ``frames`` samples from ``start`` in blocks of float32.

    Parameters
    ----------
    path : path-like
    start, frames : int
        First sample and how many (None: to the end). Reading past the end
        stops at the end.
    block : int
        Samples per block.
    mono : bool
        Average the channels (as ``librosa.to_mono`` does) into 1-D blocks;
        otherwise blocks are ``(n, channels)``.

    Yields
    ------
    numpy.ndarray

    Raises
    ------
    AudioError
        Unreadable file, or NaN/Inf samples (with the time of the first one).
    """
    info = audio_info(path)
    remaining = info.frames - start if frames is None else min(frames, info.frames - start)
    try:
        with sf.SoundFile(info.path) as f:
            if start:
                f.seek(start)
            pos = start
            while remaining > 0:
                data = f.read(min(block, remaining), dtype="float32", always_2d=True)
                if len(data) == 0:
                    warn(f"{info.path.name} ends after {pos / info.sample_rate:.2f} s although its header says "
                         f"{info.duration:.2f} s: the file was cut off, the rest counts as silence")
                    break
                if not np.isfinite(data).all():
                    bad = int(np.argmax(~np.isfinite(data).all(axis=1)))
                    raise AudioError(
                        f"{info.path.name} holds invalid samples (NaN or infinity) at "
                        f"{(pos + bad) / info.sample_rate:.3f} s; re-export the file"
                    )
                pos += len(data)
                remaining -= len(data)
                if mono:
                    yield data[:, 0].copy() if data.shape[1] == 1 else np.mean(data.T, axis=0)
                else:
                    yield data
    except sf.LibsndfileError as exc:
        raise AudioError(f"reading {info.path.name} failed: {exc}") from None


def read_audio(path: str | os.PathLike[str], mono: bool = False) -> tuple[np.ndarray, AudioInfo]:
    """A whole file in memory: ``(frames, channels)`` float32 (``(frames,)`` with ``mono``), and its info.

    For jobs that need all of it at once (tempo, capture training, mastering);
    everything that can stream uses :func:`iter_blocks`.
    """
    info = audio_info(path)
    blocks = list(iter_blocks(path, mono=mono))
    if blocks:
        return np.concatenate(blocks), info
    return np.zeros((0,) if mono else (0, info.channels), dtype=np.float32), info
