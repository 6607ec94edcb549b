"""The chain a generated JSFX implements: stages, their parameters, and the sliders that expose them.

A chain comes from a mastering preset (or a ``--chain`` TOML in the same
format): ``"auto"`` parameters are set by analysing a mix when one is given
(as ``reabridge master`` does), else to neutral values (0 dB EQ, a -18 dB
compressor threshold). Each stage exposes the parameters a user reaches for as
sliders; the rest are constants in the code. The limiter holds a sample-peak
ceiling; by default it sits 0.5 dB under the preset's true-peak target to
leave room for inter-sample peaks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bridge.audio.source import AudioSource
from bridge.master.presets import AUTO, Preset

LIMITER_MARGIN_DB = 0.5
NEUTRAL_THRESHOLD_DB = -18.0

# per stage type: (parameter, slider label, minimum, maximum, step); parameters not listed are constants
SLIDERS: dict[str, list[tuple[str, str, float, float, float]]] = {
    "highpass": [("cutoff_hz", "High-pass frequency (Hz)", 10.0, 500.0, 1.0)],
    "low_shelf": [("cutoff_hz", "Low shelf frequency (Hz)", 20.0, 1000.0, 1.0),
                  ("gain_db", "Low shelf gain (dB)", -12.0, 12.0, 0.1)],
    "high_shelf": [("cutoff_hz", "High shelf frequency (Hz)", 1000.0, 20000.0, 10.0),
                   ("gain_db", "High shelf gain (dB)", -12.0, 12.0, 0.1)],
    "peak": [("cutoff_hz", "Peak frequency (Hz)", 20.0, 20000.0, 1.0), ("gain_db", "Peak gain (dB)", -12.0, 12.0, 0.1),
             ("q", "Peak Q", 0.1, 10.0, 0.01)],
    "compressor": [("threshold_db", "Compressor threshold (dB)", -60.0, 0.0, 0.1),
                   ("ratio", "Compressor ratio (:1)", 1.0, 20.0, 0.1),
                   ("attack_ms", "Compressor attack (ms)", 0.1, 200.0, 0.1),
                   ("release_ms", "Compressor release (ms)", 5.0, 2000.0, 1.0)],
    "saturation": [("drive_db", "Saturation drive (dB)", 0.0, 24.0, 0.1),
                   ("mix", "Saturation mix (0-1)", 0.0, 1.0, 0.01)],
    "limiter": [("input_db", "Limiter input gain (dB)", -12.0, 24.0, 0.1),
                ("ceiling_db", "Limiter ceiling (dBFS, sample peak)", -12.0, 0.0, 0.01),
                ("release_ms", "Limiter release (ms)", 1.0, 1000.0, 1.0)],
}
PREFIX = {"highpass": "hp", "low_shelf": "ls", "high_shelf": "hs", "peak": "pk", "compressor": "comp",
          "saturation": "sat", "limiter": "lim"}


@dataclass
class ChainStage:
    """One stage: type, parameters (all numbers) and its place in the chain."""

    type: str
    params: dict[str, float]
    index: int

    @property
    def prefix(self) -> str:
        """The EEL2 name prefix of this stage's variables (``ls2``)."""
        return f"{PREFIX[self.type]}{self.index}"


@dataclass
class ChainSpec:
    """A whole chain, ready to become a JSFX."""

    name: str
    description: str
    stages: list[ChainStage]
    decisions: list[str] = field(default_factory=list)

    def sliders(self) -> list[tuple[int, str, float, float, float, float, str]]:
        """``(number, variable, default, minimum, maximum, step, label)`` for every slider, numbered from 1."""
        out = []
        for stage in self.stages:
            for key, label, low, high, step in SLIDERS[stage.type]:
                value = float(stage.params[key])
                out.append((len(out) + 1, f"{stage.prefix}_{key}", value, min(low, value), max(high, value), step,
                            label))
        return out


def chain_from_preset(preset: Preset, resolved: list[dict[str, Any]] | None = None,
                      input_gain_db: float = 0.0) -> ChainSpec:
    """A chain from a preset: ``resolved`` stages (from an analysis) or the preset's with neutral autos."""
    stages = resolved or [{"type": s.type, **s.params} for s in preset.stages]
    decisions = []
    out = []
    for i, stage in enumerate(stages, start=1):
        params: dict[str, float] = {}
        for key, value in stage.items():
            if key == "type":
                continue
            if value == AUTO:
                value = NEUTRAL_THRESHOLD_DB if key == "threshold_db" else 0.0
                decisions.append(f"{stage['type']} {key}: 'auto' without a mix to analyse, so {value:g}")
            params[key] = float(value)
        if stage["type"] == "limiter":
            params.setdefault("input_db", round(input_gain_db, 2))
            params.setdefault("ceiling_db", round(preset.true_peak - LIMITER_MARGIN_DB, 2))
        out.append(ChainStage(stage["type"], params, i))
    return ChainSpec(preset.name, preset.description, out, decisions)


def analysed_chain(preset: Preset, mix: AudioSource | None = None,
                   progress: Callable[[float], None] | None = None) -> ChainSpec:
    """The preset's chain with ``"auto"`` parameters from an analysis of ``mix`` (as ``reabridge master``).

    The limiter's input gain starts at the distance between the mix's
    integrated loudness and the preset's target (within -12 to +24 dB); the
    limiter takes the rest. Without a mix, autos are neutral and the gain 0 dB.
    """
    if mix is None:
        return chain_from_preset(preset)
    from bridge.master.analysis import survey
    from bridge.master.engine import check_input, resolve_chain

    measured = survey(mix, progress)
    check_input(measured, mix.rate, mix.frames)
    resolved = resolve_chain(preset, measured.analysis)
    gain = min(24.0, max(-12.0, preset.lufs - measured.loudness.integrated))
    spec = chain_from_preset(preset, resolved, gain)
    spec.decisions = [*measured.analysis.decisions,
                      f"limiter input gain {gain:+.1f} dB: the mix measures {measured.loudness.integrated:.1f} LUFS, "
                      f"the target is {preset.lufs:g} LUFS"]
    return spec
