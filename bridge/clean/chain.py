"""The clean-up chain: de-hum -> de-click -> denoise -> de-reverb -> loudness, streamed in overlapping blocks.

Two passes over the input, each one block at a time:

1. **survey** (the channels' mean): the hum's long spectra, 50 ms levels, and a noise
   profile (the mean spectrum of the quietest frames, the candidates kept in a bounded
   pool, or of the range the user named). It refuses what cannot be cleaned -- silence,
   noise alone, too short -- before anything is written.
2. **clean**: blocks of 20 s are processed with 1.5 s of the input before them and 0.6 s
   after, so every stage sees the signal around its edges (the noise tracker has settled,
   the hum's smoothing window is full); the middle of each block is kept and neighbouring
   blocks are cross-faded over 50 ms. Every stage is sample-aligned (centred STFT frames,
   RNNoise's two frames of latency removed, zero-phase hum smoothing), so the output has
   the input's length, rate and channels, sample for sample. Memory follows the block, not
   the file.

Two cores are used: a pool of two threads runs RNNoise (ctypes, no GIL) on the blocks
ahead -- from the first second, while the survey still runs, since RNNoise hears the raw
input -- and de-hum and de-click (numba, no GIL), one task per channel; the calling
thread combines the gains, resynthesises, measures and writes. RNNoise runs on each
block from 1 s before its kept part (its state warms up there) to just past its end.

The stages are the functions of :mod:`bridge.clean.dehum`, :mod:`~bridge.clean.declick`,
:mod:`~bridge.clean.mmse` (with :mod:`~bridge.clean.rnnoise`), :mod:`~bridge.clean.spectral`
and :mod:`~bridge.clean.dereverb`; loudness is the mastering engine's exact meter and
true-peak limiter (:func:`bridge.master.engine.master_source` with a limiter-only chain).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bridge.audio.resample import resample_stream
from bridge.audio.sink import Sink
from bridge.audio.source import AudioSource
from bridge.clean import measure
from bridge.clean.dehum import Hum, HumSurvey
from bridge.clean.stft import frame_length, istft, stft
from bridge.errors import ReabridgeError

BLOCK_S = 20.0
BEFORE_S = 1.5
AFTER_S = 0.6
RNN_WARM_S = 1.0
RNN_TAIL_S = 0.1
FADE_S = 0.05
WORKERS = 2
AHEAD_BYTES = 64 << 20
MIN_SECONDS = 2.0
SILENT_DB = -80.0
STEADY_DB = 4.0
NOISY_FLATNESS = 0.05
MAX_REDUCTION_DB = 40.0
QUIET_FRAMES = 0.1
HEAP_FRAMES = 3000
PICTURE_COLUMNS = 600
PICTURE_FFT = 1024
ORDER = ("dehum", "declick", "denoise", "dereverb", "loudness")

Progress = Callable[[str, float], None]


class CleanError(ReabridgeError):
    """Audio that cannot be cleaned (silent, noise alone, too short, a range outside it)."""


@dataclass(frozen=True)
class Settings:
    """What to do, in the fixed order of :data:`ORDER`.

    Attributes
    ----------
    denoise : str
        ``"voice"`` (statistical estimator + RNNoise), ``"broadband"`` (spectral gate) or ``"off"``.
    strength : float
        0-1: the most the noise is lowered, ``40 dB * strength``.
    dehum : str
        ``"auto"``, ``"50"``, ``"60"`` or ``"off"``.
    declick, dereverb : bool
    loudness : float or None
        Integrated loudness target (LUFS), with a -1 dBTP true-peak ceiling.
    noise_from : tuple of float or None
        Seconds (start, end) of the input to learn the noise from.
    noise_profile : numpy.ndarray or None
        A noise profile learned elsewhere (:func:`learn_profile` of another recording).
    """

    denoise: str = "voice"
    strength: float = 0.5
    dehum: str = "auto"
    declick: bool = True
    dereverb: bool = False
    loudness: float | None = None
    noise_from: tuple[float, float] | None = None
    noise_profile: np.ndarray | None = field(default=None, repr=False, compare=False)

    @property
    def stages(self) -> list[str]:
        """The stages asked for, in processing order."""
        asked = {"dehum": self.dehum != "off", "declick": self.declick, "denoise": self.denoise != "off",
                 "dereverb": self.dereverb, "loudness": self.loudness is not None}
        return [s for s in ORDER if asked[s]]

    @property
    def floor(self) -> float:
        """The smallest denoise gain (linear)."""
        return float(10 ** (-MAX_REDUCTION_DB * self.strength / 20))


@dataclass
class Survey:
    """What the first pass found."""

    rate: float
    frames: int
    hum: Hum | None
    hum_survey: HumSurvey | None
    levels: np.ndarray
    profile: np.ndarray | None
    fft: int


@dataclass
class CleanReport:
    """What the chain did and measured (the report's figures)."""

    stages: list[str]
    rate: float
    channels: int
    frames: int
    hum: Hum | None = None
    hum_after_db: list[float] = field(default_factory=list)
    clicks: int = 0
    click_times: list[float] = field(default_factory=list)
    noise_floor_before: float = 0.0
    noise_floor_after: float = 0.0
    snr_before: float = 0.0
    snr_after: float = 0.0
    decay_before: float | None = None
    decay_after: float | None = None
    loudness: dict[str, float] | None = None
    picture_before: np.ndarray | None = field(default=None, repr=False)
    picture_after: np.ndarray | None = field(default=None, repr=False)
    picture_hop_s: float = 0.0
    notices: list[str] = field(default_factory=list)

    def figures(self) -> dict[str, Any]:
        """The JSON figures."""
        hum: dict[str, Any] | None = None
        if self.hum is not None:
            hum = {"fundamental_hz": self.hum.f0, "harmonics": [
                {"harmonic": k, "hz": round(k * self.hum.f0, 2), "before_dbfs": before, "after_dbfs": after,
                 "removed_db": round(before - after, 2) if math.isfinite(after) else None}
                for k, before, after in zip(self.hum.harmonics, self.hum.levels_db, self.hum_after_db, strict=True)]}
        return {
            "stages": self.stages,
            "sample_rate": self.rate, "channels": self.channels, "duration_s": round(self.frames / self.rate, 3),
            "noise_floor_dbfs": {"before": round(self.noise_floor_before, 2),
                                 "after": round(self.noise_floor_after, 2)},
            "snr_estimate_db": {"before": round(self.snr_before, 2), "after": round(self.snr_after, 2)},
            "hum": hum,
            "clicks_repaired": self.clicks,
            "click_times_s": [round(t, 4) for t in self.click_times[:1000]],
            "reverberation_decay_s": {"before": self.decay_before, "after": self.decay_after},
            "loudness": self.loudness,
        }


def _mono(block: np.ndarray) -> np.ndarray:
    """The channels' mean of a ``(frames, channels)`` block as contiguous float32 (1-D blocks pass through)."""
    if block.ndim == 1:
        return np.asarray(block, dtype=np.float32)
    mono = np.array(block[:, 0], dtype=np.float32)
    for c in range(1, block.shape[1]):
        mono += block[:, c]
    if block.shape[1] > 1:
        mono *= np.float32(1.0 / block.shape[1])
    return mono


class _Window:
    """Samples ``[a, b)`` of a stream of blocks, for ``a`` that never goes back."""

    def __init__(self, source: AudioSource) -> None:
        self._blocks = source.blocks()
        self.channels = source.channels
        self._parts: list[np.ndarray] = []
        self._held = 0
        self._start = 0
        self._done = False

    def get(self, a: int, b: int) -> np.ndarray:
        while not self._done and self._start + self._held < b:
            block = next(self._blocks, None)
            if block is None:
                self._done = True
                break
            block = np.asarray(block, dtype=np.float32)
            self._parts.append(block.reshape(len(block), -1))
            self._held += len(block)
        buf = np.concatenate(self._parts) if len(self._parts) > 1 else (
            self._parts[0] if self._parts else np.zeros((0, self.channels), dtype=np.float32))
        drop = min(a - self._start, len(buf))
        if drop > 0:
            buf = buf[drop:]
            self._start += drop
        self._parts, self._held = [buf], len(buf)
        out = buf[a - self._start:b - self._start].copy()
        if len(out) < b - a:  # the source ended early (a truncated file): silence, as everywhere else
            out = np.concatenate([out, np.zeros((b - a - len(out), self.channels), dtype=np.float32)])
        return out


class _PictureColumns:
    """A few hundred spectrum columns spread over the signal, for the report's picture."""

    def __init__(self, rate: float, frames: int) -> None:
        self.every = max(PICTURE_FFT, frames // PICTURE_COLUMNS)
        self.hop_s = self.every / rate
        self.columns: dict[int, np.ndarray] = {}
        self._window = np.hanning(PICTURE_FFT).astype(np.float32)

    def take(self, mono: np.ndarray, first: int) -> None:
        """Columns whose start lies in ``mono`` (samples from ``first``)."""
        k = -(-first // self.every)
        while k * self.every + PICTURE_FFT <= first + len(mono):
            seg = mono[k * self.every - first:k * self.every - first + PICTURE_FFT]
            spec = np.abs(np.fft.rfft(seg * self._window)) / (PICTURE_FFT / 4)
            self.columns[k] = (20 * np.log10(spec + 1e-10)).astype(np.float32)
            k += 1

    def matrix(self) -> np.ndarray:
        return np.stack([self.columns[k] for k in sorted(self.columns)]) if self.columns else np.zeros((0, 1))


def check_input(source: AudioSource, settings: Settings) -> None:
    """Refuse at once what needs no pass over the audio: too short, a noise range outside it."""
    rate, frames = source.rate, source.frames
    if frames < MIN_SECONDS * rate:
        raise CleanError(f"the audio lasts {frames / rate:.2f} s; clean-up needs at least {MIN_SECONDS:g} s to tell "
                         "the noise from the signal")
    if settings.noise_from is not None:
        start, end = settings.noise_from
        if not 0 <= start < end <= frames / rate:
            raise CleanError(f"--noise-from {start:g} {end:g} is outside the audio (0 to {frames / rate:.2f} s); "
                             "give a range inside it")
        if end - start < 0.1:
            raise CleanError(f"--noise-from {start:g} {end:g} is {1000 * (end - start):.0f} ms; give at least 0.1 s "
                             "of noise to learn from")


def survey(source: AudioSource, settings: Settings, progress: Progress | None = None) -> Survey:
    """The first pass: hum, levels, noise profile; refuses silence, noise alone and a too-short input."""
    check_input(source, settings)
    rate, frames = source.rate, source.frames
    fft = frame_length(rate)
    hop = fft // 2
    hums = HumSurvey(rate, frames) if settings.dehum != "off" else None
    levels = measure.Levels(rate)
    quiet_totals: list[np.ndarray] = []
    quiet_power: list[np.ndarray] = []
    pooled = 0
    ranged: list[np.ndarray] = []
    want_profile = settings.denoise != "off" and settings.noise_profile is None
    carry = np.zeros(0, dtype=np.float32)
    pos = 0  # index of carry[0]
    window = np.sqrt(0.5 - 0.5 * np.cos(2 * np.pi * np.arange(fft) / fft)).astype(np.float32)
    count = 0
    done = 0
    for block in source.blocks():
        mono = _mono(block)
        if hums is not None:
            hums.add(mono)
        levels.add(mono)
        if want_profile:
            data = np.concatenate([carry, mono])
            n = (len(data) - fft) // hop + 1 if len(data) >= fft else 0
            if n > 0:
                view = np.lib.stride_tricks.sliding_window_view(data, fft)[::hop][:n]
                spec = np.fft.rfft(view * window, axis=1)
                power = (spec.real ** 2 + spec.imag ** 2).astype(np.float32)
                starts = pos + np.arange(n) * hop
                if settings.noise_from is not None:
                    a, b = (int(settings.noise_from[0] * rate), int(settings.noise_from[1] * rate))
                    inside = (starts >= a) & (starts + fft <= b)
                    if inside.any():
                        ranged.append(power[inside].sum(axis=0))
                        count += int(inside.sum())
                else:  # a pool of the quietest frames so far (pruned to HEAP_FRAMES when twice as full)
                    quiet_totals.append(power.sum(axis=1, dtype=np.float64))
                    quiet_power.append(power)
                    pooled += n
                    if pooled > 2 * HEAP_FRAMES:
                        quiet_totals, quiet_power = _quietest(quiet_totals, quiet_power, HEAP_FRAMES)
                        pooled = HEAP_FRAMES
                used = n * hop
                carry = data[used:]
                pos += used
            else:
                carry = data
        done += len(block)
        if progress:
            progress("measuring", done / max(1, frames))
    db = levels.db
    if len(db) == 0 or float(np.max(db)) < SILENT_DB:
        raise CleanError("the audio is silent (below -80 dBFS everywhere); there is nothing to clean")
    profile = settings.noise_profile
    if want_profile:
        if settings.noise_from is not None:
            if not count:
                raise CleanError(f"--noise-from {settings.noise_from[0]:g} {settings.noise_from[1]:g} is shorter "
                                 "than one analysis frame; give a longer range")
            profile = (np.sum(ranged, axis=0) / count).astype(np.float32)
        else:
            quiet = min(HEAP_FRAMES, max(1, int(round(QUIET_FRAMES * max(1, (frames - fft) // hop + 1)))))
            _, chosen = _quietest(quiet_totals, quiet_power, quiet)
            profile = chosen[0].mean(axis=0, dtype=np.float64).astype(np.float32) if len(chosen[0]) else None
    if profile is not None and settings.noise_from is None and measure.snr_estimate(db) < STEADY_DB \
            and _flatness(profile) > NOISY_FLATNESS:
        raise CleanError(f"the audio sounds like steady noise alone (its level varies by only "
                         f"{measure.snr_estimate(db):.1f} dB and its spectrum is noise-like): there is no voice or "
                         "music to keep; nothing was written")
    hum = None
    if hums is not None:
        from bridge.clean.dehum import find_hum

        hum = find_hum(hums, settings.dehum)
    return Survey(rate, frames, hum, hums, db, profile, fft)


def _quietest(totals: list[np.ndarray], power: list[np.ndarray], keep: int) -> tuple[list[np.ndarray],
                                                                                    list[np.ndarray]]:
    """The ``keep`` frames of least total power (one array each, in lists for further appending)."""
    t = np.concatenate(totals) if totals else np.zeros(0)
    p = np.concatenate(power) if power else np.zeros((0, 1), dtype=np.float32)
    if len(t) > keep:
        chosen = np.argpartition(t, keep - 1)[:keep]
        t, p = t[chosen], p[chosen]
    return [t], [p]


def _flatness(power: np.ndarray) -> float:
    """Spectral flatness (geometric over arithmetic mean) above the lowest bins: ~0.5 for white noise, ~0 for tones."""
    p = np.asarray(power[2:], dtype=np.float64) + 1e-20
    return float(np.exp(np.mean(np.log(p))) / np.mean(p))


def learn_profile(source: AudioSource, rate: float) -> np.ndarray:
    """The mean power spectrum of a recording of the noise alone, for a signal at ``rate`` (RX's "learn")."""
    fft = frame_length(rate)
    total = np.zeros(fft // 2 + 1)
    count = 0
    for block in source.resampled(rate).blocks():
        mono = block.mean(axis=1) if block.ndim == 2 else block
        power = np.abs(stft(mono.astype(np.float32), fft)) ** 2
        total += power.sum(axis=0)
        count += len(power)
    if count == 0 or not np.any(total):
        raise CleanError("the noise item is silent; choose an item that holds the noise alone")
    return (total / count).astype(np.float32)


def head(source: AudioSource, seconds: float) -> AudioSource:
    """The first ``seconds`` of a source (a preview)."""
    frames = min(source.frames, int(round(seconds * source.rate)))

    def blocks() -> Any:
        left = frames
        for block in source.blocks():
            if left <= 0:
                return
            yield block[:left]
            left -= len(block)

    return AudioSource(source.rate, source.channels, frames, blocks)


def _resampled(x: np.ndarray, a: float, b: float) -> np.ndarray:
    if a == b:
        return np.asarray(x, dtype=np.float32)
    return np.concatenate(list(resample_stream([x.astype(np.float32)], a, b, len(x))))


def rnnoise_ratio(x: np.ndarray, rate: float, fft: int, floor: float, span: tuple[int, int] | None = None
                  ) -> np.ndarray:
    """RNNoise's gain for every STFT frame and bin of a block: ``|STFT(out)| / |STFT(in)|`` in ``[floor, 1]``.

    RNNoise hears the block's channel mean at 48 kHz (resampled there and back as everywhere in
    reabridge, :func:`bridge.audio.resample.resample_stream`). It runs on ``span`` (samples
    ``[i0, i1)`` of the block, all of it by default); outside, the gain is 1. Reading its gain as the
    ratio of output to input lets it run on the raw block, before the stages ahead of denoise.
    """
    from bridge.clean.rnnoise import RATE, rnnoise

    heard = _mono(x)
    i0, i1 = span if span is not None else (0, len(heard))
    said = heard.copy()
    out, _ = rnnoise(_resampled(heard[i0:i1], rate, RATE))
    said[i0:i1] = _resampled(out, RATE, rate)[: i1 - i0]
    ratio = np.abs(stft(said, fft)) / (np.abs(stft(heard, fft)) + np.float32(1e-9))
    return np.clip(ratio, np.float32(floor), np.float32(1.0))


def _claim(future: Future[Any], fn: Callable[..., Any], *args: Any) -> Any:
    """``fn(*args)``'s result: the caller runs it itself when the pool has not started it yet."""
    return fn(*args) if future.cancel() else future.result()


class Cleaner:
    """The stages over one block (``(frames, channels)`` float32), given what the survey found."""

    def __init__(self, settings: Settings, found: Survey) -> None:
        self.settings = settings
        self.survey = found
        self.rate = found.rate
        self.fft = found.fft
        hum = found.hum
        self.hum = hum if settings.dehum != "off" and hum is not None and hum.harmonics else None

    @property
    def prepares(self) -> bool:
        """Whether :meth:`prepare` changes anything (de-hum or de-click)."""
        return self.hum is not None or self.settings.declick

    def prepare(self, column: np.ndarray, first: int) -> tuple[np.ndarray, list[int]]:
        """De-hum and de-click one channel of a block that starts at sample ``first`` of the input.

        Returns the channel and the clicks' first samples (in the input's samples).
        """
        y = np.asarray(column, dtype=np.float32)
        clicks: list[int] = []
        if self.hum is not None:
            from bridge.clean.dehum import remove_hum

            y = remove_hum(y, self.rate, self.hum, first)
        if self.settings.declick:
            from bridge.clean.declick import declick

            y, found = declick(y, self.rate)
            clicks = [first + k.start for k in found]
        return y, clicks

    def finish(self, y: np.ndarray, ratio: np.ndarray | None = None) -> np.ndarray:
        """Denoise and de-reverb a de-hummed, de-clicked block; ``ratio``: :func:`rnnoise_ratio` of its raw input."""
        s = self.settings
        if s.denoise == "off" and not s.dereverb:
            return y
        n = self.fft
        specs = [stft(y[:, c], n) for c in range(y.shape[1])]
        if s.denoise != "off":
            power = specs[0].real ** 2 + specs[0].imag ** 2
            for sp in specs[1:]:
                power += sp.real ** 2 + sp.imag ** 2
            power /= np.float32(len(specs))
            gains = self._gains(power, y, ratio)
            specs = [sp * gains for sp in specs]
        if s.dereverb:
            from bridge.clean.dereverb import wpe

            specs = [wpe(sp) for sp in specs]
        return np.stack([istft(sp, n, len(y)) for sp in specs], axis=1)

    def _gains(self, power: np.ndarray, y: np.ndarray, ratio: np.ndarray | None) -> np.ndarray:
        s = self.settings
        profile = self.survey.profile if self.survey.profile is not None else np.percentile(power, 10, axis=0)
        if s.denoise == "broadband":
            from bridge.clean.spectral import gate_gains

            return gate_gains(power, profile, s.floor, self.fft / 2 / self.rate)
        from bridge.clean.mmse import lsa_gains

        absence = np.full(len(power), 0.5)
        stat, _ = lsa_gains(power, profile.astype(np.float32) + np.float32(1e-20), s.floor, absence)
        if ratio is None:
            ratio = rnnoise_ratio(y, self.rate, self.fft, s.floor)
        return np.sqrt(stat * ratio)


class _Ahead:
    """The clean pass's blocks, read ahead, with their work started on a pool of threads.

    RNNoise (ctypes) and de-hum/de-click (numba) release the GIL, so the pool's two threads
    and the caller's use two cores. RNNoise can start before the survey is done (it hears
    the raw input); de-hum and de-click start once :meth:`start` gives the survey's findings.
    """

    def __init__(self, source: AudioSource, settings: Settings) -> None:
        rate, total = source.rate, source.frames
        self.rate, self.total, self.settings, self.channels = rate, total, settings, source.channels
        self.block = int(BLOCK_S * rate)
        self.before, self.after, self.fade = int(BEFORE_S * rate), int(AFTER_S * rate), int(FADE_S * rate)
        self.fft = frame_length(rate)
        self.starts = list(range(0, total, self.block))
        size = (self.block + self.before + self.after) * source.channels * 4
        self.depth = 2 if 2 * size <= AHEAD_BYTES else 1  # blocks read beyond the one being finished
        self._window = _Window(source)
        self._pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="reabridge-clean")
        self._blocks: dict[int, np.ndarray] = {}
        self._ratios: dict[int, tuple[Future[Any], tuple[Any, ...]]] = {}
        self._prepared: dict[int, list[tuple[Future[Any], tuple[Any, ...]]]] = {}
        self._cleaner: Cleaner | None = None
        self._read = 0

    def span(self, k: int) -> tuple[int, int, int, int]:
        """Block ``k``: first and end sample read (with context), first and end sample kept."""
        s = self.starts[k]
        e = min(self.total, s + self.block)
        return max(0, s - self.before), min(self.total, e + self.after), s, e

    def fill(self, upto: int) -> None:
        """Read the blocks before ``upto`` and start their work."""
        while self._read < min(upto, len(self.starts)):
            k = self._read
            a, b, s, e = self.span(k)
            x = self._window.get(a, b)
            self._blocks[k] = x
            if self.settings.denoise == "voice":
                span = (max(0, s - int(RNN_WARM_S * self.rate)) - a,
                        min(b, e + self.fade + int(RNN_TAIL_S * self.rate)) - a)
                args = (x, self.rate, self.fft, self.settings.floor, span)
                self._ratios[k] = (self._pool.submit(rnnoise_ratio, *args), args)
            if self._cleaner is not None:
                self._prepare(k)
            self._read += 1

    def start(self, cleaner: Cleaner) -> None:
        """The survey is done: de-hum and de-click the blocks read so far, and every block from now on."""
        self._cleaner = cleaner
        for k in sorted(self._blocks):
            self._prepare(k)

    def _prepare(self, k: int) -> None:
        assert self._cleaner is not None
        if self._cleaner.prepares:
            x, a = self._blocks[k], self.span(k)[0]
            jobs = [(np.ascontiguousarray(x[:, c]), a) for c in range(self.channels)]
            self._prepared[k] = [(self._pool.submit(self._cleaner.prepare, *args), args) for args in jobs]

    def take(self, k: int) -> tuple[np.ndarray, np.ndarray, list[int], np.ndarray | None]:
        """Block ``k``: its input, de-hummed and de-clicked, the clicks found, and RNNoise's gains (or None)."""
        assert self._cleaner is not None
        self.fill(k + 1 + self.depth)
        x = self._blocks.pop(k)
        ratio = None
        if k in self._ratios:
            future, args = self._ratios.pop(k)
            ratio = _claim(future, rnnoise_ratio, *args)
        if k not in self._prepared:
            return x, x, [], ratio
        done = [_claim(future, self._cleaner.prepare, *args) for future, args in self._prepared.pop(k)]
        y = np.stack([column for column, _ in done], axis=1)
        return x, y, sorted(c for _, found in done for c in found), ratio

    def close(self) -> None:
        """Stop the pool (work not started is dropped; running work is waited for)."""
        self._pool.shutdown(wait=True, cancel_futures=True)


def clean_stream(source: AudioSource, settings: Settings, found: Survey, write: Callable[[np.ndarray], None],
                 progress: Progress | None = None, ahead: _Ahead | None = None) -> CleanReport:
    """The second pass: clean ``source`` block by block into ``write``; the report's figures.

    ``write`` receives consecutive ``(frames, channels)`` blocks totalling the input's length.
    ``ahead`` is the reader :func:`clean_to_sink` started before the survey (made here when None).
    """
    rate, total, channels = source.rate, source.frames, source.channels
    ahead = ahead or _Ahead(source, settings)
    fade = ahead.fade
    cleaner = Cleaner(settings, found)
    report = CleanReport(settings.stages, rate, channels, total, hum=found.hum)
    before_cols, after_cols = _PictureColumns(rate, total), _PictureColumns(rate, total)
    report.picture_hop_s = before_cols.hop_s
    after_levels = measure.Levels(rate)
    decay_before, decay_after = measure.Levels(rate, measure.DECAY_S), measure.Levels(rate, measure.DECAY_S)
    hum_after = HumSurvey(rate, total) if found.hum is not None else None
    tail: np.ndarray | None = None
    try:
        ahead.start(cleaner)
        for index, s in enumerate(ahead.starts):
            a, _, _, e = ahead.span(index)
            x, y, clicks, ratio = ahead.take(index)
            y = cleaner.finish(y, ratio)
            kept = [c for c in clicks if s <= c < e]
            report.clicks += len(kept)
            report.click_times += [c / rate for c in kept]
            lo = s - a
            keep_from = max(0, lo - (fade if s > 0 else 0))
            keep_to = min(len(y), (e - a) + (fade if e < total else 0))
            part = y[keep_from:keep_to]
            if tail is not None and len(tail):
                n = min(len(tail), len(part))
                ramp = np.linspace(0.0, 1.0, n + 2, dtype=np.float32)[1:-1, None]
                part = part.copy()
                part[:n] = tail[:n] * (1 - ramp) + part[:n] * ramp
            out_end = e - (fade if e < total else 0)
            emit = part[: out_end - (s - (fade if s > 0 else 0))]
            tail = part[len(emit):]
            first = s - (fade if s > 0 else 0)
            _measure(emit, first, x[keep_from:keep_from + len(emit)], before_cols, after_cols, after_levels,
                     decay_before, decay_after, hum_after)
            write(emit)
            if progress:
                progress("cleaning", e / max(1, total))
    finally:
        ahead.close()
    report.noise_floor_before = measure.noise_floor(found.levels)
    report.snr_before = measure.snr_estimate(found.levels)
    report.noise_floor_after = measure.noise_floor(after_levels.db)
    report.snr_after = measure.snr_estimate(after_levels.db)
    report.decay_before = measure.decay_time(decay_before.db)
    report.decay_after = measure.decay_time(decay_after.db)
    if found.hum is not None and hum_after is not None:
        report.hum_after_db = measure.harmonic_levels(hum_after.matrix(), hum_after.seconds, found.hum.f0,
                                                      found.hum.harmonics)
    report.picture_before, report.picture_after = before_cols.matrix(), after_cols.matrix()
    return report


def _measure(out: np.ndarray, first: int, before: np.ndarray, before_cols: _PictureColumns,
             after_cols: _PictureColumns, after_levels: measure.Levels, decay_before: measure.Levels,
             decay_after: measure.Levels, hum_after: HumSurvey | None) -> None:
    mono_out = _mono(out)
    mono_in = _mono(before)
    after_levels.add(mono_out)
    decay_before.add(mono_in)
    decay_after.add(mono_out)
    before_cols.take(mono_in, first)
    after_cols.take(mono_out, first)
    if hum_after is not None:
        hum_after.add(mono_out)


def _with_loudness(source: AudioSource, settings: Settings, found: Survey, sink: Sink, ahead: _Ahead,
                   progress: Progress | None, scratch: Any) -> tuple[Any, CleanReport]:
    """Clean into a spill file, then bring it to the loudness target through the mastering engine into ``sink``."""
    import tempfile

    from bridge.master.engine import master_source
    from bridge.master.loudness import LoudnessError
    from bridge.master.presets import Preset, Stage

    with tempfile.TemporaryFile(prefix="reabridge-clean-", dir=scratch) as spill:
        def keep(block: np.ndarray) -> None:
            spill.write(np.ascontiguousarray(block, dtype=np.float32).tobytes())

        report = clean_stream(source, settings, found, keep, progress, ahead)
        channels = source.channels

        def blocks() -> Any:
            spill.seek(0)
            size = 1 << 17
            while True:
                data = spill.read(size * 4 * channels)
                if not data:
                    return
                yield np.frombuffer(data, dtype=np.float32).reshape(-1, channels)

        cleaned = AudioSource(source.rate, channels, source.frames, blocks)
        preset = Preset("loudness", "clean-up loudness", float(settings.loudness), -1.0,
                        [Stage("limiter", {"lookahead_ms": 5.0, "release_ms": 100.0})])
        try:
            result = master_source(cleaned, preset, sink, (lambda st, f: progress(f"loudness: {st}", f))
                                   if progress else None, scratch=scratch)
        except LoudnessError as exc:
            raise CleanError(f"loudness: {exc}") from None
    return result, report


def clean_to_sink(source: AudioSource, settings: Settings, sink: Sink, progress: Progress | None = None,
                  scratch: Any = None) -> CleanReport:
    """Survey, clean and write ``source`` into ``sink`` (through the loudness stage when asked).

    The clean pass's first blocks are read, and RNNoise started on them, before the survey.
    """
    check_input(source, settings)
    ahead = _Ahead(source, settings)
    try:
        ahead.fill(1 + ahead.depth)
        found = survey(source, settings, progress)
        if settings.loudness is None:
            report = clean_stream(source, settings, found, sink.write, progress, ahead)
            sink.finish()
            return report
        result, report = _with_loudness(source, settings, found, sink, ahead, progress, scratch)
    finally:
        ahead.close()
    report.loudness = {"before_lufs": round(result.before.integrated, 2), "after_lufs": round(result.after.integrated,
                                                                                                2),
                       "true_peak_dbtp": round(result.after.true_peak, 2), "target_lufs": float(settings.loudness)}
    return report
