"""Resynthesis with the formants kept: WORLD (CheapTrick envelope, D4C aperiodicity, new f0), streamed.

Only what changes is resynthesised. The voiced runs whose pitch moves (plus 15 ms either
side) are *regions*; everything else -- consonants, breaths, silence, notes already on
target -- is the input's own samples, untouched. A region's edges are cross-faded over
10 ms, inside the unvoiced margin. The spectral envelope is measured on the input and
kept as it is while the f0 moves, so the formants (the voice's character) stay where
they were: no chipmunk.

Stereo and multichannel input: the f0 is the mono sum's (one pitch map), and each channel
is resynthesised with its own envelope and aperiodicity and that same f0 map, so the
image stays where it was.

Regions are grouped into chunks of at most 14.6 s at 44.1/48 kHz (7.3 s at 96 kHz: 24 MB of
spectral envelope), analysed with 50 ms of context from the input; the input streams through a buffer
holding one chunk, so memory stays flat. A voiced run longer than that (a drone) is cut into
pieces that overlap by 50 ms and are cross-faded; the two renderings' glottal pulses are not in
phase there, so the join dips by up to about 4 dB for those 50 ms.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from bridge.audio.sink import Sink
from bridge.audio.source import AudioSource
from bridge.tune.track import HOP, pyworld

MARGIN_FRAMES = 3
EDGE_FADE = 0.010
SPLIT_FADE = 0.050
CONTEXT = 0.050
#: regions are resynthesised in chunks of at most this long...
CHUNK_SECONDS = 20.0
#: ...and at most this many bytes of spectral envelope (the aperiodicity takes as much again, and WORLD keeps
#: its own copies: about 7x this at the peak)
CHUNK_SPECTRUM_BYTES = 24e6
#: CheapTrick's lowest f0 (WORLD's default: a 2048-point FFT at 44.1 kHz); lower notes still work, their
#: envelope window is simply this long
ENVELOPE_FLOOR = 71.0
#: a frame whose shift is below this (semitones) is left as it is
STILL = 1e-4


@dataclass(frozen=True)
class Region:
    """Samples ``start`` to ``stop`` are resynthesised; fades in and out (samples) at its ends."""

    start: int
    stop: int
    fade_in: int
    fade_out: int


@dataclass(frozen=True)
class Chunk:
    """Regions analysed together, and the stretch of input read for them."""

    read_start: int
    read_stop: int
    regions: tuple[Region, ...]


def regions(f0: np.ndarray, shift: np.ndarray, rate: float, frames: int) -> list[Region]:
    """The regions to resynthesise: voiced runs with any frame shifted, with margins, as sample ranges."""
    voiced = f0 > 0
    edges = np.diff(np.concatenate([[0], voiced.astype(np.int8), [0]]))
    starts, stops = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    fade = int(round(EDGE_FADE * rate))
    found: list[Region] = []
    for a, b in zip(starts, stops, strict=True):
        if not np.any(np.abs(shift[a:b]) > STILL):
            continue
        lo = max(0, int(round((a - MARGIN_FRAMES) * HOP * rate)))
        hi = min(frames, int(round((b + MARGIN_FRAMES) * HOP * rate)))
        if found and lo <= found[-1].stop:
            lo = found.pop().start
        if hi - lo > 2 * fade:
            found.append(Region(lo, hi, fade, fade))
    return _split_long(found, rate)


def chunk_seconds(rate: float) -> float:
    """The longest chunk at ``rate``: 14.6 s at 44.1/48 kHz, 7.3 s at 96 kHz (WORLD's spectra grow with the rate)."""
    bins = 2 ** int(np.ceil(np.log2(3.0 * rate / ENVELOPE_FLOOR + 1))) // 2 + 1
    return min(CHUNK_SECONDS, CHUNK_SPECTRUM_BYTES / (bins * 8 / HOP))


def _split_long(found: list[Region], rate: float) -> list[Region]:
    longest = int(chunk_seconds(rate) * rate)
    overlap = int(SPLIT_FADE * rate)
    out: list[Region] = []
    for r in found:
        start, fade_in = r.start, r.fade_in
        while r.stop - start > longest:
            out.append(Region(start, start + longest, fade_in, 0))
            start, fade_in = start + longest - overlap, overlap
        out.append(Region(start, r.stop, fade_in, r.fade_out))
    return out


def chunks(found: list[Region], rate: float, frames: int) -> list[Chunk]:
    """Regions grouped into chunks of at most :func:`chunk_seconds` (plus context)."""
    context = int(CONTEXT * rate)
    limit = int(chunk_seconds(rate) * rate)
    out: list[Chunk] = []
    group: list[Region] = []
    for r in found:
        if group and r.stop - group[0].start > limit:
            out.append(Chunk(max(0, group[0].start - context), min(frames, group[-1].stop + context), tuple(group)))
            group = []
        group.append(r)
    if group:
        out.append(Chunk(max(0, group[0].start - context), min(frames, group[-1].stop + context), tuple(group)))
    return out


def _frame_values(values: np.ndarray, times: np.ndarray) -> np.ndarray:
    """Per-frame ``values`` (on the track's grid) read at ``times`` (seconds): nearest frame."""
    index = np.clip(np.round(times / HOP).astype(int), 0, len(values) - 1)
    return values[index]


def world_chunk(x: np.ndarray, rate: float, start_seconds: float, f0: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """WORLD resynthesis of ``x`` (``(n, channels)`` from ``start_seconds``) with its f0 moved by ``shift``.

    The f0 map is the track's, refined with StoneMask on this chunk's mono sum at its own rate.
    """
    pw = pyworld()
    n = len(x)
    count = int(np.ceil(n / rate / HOP)) + 1
    times = np.arange(count) * HOP
    mono = np.ascontiguousarray(x.mean(axis=1), dtype=np.float64)
    f0_here = _frame_values(f0, start_seconds + times)
    f0_here = np.where(f0_here > 0, pw.stonemask(mono, f0_here, times, rate), 0.0)
    f0_here = np.where(np.isfinite(f0_here) & (f0_here > 0), f0_here, 0.0)
    shift_here = np.interp(start_seconds + times, np.arange(len(shift)) * HOP, shift)
    new_f0 = f0_here * 2.0 ** (shift_here / 12.0)
    out = np.empty_like(x)
    for c in range(x.shape[1]):
        channel = np.ascontiguousarray(x[:, c], dtype=np.float64)
        if not np.any(channel):
            out[:, c] = 0.0
            continue
        envelope = pw.cheaptrick(channel, f0_here, times, rate, f0_floor=ENVELOPE_FLOOR)
        aperiodicity = pw.d4c(channel, f0_here, times, rate, fft_size=(envelope.shape[1] - 1) * 2)
        y = pw.synthesize(new_f0, envelope, aperiodicity, rate, HOP * 1000)
        y = np.concatenate([y, np.zeros(max(0, n - len(y)))])[:n]
        out[:, c] = np.where(np.isfinite(y), y, channel)
    return out


def _apply(buffer: np.ndarray, original: np.ndarray, buffer_start: int, chunk: Chunk, rate: float, f0: np.ndarray,
           shift: np.ndarray) -> None:
    """Resynthesise ``chunk`` from the input (``original``) into the output (``buffer``), both from ``buffer_start``.

    The analysis always reads the input: a piece's context may already hold the previous piece's output.
    """
    a, b = chunk.read_start - buffer_start, chunk.read_stop - buffer_start
    x = original[a:b]
    y = world_chunk(x, rate, chunk.read_start / rate, f0, shift)
    for r in chunk.regions:
        lo, hi = r.start - chunk.read_start, r.stop - chunk.read_start
        w = np.ones(hi - lo)
        if r.fade_in:
            w[:r.fade_in] = 0.5 - 0.5 * np.cos(np.pi * (np.arange(r.fade_in) + 0.5) / r.fade_in)
        if r.fade_out:
            w[-r.fade_out:] = np.minimum(w[-r.fade_out:], 0.5 + 0.5 * np.cos(
                np.pi * (np.arange(r.fade_out) + 0.5) / r.fade_out))
        current = buffer[a + lo:a + hi].astype(np.float64)
        buffer[a + lo:a + hi] = current * (1 - w[:, None]) + y[lo:hi] * w[:, None]


def resynthesize(source: AudioSource, f0: np.ndarray, shift: np.ndarray, sink: Sink,
                 progress: Callable[[float], None] | None = None) -> int:
    """Write ``source`` to ``sink`` with the pitch moved by ``shift`` (semitones per track frame).

    Returns
    -------
    int
        Samples resynthesised (per channel); the rest were copied.
    """
    rate = source.rate
    todo = chunks(regions(f0, shift, rate, source.frames), rate, source.frames)
    buffer = np.zeros((0, source.channels), dtype=np.float64)  # the output, final before the next chunk's start
    original = buffer  # the same stretch of input, untouched
    buffer_start = 0
    next_chunk = 0
    changed = sum(r.stop - r.start for c in todo for r in c.regions)

    def flush(upto: int) -> None:
        nonlocal buffer, original, buffer_start
        upto = min(upto, buffer_start + len(buffer))
        keep = upto - buffer_start
        if keep > 0:
            sink.write(buffer[:keep])
            buffer, original, buffer_start = buffer[keep:], original[keep:], upto

    def blocks() -> Iterator[np.ndarray]:
        for block in source.blocks():
            yield block if block.ndim == 2 else block[:, None]

    for block in blocks():
        original = np.concatenate([original, block.astype(np.float64)])
        buffer = np.concatenate([buffer, block.astype(np.float64)])
        end = buffer_start + len(buffer)
        while next_chunk < len(todo) and end >= todo[next_chunk].read_stop:
            _apply(buffer, original, buffer_start, todo[next_chunk], rate, f0, shift)
            next_chunk += 1
            if progress is not None:
                progress(next_chunk / len(todo))
        flush(todo[next_chunk].read_start if next_chunk < len(todo) else end)
    while next_chunk < len(todo):  # the source ended early (a short last block): what is there
        _apply(buffer, original, buffer_start, todo[next_chunk], rate, f0, shift)
        next_chunk += 1
    flush(buffer_start + len(buffer))
    return changed
