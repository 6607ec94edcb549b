"""Mastering presets: TOML files describing a chain and its loudness targets.

A preset has a ``name``, a ``description``, a ``[target]`` table (``lufs``,
``true_peak``) and ``[[stage]]`` tables in processing order. A parameter may be
``"auto"``: the analysis of the mix sets it (tonal balance for EQ gains, crest
factor for the compressor threshold) within ``max_gain_db``. Bundled presets
live in ``models/presets/`` (package data); users can write their own.
"""

from __future__ import annotations

import copy
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bridge.assets import presets_dir
from bridge.errors import ReabridgeError

AUTO = "auto"

# type -> {key: (low, high, default or None when required, may be "auto")}
STAGES: dict[str, dict[str, tuple[float, float, float | None, bool]]] = {
    "highpass": {"cutoff_hz": (10.0, 500.0, None, False)},
    "low_shelf": {"cutoff_hz": (20.0, 1000.0, None, False), "gain_db": (-12.0, 12.0, None, True),
                  "q": (0.1, 4.0, 0.707, False), "max_gain_db": (0.0, 12.0, 3.0, False)},
    "high_shelf": {"cutoff_hz": (1000.0, 20000.0, None, False), "gain_db": (-12.0, 12.0, None, True),
                   "q": (0.1, 4.0, 0.707, False), "max_gain_db": (0.0, 12.0, 3.0, False)},
    "peak": {"cutoff_hz": (20.0, 20000.0, None, False), "gain_db": (-12.0, 12.0, None, True),
             "q": (0.1, 10.0, 1.0, False), "max_gain_db": (0.0, 12.0, 3.0, False)},
    "compressor": {"threshold_db": (-60.0, 0.0, None, True), "ratio": (1.0, 20.0, 2.0, False),
                   "attack_ms": (0.1, 500.0, 20.0, False), "release_ms": (5.0, 5000.0, 200.0, False)},
    "saturation": {"drive_db": (0.0, 24.0, 3.0, False), "mix": (0.0, 1.0, 0.25, False)},
    "limiter": {"lookahead_ms": (0.5, 20.0, 5.0, False), "release_ms": (5.0, 2000.0, 80.0, False)},
}
TARGET_KEYS = {"lufs": (-40.0, -3.0), "true_peak": (-12.0, 0.0)}


class PresetError(ReabridgeError):
    """A preset file is invalid."""


@dataclass
class Stage:
    """One processing stage: its type and parameters (numbers, or ``"auto"``)."""

    type: str
    params: dict[str, Any]


@dataclass
class Preset:
    """A mastering chain and its targets."""

    name: str
    description: str
    lufs: float
    true_peak: float
    stages: list[Stage] = field(default_factory=list)

    def with_targets(self, lufs: float | None = None, true_peak: float | None = None) -> Preset:
        """A copy with other targets (command-line overrides)."""
        other = copy.deepcopy(self)
        if lufs is not None:
            other.lufs = _check_number("target", "lufs", lufs, *TARGET_KEYS["lufs"])
        if true_peak is not None:
            other.true_peak = _check_number("target", "true_peak", true_peak, *TARGET_KEYS["true_peak"])
        return other


def _check_number(where: str, key: str, value: Any, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise PresetError(f"{where}: '{key}' must be a number from {low:g} to {high:g}, not {value!r}")
    if not low <= value <= high:
        raise PresetError(f"{where}: '{key}' = {value:g} is out of range; allowed {low:g} to {high:g}")
    return float(value)


def parse_preset(data: dict[str, Any], source: str = "preset") -> Preset:
    """Validate preset data (as read from TOML).

    Raises
    ------
    PresetError
        Naming the stage, the key, and the allowed values.
    """
    known = {"name", "description", "target", "stage"}
    extra = set(data) - known
    if extra:
        raise PresetError(f"{source}: unknown key {sorted(extra)[0]!r}; allowed: {', '.join(sorted(known))}")
    target = data.get("target")
    if not isinstance(target, dict):
        raise PresetError(f"{source}: a [target] table with 'lufs' and 'true_peak' is required")
    for key in target:
        if key not in TARGET_KEYS:
            raise PresetError(f"{source} [target]: unknown key {key!r}; allowed: lufs, true_peak")
    lufs = _check_number(f"{source} [target]", "lufs", target.get("lufs"), *TARGET_KEYS["lufs"])
    peak = _check_number(f"{source} [target]", "true_peak", target.get("true_peak"), *TARGET_KEYS["true_peak"])
    stages_raw = data.get("stage", [])
    if not isinstance(stages_raw, list):
        raise PresetError(f"{source}: 'stage' must be a list of [[stage]] tables")
    stages = []
    for i, raw in enumerate(stages_raw, start=1):
        kind = raw.get("type") if isinstance(raw, dict) else None
        if kind not in STAGES:
            raise PresetError(f"{source} stage {i}: 'type' must be one of {', '.join(STAGES)}, not {kind!r}")
        where = f"{source} stage {i} ({kind})"
        spec = STAGES[kind]
        params: dict[str, Any] = {}
        for key, value in raw.items():
            if key == "type":
                continue
            if key not in spec:
                raise PresetError(f"{where}: unknown key {key!r}; allowed: {', '.join(spec)}")
            low, high, _, may_auto = spec[key]
            if value == AUTO and may_auto:
                params[key] = AUTO
            else:
                params[key] = _check_number(where, key, value, low, high)
        for key, (_, _, default, _) in spec.items():
            if key not in params:
                if default is None:
                    raise PresetError(f"{where}: '{key}' is required")
                params[key] = default
        stages.append(Stage(kind, params))
    if sum(s.type == "limiter" for s in stages) > 1 or (stages and any(s.type == "limiter" for s in stages[:-1])):
        raise PresetError(f"{source}: a limiter may only be the last stage")
    return Preset(str(data.get("name", source)), str(data.get("description", "")), lufs, peak, stages)


def load_preset_file(path: str | os.PathLike[str]) -> Preset:
    """Read and validate a preset TOML file."""
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PresetError(f"preset file {p} does not exist") from None
    except UnicodeDecodeError:
        raise PresetError(f"{p.name} is not a preset: it is not a text (TOML) file") from None
    except IsADirectoryError:
        raise PresetError(f"{p} is a folder, not a preset file") from None
    except tomllib.TOMLDecodeError as exc:
        raise PresetError(f"{p.name} is not valid TOML: {exc}") from None
    return parse_preset(data, p.name)


def bundled_presets() -> list[str]:
    """Names of the presets shipped in ``models/presets``."""
    return sorted(p.stem for p in presets_dir().glob("*.toml"))


def load_preset(name: str) -> Preset:
    """A bundled preset by name."""
    path = presets_dir() / f"{name}.toml"
    if not path.is_file():
        raise PresetError(f"no preset named {name!r}; bundled presets: {', '.join(bundled_presets())}")
    return load_preset_file(path)
