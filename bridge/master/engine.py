"""Mastering a mix to a preset: analysis, the chain, and an exact loudness target, streamed.

Three passes over the audio, each one block at a time, so an hour-long mix
needs no more memory than a short one (apart from a few megabytes of bins):

1. **survey** the mix (and the reference): loudness, levels, spectra. These
   set the preset's ``"auto"`` parameters and the reference-matching filters.
2. **chain**: the reference filter, pedalboard plug-ins (filters, compressor)
   with their state carried across blocks, and a tanh saturation blended with
   the dry signal. The result is spilled to a temporary file, and two things
   are kept per bin of ~1 ms: its K-weighted energy and its true peak.
3. **render**: the gain into the limiter is solved on the bins (the limiter's
   gain curve and the loudness it gives are computed from them in
   milliseconds), then the spilled audio is limited, converted to the output
   format and measured exactly as written. If the written master misses the
   target by more than 0.05 LU, or its true peak is above the ceiling, the
   estimate is corrected by what was measured and pass 3 runs again.

The final file's integrated loudness is within +/-0.1 LU of the target and
its true peak at or below the ceiling, or an error says why not.
"""

from __future__ import annotations

import contextlib
import math
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bridge.audio.heap import reuse_freed_memory
from bridge.audio.sink import ArraySink, Sink
from bridge.audio.source import BLOCK_FRAMES, AudioSource
from bridge.master import analysis as an
from bridge.master.dsp import Welch, bin_reduce, segment_length, spread_hop
from bridge.master.limiter import bin_reduction, bin_size, sample_gain
from bridge.master.loudness import (
    STEP_S,
    LoudnessError,
    LoudnessMeter,
    LoudnessReport,
    channel_weights,
    gated_loudness,
    k_weighting,
    weighted_energy,
    window_means,
)
from bridge.master.overlap import Behind, in_background
from bridge.master.presets import AUTO, Preset
from bridge.master.truepeak import PeakBins

Progress = Callable[[str, float], None]

TOLERANCE_LU = 0.05
CEILING_MARGIN_DB = 0.2
MAX_GAIN_DB = 36.0
MIN_SECONDS = 0.4
MAX_RENDERS = 6


@dataclass
class MasterResult:
    """The master and everything the report shows."""

    audio: np.ndarray | None = field(repr=False)
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


def resolve_chain(preset: Preset, analysis: an.Analysis, auto_eq: bool = True) -> list[dict[str, Any]]:
    """The preset's stages with every ``"auto"`` parameter set from the analysis (reasons in ``analysis.decisions``)."""
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


class _Chain:
    """Everything before the limiter, as a stream: reference filter, pedalboard runs, saturation."""

    def __init__(self, chain: list[dict[str, Any]], rate: float, reference: Any | None) -> None:
        import pedalboard as pb

        self.rate = rate
        self.reference = reference
        self.steps: list[Any] = []
        run: list[Any] = []
        for stage in [*chain, {"type": "end"}]:
            if stage["type"] in ("saturation", "limiter", "end"):
                if run:
                    self.steps.append(pb.Pedalboard(run))
                    run = []
                if stage["type"] == "saturation":
                    self.steps.append((10 ** (stage["drive_db"] / 20), stage["mix"]))
                continue
            if stage["type"] in ("low_shelf", "high_shelf", "peak") and stage["gain_db"] == 0:
                continue  # a 0 dB shelf or bell passes the signal unchanged (the reference match sets the EQ)
            run.append(_plugin(stage))

    def process(self, block: np.ndarray) -> np.ndarray:
        """The next ``(frames, channels)`` block through the chain (float32, channel-major inside)."""
        x = self.reference.process(block) if self.reference is not None else block
        return self._plugins(x)

    def flush(self) -> np.ndarray:
        """What the reference filter still holds, through the rest of the chain."""
        return self._plugins(self.reference.flush()) if self.reference is not None else np.zeros((0, 1))

    def _plugins(self, block: np.ndarray) -> np.ndarray:
        x = np.ascontiguousarray(np.asarray(block, dtype=np.float32).T)  # pedalboard wants (channels, frames)
        if x.shape[1] == 0:
            return x.T
        for step in self.steps:
            if isinstance(step, tuple):  # (1 - mix) x + mix tanh(drive x) / drive, in place
                drive, mix = np.float32(step[0]), np.float32(step[1])
                wet = np.multiply(x, drive)
                np.tanh(wet, out=wet)
                wet *= mix / drive
                x = np.multiply(x, 1 - mix)
                x += wet
            else:
                x = step(x, self.rate, reset=False)
        return x.T


