"""The one writer of REAPER state: operations turned into RPP chunk text.

Everything here returns text in the form REAPER itself writes (two-space
indentation, ``\\n`` line endings). The offline session splices it into the
``.RPP`` file (re-indented to fit); the live session sends the very same text
to REAPER with ``SetTrackStateChunk`` / ``SetItemStateChunk``.

Editor view state that REAPER fills in by itself when absent (MIDI editor
window geometry, track heights, colours) is left out.
"""

from __future__ import annotations

from pathlib import PurePath

from bridge import rpp
from bridge.changes.ops import (
    AddAudioItem,
    AddAudioTake,
    AddItemCopy,
    AddJsEffect,
    AddMidiItem,
    AddNotesItem,
    ChangeSetError,
    derived_guid,
)
from bridge.project.tempo import TempoMap
from bridge.rpp.tokens import format_number, format_tokens, quote
from bridge.rpp.tree import Chunk, Line, restyle

PPQ = 960
JS_SLIDER_SLOTS = 64
_SOURCE_TYPES = {
    ".wav": "WAVE", ".wave": "WAVE", ".w64": "WAVE", ".aif": "WAVE", ".aiff": "WAVE", ".bwf": "WAVE",
    ".mp3": "MP3", ".flac": "FLAC", ".ogg": "VORBIS", ".opus": "OPUS", ".wv": "WAVPACK",
    ".mid": "MIDI", ".midi": "MIDI",
}


def source_type_for(file: str) -> str:
    """REAPER's source type for a media file, from its extension (``WAVE`` if unknown)."""
    return _SOURCE_TYPES.get(PurePath(file).suffix.lower(), "WAVE")


def _lines(*rows: str, indent: int = 0) -> str:
    pad = "  " * indent
    return "".join(f"{pad}{row}\n" for row in rows)


def empty_project(sample_rate: int = 48000, bpm: float = 120.0, numerator: int = 4, denominator: int = 4,
                  record_path: str = "Media") -> str:
    """A new project with no tracks, as REAPER 7 writes one (editor state left out)."""
    return (
        '<REAPER_PROJECT 0.1 "7.0/reabridge" 0\n'
        + _lines(
            "RIPPLE 0 0",
            "GROUPOVERRIDE 0 0 0",
            "AUTOXFADE 129",
            "ENVATTACH 1",
            "POOLEDENVATTACH 0",
            "MIXERUIFLAGS 11 48",
            "PEAKGAIN 1",
            "FEEDBACK 0",
            "PANLAW 1",
            "PROJOFFS 0 0 0",
            "MAXPROJLEN 0 600",
            "GRID 3199 8 1 8 1 0 0 0",
            "TIMEMODE 1 5 -1 30 0 0 -1",
            "CURSOR 0",
            "ZOOM 100 0 0",
            "VZOOMEX 6 0",
            "USE_REC_CFG 0",
            "RECMODE 1",
            "LOOP 0",
            "LOOPGRAN 0 4",
            f"RECORD_PATH {quote(record_path)} \"\"",
            "RENDER_FILE \"\"",
            "RENDER_PATTERN \"\"",
            "RENDER_FMT 0 2 0",
            "RENDER_1X 0",
            "RENDER_RANGE 1 0 0 18 1000",
            "RENDER_RESAMPLE 3 0 1",
            "RENDER_ADDTOPROJ 0",
            "RENDER_STEMS 0",
            "RENDER_DITHER 0",
            "TIMELOCKMODE 1",
            "TEMPOENVLOCKMODE 1",
            "ITEMMIX 1",
            "DEFPITCHMODE 589824 0",
            "TAKELANE 1",
            f"SAMPLERATE {int(sample_rate)} 1 0",
            "LOCK 1",
            "GLOBAL_AUTO -1",
            f"TEMPO {format_number(bpm)} {int(numerator)} {int(denominator)} 0",
            "PLAYRATE 1 0 0.25 4",
            "SELECTION 0 0",
            "SELECTION2 0 0",
            "MASTERAUTOMODE 0",
            "MASTERTRACKHEIGHT 0 0",
            "MASTERPEAKCOL 16576",
            "MASTERMUTESOLO 0",
            "MASTERTRACKVIEW 0 0.6667 0.5 0.5 0 0 0 0 0 0 0 0 0 0",
            "MASTERHWOUT 0 0 1 0 0 0 0 -1",
            "MASTER_NCH 2 2",
            "MASTER_VOLUME 1 0 -1 -1 1",
            "MASTER_FX 1",
            "MASTER_SEL 0",
            indent=1,
        )
        + "  <PROJBAY\n  >\n>\n"
    )


