"""basic-pitch's own ICASSP 2022 model, run through onnxruntime.

The model file ships inside the ``basic_pitch`` package. Importing that
package imports TensorFlow when TensorFlow is installed, so the file is found
with :func:`importlib.util.find_spec`, which locates a package without running
it. Nothing here imports ``basic_pitch`` or ``tensorflow``.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import numpy as np

from bridge.errors import ReabridgeError

# basic-pitch's constants (basic_pitch/constants.py), restated: the model is
# fixed, so these are facts about it rather than settings.
SAMPLE_RATE = 22050
FFT_HOP = 256
WINDOW_SAMPLES = SAMPLE_RATE * 2 - FFT_HOP  # 43844 samples per model input
FRAMES_PER_WINDOW = (SAMPLE_RATE // FFT_HOP) * 2  # 172 output frames per window
FPS = SAMPLE_RATE // FFT_HOP  # 86 "annotation" frames per second
OVERLAP_FRAMES = 30
OVERLAP_SAMPLES = OVERLAP_FRAMES * FFT_HOP
HOP_SAMPLES = WINDOW_SAMPLES - OVERLAP_SAMPLES
N_PITCHES = 88
N_CONTOUR_BINS = 264
MIDI_OFFSET = 21

_INPUT = "serving_default_input_2:0"
_OUTPUTS = ("StatefulPartitionedCall:1", "StatefulPartitionedCall:2", "StatefulPartitionedCall:0")


class ModelError(ReabridgeError):
    """The transcription model is missing or cannot be loaded."""


def model_path() -> Path:
    """Path of ``nmp.onnx`` inside the installed basic-pitch package.

    Raises
    ------
    ModelError
        basic-pitch is not installed, or its ONNX model is missing.
    """
    override = os.environ.get("REABRIDGE_BASIC_PITCH_MODEL")
    if override:
        return Path(override)
    spec = importlib.util.find_spec("basic_pitch")
    if spec is None or not spec.submodule_search_locations:
        raise ModelError("basic-pitch is not installed; run `make install` (it provides the transcription model)")
    path = Path(next(iter(spec.submodule_search_locations))) / "saved_models" / "icassp_2022" / "nmp.onnx"
    if not path.is_file():
        raise ModelError(f"basic-pitch's ONNX model is missing at {path}; reinstall basic-pitch")
    return path


class BasicPitchModel:
    """A loaded basic-pitch network (load once, call many times).

    Parameters
    ----------
    path : Path, optional
        The ``.onnx`` file; basic-pitch's packaged model by default.
    threads : int, optional
        Threads for onnxruntime (default: all cores).
    """

    def __init__(self, path: Path | None = None, threads: int | None = None) -> None:
        import onnxruntime as ort

        self.path = path or model_path()
        options = ort.SessionOptions()
        # explicit is measurably faster than onnxruntime's default here (16.6 vs 17.8 ms a window)
        options.intra_op_num_threads = threads or os.cpu_count() or 1
        options.log_severity_level = 3
        try:
            self._session = ort.InferenceSession(str(self.path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own exception types
            raise ModelError(f"cannot load the transcription model {self.path}: {exc}") from None

    def predict(self, windows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Run a batch of windows.

        Parameters
        ----------
        windows : numpy.ndarray
            ``(batch, 43844)`` float32 audio at 22,050 Hz.

        Returns
        -------
        note, onset, contour : numpy.ndarray
            ``(batch, 172, 88)``, ``(batch, 172, 88)`` and ``(batch, 172, 264)`` float32.
        """
        x = np.ascontiguousarray(windows, dtype=np.float32)[:, :, None]
        note, onset, contour = self._session.run(list(_OUTPUTS), {_INPUT: x})
        return note, onset, contour
