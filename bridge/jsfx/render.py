"""Rendering an audio file through a JSFX: streamed in blocks, written atomically, latency compensated."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bridge.audio.sink import FileSink
from bridge.audio.source import AudioSource
from bridge.fileio import Outputs
from bridge.jsfx.effect import Effect
from bridge.jsfx.errors import JsfxError
from bridge.jsfx.interrupt import check_time
from bridge.jsfx.runtime import JsfxProcessor


@dataclass
class RenderResult:
    """What a render did: frames, compile time, latency compensated, notices."""

    frames: int
    compile_seconds: float
    latency: int
    notices: list[str] = field(default_factory=list)


def render_file(effect: Effect, source: Path, target: Path, sliders: dict[int, float] | None = None,
                block: int = 512, subtype: str = "FLOAT",
                progress: Callable[[float], None] | None = None, tempo: float = 120.0,
                channels: int | None = None, strict: bool = False, outputs: Outputs | None = None) -> RenderResult:
    """Run ``source`` through ``effect`` into ``target`` (same rate; ``subtype`` as libsndfile names it).

    ``channels`` sets ``num_ch`` (default: the file's). With more channels than
    the file has, the file's channels repeat in turn (a mono file fills both
    sides of a stereo track, as in REAPER); with fewer, the first ones are used.
    The output is written beside ``target`` and moved into place at the end: a
    failed render leaves nothing.
    """
    audio = AudioSource.from_file(source)
    nch = channels or audio.channels
    if nch < 1 or nch > 64:
        raise JsfxError(f"--channels must be 1 to 64, not {nch}")
    mapping = [ch % audio.channels for ch in range(nch)]
    with FileSink(target, audio.rate, nch, subtype, strict=strict, outputs=outputs,
                  source=f"the effect {effect.path.name}") as sink:
        processor = JsfxProcessor(effect, audio.rate, nch, sliders, block, tempo)
        latency = processor.latency
        skip, done = latency, 0
        chunk = max(block, (1 << 16) // block * block)
        pending = np.zeros((0, nch))
        for data in audio.blocks():
            data = np.asarray(data, dtype=np.float64)[:, mapping]
            pending = np.concatenate([pending, data]) if len(pending) else data
            whole = len(pending) // chunk * chunk
            if whole:
                skip = _emit(processor.process(pending[:whole]), skip, sink)
                pending = pending[whole:]
            done += len(data)
            check_time()  # a long file through a slow effect stops at the time limit too
            if progress:
                progress(done / max(1, audio.frames))
        tail = np.concatenate([pending, np.zeros((latency, nch))])
        if len(tail):
            _emit(processor.process(tail), skip, sink)
    notices = list(effect.notices)
    if processor.loop_limit_line:
        notices.append(f"a while() loop at line {processor.loop_limit_line} stopped at REAPER's limit of "
                       "1,048,576 iterations")
    if sink.clipped:
        notices.append(f"{sink.clipped} samples went past full scale and were clipped in the integer file; "
                       "use --format 32f to keep them")
    if latency:
        notices.append(f"the effect reports {latency} samples of latency (pdc_delay); the output is shifted back "
                       "by that much, as REAPER's delay compensation does")
    return RenderResult(audio.frames, processor.compile_seconds, latency, notices)


def _emit(out: np.ndarray, skip: int, sink: FileSink) -> int:
    drop = min(skip, len(out))
    sink.write(out[drop:])
    return skip - drop
