"""Where the master goes: a file (format, rate and dither follow the input unless asked) or memory.

Both sinks return what they store for each block, so the meter measures the
final samples: after resampling, dither and rounding to the file's word
length. A sink can be restarted (the engine may render twice to meet the
target) and only :meth:`FileSink.commit` makes the file appear, atomically.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from bridge.audio.formats import file_format, write_failed

SUBTYPES = {"16": "PCM_16", "24": "PCM_24", "32f": "FLOAT"}

_BITS = {"PCM_16": 16, "PCM_24": 24}


def tpdf_dither(audio: np.ndarray, bits: int, rng: np.random.Generator) -> np.ndarray:
    """Add triangular (TPDF) dither of one LSB for a ``bits``-bit output."""
    lsb = 2.0 ** (1 - bits)
    return audio + (rng.random(audio.shape) - rng.random(audio.shape)) * lsb


class Sink(ABC):
    """Final-format conversion shared by the sinks: rate, dither, word length.

    Parameters
    ----------
    rate : float
        Rate of the audio given to :meth:`write`.
    channels : int
    subtype : str
        libsndfile subtype of the result (``PCM_16``, ``PCM_24`` or ``FLOAT``).
    out_rate : int, optional
        Resample to this rate (libsoxr, very high quality).
    """

    def __init__(self, rate: float, channels: int, subtype: str = "FLOAT", out_rate: int | None = None) -> None:
        self.in_rate = rate
        self.channels = channels
        self.rate = int(out_rate or rate)
        self.subtype = subtype
        self.start()

    def start(self) -> None:
        """Begin (or begin again): forget what was written."""
        self._resampler = (soxr.ResampleStream(self.in_rate, self.rate, self.channels, dtype="float64",
                                               quality="VHQ") if self.rate != self.in_rate else None)
        self._rng = np.random.default_rng(0)

    def _convert(self, block: np.ndarray, last: bool = False) -> np.ndarray:
        y = block
        if self._resampler is not None:
            y = self._resampler.resample_chunk(np.ascontiguousarray(y, dtype=np.float64), last=last)
        bits = _BITS.get(self.subtype)
        if bits is None:
            return y.astype(np.float32)
        if bits == 16:
            y = tpdf_dither(y, 16, self._rng)
        scale = 2.0 ** (bits - 1)
        return np.clip(np.round(y * scale), -scale, scale - 1) / scale

    def write(self, block: np.ndarray) -> np.ndarray:
        """Convert and store the next ``(frames, channels)`` block; returns the stored samples."""
        y = self._convert(block)
        self._store(y)
        return y

    def finish(self) -> np.ndarray:
        """Flush the resampler; returns the last stored samples."""
        if self._resampler is None:
            return np.zeros((0, self.channels))
        y = self._convert(np.zeros((0, self.channels)), last=True)
        self._store(y)
        return y

    @abstractmethod
    def _store(self, y: np.ndarray) -> None:
        """Keep the converted samples ``y`` (each sink its own way)."""


class ArraySink(Sink):
    """Keeps the master in memory (:attr:`audio`)."""

    def start(self) -> None:
        """Forget what was written."""
        super().start()
        self._blocks: list[np.ndarray] = []

    def _store(self, y: np.ndarray) -> None:
        if len(y):
            self._blocks.append(y)

    @property
    def audio(self) -> np.ndarray:
        """Everything written, ``(frames, channels)``."""
        return np.concatenate(self._blocks) if self._blocks else np.zeros((0, self.channels))


class FileSink(Sink):
    """Writes the master to ``target`` through a hidden temporary file beside it.

    Use it in a ``with`` block: the file appears when the block finishes and
    nothing is left when it raises.

    Parameters
    ----------
    target : Path
    rate : float
    channels : int
    subtype : str
        As the input unless asked: see :func:`choose_subtype`.
    out_rate : int, optional
    """

    def __init__(self, target: Path, rate: float, channels: int, subtype: str, out_rate: int | None = None,
                 strict: bool = False) -> None:
        self.target = target
        self.container, subtype = file_format(target, subtype, strict)
        self._tmp = target.with_name(f".{target.stem}.tmp{target.suffix or '.wav'}")
        self._file: sf.SoundFile | None = None
        super().__init__(rate, channels, subtype, out_rate)

    def start(self) -> None:
        """(Re)open the temporary file, empty."""
        super().start()
        self._close()
        try:
            self._file = sf.SoundFile(self._tmp, "w", self.rate, self.channels, self.subtype, format=self.container)
        except (sf.LibsndfileError, OSError) as exc:
            raise write_failed(self.target, exc) from None

    def _store(self, y: np.ndarray) -> None:
        assert self._file is not None
        try:
            self._file.write(y)
        except (sf.LibsndfileError, OSError) as exc:
            raise write_failed(self.target, exc) from None

    def _close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def commit(self) -> None:
        """Close and move the finished file into place."""
        self._close()
        os.replace(self._tmp, self.target)

    def abort(self) -> None:
        """Close and delete the temporary file: nothing half-done is left."""
        try:
            self._close()
        except (sf.LibsndfileError, OSError):
            self._file = None  # a file that could not be written may not close cleanly either
        finally:
            self._tmp.unlink(missing_ok=True)

    def __enter__(self) -> FileSink:
        return self

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        """Commit when the block finished, abort when it raised."""
        if kind is None:
            self.commit()
        else:
            self.abort()


def choose_subtype(input_subtype: str, fmt: str | None) -> str:
    """The output's subtype: ``fmt`` (a key of :data:`SUBTYPES`) or the input's, else 32-bit float."""
    if fmt:
        return SUBTYPES[fmt]
    return input_subtype if input_subtype in SUBTYPES.values() else "FLOAT"

