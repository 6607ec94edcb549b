"""What a render will cost, known before it starts: the file it writes, and the frames a mix block holds.

Two bounds keep a crafted project from exhausting the machine (``bridge/render/README.md``):

- **the output file.** Its size is the render's length x rate x channels x bytes per
  sample, known before the first sample is mixed. A render longer than
  :data:`MAX_RENDER_SECONDS` is refused unless the user passes ``--force``. One larger
  than the free space of the output's disk less :data:`DISK_MARGIN` is refused: for
  the uncompressed containers (WAV, AIFF, W64, CAF) the size is exact, so it could
  only fail after filling the disk, and ``--force`` does not change that; for FLAC it
  is an upper bound, and ``--force`` tries anyway. A WAV or AIFF file past 4 GiB
  (their sizes are 32-bit) is refused always.
- **memory.** The mix streams: what it holds at once is one block of every voice
  playing, of the tracks being mixed and of the sends kept for receivers. The block
  shrinks (in whole JSFX blocks) so that stays under :data:`WORKING_SET` whatever the
  number of tracks, items and channels; memory is bounded by design, not guessed.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from bridge.audio.formats import file_format
from bridge.render.plan import MixPlan, RenderError

#: The longest render reabridge starts without --force (a day; a project REAPER saved is rarely longer)
MAX_RENDER_SECONDS = 24 * 3600.0
#: Free space left on the output's disk after the render (other programs need some)
DISK_MARGIN = 1_000_000_000
#: Bytes of audio buffers the mix may hold at once
WORKING_SET = 256 << 20
#: The mix block: at most BLOCK frames, at least and in multiples of JS_BLOCK (the JSFX block, so effects
#: keep REAPER's @block cadence whatever the block)
BLOCK = 32768
JS_BLOCK = 512
#: Blocks a voice keeps decoded ahead (see bridge.render.prefetch)
DECODE_AHEAD = 2
#: Containers whose size the estimate only bounds
COMPRESSED = ("FLAC",)
#: WAV (RIFF) and AIFF store sizes in 32 bits
RIFF_LIMIT = (1 << 32) - 1

_BYTES = {"PCM_16": 2, "PCM_24": 3, "PCM_32": 4, "FLOAT": 4, "DOUBLE": 8}


def _size(n: float) -> str:
    if n >= 1e8:
        return f"{n / 1e9:.1f} GB"
    return f"{n / 1e6:.0f} MB" if n >= 1e6 else f"{n / 1e3:.0f} kB"


def output_bytes(frames: int, channels: int, subtype: str) -> int:
    """Bytes of the samples of an uncompressed file (compressed containers hold at most about this)."""
    return frames * channels * _BYTES.get(subtype, 4)


def check_output(plan: MixPlan, channels: int, output: Path, subtype: str, *, strict: bool, force: bool,
                 name: str) -> None:
    """Refuse a render that would run too long, not fit on its disk, or not fit in its file format.

    ``force`` lets a render longer than :data:`MAX_RENDER_SECONDS` run, and a FLAC
    one whose uncompressed size exceeds the free space try.

    Raises
    ------
    RenderError
        With the figures, and what to do (``--force``, a shorter range, another format).
    AudioError
        The output's extension or format cannot be written at all.
    """
    container, final = file_format(output, subtype, strict)
    seconds = plan.frames / plan.sample_rate
    size = output_bytes(plan.frames, channels, final)
    if seconds > MAX_RENDER_SECONDS and not force:
        raise RenderError(f"the render of {name} would last {seconds / 3600:.1f} hours ({plan.start:g} s to "
                          f"{plan.end:g} s); reabridge stops at {MAX_RENDER_SECONDS / 3600:g} hours: check the "
                          "project's item positions and lengths, render a range (--start/--end), or pass --force")
    if container in ("WAV", "AIFF") and size > RIFF_LIMIT - (1 << 16):
        raise RenderError(f"the render of {name} would be {_size(size)}, more than a {container} file can hold "
                          f"(4 GB); write a .w64 or .caf file, or render a shorter range (--start/--end)")
    if force and container in COMPRESSED:
        return
    try:
        free = shutil.disk_usage(output.parent).free
    except OSError:
        return
    if size > free - DISK_MARGIN:
        at_most = " at most" if container in COMPRESSED else ""
        also = ", or pass --force to try anyway" if container in COMPRESSED else ""
        raise RenderError(f"the render of {name} would need{at_most} {_size(size)} and {output.parent} has "
                          f"{_size(max(0, free))} free (reabridge leaves {_size(DISK_MARGIN)} spare); free some "
                          f"space, or render a range (--start/--end) or a smaller --format{also}")


def _voice_load(plan: MixPlan) -> int:
    """The most float32 samples per frame that the voices playing at the same time hold."""
    events: list[tuple[float, int]] = []
    for track in plan.tracks:
        if not track.audible or track.mute:
            continue
        for item in track.items:
            cost = (DECODE_AHEAD + 2) * item.audio.info.channels + 3 * track.nchan
            events.append((item.start, cost))
            events.append((item.start + item.length, -cost))
    events.sort(key=lambda e: (e[0], e[1]))  # an item ending where the next starts does not overlap it
    load = peak = 0
    for _, cost in events:
        load += cost
        peak = max(peak, load)
    return peak


def block_frames(plan: MixPlan) -> int:
    """Frames per mix block, so the buffers held at once stay under :data:`WORKING_SET`.

    Counted per frame, in float32 samples: each playing voice (its decoded blocks
    and its mapped, effected and pending output), the master (mix, effects in 64-bit),
    the track being mixed (its input, effects in 64-bit, taps, output), every folder's
    sum of its children and every track kept for a receive (three taps at most).
    """
    widest = max([plan.master.nchan, *(t.nchan for t in plan.tracks)])
    senders = {r.source for t in plan.tracks for r in t.receives}
    kept = sum(3 * t.nchan for t in plan.tracks if t.index in senders)
    parents = {t.parent for t in plan.tracks if t.parent is not None}
    folders = sum(t.nchan for t in plan.tracks if t.index in parents)
    per_frame = 4 * (_voice_load(plan) + 4 * plan.master.nchan + 6 * widest + kept + folders)
    frames = WORKING_SET // max(1, per_frame)
    return max(JS_BLOCK, min(BLOCK, frames // JS_BLOCK * JS_BLOCK))


__all__ = ["BLOCK", "DISK_MARGIN", "MAX_RENDER_SECONDS", "WORKING_SET", "block_frames", "check_output",
           "output_bytes"]