class _Spill:
    """The chain's output on disk (float32), read back block by block for each render."""

    def __init__(self, channels: int, folder: Path | None) -> None:
        self.channels = channels
        self.frames = 0
        self._file = tempfile.TemporaryFile(prefix="reabridge-master-", dir=folder)  # noqa: SIM115 (closed by close())

    def write(self, block: np.ndarray) -> None:
        self._file.write(np.ascontiguousarray(block, dtype=np.float32).data)
        self.frames += len(block)

    def blocks(self) -> Iterator[tuple[int, np.ndarray]]:
        """``(first frame, block)`` pairs over everything written."""
        self._file.seek(0)
        frame_bytes = 4 * self.channels
        pos = 0
        while pos < self.frames:
            n = min(BLOCK_FRAMES, self.frames - pos)
            data = np.frombuffer(self._file.read(n * frame_bytes), dtype=np.float32).reshape(n, self.channels)
            yield pos, data
            pos += n

    def close(self) -> None:
        self._file.close()


KEPT_SPILL_BYTES = 256 << 20  # about 12 minutes of stereo at 44.1 kHz
_kept: list[tuple[tuple[object, ...], _Spill, _Bins]] = []  # the last chain output, while the process runs
_kept_lock = threading.Lock()


def _take_kept(key: tuple[object, ...] | None) -> tuple[_Spill, _Bins] | None:
    """The kept chain output when it was made from the same audio with the same chain (the caller owns it)."""
    with _kept_lock:
        entry = _kept.pop() if _kept else None
    if entry is None:
        return None
    if key is not None and entry[0] == key:
        return entry[1], entry[2]
    entry[1].close()
    return None


def _keep(key: tuple[object, ...] | None, spill: _Spill, bins: _Bins) -> None:
    """Keep this chain output for a second try in this process (an unlinked file: nothing shows on disk).

    A try at another target or ceiling with the same chain then renders
    straight away; a different mix, reference or chain replaces it.
    """
    if key is None or spill.frames * spill.channels * 4 > KEPT_SPILL_BYTES:
        spill.close()
        return
    with _kept_lock:
        old = _kept.pop() if _kept else None
        _kept.append((key, spill, bins))
    if old is not None:
        old[1].close()


@dataclass
class _Bins:
    """Per-bin K-weighted energy and true peak of the chain's output: what the gain search works on."""

    size: int
    energy: np.ndarray
    peaks: np.ndarray
    step: int


def _run_chain(source: AudioSource, chain: _Chain, spill: _Spill, size: int, progress: Progress | None) -> _Bins:
    n_bins = source.frames // size + 1
    energy = np.zeros(n_bins)
    peaks = PeakBins(source.channels, source.frames, size)
    kfilter = k_weighting(source.rate, source.channels)
    weights = channel_weights(source.channels)

    def take(pre: np.ndarray) -> None:
        if len(pre) == 0:
            return
        pre = pre[: max(0, source.frames - spill.frames)]
        bin_reduce(np.add, weighted_energy(kfilter.process_channels(pre), weights), spill.frames, size, energy)
        peaks.add(pre)
        spill.write(pre)

    done = 0
    with Behind(take) as behind:  # measuring and spilling a block overlaps processing the next
        for block in source.blocks():
            behind.put(chain.process(block))
            done += len(block)
            if progress:
                progress("processing", done / max(1, source.frames))
        behind.put(chain.flush())
    return _Bins(size, energy, peaks.finish(), int(round(STEP_S * source.rate)))