def track_chunk(name: str, guid: str) -> str:
    """A new, empty track as REAPER 7 writes it."""
    return (
        f"<TRACK {guid}\n"
        + _lines(
            f"NAME {quote(name)}",
            "PEAKCOL 16576",
            "BEAT -1",
            "AUTOMODE 0",
            "PANLAWFLAGS 3",
            "VOLPAN 1 0 -1 -1 1",
            "MUTESOLO 0 0 0",
            "IPHASE 0",
            "PLAYOFFS 0 1",
            "ISBUS 0 0",
            "BUSCOMP 0 0 0 0 0",
            "SHOWINMIX 1 0.6667 0.5 1 0.5 0 0 0",
            "FIXEDLANES 9 0 0 0 0",
            "SEL 0",
            "REC 0 0 1 0 0 0 0 0",
            "VU 2",
            "TRACKHEIGHT 0 0 0 0 0 0 0",
            "INQ 0 0 0 0.5 100 0 0 100",
            "NCHAN 2",
            "FX 1",
            f"TRACKID {guid}",
            "PERF 0",
            "MIDIOUT -1",
            "MAINSEND 1 0",
            indent=1,
        )
        + ">\n"
    )


def _item_head(position: float, length: float, iguid: str, iid: int, name: str, soffs: float,
               take_guid: str, loop: int) -> str:
    return _lines(
        f"POSITION {format_number(position)}",
        "SNAPOFFS 0",
        f"LENGTH {format_number(length)}",
        f"LOOP {loop}",
        "ALLTAKES 0",
        "FADEIN 1 0 0 1 0 0 0",
        "FADEOUT 1 0 0 1 0 0 0",
        "MUTE 0 0",
        "SEL 0",
        f"IGUID {iguid}",
        f"IID {iid}",
        f"NAME {quote(name)}",
        "VOLPAN 1 0 1 -1",
        f"SOFFS {format_number(soffs)} 0",
        "PLAYRATE 1 1 0 -1 0 0.0025",
        "CHANMODE 0",
        f"GUID {take_guid}",
        indent=1,
    )


def file_source(file: str, indent: int = 0) -> str:
    """A ``<SOURCE`` chunk playing a media file."""
    return _lines(f"<SOURCE {source_type_for(file)}", indent=indent) + _lines(
        f"FILE {quote(file, always=True)}", indent=indent + 1
    ) + _lines(">", indent=indent)


def audio_item_chunk(op: AddAudioItem, file_value: str, iid: int) -> str:
    """An item playing ``file_value`` (the path as it should be stored)."""
    name = op.name or PurePath(op.file).name
    return (
        "<ITEM\n"
        + _item_head(op.position, op.length, op.guid, iid, name, op.source_offset, derived_guid(op.guid, "take"), 0)
        + file_source(file_value, indent=1)
        + ">\n"
    )


def audio_take_lines(op: AddAudioTake, file_value: str) -> str:
    """The lines of a take to append to an item chunk."""
    name = op.name or PurePath(op.file).name
    return (
        _lines(
            "TAKE SEL" if op.active else "TAKE",
            f"NAME {quote(name)}",
            "TAKEVOLPAN 0 1 -1",
            f"SOFFS {format_number(op.source_offset)} 0",
            f"PLAYRATE {format_number(op.playrate)} {int(op.preserve_pitch)} 0 -1 0 0.0025",
            "CHANMODE 0",
            f"GUID {op.guid}",
        )
        + file_source(file_value)
    )


def notes_chunk(notes: str) -> str:
    """Item notes as REAPER stores them: a ``<NOTES`` block, each line behind a ``|``."""
    rows = notes.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "<NOTES\n" + _lines(*(f"|{row}" for row in rows), indent=1) + ">\n"


def notes_item_chunk(op: AddNotesItem, iid: int) -> str:
    """An empty item (no take) carrying ``op.notes``, as REAPER writes one."""
    head = _lines(
        f"POSITION {format_number(op.position)}",
        "SNAPOFFS 0",
        f"LENGTH {format_number(op.length)}",
        "LOOP 0",
        "ALLTAKES 0",
        "FADEIN 1 0 0 1 0 0 0",
        "FADEOUT 1 0 0 1 0 0 0",
        "MUTE 0 0",
        "SEL 0",
        f"IGUID {op.guid}",
        f"IID {iid}",
        indent=1,
    )
    return "<ITEM\n" + head + "".join("  " + row + "\n" for row in notes_chunk(op.notes).splitlines()) + ">\n"


def take_marker_line(position: float, name: str, color: int = 0) -> str:
    """One take marker (``TKM srcpos name colour``)."""
    return format_tokens(["TKM", position, name, color]) + "\n"


