"""Rendering audio through a capture, offline, as fast as the machine allows.

The input is resampled to the capture's rate (libsoxr, very high quality),
cut into blocks of 32k samples, and each block is computed with the
receptive field's worth of preceding *input* samples as context: blocks are
independent, so all cores work on them at once and nothing is computed twice.
The output is resampled back to the input's rate and trimmed to the input's
length, sample-aligned with it (no latency is added; a capture's own latency,
as its trainer measured it, is reported, not compensated).

Channels are rendered independently (a stereo DI gives a stereo result, each
side through its own instance of the capture), as two plug-in instances would.
LSTM captures have state and run as one stream per channel.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from bridge.amp.nam_file import NamModel
from bridge.amp.networks import Lstm, Network, build_network
from bridge.audio.reader import AudioInfo, audio_info, iter_blocks
from bridge.audio.resample import resample_stream, resampled_length
from bridge.audio.sink import FileSink
from bridge.fileio import Outputs

BLOCK = 1 << 15
NORMALIZE_TARGET_DB = -18.0  # NAM plug-in's "normalize output" target

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class RenderReport:
    """What a render did.

    Attributes
    ----------
    frames, channels, sample_rate : int
        The output (same as the input).
    model_rate : float
    input_gain_db, output_gain_db : float
        Gains applied before and after the capture.
    model_latency : int or None
        The capture's own latency in samples at its rate, when recorded.
    clipped : int
        Samples beyond full scale cut to it (integer output formats only; float keeps them).
    """

    frames: int
    channels: int
    sample_rate: int
    model_rate: float
    input_gain_db: float
    output_gain_db: float
    model_latency: int | None
    clipped: int = 0


def _rechunk(blocks: Iterator[np.ndarray], size: int) -> Iterator[np.ndarray]:
    pending: list[np.ndarray] = []
    have = 0
    for block in blocks:
        pending.append(block)
        have += len(block)
        while have >= size:
            joined = np.concatenate(pending)
            yield joined[:size]
            rest = joined[size:]
            pending, have = ([rest] if len(rest) else []), len(rest)
    if have:
        yield np.concatenate(pending)


class AmpRenderer:
    """A capture ready to render (network built once).

    Parameters
    ----------
    model : NamModel
    size : float
        For slimmable captures, the size control (0-1).
    workers : int, optional
        Threads computing blocks (default: one per core).
    """

    def __init__(self, model: NamModel, size: float = 1.0, workers: int | None = None) -> None:
        self.model = model
        self.net: Network = build_network(model, size)
        self.workers = workers or os.cpu_count() or 1

    def _run_block(self, x: np.ndarray) -> np.ndarray:
        return self.net(x)

    def process(self, blocks: Iterator[np.ndarray]) -> Iterator[np.ndarray]:
        """Run mono float32 audio at the capture's rate through it, in order."""
        if isinstance(self.net, Lstm):
            yield from self.net.stream(_rechunk(blocks, BLOCK))
            return
        context = self.net.receptive_field - 1
        previous = np.zeros(context, dtype=np.float32)
        with ThreadPoolExecutor(self.workers) as pool:
            in_flight = []
            for block in _rechunk(blocks, BLOCK):
                framed = np.concatenate([previous, block]) if context else block
                previous = framed[len(framed) - context:] if context else previous
                in_flight.append(pool.submit(self._run_block, framed))
                if len(in_flight) >= 2 * self.workers:
                    yield in_flight.pop(0).result()
            for job in in_flight:
                yield job.result()

    def render_channel(self, blocks: Iterator[np.ndarray], rate: float, frames: int, gain: float = 1.0,
                       out_rate: float | None = None) -> Iterator[np.ndarray]:
        """One channel at ``rate``: to the capture's rate, through it, and to ``out_rate`` (default ``rate``).

        Yields exactly ``resampled_length(frames, rate, out_rate)`` samples.
        """
        out_rate = out_rate or rate
        model_rate = self.model.sample_rate
        scaled = (b * np.float32(gain) for b in blocks) if gain != 1.0 else blocks
        up = resample_stream(scaled, rate, model_rate, frames, quality="VHQ")
        n_model = resampled_length(frames, rate, model_rate)
        down = resample_stream(self.process(up), model_rate, out_rate, n_model, quality="VHQ")
        yield from _fit(down, resampled_length(frames, rate, out_rate))

    def render_file(self, source: str | os.PathLike[str], target: str | os.PathLike[str],
                    input_gain_db: float = 0.0, normalize: bool = False, subtype: str = "FLOAT",
                    start: int = 0, frames: int | None = None, progress: Progress | None = None,
                    outputs: Outputs | None = None) -> RenderReport:
        """Render an audio file (or ``frames`` samples of it from ``start``) to a new file.

        The target is written to a temporary file and placed at the end (see
        :class:`bridge.audio.sink.FileSink`), so a failed render leaves nothing behind.
        """
        info = audio_info(source)
        count = info.frames - start if frames is None else min(frames, info.frames - start)
        gain_in = 10 ** (input_gain_db / 20)
        streams = [self._channel_stream(info, ch, start, count, gain_in) for ch in range(info.channels)]
        return self.write_streams(streams, target, info.sample_rate, count, input_gain_db, normalize, subtype,
                                  progress, outputs)

    def write_streams(self, streams: list[Iterator[np.ndarray]], target: str | os.PathLike[str], rate: int,
                      frames: int, input_gain_db: float = 0.0, normalize: bool = False, subtype: str = "FLOAT",
                      progress: Progress | None = None, outputs: Outputs | None = None) -> RenderReport:
        """Write rendered channel streams (from :meth:`render_channel`) to ``target`` through a sink."""
        out_gain_db = self.normalize_gain_db() if normalize else 0.0
        gain_out = np.float32(10 ** (out_gain_db / 20))
        count, channels = frames, len(streams)
        # one BLAS thread per block: the blocks already run one per core side by side, and
        # threads handing small products to each other only lose time on a loaded machine
        with threadpool_limits(1, user_api="blas"), FileSink(
                Path(target), rate, channels, subtype, outputs=outputs,
                source=f"the capture '{self.model.name}'") as sink:
            done = 0
            for columns in _zip_blocks(streams):
                sink.write(np.stack(columns, axis=1) * gain_out)
                done += len(columns[0])
                if progress is not None:
                    progress(done, count)
        return RenderReport(count, channels, rate, self.model.sample_rate, input_gain_db,
                            out_gain_db, self.model.latency_samples, sink.clipped)

    def _channel_stream(self, info: AudioInfo, channel: int, start: int, count: int,
                        gain: float) -> Iterator[np.ndarray]:
        source = (b[:, channel].copy() for b in iter_blocks(info.path, start, count))
        return self.render_channel(source, info.sample_rate, count, gain)

    def normalize_gain_db(self) -> float:
        """Output gain that brings the capture's recorded loudness to -18 dB (0 without metadata)."""
        loudness = self.model.loudness
        return NORMALIZE_TARGET_DB - loudness if loudness is not None else 0.0


