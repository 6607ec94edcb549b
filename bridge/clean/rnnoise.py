"""RNNoise (xiph, BSD) through ctypes: the library the ``pyrnnoise`` wheel ships, never its Python package.

``pyrnnoise``'s own package imports ``audiolab`` (PyAV) and ``tqdm`` at import time;
reabridge only needs ``librnnoise.so`` and its built-in model, so the package is
located with :func:`importlib.util.find_spec` (not executed) and the library is
loaded with :mod:`ctypes`. RNNoise works on 10 ms frames (480 samples) at 48 kHz
on samples scaled like 16-bit integers; each frame also gives a voice-activity
probability.
"""

from __future__ import annotations

import ctypes
import importlib.util
import sys
from functools import lru_cache
from pathlib import Path

import numpy as np

from bridge.errors import ReabridgeError

RATE = 48000
FRAME = 480
#: RNNoise's output lags its input by two frames (measured on speech: 960 samples)
LATENCY = 2 * FRAME
_SCALE = 32768.0
_NAMES = {"linux": "librnnoise.so", "darwin": "librnnoise.dylib", "win32": "rnnoise.dll"}


class RnnoiseMissingError(ReabridgeError):
    """The RNNoise library is not installed."""


def library_path() -> Path:
    """``librnnoise`` inside the installed ``pyrnnoise`` wheel (the package is found, not imported)."""
    spec = importlib.util.find_spec("pyrnnoise")
    name = _NAMES.get(sys.platform, "librnnoise.so")
    if spec is None or not spec.submodule_search_locations:
        raise RnnoiseMissingError("the voice denoiser needs the pyrnnoise package (pip install --no-deps "
                                  "pyrnnoise, as 'make install' does); or use --denoise broadband")
    for folder in spec.submodule_search_locations:
        path = Path(folder) / name
        if path.is_file():
            return path
    raise RnnoiseMissingError(f"the pyrnnoise package has no {name}; reinstall it (pip install --no-deps "
                              "--force-reinstall pyrnnoise)")


@lru_cache(maxsize=1)
def _library() -> ctypes.CDLL:
    lib = ctypes.CDLL(str(library_path()))
    lib.rnnoise_create.argtypes = [ctypes.c_void_p]
    lib.rnnoise_create.restype = ctypes.c_void_p
    lib.rnnoise_destroy.argtypes = [ctypes.c_void_p]
    lib.rnnoise_destroy.restype = None
    lib.rnnoise_process_frame.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_float),
                                          ctypes.POINTER(ctypes.c_float)]
    lib.rnnoise_process_frame.restype = ctypes.c_float
    lib.rnnoise_get_frame_size.restype = ctypes.c_int
    if lib.rnnoise_get_frame_size() != FRAME:
        raise RnnoiseMissingError(f"this librnnoise works on {lib.rnnoise_get_frame_size()}-sample frames, not "
                                  f"{FRAME}; install the pinned pyrnnoise")
    return lib


def load() -> None:
    """Load the library now (the daemon warms it once)."""
    _library()


def rnnoise(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Denoise mono 48 kHz audio with RNNoise, aligned with its input.

    Parameters
    ----------
    x : numpy.ndarray
        1-D float audio at 48 kHz (full scale 1.0).

    Returns
    -------
    y : numpy.ndarray
        float32, ``len(x)`` samples, sample-aligned with ``x`` (the frame of
        latency is compensated).
    vad : numpy.ndarray
        Voice probability (0-1) per 480-sample frame of ``x``.
    """
    lib = _library()
    n = len(x)
    frames = (n + LATENCY) // FRAME + 2
    buf = np.zeros(frames * FRAME, dtype=np.float32)
    buf[:n] = np.asarray(x, dtype=np.float32) * _SCALE
    out = np.empty_like(buf)
    vad = np.empty(frames, dtype=np.float32)
    state = lib.rnnoise_create(None)
    if not state:
        raise MemoryError("RNNoise could not allocate its state")
    try:
        float_p = ctypes.POINTER(ctypes.c_float)
        base_in = buf.ctypes.data
        base_out = out.ctypes.data
        step = FRAME * 4
        process = lib.rnnoise_process_frame
        for i in range(frames):
            vad[i] = process(state, ctypes.cast(base_out + i * step, float_p), ctypes.cast(base_in + i * step, float_p))
    finally:
        lib.rnnoise_destroy(state)
    y = out[LATENCY:LATENCY + n] / np.float32(_SCALE)
    # the probability of output frame i describes input frame i - 2 (the same latency)
    probs = vad[2:2 + (n + FRAME - 1) // FRAME]
    return y, probs
