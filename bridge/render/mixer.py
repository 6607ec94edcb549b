"""Mixing a :class:`~bridge.render.plan.MixPlan` block by block: memory follows the block, not the song.

Per block, tracks run in routing order (a folder after its children, a receive
after its source). Each track sums its items, its receives (tapped pre-FX,
pre-fader or post-fader) and its folder children into its input, inverts the
polarity if asked, runs its effects, then applies its fader and panner; the master
does the same with the top-level tracks. Items stream from their files through
resampling (the playrate's varispeed and the project rate) and get their fades,
volumes and take pan on the way in.

Memory follows the block and the block follows the project: :func:`bridge.render.budget.block_frames`
sizes it so every voice, track and kept send fits the working set; a track's output is
added to its folder's (or the master's) sum as soon as it is mixed and only senders'
outputs are kept; decoding runs on one pool of threads sized by the cores.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from bridge.assets import jsfx_dir
from bridge.audio.resample import resample_stream
from bridge.render import pan as panner
from bridge.render.budget import BLOCK, DECODE_AHEAD, block_frames
from bridge.render.fades import fade_gain
from bridge.render.plan import FxChain, FxSlot, ItemPlan, MixPlan, Notes, Receive, RenderError, TrackPlan
from bridge.render.prefetch import DecodePool, Prefetch

F32 = np.float32  # the mix runs in 32-bit float (the file is written as such); effects compute in 64-bit


# -- items ------------------------------------------------------------------------------------
def first_sample(seconds: float, sr: int) -> int:
    """The first sample at or after a time (an item plays the samples inside [start, end))."""
    return int(math.ceil(seconds * sr - 1e-7))


class Voice:
    """One item's audio at the project rate, read block after block from its start.

    ``pool`` decodes ahead for it; ``block`` (a multiple of the JSFX block) is how many
    frames it decodes, maps and runs through its take effects at a time.
    """

    def __init__(self, item: ItemPlan, sr: int, nchan: int, effects_dirs: list[Path], notes: Notes,
                 pool: DecodePool, block: int = BLOCK) -> None:
        self.item = item
        self.sr = sr
        self.nchan = nchan
        self.block = block
        self.first = first_sample(item.start, sr)
        self.last = first_sample(item.start + item.length, sr)
        self.frames = max(0, self.last - self.first)
        self.done = 0
        self._source: Prefetch = Prefetch(self._stream(), pool, DECODE_AHEAD)
        self._pending = np.zeros((0, nchan), dtype=F32)
        self._ready = np.zeros((0, nchan), dtype=F32)
        self._made = 0
        self.fx = Chain(item.fx, sr, nchan, effects_dirs, notes, item.where)

    def _stream(self) -> Iterator[np.ndarray]:
        audio, item = self.item.audio, self.item
        info = audio.info
        stretch = (audio.preserve_pitch and abs(audio.playrate - 1.0) > 1e-12) or item.pitch != 0.0
        if stretch:  # Rubber Band needs the whole take (the report says this is approximate)
            from pedalboard import time_stretch

            whole = audio.frames_by_channel().T.astype(np.float32)
            rate = audio.playrate if audio.preserve_pitch else 1.0
            out = time_stretch(whole, float(info.sample_rate), stretch_factor=rate,
                               pitch_shift_in_semitones=item.pitch).T
            del whole
            blocks: Iterator[np.ndarray] = (out[i:i + self.block] for i in range(0, len(out), self.block))
            in_rate, frames = float(info.sample_rate) * (1.0 if audio.preserve_pitch else audio.playrate), len(out)
        else:
            blocks = audio.frame_blocks(self.block)
            in_rate, frames = audio.effective_rate, audio.frames
        for block in resample_stream(blocks, in_rate, float(self.sr), frames):
            yield np.asarray(block, dtype=F32)
        while True:  # a source shorter than its item: silence
            yield np.zeros((self.block, info.channels), dtype=np.float32)

    def _channels(self, x: np.ndarray) -> np.ndarray:
        """The take's channels on the track's (channel mode, mono onto both sides)."""
        if x.ndim == 1:
            x = x[:, None]
        n, c = x.shape
        mode = self.item.chanmode
        if mode == 0 and c == self.nchan:
            return x
        out = np.zeros((n, self.nchan), dtype=F32)
        mono: np.ndarray | None = None
        if mode == 0:
            if c == 1:
                mono = x[:, 0]
            else:
                k = min(c, self.nchan)
                out[:, :k] = x[:, :k]
        elif mode == 1:
            out[:, 0] = x[:, 1] if c > 1 else x[:, 0]
            out[:, 1] = x[:, 0]
        elif mode == 2:
            mono = x.mean(axis=1)
        elif mode in (3, 4):
            mono = x[:, min(mode - 3, c - 1)]
        else:  # 5... : one source channel (3, 4, ...)
            index = mode - 3
            mono = x[:, index] if index < c else np.zeros(n, dtype=F32)
        if mono is not None:
            out[:, 0] = mono
            out[:, 1] = mono
        return out

    def _gain(self, offset: int, n: int) -> np.ndarray | float:
        item, sr = self.item, self.sr
        gain: np.ndarray | float = item.gain
        in_fade = item.fade_in.seconds > 0 and offset < item.fade_in.seconds * sr
        out_fade = item.fade_out.seconds > 0 and (offset + n) / sr > item.length - item.fade_out.seconds
        if not (in_fade or out_fade):
            return gain
        t = (offset + np.arange(n)) / sr  # seconds into the item
        if item.fade_in.seconds > 0 and offset < item.fade_in.seconds * sr:
            gain = gain * fade_gain(t / item.fade_in.seconds, item.fade_in.shape, item.fade_in.curve, False)
        out_start = item.length - item.fade_out.seconds
        if item.fade_out.seconds > 0 and (offset + n) / sr > out_start:
            u = (t - out_start) / item.fade_out.seconds
            gain = gain * np.where(u > 0, fade_gain(u, item.fade_out.shape, item.fade_out.curve, True), 1.0)
        return gain

    def _raw(self, k: int) -> np.ndarray:
        """The next ``k`` frames of the take: channels mapped, gains, fades and take pan applied."""
        while len(self._pending) < k:
            mapped = self._channels(next(self._source))  # type: ignore[arg-type]
            self._pending = mapped if not len(self._pending) else np.concatenate([self._pending, mapped])
        out, self._pending = self._pending[:k], self._pending[k:]
        gain = self._gain(self._made, k)
        if isinstance(gain, np.ndarray):
            out, column = out.copy(), gain.astype(F32)
            for c in range(out.shape[1]):
                out[:, c] *= column
        elif gain != 1.0 or self.item.take_pan != 0.0:
            out = out * F32(gain)
        if self.item.take_pan != 0.0:
            gl, gr = panner.balance_gains(self.item.take_pan)
            out[:, 0] *= gl
            out[:, 1] *= gr
        self._made += k
        return out

    def read(self, n: int) -> np.ndarray:
        """The next ``n`` frames (fewer at the item's end).

        The take's effects always see whole blocks counted from the item's start
        (their ``@block`` cadence does not depend on where the render starts).
        """
        n = min(n, self.frames - self.done)
        while len(self._ready) < n:
            chunk = self.fx.process(self._raw(min(self.block, self.frames - self._made)))
            self._ready = chunk if not len(self._ready) else np.concatenate([self._ready, chunk])
        out, self._ready = self._ready[:n], self._ready[n:]
        self.done += n
        return out

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._source.close()


# -- effects ----------------------------------------------------------------------------------
def find_js(ident: str, effects_dirs: list[Path]) -> Path | None:
    """A JS effect named as REAPER saves it (relative to an Effects folder; the extension optional)."""
    name = ident.replace("\\", "/")
    candidates = [Path(name)] if Path(name).is_absolute() else []
    candidates += [root / name for root in effects_dirs]
    if name.startswith("reabridge/"):  # reabridge's own effects ship with reabridge too
        candidates.append(jsfx_dir() / name.split("/", 1)[1])
    for c in candidates:
        for p in (c, c.with_name(c.name + ".jsfx")):
            if p.is_file():
                return p
    return None


class Chain:
    """An effect chain that processes blocks, keeping its state between them."""

    def __init__(self, chain: FxChain, sr: int, nchan: int, effects_dirs: list[Path], notes: Notes,
                 where: str) -> None:
        self.stages: list[tuple[FxSlot, Callable[[np.ndarray], np.ndarray]]] = []
        for slot in chain.active:
            runner = _runner(slot, sr, nchan, effects_dirs, notes, where)
            if runner is not None:
                self.stages.append((slot, runner))

    def process(self, block: np.ndarray) -> np.ndarray:
        for slot, run in self.stages:
            wet = run(block.astype(np.float64)).astype(F32)
            block = wet if slot.wet == 1.0 else F32(slot.wet) * wet + F32(1.0 - slot.wet) * block
        return block


def fx_problem(slot: FxSlot, effects_dirs: list[Path]) -> tuple[str, str] | None:
    """Why an effect cannot run here, with its kind (None: it can)."""
    if slot.kind != "JS":
        return "plug-in", (f"{slot.kind} plug-in '{slot.name}' (reabridge cannot load REAPER's saved state for "
                           "plug-ins; render it in REAPER, or replace it with a JS effect)")
    path = find_js(slot.ident, effects_dirs)
    if path is None:
        looked = ", ".join(str(d) for d in effects_dirs) or "no Effects folder"
        return "JS effect", f"JS effect '{slot.ident}' not found (looked in {looked}; pass --effects-dir)"
    from bridge.jsfx.effect import load_effect
    from bridge.jsfx.errors import JsfxError

    try:
        load_effect(path, effects_dirs)
    except JsfxError as exc:
        return "JS effect", f"JS effect '{slot.ident}': {exc}"
    return None


def _runner(slot: FxSlot, sr: int, nchan: int, effects_dirs: list[Path], notes: Notes,
            where: str) -> Callable[[np.ndarray], np.ndarray] | None:
    problem = fx_problem(slot, effects_dirs)
    if problem is not None:
        notes.skip(f"{where}: {problem[1]}", problem[0])
        return None
    from bridge.jsfx.effect import load_effect
    from bridge.jsfx.errors import JsfxError
    from bridge.jsfx.runtime import JsfxProcessor

    path = find_js(slot.ident, effects_dirs)
    assert path is not None
    try:
        effect = load_effect(path, effects_dirs)
        processor = JsfxProcessor(effect, sr, nchan, slot.sliders, 512, 120.0)
    except JsfxError as exc:
        notes.skip(f"{where}: JS effect '{slot.ident}': {exc}", "JS effect")
        return None
    if processor.latency:
        notes.approx(f"{where}: JS effect '{slot.ident}' reports {processor.latency} samples of latency; REAPER's "
                     "delay compensation is not applied")
    for notice in effect.notices:
        notes.approx(f"{where}: JS effect '{slot.ident}': {notice}")
    return processor.process


# -- routing ----------------------------------------------------------------------------------
def routing_order(tracks: list[TrackPlan]) -> list[TrackPlan]:
    """Tracks so that every source comes before what it feeds (children before folders, senders first).

    Raises
    ------
    RenderError
        A routing loop (feedback), which REAPER resolves with a delay reabridge does not model.
    """
    feeds: dict[int, set[int]] = {t.index: set() for t in tracks}
    for t in tracks:
        if t.parent is not None and t.main_send:
            feeds[t.parent].add(t.index)
        for r in t.receives:
            if r.source in feeds and r.source != t.index:
                feeds[t.index].add(r.source)
            elif r.source == t.index:
                raise RenderError(f"track '{t.name}' receives from itself (feedback)")
    order: list[TrackPlan] = []
    state: dict[int, int] = {}
    by_index = {t.index: t for t in tracks}
    for t in tracks:
        stack = [(t.index, iter(sorted(feeds[t.index])))]
        if state.get(t.index):
            continue
        state[t.index] = 1
        while stack:
            node, deps = stack[-1]
            dep = next(deps, None)
            if dep is None:
                stack.pop()
                state[node] = 2
                order.append(by_index[node])
            elif state.get(dep) == 1:
                raise RenderError(f"routing loop through tracks '{by_index[dep].name}' and '{by_index[node].name}' "
                                  "(feedback is not rendered)")
            elif not state.get(dep):
                state[dep] = 1
                stack.append((dep, iter(sorted(feeds[dep]))))
    return order


def _send_channels(r: Receive, src: np.ndarray, nchan: int) -> np.ndarray | None:
    """A receive's audio on the destination's channels (mono sum, volume, pan, polarity)."""
    if r.src_chan < 0:
        return None
    first, width = r.src_chan & 1023, r.src_chan >> 10
    count = 2 if width == 0 else 1 if width == 1 else 2 * width
    x = src[:, first:first + count]
    if x.shape[1] == 0:
        return None
    if x.shape[1] == 1:
        x = np.repeat(x, 2, axis=1)
    if r.mono:
        x = np.repeat(x.mean(axis=1, keepdims=True), x.shape[1], axis=1)
    x = x * (r.volume * (-1.0 if r.phase else 1.0))
    gl, gr = panner.pan_gains(r.pan, r.law)
    x[:, 0] *= gl
    x[:, 1] *= gr
    out = np.zeros((len(src), nchan), dtype=F32)
    dst = r.dst_chan & 1023
    if r.dst_chan & 1024:
        x = x.mean(axis=1, keepdims=True)
    k = max(0, min(x.shape[1], nchan - dst))
    out[:, dst:dst + k] = x[:, :k]
    return out


# -- the mix ----------------------------------------------------------------------------------
class Mixer:
    """Renders a :class:`MixPlan` block by block.

    Parameters
    ----------
    plan : MixPlan
    pool : DecodePool, optional
        Threads that decode ahead for the voices (default: one per core, closed with the mix).
    """

    def __init__(self, plan: MixPlan, pool: DecodePool | None = None) -> None:
        self.plan = plan
        self.order = routing_order(plan.tracks)
        sr = plan.sample_rate
        self.chains = {t.index: Chain(t.fx, sr, t.nchan, plan.effects_dirs, plan.notes, f"track '{t.name}'")
                       for t in plan.tracks}
        self.master_chain = Chain(plan.master.fx, sr, plan.master.nchan, plan.effects_dirs, plan.notes,
                                  "the master")
        self.voices: dict[int, list[Voice]] = {t.index: [] for t in plan.tracks}
        self.pending = {t.index: sorted(t.items, key=lambda i: i.start) for t in plan.tracks}
        self.taps_needed = {(r.source, r.mode) for t in plan.tracks for r in t.receives}
        self.senders = {r.source for t in plan.tracks for r in t.receives}
        self.by_index = {t.index: t for t in plan.tracks}
        self._matrices: dict[int, np.ndarray] = {}
        self.position = int(round(plan.start * sr))
        self.end = self.position + plan.frames
        self.block_frames = block_frames(plan)
        self.pool = pool or DecodePool()

    @property
    def channels(self) -> int:
        return self.plan.master.nchan

    def _items(self, t: TrackPlan, first: int, n: int) -> np.ndarray:
        sr = self.plan.sample_rate
        out = np.zeros((n, t.nchan), dtype=F32)
        pending = self.pending[t.index]
        while pending and first_sample(pending[0].start, sr) < first + n:
            item = pending.pop(0)
            if first_sample(item.start + item.length, sr) <= first:  # wholly before the render start
                continue
            voice = Voice(item, sr, t.nchan, self.plan.effects_dirs, self.plan.notes, self.pool, self.block_frames)
            if voice.first < first:  # starts before the render start: skip into it
                skip = first - voice.first
                while skip > 0:
                    skip -= len(voice.read(min(skip, self.block_frames)))
            self.voices[t.index].append(voice)
        alive = []
        for voice in self.voices[t.index]:
            at = max(0, voice.first + voice.done - first)
            if at >= n:
                alive.append(voice)
                continue
            block = voice.read(n - at)
            out[at:at + len(block)] += block
            if voice.done < voice.frames:
                alive.append(voice)
            else:
                voice.close()
        self.voices[t.index] = alive
        return out

    def _pan(self, t: TrackPlan, block: np.ndarray) -> np.ndarray:
        """Fader and panner: channels 1/2 through the track's 2x2 gain matrix, the rest by the fader."""
        matrix = self._matrices.get(t.index)
        if matrix is None:
            matrix = self._matrices[t.index] = panner.matrix(t.mode, t.pan, t.law, t.taper, t.width, t.dual)
        gains = matrix * t.volume
        if gains[0, 1] == 0.0 and gains[1, 0] == 0.0:  # a balance: each side scaled (column by column: NumPy's
            if block.shape[1] > 2:                     # broadcasting over 2 channels is several times slower)
                block[:, 2:] *= F32(t.volume)
            block[:, 0] *= F32(gains[0, 0])
            block[:, 1] *= F32(gains[1, 1])
            return block
        left, right = block[:, 0].copy(), block[:, 1].copy()
        if block.shape[1] > 2:
            block[:, 2:] *= F32(t.volume)
        block[:, 0] = left * F32(gains[0, 0]) + right * F32(gains[1, 0])
        block[:, 1] = left * F32(gains[0, 1]) + right * F32(gains[1, 1])
        return block

    def block(self, n: int) -> np.ndarray:
        """The next ``n`` frames of the master's output, ``(n, channels)``.

        A track's output goes into its folder's sum (or the master's) as soon as it
        is mixed; only the outputs and taps of tracks that feed a receive are kept
        until the end of the block.
        """
        first = self.position
        master = self.plan.master
        mix = np.zeros((n, master.nchan), dtype=F32)
        sums: dict[int, np.ndarray] = {}  # a folder's children, summed after their faders
        post: dict[int, np.ndarray] = {}
        taps: dict[tuple[int, int], np.ndarray] = {}
        for t in self.order:
            heard = t.audible and not t.mute
            buf = self._items(t, first, n) if heard else np.zeros((n, t.nchan), dtype=F32)
            for r in t.receives:
                if r.mute or r.source not in post:
                    continue
                src = taps.get((r.source, r.mode), post[r.source]) if r.mode else post[r.source]
                send = _send_channels(r, src, t.nchan)
                if send is not None:
                    buf += send
            children = sums.pop(t.index, None)
            if children is not None:
                buf += children
            if t.phase:
                buf = -buf
            if (t.index, 1) in self.taps_needed:
                taps[(t.index, 1)] = buf.copy() if heard else np.zeros_like(buf)
            buf = self.chains[t.index].process(buf)
            if (t.index, 3) in self.taps_needed or (t.index, 2) in self.taps_needed:
                tap = buf.copy() if heard else np.zeros_like(buf)
                taps[(t.index, 3)] = taps[(t.index, 2)] = tap
            out = self._pan(t, buf) if heard else np.zeros_like(buf)
            if t.index in self.senders:
                post[t.index] = out
            if t.main_send and heard:
                if t.parent is None:
                    _add(mix, out, t.main_offset)
                elif t.parent in self.by_index:
                    parent = self.by_index[t.parent]
                    into = sums.get(parent.index)
                    if into is None:
                        into = sums[parent.index] = np.zeros((n, parent.nchan), dtype=F32)
                    _add(into, out, t.main_offset)
        mix = self.master_chain.process(mix)
        mix = self._pan(master, mix)
        if master.mute:
            mix[:] = 0.0
        if self.plan.master_mono:
            mix[:] = mix.mean(axis=1, keepdims=True)
        self.position += n
        return mix

    def blocks(self, progress: Callable[[float], None] | None = None) -> Iterator[np.ndarray]:
        """The whole render, block after block (the decode pool is closed at the end)."""
        total = max(1, self.end - self.position)
        start = self.position
        try:
            while self.position < self.end:
                n = min(self.block_frames, self.end - self.position)
                yield self.block(n)
                if progress is not None:
                    progress((self.position - start) / total)
        finally:
            self.close()

    def close(self) -> None:
        """Stop every voice's decoding and the pool's threads."""
        for voices in self.voices.values():
            for v in voices:
                v.close()
            voices.clear()
        self.pool.close()


def _add(dst: np.ndarray, src: np.ndarray, offset: int) -> None:
    k = max(0, min(src.shape[1], dst.shape[1] - offset))
    dst[:, offset:offset + k] += src[:, :k]
