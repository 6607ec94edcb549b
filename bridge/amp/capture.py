"""Creating a capture from a DI and a re-amped recording of it.

Training uses neural-amp-modeler's own pieces: its WaveNet, its
``LightningModule`` (loss, optimiser, schedule) and its ``Dataset``, run by
PyTorch Lightning on the CPU. reabridge adds what a project needs around them:

- the re-amp is aligned to the DI automatically: the latency is the peak of
  their cross-correlation (computed by FFT) between -10 ms and +500 ms, and is
  reported;
- sample rates must match; lengths may differ by up to a second (the longer
  one is cut);
- the last 15 % is held out for validation; the validation error-to-signal
  ratio (ESR) is reported with neural-amp-modeler's own grading;
- the ``.nam`` carries metadata: name, date, validation ESR, architecture,
  measured latency, the model's loudness and the tool that made it.

Training is the one job that needs PyTorch and neural-amp-modeler; they are the
``train`` extra (``pip install 'reabridge[train]'``), left out of a plain install.
:func:`require_training` says what to install before any work is done.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import tempfile
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bridge.errors import ReabridgeError
from bridge.fileio import Outputs, write_atomic

VALIDATION_SHARE = 0.15
MAX_LENGTH_MISMATCH_S = 1.0


def _layers(channels: tuple[int, int], dilations: tuple[list[int], list[int]]) -> list[dict[str, Any]]:
    first, second = channels
    return [
        {"input_size": 1, "condition_size": 1, "channels": first, "kernel_size": 3, "dilations": dilations[0],
         "activation": "Tanh", "head": {"out_channels": second, "kernel_size": 1, "bias": False}},
        {"input_size": first, "condition_size": 1, "channels": second, "kernel_size": 3, "dilations": dilations[1],
         "activation": "Tanh", "head": {"out_channels": 1, "kernel_size": 1, "bias": True}},
    ]


_STANDARD_DILATIONS = ([2 ** i for i in range(10)], [2 ** i for i in range(10)])
_LITE_DILATIONS = ([1, 2, 4, 8, 16, 32, 64], [128, 256, 512, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512])
# The WaveNet sizes neural-amp-modeler has always offered (standard, lite, feather, nano).
SIZES: dict[str, list[dict[str, Any]]] = {
    "standard": _layers((16, 8), _STANDARD_DILATIONS),
    "lite": _layers((12, 6), _LITE_DILATIONS),
    "feather": _layers((8, 4), _LITE_DILATIONS),
    "nano": _layers((4, 2), _LITE_DILATIONS),
}


class CaptureError(ReabridgeError):
    """The DI and re-amp cannot be used to train a capture."""


#: import name -> distribution, for what training needs beyond a plain install (the ``train`` extra)
TRAINING_PACKAGES = {"torch": "torch", "nam": "neural-amp-modeler", "pytorch_lightning": "pytorch-lightning"}
#: how to get them
TRAIN_EXTRA = "pip install 'reabridge[train]'"


def missing_training() -> list[str]:
    """The training packages that are not installed (looked up, never imported)."""
    import importlib.util

    missing = []
    for module, distribution in TRAINING_PACKAGES.items():
        try:
            found = importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            missing.append(distribution)
    return missing


def require_training() -> None:
    """Refuse, with what to install, when this install cannot train captures.

    Raises
    ------
    CaptureError
        PyTorch, neural-amp-modeler or pytorch-lightning is missing.
    """
    missing = missing_training()
    if missing:
        raise CaptureError(f"creating a capture needs {', '.join(missing)} (training only; rendering does not): "
                           f"install them with {TRAIN_EXTRA} (in reabridge's environment; about 1.1 GB)")


@dataclass(frozen=True)
class CaptureResult:
    """The outcome of training.

    Attributes
    ----------
    path : Path
        The written ``.nam``.
    latency_samples : int
        How far the re-amp lagged behind the DI (compensated before training).
    validation_esr : float
    grade : str
        neural-amp-modeler's comment on that ESR.
    epochs : int
    """

    path: Path
    latency_samples: int
    validation_esr: float
    grade: str
    epochs: int


def find_latency(di: np.ndarray, reamp: np.ndarray, rate: float, max_lead_s: float = 0.01,
                 max_lag_s: float = 0.5) -> int:
    """Samples by which ``reamp`` lags ``di``: the peak of their cross-correlation.

    Raises
    ------
    CaptureError
        Silent signals, or no clear peak in range.
    """
    n = min(len(di), len(reamp), int(30 * rate))
    a, b = di[:n].astype(np.float64), reamp[:n].astype(np.float64)
    if not (np.any(a) and np.any(b)):
        raise CaptureError("the DI or the re-amp is silent; there is nothing to align")
    size = 1 << math.ceil(math.log2(2 * n))
    corr = np.fft.irfft(np.fft.rfft(b, size) * np.conj(np.fft.rfft(a, size)), size)
    lead, lag = int(max_lead_s * rate), int(max_lag_s * rate)
    window = np.concatenate([corr[size - lead:], corr[:lag + 1]])
    return int(np.argmax(window)) - lead


def esr(prediction: np.ndarray, target: np.ndarray) -> float:
    """Error-to-signal ratio, as neural-amp-modeler computes it."""
    return float(np.mean((prediction - target) ** 2) / np.mean(target ** 2))


def nam_grade(value: float) -> str:
    """neural-amp-modeler's own words for a validation ESR."""
    try:
        from nam.train.core import _esr_comment

        return str(_esr_comment(value))
    except ImportError:  # pragma: no cover - neural-amp-modeler is a dependency
        return ""


