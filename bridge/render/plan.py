"""What a project's mix is made of, read from its ``.RPP``: tracks, routing, items, effects, bounds.

Every value comes from the project file as REAPER writes it (the fields are listed
in ``bridge/render/README.md``); what reabridge cannot render is collected as a named reason
instead of being guessed, and what it renders by a model rather than REAPER's own
definition is listed as approximated.
"""

from __future__ import annotations

import contextlib
import itertools
import math
from dataclasses import dataclass, field
from pathlib import Path

from bridge.audio.item_audio import ItemAudio, NoAudioError, describe, plan_item_audio
from bridge.errors import ReabridgeError
from bridge.project import limits
from bridge.project.fx import describe_fx
from bridge.project.items import Item, Take
from bridge.project.project import Project
from bridge.project.tracks import Track
from bridge.render import pan as panner
from bridge.rpp.tree import Chunk, Line

FX_TAGS = ("VST", "JS", "AU", "CLAP", "DX", "LV2", "VIDEO_EFFECT", "CONTAINER")
#: Samples (frames x channels) of a take stretched with pitch preserved or shifted: Rubber Band runs on the
#: whole take in memory, so a longer one is not rendered (2**26 float32 samples: 256 MB in, with its copies
#: and the output about 1 GB; 12.7 minutes of stereo at 44.1 kHz)
MAX_STRETCH_SAMPLES = 1 << 26


class RenderError(ReabridgeError):
    """The project cannot be rendered as asked (the message lists why)."""


def _num(values: list[str] | None, index: int, default: float) -> float:
    if not values or len(values) <= index:
        return default
    try:
        v = float(values[index].split(":")[0])
    except ValueError:
        return default
    return v if math.isfinite(v) else default


@dataclass
class Notes:
    """What the render did not do, or did by a model: each a line a user can read.

    Each skipped element has a kind (``"MIDI item"``, ``"missing media"``, ``"plug-in"``,
    ``"automation"``, ``"JS effect"``, ``"other"``) so a long list can be summed up.
    """

    reasons: list[tuple[str, str]] = field(default_factory=list)
    approximated: list[str] = field(default_factory=list)

    @property
    def skipped(self) -> list[str]:
        """Every element not rendered (with ``--missing skip``), or why the render failed."""
        return [what for _, what in self.reasons]

    def skip(self, what: str, kind: str = "other") -> None:
        if all(what != w for _, w in self.reasons):
            self.reasons.append((kind, what))

    def summary(self) -> str:
        """The reasons in one line: each kind counted, with its first example."""
        kinds: dict[str, list[str]] = {}
        for kind, what in self.reasons:
            kinds.setdefault(kind, []).append(what)
        parts = []
        for kind, whats in kinds.items():
            plural = "" if kind == "missing media" else "s"
            parts.append(whats[0] if len(whats) == 1 else f"{len(whats)} {kind}{plural}, e.g. {whats[0]}")
        return "; ".join(parts)

    def approx(self, what: str) -> None:
        if what not in self.approximated:
            self.approximated.append(what)


@dataclass(frozen=True)
class FxSlot:
    """One effect in a chain (kind ``JS`` or a plug-in) as saved: its sliders/state, bypass and wet."""

    kind: str
    name: str
    ident: str
    chunk: Chunk
    bypassed: bool
    offline: bool
    wet: float
    sliders: dict[int, float]


@dataclass(frozen=True)
class FxChain:
    """An effect chain; ``enabled`` False when the whole chain is bypassed."""

    slots: tuple[FxSlot, ...]
    enabled: bool = True

    @property
    def active(self) -> tuple[FxSlot, ...]:
        return tuple(s for s in self.slots if not (s.bypassed or s.offline)) if self.enabled else ()


@dataclass(frozen=True)
class Fade:
    seconds: float
    shape: int
    curve: float


@dataclass(frozen=True)
class ItemPlan:
    """An item as it plays: where, how loud, which channels, its fades and effects."""

    where: str
    start: float
    length: float
    audio: ItemAudio
    gain: float  # item volume x take volume (negative: polarity inverted)
    take_pan: float
    chanmode: int
    fade_in: Fade
    fade_out: Fade
    fx: FxChain
    pitch: float  # semitones (PLAYRATE's pitch field)


@dataclass(frozen=True)
class Receive:
    """An ``AUXRECV`` on the destination track."""

    source: int
    mode: int  # 0 post-fader, 1 pre-FX, 3 (and 2) pre-fader post-FX
    volume: float
    pan: float
    mute: bool
    mono: bool
    phase: bool
    src_chan: int
    dst_chan: int
    law: float


