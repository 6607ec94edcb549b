"""Reading ``.nam`` capture files, every format found in the wild.

A ``.nam`` file is JSON: ``version``, ``architecture``, ``config``, a flat list
of ``weights``, optionally ``sample_rate`` (48 kHz when absent) and
``metadata``. Layouts over the years:

- WaveNet "A1" (export 0.5.x): per layer array ``head_size`` / ``head_bias``
  and a boolean ``gated``;
- WaveNet as neural-amp-modeler 0.7+ writes it: a ``head`` object per layer
  array (``out_channels``, ``kernel_size``, ``bias``), optionally per-layer
  ``kernel_sizes``, activation objects, ``gating_mode``, ``bottleneck``,
  ``head1x1`` / ``layer1x1``, FiLM blocks and grouped convolutions ("A2");
- WaveNet with a ``condition_dsp`` (a whole capture whose output conditions
  the main network);
- ``SlimmableContainer``: several complete captures of growing size, each
  used up to a ``max_value`` of the size control;
- ``LSTM`` and ``Linear``.

Everything is normalised to the 0.7+ layout (A1's ``head_size``/``head_bias``
become a ``head`` object, ``gated`` becomes ``gating_mode``), without touching
the weights.
"""

from __future__ import annotations

import copy
import itertools
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bridge.errors import ReabridgeError

DEFAULT_SAMPLE_RATE = 48000.0
ARCHITECTURES = ("WaveNet", "LSTM", "Linear", "SlimmableContainer")


class NamError(ReabridgeError):
    """A capture file cannot be used."""


@dataclass
class NamModel:
    """A parsed capture.

    Attributes
    ----------
    architecture : str
        One of :data:`ARCHITECTURES`.
    config : dict
        The network configuration in the normalised (0.7+) layout.
    weights : list of float
    sample_rate : float
        The rate the capture was trained at (48 kHz when the file does not say).
    metadata : dict
    version : str
    name : str
        A name for messages and take names (metadata name or file stem).
    path : Path or None
    submodels : list of (float, NamModel)
        For a SlimmableContainer: ``(max_value, model)`` in increasing size.
    """

    architecture: str
    config: dict[str, Any]
    weights: list[float]
    sample_rate: float
    metadata: dict[str, Any] = field(default_factory=dict)
    version: str = ""
    name: str = ""
    path: Path | None = None
    submodels: list[tuple[float, NamModel]] = field(default_factory=list)

    @property
    def input_level_dbu(self) -> float | None:
        """The interface level (dBu at 0 dBFS) the capture was made with, if recorded."""
        value = self.metadata.get("input_level_dbu")
        return float(value) if isinstance(value, (int, float)) else None

    @property
    def loudness(self) -> float | None:
        """The capture's output loudness (dB) for NAM's standard test signal, if recorded."""
        value = self.metadata.get("loudness")
        return float(value) if isinstance(value, (int, float)) else None

    @property
    def latency_samples(self) -> int | None:
        """The capture's own latency as its trainer measured it (samples at the model rate)."""
        try:
            value = self.metadata["training"]["data"]["latency"]["calibration"]["recommended"]
        except (KeyError, TypeError):
            return None
        return int(value) if isinstance(value, (int, float)) else None


def _head_from_a1(layer: dict[str, Any]) -> None:
    if "head" not in layer and "head_size" in layer:
        layer["head"] = {"out_channels": layer.pop("head_size"), "kernel_size": 1,
                         "bias": bool(layer.pop("head_bias", False))}
    layer.pop("head_size", None)
    layer.pop("head_bias", None)


def _normalise_wavenet(config: dict[str, Any], where: str) -> dict[str, Any]:
    cfg = copy.deepcopy(config)
    layers = cfg.get("layers")
    if not isinstance(layers, list) or not layers:
        raise NamError(f"{where}: a WaveNet needs a non-empty 'layers' list")
    for i, layer in enumerate(layers):
        if not isinstance(layer, dict):
            raise NamError(f"{where}: layer array {i + 1} is not an object")
        missing = [k for k in ("input_size", "condition_size", "channels", "dilations") if k not in layer]
        if missing or ("kernel_size" not in layer and "kernel_sizes" not in layer):
            raise NamError(f"{where}: layer array {i + 1} lacks {', '.join(missing) or 'kernel_size'}")
        _head_from_a1(layer)
        if "head" not in layer:
            raise NamError(f"{where}: layer array {i + 1} has no head (head_size or head)")
        n = len(layer["dilations"])
        if "gating_mode" not in layer:
            layer["gating_mode"] = "gated" if layer.pop("gated", False) else "none"
        layer.pop("gated", None)
        for key in ("gating_mode", "secondary_activation", "activation"):
            if key in layer and not isinstance(layer[key], list):
                layer[key] = [layer[key]] * n
        if "kernel_sizes" in layer:
            layer["kernel_size"] = layer.pop("kernel_sizes")
        if not isinstance(layer["kernel_size"], list):
            layer["kernel_size"] = [layer["kernel_size"]] * n
        if "secondary_activation" in layer:
            # A1 gating pairs the activation with a sigmoid
            layer["secondary_activation"] = [s if s else "Sigmoid" for s in layer["secondary_activation"]]
        else:
            layer["secondary_activation"] = ["Sigmoid"] * n
    dsp = cfg.get("condition_dsp")
    if dsp is not None:
        cfg["condition_dsp"] = parse_nam(dsp, f"{where} (condition_dsp)")
    return cfg


