"""Mastering a mix to a preset: analysis, the chain, and an exact loudness target.

The chain before the limiter is built from pedalboard plug-ins (filters,
compressor) plus a tanh saturation blended with the dry signal. Then the
input gain into the limiter is searched (secant steps on the measured
integrated loudness of the limited result) until the master is within 0.05 LU
of the target; the limiter's ceiling is lowered by any true-peak overshoot the
meter finds. The final file is measured again: integrated loudness within
+/-0.1 LU and true peak at or below the ceiling, or an error says why not.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bridge.master import analysis as an
from bridge.master.limiter import gain_curve
from bridge.master.loudness import LoudnessError, LoudnessReport, measure_array
from bridge.master.presets import AUTO, Preset
from bridge.master.truepeak import envelope, true_peak

TOLERANCE_LU = 0.05
CEILING_MARGIN_DB = 0.2
MAX_GAIN_DB = 36.0
MIN_SECONDS = 0.4


@dataclass
class MasterResult:
    """The master and everything the report shows."""

    audio: np.ndarray = field(repr=False)
    rate: float
    before: LoudnessReport
    after: LoudnessReport
    chain: list[dict[str, Any]]
    decisions: list[str]
    warnings: list[str]
    gain_db: float
    limiter_reduction_db: float
    iterations: int
    preset: Preset
    spectrum_before: tuple[np.ndarray, np.ndarray] = field(repr=False)
    spectrum_after: tuple[np.ndarray, np.ndarray] = field(repr=False)
    spectrum_reference: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False)


def _resolve(preset: Preset, analysis: an.Analysis, auto_eq: bool = True) -> list[dict[str, Any]]:
    chain = []
    for stage in preset.stages:
        params = dict(stage.params)
        if params.get("gain_db") == AUTO and not auto_eq:
            params["gain_db"] = 0.0
            analysis.decisions.append(f"{stage.type} at {params['cutoff_hz']:g} Hz: 0 dB, the reference match "
                                      "sets the tonal balance instead")
        elif params.get("gain_db") == AUTO:
            gain = an.auto_gain(analysis, stage.type, params["cutoff_hz"], params["max_gain_db"])
            params["gain_db"] = round(gain, 2)
        if params.get("threshold_db") == AUTO:
            params["threshold_db"] = round(an.auto_threshold(analysis), 2)
        chain.append({"type": stage.type, **params})
    return chain


def _plugin(stage: dict[str, Any]) -> Any:
    import pedalboard as pb

    kind = stage["type"]
    if kind == "highpass":
        return pb.HighpassFilter(cutoff_frequency_hz=stage["cutoff_hz"])
    if kind == "low_shelf":
        return pb.LowShelfFilter(cutoff_frequency_hz=stage["cutoff_hz"], gain_db=stage["gain_db"], q=stage["q"])
    if kind == "high_shelf":
        return pb.HighShelfFilter(cutoff_frequency_hz=stage["cutoff_hz"], gain_db=stage["gain_db"], q=stage["q"])
    if kind == "peak":
        return pb.PeakFilter(cutoff_frequency_hz=stage["cutoff_hz"], gain_db=stage["gain_db"], q=stage["q"])
    return pb.Compressor(threshold_db=stage["threshold_db"], ratio=stage["ratio"], attack_ms=stage["attack_ms"],
                         release_ms=stage["release_ms"])


def _pre_limiter(audio: np.ndarray, rate: float, chain: list[dict[str, Any]]) -> np.ndarray:
    """Everything before the limiter: runs of pedalboard plug-ins in one call each, saturation in NumPy."""
    import pedalboard as pb

    x = np.ascontiguousarray(audio.T, dtype=np.float32)  # pedalboard wants (channels, frames)
    run: list[Any] = []
    for stage in [*chain, {"type": "end"}]:
        kind = stage["type"]
        if kind in ("saturation", "limiter", "end"):
            if run:
                x = pb.Pedalboard(run)(x, rate)
                run = []
            if kind == "saturation":
                drive = np.float32(10 ** (stage["drive_db"] / 20))
                mix = np.float32(stage["mix"])
                x = (1 - mix) * x + mix * np.tanh(drive * x) / drive
            continue
        run.append(_plugin(stage))
    return x.T


def check_input(audio: np.ndarray, rate: float, before: LoudnessReport) -> list[str]:
    """Refuse what cannot be mastered; return warnings for what can but is suspect."""
    if len(audio) < MIN_SECONDS * rate:
        raise LoudnessError(f"the mix lasts {len(audio) / rate:.2f} s; loudness needs at least 0.4 s "
                            "(one gating block)")
    if not math.isfinite(before.integrated) or before.integrated < -70:
        raise LoudnessError("the mix is silent (or below -70 LUFS everywhere); there is nothing to master")
    warnings = []
    clipped = np.abs(audio) >= 0.999
    runs = np.flatnonzero(clipped[:-2].any(axis=1) & clipped[1:-1].any(axis=1) & clipped[2:].any(axis=1))
    if len(runs):
        warnings.append(f"the mix is already clipped ({len(runs)} places with 3+ samples at full scale, first at "
                        f"{runs[0] / rate:.2f} s): mastering cannot undo that; export the mix with headroom")
    if before.integrated < -50:
        warnings.append(f"the mix is very quiet ({before.integrated:.1f} LUFS): noise will be raised with it")
    return warnings


def master(audio: np.ndarray, rate: float, preset: Preset, progress: Callable[[str], None] | None = None,
           reference: np.ndarray | None = None, keep_target: bool = False) -> MasterResult:
    """Master ``(frames, channels)`` float audio with a preset.

    Parameters
    ----------
    reference : numpy.ndarray, optional
        A reference track at the same rate: its tonal balance (mid and side) is
        matched and, unless ``keep_target``, its integrated loudness becomes the target.

    Raises
    ------
    LoudnessError
        Silent, too short or invalid input, or a target the chain cannot reach.
    """
    x = np.asarray(audio, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    before = measure_array(x, rate)
    warnings = check_input(x, rate, before)
    analysis = an.analyse(x, rate)
    ref_spectrum = None
    if reference is not None:
        from bridge.master.reference import analyse_reference, apply_reference

        ref = np.asarray(reference, dtype=np.float64)
        ref = ref if ref.ndim == 2 else ref[:, None]
        ref_report = measure_array(ref, rate)
        if not np.isfinite(ref_report.integrated) or ref_report.integrated < -70:
            raise LoudnessError("the reference is silent; choose another reference track")
        match = analyse_reference(x, ref, rate, ref_report.integrated)
        x = apply_reference(x, match, rate)
        analysis.decisions.append(match.describe())
        ref_spectrum = match.reference_spectrum
        if not keep_target:
            preset = preset.with_targets(lufs=float(np.clip(ref_report.integrated, -40.0, -3.0)))
            analysis.decisions.append(f"loudness target {preset.lufs:.2f} LUFS: the reference's integrated loudness")
    chain = _resolve(preset, analysis, auto_eq=reference is None)
    limiter_cfg = next((s for s in chain if s["type"] == "limiter"), {"lookahead_ms": 5.0, "release_ms": 80.0})
    pre = _pre_limiter(x, rate, chain)
    del x
    pre_loudness = measure_array(pre, rate, true_peak=False).integrated
    pre_env = envelope(pre)  # the envelope of g * pre is g * pre_env: computed once
    # aim 0.2 dB under the ceiling: true-peak meters differ by about that much (ffmpeg's reads higher than
    # ours on limited masters), and the ceiling must hold on whichever meter a distributor uses
    ceiling = preset.true_peak - CEILING_MARGIN_DB

    def render(gain_db: float, ceil_db: float) -> tuple[np.ndarray, LoudnessReport, float]:
        g = 10 ** (gain_db / 20)
        curve, reduction = gain_curve(pre_env * g, rate, ceil_db, limiter_cfg["lookahead_ms"],
                                      limiter_cfg["release_ms"])
        curve *= g
        y = pre * curve[:, None]
        return y, measure_array(y, rate, true_peak=False), reduction

    gain = preset.lufs - pre_loudness
    points: list[tuple[float, float]] = []
    best: tuple[np.ndarray, LoudnessReport, float, float] | None = None
    iterations = 0
    for iterations in range(1, 16):
        gain = float(np.clip(gain, -MAX_GAIN_DB, MAX_GAIN_DB))
        y, report, reduction = render(gain, ceiling)
        error = report.integrated - preset.lufs
        if abs(error) <= TOLERANCE_LU:
            # the loudness figures stand; only the true peak is new (no second K-weighting pass)
            peak = true_peak(y)
            report.true_peak = 20 * math.log10(peak) if peak > 0 else float("-inf")
            if report.true_peak > preset.true_peak:
                ceiling -= report.true_peak - preset.true_peak + 0.02
                continue
        if progress:
            progress(f"pass {iterations}: gain {gain:+.2f} dB -> {report.integrated:.2f} LUFS, "
                     f"{report.true_peak:.2f} dBTP")
        best = (y, report, reduction, gain)
        if abs(error) <= TOLERANCE_LU:
            break
        points.append((gain, report.integrated))
        if len(points) >= 2 and points[-1][1] != points[-2][1]:
            (g0, l0), (g1, l1) = points[-2], points[-1]
            gain = g1 + (preset.lufs - l1) * (g1 - g0) / (l1 - l0)
        else:
            gain -= error * (1.5 if error < 0 else 1.0)
        if gain >= MAX_GAIN_DB and report.integrated < preset.lufs - TOLERANCE_LU and len(points) > 2:
            break
    if best is None:
        raise LoudnessError("could not hold the true-peak ceiling; the mix may be damaged")
    y, report, reduction, gain = best
    if abs(report.integrated - preset.lufs) > 0.1:
        raise LoudnessError(
            f"cannot reach {preset.lufs:g} LUFS with a {preset.true_peak:g} dBTP ceiling: the loudest reachable "
            f"master is {report.integrated:.2f} LUFS with {reduction:.1f} dB of limiting; choose a lower target")
    freqs_b, spec_b = analysis.freqs, analysis.spectrum_db
    after_analysis = an.analyse(y, rate)
    return MasterResult(y, rate, before, report, chain, analysis.decisions, warnings, gain, reduction, iterations,
                        preset, (freqs_b, spec_b), (after_analysis.freqs, after_analysis.spectrum_db), ref_spectrum)
