"""Where rendered audio goes: a file (format, rate and dither as asked) or memory.

Every job that writes audio (amp renders, masters, JSFX renders) writes it
through a sink. Sinks return what they store for each block, so a meter can
measure the final samples: after resampling, dither and rounding to the file's
word length. They refuse samples that are not finite (a NaN or an infinity
means something upstream broke; it is never written as if it were audio), and
count the samples clipped at full scale in integer formats. A sink can be
restarted (mastering may render twice to meet its target); a
:class:`FileSink`'s file appears only when it is finished, by the rules of
:mod:`bridge.fileio`.
"""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from bridge.audio.formats import file_format, write_failed
from bridge.audio.reader import AudioError
from bridge.fileio import Outputs

SUBTYPES = {"16": "PCM_16", "24": "PCM_24", "32f": "FLOAT"}

_BITS = {"PCM_16": 16, "PCM_24": 24}


class NotFiniteError(AudioError):
    """A job produced NaN or infinite samples; nothing was written."""


def tpdf_dither(audio: np.ndarray, bits: int, rng: np.random.Generator) -> np.ndarray:
    """Add triangular (TPDF) dither of one LSB for a ``bits``-bit output."""
    lsb = 2.0 ** (1 - bits)
    return audio + (rng.random(audio.shape) - rng.random(audio.shape)) * lsb


class Sink(ABC):
    """Final-format conversion shared by the sinks: rate, dither, word length, finite check.

    Parameters
    ----------
    rate : float
        Rate of the audio given to :meth:`write`.
    channels : int
    subtype : str
        libsndfile subtype of the result (``PCM_16``, ``PCM_24`` or ``FLOAT``).
    out_rate : int, optional
        Resample to this rate (libsoxr, very high quality).
    source : str
        What produces the samples, for the message when they are not finite
        (``"the capture's output"``).
    """

    def __init__(self, rate: float, channels: int, subtype: str = "FLOAT", out_rate: int | None = None,
                 source: str = "the result") -> None:
        self.in_rate = rate
        self.channels = channels
        self.rate = int(out_rate or rate)
        self.subtype = subtype
        self.source = source
        self.start()

    def start(self) -> None:
        """Begin (or begin again): forget what was written."""
        self._resampler = (soxr.ResampleStream(self.in_rate, self.rate, self.channels, dtype="float64",
                                               quality="VHQ") if self.rate != self.in_rate else None)
        self._rng = np.random.default_rng(0)
        self.frames_in = 0
        self.clipped = 0

    def _check_finite(self, block: np.ndarray) -> None:
        finite = np.isfinite(block)
        if not finite.all():
            first = int(np.argmin(finite.all(axis=1) if block.ndim > 1 else finite))
            at = (self.frames_in + first) / self.in_rate
            raise NotFiniteError(f"{self.source} has samples that are not numbers (NaN or infinity) from "
                                 f"{at:.3f} s; nothing was written")

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
        scaled = np.round(y * scale)
        self.clipped += int(np.count_nonzero((scaled > scale - 1) | (scaled < -scale)))
        return np.clip(scaled, -scale, scale - 1) / scale

    def write(self, block: np.ndarray) -> np.ndarray:
        """Convert and store the next ``(frames, channels)`` block; returns the stored samples.

        Raises
        ------
        NotFiniteError
            The block holds NaN or infinite samples.
        """
        self._check_finite(block)
        self.frames_in += len(block)
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
    """Keeps the result in memory (:attr:`audio`)."""

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


#: libsndfile's command to leave out the PEAK chunk of float files (it carries the time of writing)
_SFC_SET_ADD_PEAK_CHUNK = 0x1050


def _no_peak_chunk(file: sf.SoundFile) -> None:
    """Make float WAV/AIFF files depend on their samples only: the same audio gives the same bytes."""
    with contextlib.suppress(Exception):  # an older libsndfile without the command writes the chunk; harmless
        sf._snd.sf_command(file._file, _SFC_SET_ADD_PEAK_CHUNK, sf._ffi.NULL, 0)


class FileSink(Sink):
    """Writes audio to ``target`` through a hidden temporary file beside it.

    Use it in a ``with`` block: the file is placed when the block finishes and
    nothing is left when it raises.

    Parameters
    ----------
    target : Path
    rate : float
    channels : int
    subtype : str
        As the input unless asked: see :func:`choose_subtype`.
    out_rate : int, optional
    strict : bool
        The user asked for this format: a container that cannot hold it is an error.
    outputs : Outputs, optional
        The command's output transaction (the file is checked by its rules and
        removed again if the command fails later); without one the file is
        placed on its own, replacing what was there.
    source : str
        What produces the samples (for messages).
    """

    def __init__(self, target: Path, rate: float, channels: int, subtype: str, out_rate: int | None = None,
                 strict: bool = False, outputs: Outputs | None = None, source: str = "the result") -> None:
        self.container, subtype = file_format(target, subtype, strict)
        self._own = outputs is None
        self.outputs = outputs or Outputs(overwrite=True)
        self.target = self.outputs.target(target, "audio")
        self._tmp = self.outputs.temp_for(self.target, suffix=f".tmp{target.suffix or '.wav'}")
        self._file: sf.SoundFile | None = None
        super().__init__(rate, channels, subtype, out_rate, source)

    def start(self) -> None:
        """(Re)open the temporary file, empty."""
        super().start()
        self._close()
        try:
            self._file = sf.SoundFile(self._tmp, "w", self.rate, self.channels, self.subtype, format=self.container)
        except (sf.LibsndfileError, OSError) as exc:
            raise write_failed(self.target, exc) from None
        _no_peak_chunk(self._file)

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
        """Close and place the finished file."""
        try:
            self._close()
        except (sf.LibsndfileError, OSError) as exc:
            raise write_failed(self.target, exc) from None
        self.outputs.place(self._tmp, self.target)
        if self._own:
            self.outputs.commit()

    def abort(self) -> None:
        """Close and delete the temporary file: nothing half-done is left."""
        try:
            self._close()
        except (sf.LibsndfileError, OSError):
            self._file = None  # a file that could not be written may not close cleanly either
        finally:
            self.outputs.discard(self._tmp)

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