def parse_nam(data: Any, where: str = "capture", path: Path | None = None) -> NamModel:
    """Turn the JSON of a ``.nam`` file into a :class:`NamModel`.

    Raises
    ------
    NamError
        Unknown architecture, missing fields, or weights that do not fit.
    """
    if not isinstance(data, dict):
        raise NamError(f"{where}: not a NAM capture (expected a JSON object)")
    arch = data.get("architecture")
    if arch not in ARCHITECTURES:
        raise NamError(f"{where}: unknown architecture {arch!r}; supported: {', '.join(ARCHITECTURES)}")
    config = data.get("config")
    if not isinstance(config, dict):
        raise NamError(f"{where}: 'config' is missing or not an object")
    rate = data.get("sample_rate")
    if rate is not None and (isinstance(rate, bool) or not isinstance(rate, (int, float)) or not math.isfinite(rate)
                             or not 8000 <= rate <= 384000):
        raise NamError(f"{where}: its sample_rate {rate!r} is not a usable rate (8000 to 384000 Hz); "
                       "the file is damaged or was edited")
    metadata = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
    name = str(metadata.get("name") or (path.stem if path else "capture"))
    model = NamModel(arch, config, [], float(rate) if rate is not None else DEFAULT_SAMPLE_RATE, metadata,
                     str(data.get("version", "")), name, path)
    if arch == "SlimmableContainer":
        subs = config.get("submodels")
        if not isinstance(subs, list) or not subs:
            raise NamError(f"{where}: a SlimmableContainer needs a non-empty 'submodels' list")
        for i, sub in enumerate(subs):
            if not isinstance(sub, dict) or "model" not in sub:
                raise NamError(f"{where}: submodel {i + 1} has no 'model'")
            if not isinstance(sub.get("max_value"), (int, float)):
                raise NamError(f"{where}: submodel {i + 1} has no numeric 'max_value'")
            inner = parse_nam(sub["model"], f"{where} submodel {i + 1}", path)
            model.submodels.append((float(sub["max_value"]), inner))
        values = [v for v, _ in model.submodels]
        if any(b <= a for a, b in itertools.pairwise(values)):
            raise NamError(f"{where}: submodels must be sorted by ascending max_value (found {values})")
        if values[-1] < 1.0:
            raise NamError(f"{where}: the last submodel's max_value must be at least 1.0 (found {values[-1]})")
        return model
    weights = data.get("weights")
    if not isinstance(weights, list) or not all(isinstance(w, (int, float)) for w in weights):
        raise NamError(f"{where}: 'weights' must be a list of numbers")
    bad = next((i for i, w in enumerate(weights) if not math.isfinite(w)), None)
    if bad is not None:
        raise NamError(f"{where}: weight {bad + 1} of {len(weights)} is {weights[bad]!r}, not a number; "
                       "the capture is damaged and would only produce noise or silence")
    model.weights = [float(w) for w in weights]
    if arch == "WaveNet":
        model.config = _normalise_wavenet(config, where)
    from bridge.amp.networks import expected_weight_count

    expected = expected_weight_count(model)
    if expected != len(model.weights):
        raise NamError(f"{where}: the config needs {expected} weights but the file has {len(model.weights)}; "
                       "the file is damaged or was edited")
    return model


def load_nam(path: str | os.PathLike[str]) -> NamModel:
    """Read a ``.nam`` file.

    Raises
    ------
    NamError
        The file is missing, not JSON, or not a capture this program can run.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NamError(f"capture {p} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise NamError(f"cannot read capture {p.name}: {exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise NamError(f"{p.name} is not valid JSON (line {exc.lineno}, column {exc.colno}): "
                       "the capture file is damaged") from None
    return parse_nam(data, p.name, p)