@dataclass
class TrackPlan:
    index: int
    name: str
    volume: float
    pan: float
    law: float
    mode: int
    taper: int
    width: float
    dual: tuple[float, float]
    mute: bool
    solo: int
    solo_defeat: bool
    phase: bool
    nchan: int
    parent: int | None
    main_send: bool
    main_offset: int
    receives: list[Receive]
    fx: FxChain
    items: list[ItemPlan]
    audible: bool = True


@dataclass
class MixPlan:
    """Everything the mixer needs."""

    sample_rate: int
    start: float
    end: float
    tracks: list[TrackPlan]
    master: TrackPlan
    master_mono: bool
    notes: Notes
    effects_dirs: list[Path]

    @property
    def frames(self) -> int:
        return max(0, int(round(self.end * self.sample_rate)) - int(round(self.start * self.sample_rate)))


# -- effects --------------------------------------------------------------------------------
def read_chain(chain: Chunk | None, enabled: bool = True) -> FxChain:
    """The effects of an ``<FXCHAIN``/``<MASTERFXLIST``/``<TAKEFX`` chunk, with BYPASS and WET."""
    if chain is None:
        return FxChain((), enabled)
    slots: list[FxSlot] = []
    bypass: list[str] = []
    for child in chain.children:
        if isinstance(child, Chunk) and child.tag in FX_TAGS:
            kind, name, ident = describe_fx(child)
            sliders: dict[int, float] = {}
            if child.tag == "JS":
                line = next((c for c in child.children if isinstance(c, Line)), None)
                for n, tok in enumerate(line.tokens if line is not None else [], start=1):
                    if tok != "-":
                        with contextlib.suppress(ValueError):
                            sliders[n] = float(tok)
            slots.append(FxSlot(kind, name, ident, child, bypass[:1] == ["1"], bypass[1:2] == ["1"], 1.0, sliders))
            bypass = []
        elif isinstance(child, Line) and child.key == "BYPASS":
            bypass = child.values
        elif isinstance(child, Line) and child.key == "WET" and slots:
            last = slots[-1]
            slots[-1] = FxSlot(last.kind, last.name, last.ident, last.chunk, last.bypassed, last.offline,
                               _num(child.values, 0, 1.0), last.sliders)
        elif isinstance(child, Line) and child.key == "PARALLEL" and _num(child.values, 0, 0) > 0 and slots:
            raise RenderError(f"the effect after {slots[-1].name} runs in parallel (REAPER 7 parallel FX); "
                              "not rendered")
    return FxChain(tuple(slots), enabled)


# -- items --------------------------------------------------------------------------------
def _fade(values: list[str] | None) -> Fade:
    shape = int(_num(values, 0, 0.0))
    seconds = _num(values, 2, 0.0)
    if seconds <= 0:
        seconds = _num(values, 1, 0.0)
    return Fade(max(0.0, seconds), shape, _num(values, 5, 0.0))


def _take_pan(take: Take) -> float:
    if take.implicit:
        return _num(take.item.chunk.values("VOLPAN"), 1, 0.0)
    return _num(take._values("TAKEVOLPAN"), 0, 0.0)


