"""Running the model over a stream of audio, window by window.

Same windowing as basic-pitch's ``run_inference``: 3,840 zeros in front,
windows of 43,844 samples every 36,164 samples (the last one zero-padded),
15 frames trimmed from each side of every window's output, the result cut to
``floor(n_samples * 86 / 22050)`` frames. Audio is consumed as it arrives, so
memory holds one batch of windows plus the output matrices; beyond about
three minutes the pitch-contour matrix (264 values a frame, three times the
size of the others, read back only for each note's bends) lives in a
temporary file instead of memory. An hour of audio needs about 110 MB per
88-pitch matrix.
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from bridge.transcribe.model import (
    FPS,
    FRAMES_PER_WINDOW,
    HOP_SAMPLES,
    N_CONTOUR_BINS,
    N_PITCHES,
    OVERLAP_FRAMES,
    OVERLAP_SAMPLES,
    SAMPLE_RATE,
    WINDOW_SAMPLES,
    BasicPitchModel,
)

KEEP_FRAMES = FRAMES_PER_WINDOW - OVERLAP_FRAMES
CONTOUR_IN_MEMORY_BYTES = 16 * 1024 * 1024

Progress = Callable[[int, int], None]


class RowStore:
    """Rows of a float32 matrix written once, in order, and read back by row ranges.

    Small matrices stay in memory; large ones go to an unlinked temporary file
    written and read with plain file I/O, so they never count towards the
    process's resident memory (a memory map's touched pages would).
    """

    def __init__(self, n_rows: int, width: int, in_memory_bytes: int) -> None:
        self.shape = (n_rows, width)
        self._row_bytes = width * 4
        self._array: np.ndarray | None = None
        self._file = None
        if n_rows * self._row_bytes <= in_memory_bytes:
            self._array = np.zeros(self.shape, dtype=np.float32)
        else:
            self._file = tempfile.TemporaryFile(prefix="reabridge-rows-")  # noqa: SIM115 - closed in close()
            self._file.truncate(n_rows * self._row_bytes)

    def write(self, row: int, values: np.ndarray) -> None:
        """Store ``values`` (``(k, width)``) from row ``row``."""
        if self._array is not None:
            self._array[row:row + len(values)] = values
        else:
            os.pwrite(self._file.fileno(), np.ascontiguousarray(values, dtype=np.float32).tobytes(),
                      row * self._row_bytes)

    def read(self, start: int, stop: int) -> np.ndarray:
        """Rows ``start`` to ``stop`` (exclusive)."""
        if self._array is not None:
            return self._array[start:stop]
        data = os.pread(self._file.fileno(), max(0, stop - start) * self._row_bytes, start * self._row_bytes)
        return np.frombuffer(data, dtype=np.float32).reshape(-1, self.shape[1])

    def close(self) -> None:
        """Release the temporary file, if any."""
        if self._file is not None:
            self._file.close()
            self._file = None


@dataclass
class ModelOutput:
    """The network's three activation matrices for a whole input.

    Attributes
    ----------
    note, onset : numpy.ndarray
        ``(n_frames, 88)`` float32, one row per 256 samples at 22,050 Hz.
    contour : RowStore
        ``(n_frames, 264)`` float32 pitch contours (on disk for long inputs).
    n_samples : int
        Input length at 22,050 Hz.
    """

    note: np.ndarray
    onset: np.ndarray
    contour: RowStore
    n_samples: int

    @property
    def n_frames(self) -> int:
        """Number of output frames."""
        return self.note.shape[0]


def window_count(n_samples: int) -> int:
    """How many model windows basic-pitch uses for ``n_samples`` samples."""
    return max(1, math.ceil((n_samples + OVERLAP_SAMPLES // 2) / HOP_SAMPLES))


def run_model(model: BasicPitchModel, blocks: Iterable[np.ndarray], n_samples: int, batch: int = 1,
              progress: Progress | None = None) -> ModelOutput:
    """Run the network over mono 22,050 Hz audio arriving in blocks.

    Parameters
    ----------
    model : BasicPitchModel
    blocks : iterable of numpy.ndarray
        float32 samples, ``n_samples`` in all.
    n_samples : int
        Total length (decides the number of windows and output frames).
    batch : int
        Windows per network call.
    progress : callable, optional
        Called as ``progress(windows_done, windows_total)``.

    Returns
    -------
    ModelOutput
    """
    n_frames = int(np.floor(n_samples * (FPS / SAMPLE_RATE)))
    total = window_count(n_samples)
    note = np.zeros((n_frames, N_PITCHES), dtype=np.float32)
    onset = np.zeros((n_frames, N_PITCHES), dtype=np.float32)
    contour = RowStore(n_frames, N_CONTOUR_BINS, CONTOUR_IN_MEMORY_BYTES)
    trim = OVERLAP_FRAMES // 2

    pending: list[np.ndarray] = []
    done = 0

    def flush() -> None:
        nonlocal done
        if not pending:
            return
        outs = model.predict(np.stack(pending))
        for b in range(len(pending)):
            row = (done + b) * KEEP_FRAMES
            if row >= n_frames:
                break
            take = min(KEEP_FRAMES, n_frames - row)
            note[row:row + take] = outs[0][b, trim:trim + take]
            onset[row:row + take] = outs[1][b, trim:trim + take]
            contour.write(row, outs[2][b, trim:trim + take])
        done += len(pending)
        pending.clear()
        if progress is not None:
            progress(done, total)

    buffer = np.zeros(OVERLAP_SAMPLES // 2, dtype=np.float32)  # basic-pitch's leading zeros
    emitted = 0
    for block in blocks:
        buffer = np.concatenate([buffer, np.asarray(block, dtype=np.float32)])
        while len(buffer) >= WINDOW_SAMPLES and emitted < total:
            pending.append(buffer[:WINDOW_SAMPLES].copy())
            buffer = buffer[HOP_SAMPLES:]
            emitted += 1
            if len(pending) == batch:
                flush()
    while emitted < total:
        window = np.zeros(WINDOW_SAMPLES, dtype=np.float32)
        window[: min(len(buffer), WINDOW_SAMPLES)] = buffer[:WINDOW_SAMPLES]
        pending.append(window)
        buffer = buffer[HOP_SAMPLES:]
        emitted += 1
        if len(pending) == batch:
            flush()
    flush()
    return ModelOutput(note, onset, contour, n_samples)