def _take_sections(item: Chunk) -> list[list[Line | Chunk]]:
    """An item's children cut at its ``TAKE`` lines (the first section holds the item lines and first take)."""
    sections: list[list[Line | Chunk]] = [[]]
    for child in item.children:
        if isinstance(child, Line) and child.key == "TAKE":
            sections.append([])
        sections[-1].append(child)
    return sections


def _number(line: Line | None, index: int = 0, default: float = 0.0) -> float:
    try:
        return float(line.values[index]) if line is not None and len(line.values) > index else default
    except ValueError:
        return default


_HEAD = ("POSITION", "SNAPOFFS", "LENGTH", "LOOP", "ALLTAKES", "FADEIN", "FADEOUT", "MUTE", "SEL", "IGUID")


def _set_head(item: Chunk, key: str, *values: str) -> None:
    """Set an item-level line, adding a missing one among the item's first lines (never after a take)."""
    line = item.line(key)
    if line is not None:
        line.set(*values)
        return
    at = 0
    for i, child in enumerate(item.children):
        if isinstance(child, Line) and child.key in _HEAD:
            at = i + 1
        elif isinstance(child, Chunk) or (isinstance(child, Line) and child.key in ("TAKE", "NAME", "GUID")):
            break
    item.insert(at, Line.build(key, *values))


_TAKE_ENVELOPES = ("VOLENV", "PANENV", "MUTEENV", "PITCHENV")
_DROPPED = ("GROUP", "TMINFO", "TM")  # grouping with the original; transient guides REAPER recomputes


def item_copy_chunk(source: Chunk, op: AddItemCopy, iid: int) -> str:
    """A copy of the item chunk ``source`` playing its ``[offset, offset + length)`` at ``op.position``.

    Every take's start offset moves by ``offset`` times its play rate; take envelopes
    move with the item; fades are ``op.fade_in``/``op.fade_out``; the copy gets its own
    GUIDs and is not selected nor grouped with the original.

    Raises
    ------
    ChangeSetError
        The item has stretch markers (their source times cannot simply be moved).
    """
    copy = rpp.loads(rpp.dumps(source))
    restyle(copy, "", "\n")
    if any(isinstance(c, Line) and c.key == "SM" for c in copy.children):
        raise ChangeSetError(f"item {op.item} has stretch markers; reabridge cannot copy part of it")
    copy.children = [c for c in copy.children if not (isinstance(c, Line) and c.key in _DROPPED)]
    _set_head(copy, "POSITION", format_number(op.position))
    _set_head(copy, "LENGTH", format_number(op.length))
    for key, length in (("FADEIN", op.fade_in), ("FADEOUT", op.fade_out)):
        line = copy.line(key)
        shape = line.values[0] if line is not None and line.values else "1"
        rest = line.values[3:] if line is not None else ["1", "0", "0", "0"]
        _set_head(copy, key, shape, format_number(length), "0", *rest)
    _set_head(copy, "SEL", "0")
    _set_head(copy, "IGUID", op.guid)
    if copy.line("IID") is not None:
        copy.set("IID", str(iid))
    for number, section in enumerate(_take_sections(copy)):
        lines = {n.key: n for n in section if isinstance(n, Line)}
        rate = _number(lines.get("PLAYRATE"), default=1.0) or 1.0
        soffs = lines.get("SOFFS")
        if soffs is not None:
            soffs.set(format_number(_number(soffs) + op.offset * rate), *soffs.values[1:])
        if "GUID" in lines:
            lines["GUID"].set(derived_guid(op.guid, "take", number))
        if number == 0 and op.name and "NAME" in lines:
            lines["NAME"].set(op.name)
        for env in (n for n in section if isinstance(n, Chunk) and n.tag in _TAKE_ENVELOPES):
            for point in env.lines("PT"):
                point.set(format_number(_number(point) - op.offset), *point.values[1:])
            if env.line("EGUID") is not None:
                env.set("EGUID", derived_guid(op.guid, env.tag, number))
    return rpp.dumps(copy)


def _tick(tempo: TempoMap, item_qn: float, item_pos: float, seconds: float) -> int:
    return round((tempo.qn_at(item_pos + seconds) - item_qn) * PPQ)