def plan_item(track: Track, item: Item, notes: Notes) -> ItemPlan | None:
    """An item's plan, or None (with the reason noted) when it cannot play."""
    where = describe(track, item)
    mute = item.chunk.values("MUTE")
    if mute and mute[0] == "1":
        return None
    if item.chunk.values("ALLTAKES") and item.chunk.values("ALLTAKES")[0] == "1" and len(item.takes) > 1:
        notes.skip(f"{where}: plays all its takes at once (not rendered)", "other")
        return None
    take = item.active_take
    if take is None or take.source is None:
        return None
    source = take.source
    if source.is_midi:
        notes.skip(f"{where}: a MIDI item (no instrument to render it with)", "MIDI item")
        return None
    if source.type in ("EMPTY", ""):
        return None
    try:
        audio = plan_item_audio(track, item, take)
    except NoAudioError as exc:
        notes.skip(str(exc), "missing media" if "missing" in str(exc) else "other")
        return None
    except ReabridgeError as exc:
        notes.skip(f"{where}: {exc}")
        return None
    playrate = take._values("PLAYRATE")
    pitch = _num(playrate, 2, 0.0)
    if (audio.preserve_pitch and abs(audio.playrate - 1.0) > 1e-12) or pitch != 0.0:
        if audio.frames * audio.info.channels > MAX_STRETCH_SAMPLES:
            minutes = audio.frames / audio.info.sample_rate / 60
            notes.skip(f"{where}: {'pitch shift' if pitch else 'playrate with preserved pitch'} over {minutes:.1f} "
                       f"minutes of {audio.info.channels}-channel source (reabridge stretches a take whole, in "
                       f"memory, up to {MAX_STRETCH_SAMPLES / 44100 / 2 / 60:.1f} minutes of stereo at 44.1 kHz)")
            return None
        notes.approx(f"{where}: {'pitch shift' if pitch else 'playrate with preserved pitch'} through Rubber Band, "
                     "not REAPER's stretch engine")
    if item.chunk.values("SM") or any(isinstance(n, Line) and n.key == "SM" for n in take.nodes):
        notes.skip(f"{where}: stretch markers (not rendered)")
        return None
    chanmode = int(_num(take._values("CHANMODE"), 0, 0.0))
    if chanmode == 2:
        notes.approx(f"{where}: mono downmix (channel mode) as the average of the channels")
    if chanmode > 66:
        notes.skip(f"{where}: channel mode {chanmode} (a stereo pair from channels 3 and up) is not rendered")
        return None
    take_vol = take.volume
    gain = item.chunk.values("VOLPAN")
    item_vol = _num(gain, 0, 1.0)
    take_fx = next((n for n in take.nodes if isinstance(n, Chunk) and n.tag == "TAKEFX"), None)
    for env in ("VOLENV", "PANENV", "MUTEENV", "PITCHENV"):
        if any(isinstance(n, Chunk) and n.tag == env and _active_envelope(n) for n in take.nodes):
            notes.skip(f"{where}: take {env.lower().replace('env', '')} envelope (not rendered)", "automation")
    return ItemPlan(where, item.position, item.length, audio, item_vol * take_vol, _take_pan(take), chanmode,
                    _fade(item.chunk.values("FADEIN")), _fade(item.chunk.values("FADEOUT")),
                    read_chain(take_fx), pitch)


def _active_envelope(env: Chunk) -> bool:
    """An envelope changes the sound when it is active and has points."""
    act = env.values("ACT")
    if act is not None and act[:1] == ["0"]:
        return False
    return any(True for _ in env.lines("PT"))


# -- tracks --------------------------------------------------------------------------------
def _receives(chunk: Chunk, law: float) -> list[Receive]:
    out = []
    for line in chunk.lines("AUXRECV"):
        v = line.values
        send_law = _num(v, 9, -1.0)
        out.append(Receive(int(_num(v, 0, -1)), int(_num(v, 1, 0)), _num(v, 2, 1.0), _num(v, 3, 0.0),
                           _num(v, 4, 0) == 1, _num(v, 5, 0) == 1, _num(v, 6, 0) == 1, int(_num(v, 7, 0)),
                           int(_num(v, 8, 0)), law if send_law < 0 else send_law))
    return out


def plan_track(track: Track, parent: int | None, project: Chunk, notes: Notes) -> TrackPlan:
    c = track.chunk
    law_project = _num(project.values("PANLAW"), 0, 1.0)
    volpan = c.values("VOLPAN")
    law = _num(volpan, 2, -1.0)
    law = law_project if law < 0 else law
    mode = int(_num(c.values("PANMODE"), 0, -1))
    if mode < 0:
        mode = int(_num(project.values("PANMODE"), 0, panner.BALANCE))
    taper = int(_num(c.values("PANLAWFLAGS"), 0, _num(project.values("PANLAWFLAGS"), 0, panner.HYBRID)))
    mutesolo = c.values("MUTESOLO")
    phase = c.values("IPHASE")
    mainsend = c.values("MAINSEND")
    where = f"track '{track.display_name}'"
    nchan = limits.channel_count(c.values("NCHAN"), where, "NCHAN")
    offset = limits.send_offset(mainsend, where)
    pan = _num(volpan, 1, 0.0)
    plan = TrackPlan(
        index=track.index, name=track.display_name, volume=_num(volpan, 0, 1.0), pan=pan, law=law, mode=mode,
        taper=taper, width=_num(c.values("WIDTH"), 0, 1.0), dual=(_num(volpan, 3, -1.0), _num(volpan, 4, 1.0)),
        mute=_num(mutesolo, 0, 0) == 1, solo=int(_num(mutesolo, 1, 0)), solo_defeat=_num(mutesolo, 2, 0) == 1,
        phase=bool(phase) and phase[0] == "1", nchan=nchan, parent=parent,
        main_send=_num(mainsend, 0, 1) == 1, main_offset=offset,
        receives=_receives(c, law_project), fx=read_chain(c.chunk("FXCHAIN"), _num(c.values("FX"), 0, 1) == 1),
        items=[])
    check_pan(f"track '{track.display_name}'", plan, notes)
    for env in ("VOLENV2", "PANENV2", "WIDTHENV2", "MUTEENV", "VOLENV", "PANENV", "VOLENV3"):
        for env_chunk in c.chunks(env):
            if _active_envelope(env_chunk):
                notes.skip(f"track '{track.display_name}': {env} automation (not rendered)", "automation")
    for env_chunk in (*c.chunks("AUXVOLENV"), *c.chunks("AUXPANENV"), *c.chunks("AUXMUTEENV")):
        if _active_envelope(env_chunk):
            notes.skip(f"track '{track.display_name}': send automation (not rendered)", "automation")
    return plan


