"""moonshine-cpp's own C++ runtime (``libmoonshine.so`` through the wheel's ctypes binding): the reference decoding.

The wheel's Python ``transcribe`` method cannot run (it names a ``ctypes.c_float_p`` that
does not exist), so the library's C entry point ``moonshine_transcribe`` is called
directly with the float samples; ``transcribe_wav`` (the same decoding after reading a
16-bit WAV) is used where a file is the input. Used by the tests and the benchmarks only.
"""

from __future__ import annotations

import ctypes
from pathlib import Path

import numpy as np


class Reference:
    """moonshine-cpp's Moonshine base-en (its own onnxruntime 1.22 inside the wheel)."""

    def __init__(self) -> None:
        import moonshine_cpp

        self._module = moonshine_cpp
        self.model = moonshine_cpp.MoonshineModel()
        self._lib = moonshine_cpp.moonshine_lib

    def transcribe(self, samples16k: np.ndarray) -> str:
        """The runtime's text for 16 kHz mono float samples."""
        audio = np.ascontiguousarray(samples16k, dtype=np.float32)
        text = ctypes.c_char_p(0)
        pointer = audio.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
        error = self._lib.moonshine_transcribe(self.model.model_handle, pointer, len(audio), ctypes.byref(text))
        if error != 0:
            raise RuntimeError(f"moonshine_transcribe failed ({error})")
        out = (text.value or b"").decode("utf-8", errors="replace")
        self._lib.moonshine_free_text(text)
        return out

    def transcribe_wav(self, path: Path) -> str:
        """The runtime's ``transcribe_wav`` (16-bit PCM WAV at 16 kHz)."""
        return str(self.model.transcribe_wav(str(path)))