def _estimate(bins: _Bins, gain_db: float, ceiling_db: float, limiter: dict[str, Any],
              rate: float) -> tuple[float, np.ndarray]:
    """Integrated loudness of the limited master at ``gain_db`` into the limiter, from the bins alone."""
    g = 10 ** (gain_db / 20)
    reduction = bin_reduction(bins.peaks * g, bins.size, rate, ceiling_db, limiter["lookahead_ms"],
                              limiter["release_ms"])
    limited = bins.energy * (g * g) * 10 ** (-reduction / 10)
    centres = np.arange(len(limited)) * bins.size + bins.size // 2
    steps = np.bincount(centres // bins.step, weights=limited) / bins.step
    return gated_loudness(window_means(steps, 4), -10.0), reduction


def _solve(loudness: Callable[[float], float], target: float, start: float) -> tuple[float, float]:
    """The gain (dB) whose loudness is ``target`` (loudness rises with gain): bracketing secant steps.

    Returns the gain and the loudness there (the loudest reachable when the target is out of reach).
    """
    below: tuple[float, float] | None = None
    above: tuple[float, float] | None = None
    gain = float(np.clip(start, -MAX_GAIN_DB, MAX_GAIN_DB))
    value = loudness(gain)
    for _ in range(60):
        if abs(value - target) <= 0.002:
            break
        if value < target:
            below = (gain, value)
        else:
            above = (gain, value)
        if below and above:
            (g0, v0), (g1, v1) = below, above
            guess = g0 + (target - v0) * (g1 - g0) / (v1 - v0) if v1 != v0 else (g0 + g1) / 2
            lo, hi = min(g0, g1), max(g0, g1)
            gain = guess if lo + 0.05 * (hi - lo) < guess < hi - 0.05 * (hi - lo) else (g0 + g1) / 2
        elif below:
            if gain >= MAX_GAIN_DB:
                break
            gain = min(MAX_GAIN_DB, gain + max(0.5, (target - value) * 1.5))
        else:
            gain = max(-MAX_GAIN_DB, gain - max(0.5, value - target))
        value = loudness(gain)
    return gain, value


def check_input(survey: an.Survey, rate: float, frames: int) -> list[str]:
    """Refuse what cannot be mastered; return warnings for what can but is suspect."""
    before = survey.loudness
    if frames < MIN_SECONDS * rate:
        raise LoudnessError(f"the mix lasts {frames / rate:.2f} s; loudness needs at least 0.4 s "
                            "(one gating block)")
    if not math.isfinite(before.integrated) or before.integrated < -70:
        raise LoudnessError("the mix is silent (or below -70 LUFS everywhere); there is nothing to master")
    warnings = []
    if survey.clipped_runs:
        warnings.append(f"the mix is already clipped ({survey.clipped_runs} places with 3+ samples at full scale, "
                        f"first at {survey.first_clip_s:.2f} s): mastering cannot undo that; export the mix "
                        "with headroom")
    if before.integrated < -50:
        warnings.append(f"the mix is very quiet ({before.integrated:.1f} LUFS): noise will be raised with it")
    return warnings


def _limited(pre: np.ndarray, pos: int, reduction: np.ndarray, size: int, g: float) -> np.ndarray:
    """The block starting at sample ``pos`` times ``g`` and the limiter's gain (a plain product where it rests)."""
    first, last = max(0, (pos - size) // size), (pos + len(pre) + size) // size + 1
    if not reduction[first:last].any():  # no bin near this block is reduced: the interpolated gain is 1
        return pre * np.float64(g)
    return pre * (sample_gain(reduction, size, pos, len(pre)) * g)[:, None]


def _render(spill: _Spill, bins: _Bins, gain_db: float, reduction: np.ndarray, sink: Sink,
            progress: Progress | None) -> tuple[LoudnessReport, tuple[np.ndarray, np.ndarray]]:
    """Limit the spilled chain output into the sink; the exact measurement of what the sink stored."""
    sink.start()
    meter = LoudnessMeter(sink.rate, spill.channels)
    nperseg = segment_length(spill.frames)
    spectrum = Welch(sink.rate, nperseg, spread_hop(spill.frames, nperseg))
    g = 10 ** (gain_db / 20)

    mean = np.full(spill.channels, 1 / spill.channels)

    def measure(y: np.ndarray) -> None:
        meter.add(y)
        spectrum.add(y, mean)

    with Behind(measure) as behind:  # measuring a stored block overlaps rendering the next
        for pos, pre in spill.blocks():
            behind.put(sink.write(_limited(pre, pos, reduction, bins.size, g)))
            if progress:
                progress("rendering", (pos + len(pre)) / max(1, spill.frames))
        behind.put(sink.finish())
    freqs, psd = spectrum.result()
    return meter.report(), (freqs, 10 * np.log10(psd + 1e-20))


def master_source(source: AudioSource, preset: Preset, sink: Sink, progress: Progress | None = None,
                  reference: AudioSource | None = None, keep_target: bool = False,
                  scratch: Path | None = None) -> MasterResult:
    """Master a stream into ``sink`` with a preset (three passes; see the module's description).

    Parameters
    ----------
    source : AudioSource
        The mix.
    sink : Sink
        Where the master goes (:class:`~bridge.audio.sink.FileSink` or
        :class:`~bridge.audio.sink.ArraySink`); it is measured as stored.
    progress : callable, optional
        Called with a stage name and the fraction of that stage done.
    reference : AudioSource, optional
        A reference track at the mix's rate: its tonal balance (mid and side)
        is matched and, unless ``keep_target``, its integrated loudness becomes the target.
    scratch : Path, optional
        Folder for the temporary copy of the chain's output (default: the system's).

    Raises
    ------
    LoudnessError
        Silent, too short or invalid input, or a target the chain cannot reach.
    """
    from threadpoolctl import threadpool_limits

    # the matrix products here are many and small: BLAS threads only add hand-offs, which cost seconds when
    # the other core is busy (a DAW playing, another job); the second core gets work of its own (overlap)
    with threadpool_limits(1, user_api="blas"), reuse_freed_memory():
        return _master(source, preset, sink, progress, reference, keep_target, scratch)


def _master(source: AudioSource, preset: Preset, sink: Sink, progress: Progress | None,
            reference: AudioSource | None, keep_target: bool, scratch: Path | None) -> MasterResult:
    nperseg = segment_length(min(source.frames, reference.frames) if reference is not None else source.frames)
    if reference is not None and source.channels > 2:
        raise LoudnessError("reference matching works on mono and stereo mixes; this one has "
                            f"{source.channels} channels")
    # the reference is surveyed on the second core while the mix is on this one
    ref_survey = (in_background(an.survey, reference, None, nperseg, False, True) if reference is not None
                  else None)
    try:
        survey = an.survey(source, (lambda f: progress("measuring", f)) if progress else None, nperseg,
                           side=reference is not None)
    except Exception:
        if ref_survey is not None:
            with contextlib.suppress(Exception):  # the mix's error is the one to report
                ref_survey.result()
        raise
    ref = ref_survey.result() if ref_survey is not None else None
    warnings = check_input(survey, source.rate, source.frames)
    analysis, before = survey.analysis, survey.loudness
    ref_filter = ref_spectrum = None
    if reference is not None:
        from bridge.master.reference import ReferenceFilter, analyse_reference

        assert ref is not None
        if not np.isfinite(ref.loudness.integrated) or ref.loudness.integrated < -70:
            raise LoudnessError("the reference is silent; choose another reference track")
        match = analyse_reference(survey, ref)
        ref_filter = ReferenceFilter(match, source.rate, source.channels)
        analysis.decisions.append(match.describe())
        ref_spectrum = match.reference_spectrum
        if not keep_target:
            preset = preset.with_targets(lufs=float(np.clip(ref.loudness.integrated, -40.0, -3.0)))
            analysis.decisions.append(f"loudness target {preset.lufs:.2f} LUFS: the reference's integrated loudness")
    chain = resolve_chain(preset, analysis, auto_eq=reference is None)
    limiter = next((s for s in chain if s["type"] == "limiter"), {"lookahead_ms": 5.0, "release_ms": 80.0})
    size = bin_size(source.rate, limiter["lookahead_ms"])
    key = ((source.key, reference.key if reference is not None else None, nperseg, repr(chain), size)
           if source.key is not None and (reference is None or reference.key is not None) else None)
    kept = _take_kept(key)
    if kept is not None:  # the same chain over the same mix: only the target or the ceiling changed
        spill, bins = kept
        if progress:
            progress("processing", 1.0)
    else:
        spill = _Spill(source.channels, scratch)
    try:
        if kept is None:
            bins = _run_chain(source, _Chain(chain, source.rate, ref_filter), spill, size, progress)
        # aim 0.2 dB under the ceiling: true-peak meters differ by about that much (ffmpeg's reads higher than
        # ours on limited masters), and the ceiling must hold on whichever meter a distributor uses
        ceiling = preset.true_peak - CEILING_MARGIN_DB
        bias = 0.0
        unlimited = _estimate(bins, 0.0, 1e9, limiter, source.rate)[0]
        for renders in range(1, MAX_RENDERS + 1):
            def loudness(gain: float, ceil: float = ceiling, off: float = bias) -> float:
                return _estimate(bins, gain, ceil, limiter, source.rate)[0] + off

            gain, reachable = _solve(loudness, preset.lufs, preset.lufs - unlimited - bias)
            reduction = _estimate(bins, gain, ceiling, limiter, source.rate)[1]
            max_reduction = float(reduction.max()) if len(reduction) else 0.0
            if abs(reachable - preset.lufs) > TOLERANCE_LU:
                raise LoudnessError(
                    f"cannot reach {preset.lufs:g} LUFS with a {preset.true_peak:g} dBTP ceiling: the loudest "
                    f"reachable master is {reachable:.2f} LUFS with {max_reduction:.1f} dB of limiting; choose a "
                    "lower target")
            after, spectrum_after = _render(spill, bins, gain, reduction, sink, progress)
            if progress:
                progress(f"pass {renders}: gain {gain:+.2f} dB -> {after.integrated:.2f} LUFS, "
                         f"{after.true_peak:.2f} dBTP", 1.0)
            if after.true_peak > preset.true_peak:
                ceiling -= after.true_peak - preset.true_peak + 0.02
                continue
            if abs(after.integrated - preset.lufs) <= TOLERANCE_LU:
                break
            bias = after.integrated - (loudness(gain) - bias)
        else:
            raise LoudnessError(f"the master did not settle on {preset.lufs:g} LUFS / {preset.true_peak:g} dBTP "
                                f"in {MAX_RENDERS} renders (last: {after.integrated:.2f} LUFS, "
                                f"{after.true_peak:.2f} dBTP); the mix may be damaged")
    except BaseException:
        spill.close()
        raise
    _keep(key, spill, bins)
    return MasterResult(None, sink.rate, before, after, chain, analysis.decisions, warnings, gain, max_reduction,
                        renders, preset, (analysis.freqs, analysis.spectrum_db), spectrum_after, ref_spectrum)


def master(audio: np.ndarray, rate: float, preset: Preset, progress: Progress | None = None,
           reference: np.ndarray | None = None, keep_target: bool = False) -> MasterResult:
    """Master ``(frames, channels)`` float audio held in memory; the result holds the master (32-bit float).

    See :func:`master_source` for the parameters; ``reference`` is audio at the same rate.
    """
    source = AudioSource.from_array(np.asarray(audio), rate)
    sink = ArraySink(rate, source.channels)
    ref = AudioSource.from_array(np.asarray(reference), rate) if reference is not None else None
    result = master_source(source, preset, sink, progress, ref, keep_target)
    result.audio = sink.audio
    return result