def check_pan(where: str, plan: TrackPlan, notes: Notes) -> None:
    """Note a pan setting whose gains REAPER does not document."""
    if plan.mode not in panner.MODES:
        notes.skip(f"{where}: pan mode {plan.mode} is unknown")
        return
    if plan.mode == panner.STEREO_PAN and plan.pan == 0.0 and plan.width == 1.0:
        return
    if plan.mode == panner.DUAL_PAN and plan.dual == (-1.0, 1.0):
        return
    if not panner.documented(plan.mode, plan.pan, plan.law, plan.taper):
        notes.approx(f"{where}: pan {plan.pan:+.2f} in {panner.MODES[plan.mode]} mode (pan law "
                     f"{plan.law:g}, taper {plan.taper}): REAPER does not document these gains; reabridge's "
                     "model is used")


def _master(root: Chunk, notes: Notes) -> tuple[TrackPlan, bool]:
    vol = root.values("MASTER_VOLUME")
    law_project = _num(root.values("PANLAW"), 0, 1.0)
    law = _num(vol, 2, -1.0)
    mode = int(_num(root.values("MASTER_PANMODE"), 0, -1))
    if mode < 0:
        mode = int(_num(root.values("PANMODE"), 0, panner.BALANCE))
    flags = int(_num(root.values("MASTERMUTESOLO"), 0, 0))
    nch = limits.channel_count(root.values("MASTER_NCH"), "the master", "MASTER_NCH")
    plan = TrackPlan(
        index=-1, name="master", volume=_num(vol, 0, 1.0), pan=_num(vol, 1, 0.0),
        law=law_project if law < 0 else law, mode=mode,
        taper=int(_num(root.values("PANLAWFLAGS"), 0, panner.HYBRID)), width=_num(root.values("MASTER_WIDTH"), 0, 1.0),
        dual=(_num(vol, 3, -1.0), _num(vol, 4, 1.0)), mute=bool(flags & 1), solo=0, solo_defeat=False, phase=False,
        nchan=nch, parent=None, main_send=True, main_offset=0, receives=[],
        fx=read_chain(root.chunk("MASTERFXLIST"), _num(root.values("MASTER_FX"), 0, 1) == 1), items=[])
    check_pan("the master", plan, notes)
    if flags & (8 | 16):
        notes.skip("the master's mono mode (left/right/L-R) is not rendered")
    for env in ("MASTERVOLENV2", "MASTERPANENV2", "MASTERVOLENV", "MASTERPANENV", "MASTERVOLENV3"):
        for env_chunk in root.chunks(env):
            if _active_envelope(env_chunk):
                notes.skip(f"the master: {env} automation (not rendered)", "automation")
    return plan, bool(flags & 4)