def prepare_pair(di: np.ndarray, reamp: np.ndarray, di_rate: float, reamp_rate: float
                 ) -> tuple[np.ndarray, np.ndarray, int]:
    """Check rates and lengths, align the re-amp to the DI; return (x, y, latency)."""
    if di_rate != reamp_rate:
        raise CaptureError(f"the DI is at {di_rate:g} Hz but the re-amp at {reamp_rate:g} Hz; "
                           "record both at the same rate")
    if abs(len(di) - len(reamp)) > MAX_LENGTH_MISMATCH_S * di_rate:
        raise CaptureError(f"the DI lasts {len(di) / di_rate:.2f} s and the re-amp {len(reamp) / di_rate:.2f} s; "
                           "they must be the same recording (within 1 s)")
    for label, signal in (("DI", di), ("re-amp", reamp)):
        if len(signal) and float(np.max(np.abs(signal))) >= 1.0:
            raise CaptureError(f"the {label} clips (it reaches 0 dBFS); record it a few dB quieter")
    if min(len(di), len(reamp)) < 5 * di_rate:
        raise CaptureError("at least 5 seconds of DI and re-amp are needed to train a capture")
    latency = find_latency(di, reamp, di_rate)
    if latency >= 0:
        x, y = di, reamp[latency:]
    else:
        x, y = di[-latency:], reamp
    n = min(len(x), len(y))
    return np.ascontiguousarray(x[:n], np.float32), np.ascontiguousarray(y[:n], np.float32), latency


@contextlib.contextmanager
def _quiet_lightning() -> Iterator[None]:
    """pytorch-lightning's banners, tips and deprecation notes are not for a musician's terminal."""
    loggers = [logging.getLogger(name) for name in ("pytorch_lightning", "lightning_fabric", "lightning")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


def train_capture(di: np.ndarray, reamp: np.ndarray, rate: float, output: Path, size: str = "standard",
                  epochs: int = 100, name: str | None = None, seed: int = 0,
                  progress: Callable[[int, int, float], None] | None = None,
                  description: str = "", lr: float = 0.004, segment: int = 8192,
                  outputs: Outputs | None = None) -> CaptureResult:
    """Train a WaveNet capture of the gear between ``di`` and ``reamp`` and write it.

    Parameters
    ----------
    di, reamp : numpy.ndarray
        Mono float32 signals at ``rate``.
    output : Path
        The ``.nam`` to write.
    size : {"standard", "lite", "feather", "nano"}
    epochs : int
    progress : callable, optional
        ``progress(epoch, epochs, validation_esr)`` after each epoch.
    outputs : Outputs, optional
        The command's output transaction (the ``.nam`` is written by its rules).
    lr, segment : float, int
        Learning rate (neural-amp-modeler's default 0.004) and output samples per
        training example (8192).
    """
    require_training()
    if size not in SIZES:
        raise CaptureError(f"unknown size {size!r}; choose one of {', '.join(SIZES)}")
    if epochs < 1:
        raise CaptureError("train for at least one epoch")
    x, y, latency = prepare_pair(di, reamp, rate, rate)
    import pytorch_lightning as pl
    import torch
    from nam.data import Dataset
    from nam.train.lightning_module import LightningModule
    from torch.utils.data import DataLoader

    torch.manual_seed(seed)
    module = LightningModule.init_from_config({
        "net": {"name": "WaveNet", "config": {"layers_configs": SIZES[size], "head_scale": 0.02}},
        "loss": {"val_loss": "esr"},
        "optimizer": {"lr": lr},
        "lr_scheduler": {"class": "ExponentialLR", "kwargs": {"gamma": 0.993}},
    })
    nx = module.net.receptive_field
    split = int(len(x) * (1 - VALIDATION_SHARE))
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    train = Dataset(xt, yt, nx, segment, stop_samples=split, sample_rate=rate, require_input_pre_silence=None)
    val = Dataset(xt, yt, nx, None, start_samples=split, sample_rate=rate, require_input_pre_silence=None)
    module.net.sample_rate = rate
    batch = max(1, min(16, len(train)))

    class _Report(pl.Callback):
        def on_validation_epoch_end(self, trainer: pl.Trainer, pl_module: Any) -> None:
            if progress is not None and not trainer.sanity_checking:
                value = trainer.callback_metrics.get("val_loss")
                progress(trainer.current_epoch + 1, epochs, float(value) if value is not None else float("nan"))

    with _quiet_lightning():
        trainer = pl.Trainer(max_epochs=epochs, accelerator="cpu", devices=1, logger=False,
                             enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                             num_sanity_val_steps=0, callbacks=[_Report()])
        trainer.fit(module, DataLoader(train, batch_size=batch, shuffle=True, drop_last=True),
                    DataLoader(val, batch_size=1))
    module.eval()
    with torch.no_grad():
        prediction = module.net(xt[split - (nx - 1):], pad_start=False).numpy()
    value = esr(prediction, y[split:])
    grade = nam_grade(value)
    ours = {
        "name": name or output.stem,
        "modeled_by": "reabridge",
        "description": description,
        "training": {"validation_esr": value, "architecture": f"WaveNet {size}", "epochs": epochs,
                     "reamp_latency_samples": latency},
    }
    with tempfile.TemporaryDirectory() as tmp:
        # neural-amp-modeler's own exporter (date, loudness and gain metadata, version)
        module.net.export(Path(tmp), basename="capture", other_metadata=ours)
        document = json.loads((Path(tmp) / "capture.nam").read_text())
    document["sample_rate"] = rate
    if outputs is None:
        write_atomic(output, json.dumps(document).encode("utf-8"), "nam")
    else:
        output = outputs.write_bytes(output, json.dumps(document).encode("utf-8"), "nam")
    return CaptureResult(output, latency, value, grade, epochs)