def midi_events(op: AddMidiItem, tempo: TempoMap) -> list[tuple[int, bytes]]:
    """Absolute-tick events for a MIDI item, sorted as REAPER stores them.

    At the same tick, note-offs come first, then CCs and pitch bends, then
    note-ons, so repeated notes on one pitch stay separate.
    """
    item_qn = tempo.qn_at(op.position)
    keyed: list[tuple[int, int, int, bytes]] = []
    for seq, n in enumerate(op.notes):
        on = _tick(tempo, item_qn, op.position, n.start)
        off = max(_tick(tempo, item_qn, op.position, n.end), on + 1)
        keyed.append((on, 3, seq, bytes((0x90 | n.channel, n.pitch, n.velocity))))
        keyed.append((off, 0, seq, bytes((0x80 | n.channel, n.pitch, 0))))
    for seq, cc in enumerate(op.ccs):
        keyed.append((_tick(tempo, item_qn, op.position, cc.time), 1, seq,
                      bytes((0xB0 | cc.channel, cc.controller, cc.value))))
    for seq, pb in enumerate(op.pitch_bends):
        value = pb.value + 8192
        keyed.append((_tick(tempo, item_qn, op.position, pb.time), 2, seq,
                      bytes((0xE0 | pb.channel, value & 0x7F, value >> 7))))
    keyed.sort(key=lambda e: (e[0], e[1], e[2]))
    return [(tick, data) for tick, _, _, data in keyed]


def midi_item_chunk(op: AddMidiItem, tempo: TempoMap, iid: int) -> str:
    """A MIDI item with its events in REAPER's delta-tick form.

    The source ends with an all-notes-off (``b0 7b 00``) at the item's end,
    which is how REAPER marks the length of a MIDI source.
    """
    events = midi_events(op, tempo)
    end_tick = round((tempo.qn_at(op.position + op.length) - tempo.qn_at(op.position)) * PPQ)
    end_tick = max([end_tick] + [t for t, _ in events])
    body = [f"HASDATA 1 {PPQ} QN", "CCINTERP 32", f"POOLEDEVTS {derived_guid(op.guid, 'pool')}"]
    prev = 0
    for tick, data in events:
        body.append(f"E {tick - prev} " + " ".join(f"{b:02x}" for b in data))
        prev = tick
    body.append(f"E {end_tick - prev} b0 7b 00")
    body += [
        "CCINTERP 32",
        "CHASE_CC_TAKEOFFS 1",
        f"GUID {derived_guid(op.guid, 'source')}",
        "IGNTEMPO 0 120 4 4",
        "VELLANE -1 100 0",
        "KEYSNAP 0",
        "TRACKSEL 0",
        "EVTFILTER 0 -1 -1 -1 -1 0 0 0 0 -1 -1 -1 -1 0 -1 0 -1 -1",
    ]
    name = op.name or "MIDI"
    return (
        "<ITEM\n"
        + _item_head(op.position, op.length, op.guid, iid, name, 0.0, derived_guid(op.guid, "take"), 0)
        + _lines("<SOURCE MIDI", indent=1)
        + _lines(*body, indent=2)
        + _lines(">", indent=1)
        + ">\n"
    )


def js_effect_lines(op: AddJsEffect) -> str:
    """The lines of one JS effect inside an FX chain (bypass flag, block, FXID)."""
    slots = max([JS_SLIDER_SLOTS, *op.sliders])
    values = ["-"] * slots
    for number, value in op.sliders.items():
        values[number - 1] = format_number(float(value))
    return (
        _lines(f"BYPASS {int(op.bypass)} 0 0", f"<JS {quote(op.path)} {quote(op.name)}")
        + _lines(" ".join(values), indent=1)
        + _lines(">", "FLOATPOS 0 0 0 0", f"FXID {op.guid}", "WAK 0 0")
    )


def fx_chain_chunk(tag: str = "FXCHAIN") -> str:
    """An empty FX chain (``FXCHAIN`` on tracks, ``MASTERFXLIST`` on the master)."""
    return f"<{tag}\n" + _lines("SHOW 0", "LASTSEL 0", "DOCKED 0", indent=1) + ">\n"


def marker_lines(number: int, position: float, name: str, guid: str, end: float | None, color: int) -> str:
    """One ``MARKER`` line, or the two lines of a region."""
    flags = 1 if end is not None else 0
    first = format_tokens(["MARKER", number, position, name, flags, color, 1, "R", guid, 0])
    if end is None:
        return first + "\n"
    return first + "\n" + format_tokens(["MARKER", number, end, "", 1]) + "\n"


def tempo_envelope_chunk() -> str:
    """An empty tempo envelope (``<TEMPOENVEX``), active and visible."""
    return "<TEMPOENVEX\n" + _lines("ACT 1 -1", "VIS 1 0 1", "LANEHEIGHT 0 0", "ARM 0", "DEFSHAPE 1 -1 -1",
                                    indent=1) + ">\n"


__all__ = [
    "PPQ",
    "audio_item_chunk",
    "audio_take_lines",
    "empty_project",
    "file_source",
    "fx_chain_chunk",
    "item_copy_chunk",
    "js_effect_lines",
    "marker_lines",
    "midi_events",
    "midi_item_chunk",
    "notes_chunk",
    "notes_item_chunk",
    "source_type_for",
    "take_marker_line",
    "tempo_envelope_chunk",
    "track_chunk",
]