# -- solo ---------------------------------------------------------------------------------
def apply_solo(tracks: list[TrackPlan]) -> None:
    """Mark which tracks are heard: nothing changes without a solo; with one, REAPER's solo-in-place rules.

    A soloed track is heard, with its folder children (soloing a folder solos what
    is in it) and its parents (the way to the master); in place (solo 2) also what it
    sends to; a track with solo defeat is heard unless muted.
    """
    soloed = [t for t in tracks if t.solo]
    if not soloed:
        return
    by_index = {t.index: t for t in tracks}
    heard: set[int] = set()

    def add_path(t: TrackPlan) -> None:
        while t is not None and t.index not in heard:
            heard.add(t.index)
            t = by_index.get(t.parent) if t.parent is not None else None  # type: ignore[assignment]

    children: dict[int, list[TrackPlan]] = {}
    for t in tracks:
        if t.parent is not None:
            children.setdefault(t.parent, []).append(t)

    def add_tree(t: TrackPlan, in_place: bool) -> None:
        add_path(t)
        stack = [t]
        while stack:
            n = stack.pop()
            for ch in children.get(n.index, []):
                heard.add(ch.index)
                stack.append(ch)
        if in_place:  # what it sends to is heard too (a reverb bus keeps its return)
            for other in tracks:
                if any(r.source == t.index and not r.mute for r in other.receives) and other.index not in heard:
                    add_path(other)

    for t in soloed:
        add_tree(t, t.solo != 1)
    for t in tracks:
        if t.solo_defeat and not t.mute:
            add_path(t)
        t.audible = t.index in heard


# -- the whole plan -------------------------------------------------------------------------------
def plan_mix(project: Project, *, sample_rate: int | None = None, start: float | None = None,
             end: float | None = None, region: str | None = None, effects_dirs: list[Path] | None = None
             ) -> MixPlan:
    """Read a project's mix.

    Raises
    ------
    RenderError
        The bounds are impossible (no such region, end before start, nothing to render).
    ProjectLimitError
        A number outside what REAPER allows (play rate, channel count, position, length...).
    """
    root = project.root
    notes = Notes()
    sr = limits.sample_rate(root.values("SAMPLERATE")) or 44100
    sr = sample_rate or sr
    master, mono = _master(root, notes)
    item_mix = int(_num(root.values("ITEMMIX"), 0, 1))
    tracks: list[TrackPlan] = []
    parents: list[int] = []
    last_end = 0.0
    for track in project.tracks:
        plan = plan_track(track, parents[-1] if parents else None, root, notes)
        for item in track.items:
            limits.check_item(item, describe(track, item))
            last_end = max(last_end, item.position + item.length)
            planned = plan_item(track, item, notes)
            if planned is not None:
                plan.items.append(planned)
        if item_mix != 1 and _overlapping(plan.items):
            notes.approx(f"track '{track.display_name}': overlapping items are mixed; the project says "
                         f"{'later items replace earlier ones' if item_mix == 2 else 'enclosed items replace'} "
                         "(ITEMMIX)")
        tracks.append(plan)
        delta = track.folder_delta
        if delta > 0:
            parents.append(track.index)
        elif delta < 0:
            for _ in range(min(-delta, len(parents))):
                parents.pop()
    for t in tracks:
        for r in t.receives:
            if not 0 <= r.source < len(tracks):
                notes.skip(f"track '{t.name}': a receive from track {r.source + 1}, which does not exist")
    apply_solo(tracks)
    lo, hi = _bounds(project, start, end, region, last_end)
    return MixPlan(sr, lo, hi, tracks, master, mono, notes, list(effects_dirs or []))


def _overlapping(items: list[ItemPlan]) -> bool:
    spans = sorted((i.start, i.start + i.length, i.fade_in.seconds, i.fade_out.seconds) for i in items)
    return any(b[0] < a[1] - max(a[3], b[2]) - 1e-9 for a, b in itertools.pairwise(spans))


def _bounds(project: Project, start: float | None, end: float | None, region: str | None,
            last_end: float) -> tuple[float, float]:
    markers = project.markers
    if region is not None:
        found = [m for m in markers if m.end is not None and m.name == region]
        if not found:
            names = sorted({m.name for m in markers if m.end is not None and m.name})
            raise RenderError(f"no region named {region!r} in the project" +
                              (f" (regions: {', '.join(names)})" if names else " (it has no named regions)"))
        lo, hi = found[0].position, float(found[0].end)  # type: ignore[arg-type]
    else:
        lo, hi = 0.0, last_end
        for m in markers:
            if m.end is None and m.name == "=START":
                lo = m.position
            if m.end is None and m.name == "=END":
                hi = m.position
    lo = lo if start is None else start
    hi = hi if end is None else end
    if lo < 0:
        raise RenderError(f"--start {lo:g} is before the project start")
    if hi <= lo:
        raise RenderError(f"nothing to render: the end ({hi:g} s) is not after the start ({lo:g} s)")
    return lo, hi
