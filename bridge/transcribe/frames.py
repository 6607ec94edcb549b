"""Running the model over a stream of audio, window by window.

Same windowing as basic-pitch's ``run_inference``: 3,840 zeros in front,
windows of 43,844 samples every 36,164 samples (the last one zero-padded),
15 frames trimmed from each side of every window's output, the result cut to
``floor(n_samples * 86 / 22050)`` frames. Audio is consumed as it arrives, so
memory holds one batch of windows plus the output matrices; for long inputs
the large pitch-contour matrix lives in a temporary file instead of memory.
"""

from __future__ import annotations

import math
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
CONTOUR_IN_MEMORY_BYTES = 64 * 1024 * 1024

Progress = Callable[[int, int], None]


@dataclass
class ModelOutput:
    """The network's three activation matrices for a whole input.

    Attributes
    ----------
    note, onset : numpy.ndarray
        ``(n_frames, 88)`` float32, one row per 256 samples at 22,050 Hz.
    contour : numpy.ndarray
        ``(n_frames, 264)`` float32 (may be a memory-mapped temporary file).
    n_samples : int
        Input length at 22,050 Hz.
    """

    note: np.ndarray
    onset: np.ndarray
    contour: np.ndarray
    n_samples: int

    @property
    def n_frames(self) -> int:
        """Number of output frames."""
        return self.note.shape[0]


def window_count(n_samples: int) -> int:
    """How many model windows basic-pitch uses for ``n_samples`` samples."""
    return max(1, math.ceil((n_samples + OVERLAP_SAMPLES // 2) / HOP_SAMPLES))


def _contour_array(n_frames: int) -> np.ndarray:
    if n_frames * N_CONTOUR_BINS * 4 <= CONTOUR_IN_MEMORY_BYTES:
        return np.zeros((n_frames, N_CONTOUR_BINS), dtype=np.float32)
    # the memmap keeps the (already unlinked) file open for as long as it lives
    backing = tempfile.TemporaryFile(prefix="reabridge-contour-")  # noqa: SIM115
    return np.memmap(backing, dtype=np.float32, mode="w+", shape=(n_frames, N_CONTOUR_BINS))


def run_model(model: BasicPitchModel, blocks: Iterable[np.ndarray], n_samples: int, batch: int = 8,
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
    contour = _contour_array(n_frames)
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
            for dst, src in zip((note, onset, contour), outs, strict=True):
                dst[row:row + take] = src[b, trim:trim + take]
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