def input_gain_for_level(model: NamModel, interface_dbu: float | None) -> float:
    """Input gain (dB) that calibrates a DI recorded at ``interface_dbu`` (dBu at 0 dBFS) to the capture.

    Zero when either level is unknown.
    """
    if interface_dbu is None or model.input_level_dbu is None:
        return 0.0
    return interface_dbu - model.input_level_dbu


def _fit(blocks: Iterator[np.ndarray], frames: int) -> Iterator[np.ndarray]:
    """Exactly ``frames`` samples: trimmed, or padded with silence."""
    left = frames
    for block in blocks:
        if left <= 0:
            break
        yield block[:left]
        left -= min(len(block), left)
    if left > 0:
        yield np.zeros(left, dtype=np.float32)


def _zip_blocks(streams: list[Iterator[np.ndarray]]) -> Iterator[list[np.ndarray]]:
    """Equal-length column blocks from several streams of the same total length."""
    buffers = [np.zeros(0, dtype=np.float32) for _ in streams]
    live = [True] * len(streams)
    while any(live) or any(len(b) for b in buffers):
        for i, stream in enumerate(streams):
            while live[i] and len(buffers[i]) < BLOCK:
                nxt = next(stream, None)
                if nxt is None:
                    live[i] = False
                else:
                    buffers[i] = np.concatenate([buffers[i], nxt])
        n = min(len(b) for b in buffers)
        if n == 0:
            break
        yield [b[:n] for b in buffers]
        buffers = [b[n:] for b in buffers]
