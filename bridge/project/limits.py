"""The numbers REAPER bounds, checked where a project is read for its audio.

A project REAPER saved never holds a play rate of 1e9, an item at 1e12 s or a track
of 100,000 channels; a file that does is damaged or was crafted, and mixing it as if
it were a song would exhaust the machine (memory, disk, threads). Every reader of
items' audio (render, transcribe, amp, master, tempo) and the render's track and
project readers call these checks, and a value outside its range stops the job with
one line naming the item or track, the field and the range.

A field that is absent or not a number keeps its default, as before; a value that
is a number but outside the range, or not finite, is refused. Where each bound comes
from is listed in ``bridge/render/README.md``.
"""

from __future__ import annotations

import math

from bridge.errors import ReabridgeError
from bridge.project.items import Item
from bridge.rpp.tree import Chunk, Line

#: A take's play rate (``PLAYRATE``, ReaScript ``D_PLAYRATE``): the 0.01..100 range SWS documents for its
#: preview object's ``D_PLAYRATE`` (REAPER's own dialog range is not published)
MIN_PLAYRATE = 0.01
MAX_PLAYRATE = 100.0
#: Track and master channel counts (``NCHAN``, ``MASTER_NCH``; ReaScript ``I_NCHAN``: "2-128", REAPER 7)
MIN_CHANNELS = 2
MAX_CHANNELS = 128
#: Positions, lengths and source offsets, in seconds: REAPER documents no bound; reabridge's, the same as
#: the render request's ``start``/``end`` (about 11.6 days)
MAX_SECONDS = 1_000_000.0
#: The project sample rate (``SAMPLERATE``): the range ``--sample-rate`` accepts (0 means "not set")
MIN_SAMPLE_RATE = 8000
MAX_SAMPLE_RATE = 384000


class ProjectLimitError(ReabridgeError):
    """A number in the project is outside the range REAPER allows (the file is damaged or crafted)."""


def _number(values: list[str] | None, index: int = 0) -> float | None:
    """The number at ``values[index]`` (inf and NaN included), or None when absent or not a number."""
    if not values or len(values) <= index:
        return None
    try:
        return float(values[index])
    except ValueError:
        return None


def _shown(value: float) -> str:
    if not math.isfinite(value):
        return str(value)
    return str(int(value)) if value == int(value) and abs(value) < 1e7 else f"{value:g}"


def check_range(where: str, field: str, value: float | None, low: float, high: float, unit: str = "",
                reaper: bool = True) -> None:
    """Refuse ``value`` (read from ``field`` of ``where``) outside ``[low, high]`` or not finite.

    ``reaper`` says whose bound it is: REAPER's own, or reabridge's where REAPER documents none.

    Raises
    ------
    ProjectLimitError
        Naming ``where``, the field, the value and the range.
    """
    if value is None or (math.isfinite(value) and low <= value <= high):
        return
    whose = "REAPER allows" if reaper else "reabridge reads (REAPER documents none)"
    raise ProjectLimitError(f"{where}: {field} {_shown(value)}{unit} is outside the range {whose}: "
                            f"{_shown(low)} to {_shown(high)}{unit}; the project is damaged or was not saved by "
                            "REAPER")


def _take_lines(item: Item) -> list[tuple[str, list[str]]]:
    """``(key, values)`` of every take line of the item (all takes, not only the active one)."""
    return [(n.key, n.values) for take in item.takes for n in take.nodes if isinstance(n, Line)]


def _sections(item: Item) -> list[Chunk]:
    found: list[Chunk] = []
    for take in item.takes:
        source = take.source
        chunk = source.chunk if source is not None else None
        while chunk is not None and chunk.params[:1] == ["SECTION"]:
            found.append(chunk)
            chunk = chunk.chunk("SOURCE")
    return found


def check_item(item: Item, where: str) -> None:
    """Check the item's position and length, and each take's play rate and start offset.

    Raises
    ------
    ProjectLimitError
    """
    seconds = (-MAX_SECONDS, MAX_SECONDS, " s", False)
    check_range(where, "POSITION", _number(item.chunk.values("POSITION")), *seconds)
    check_range(where, "LENGTH", _number(item.chunk.values("LENGTH")), 0.0, MAX_SECONDS, " s", False)
    for key, values in _take_lines(item):
        if key == "PLAYRATE":
            check_range(where, "PLAYRATE", _number(values), MIN_PLAYRATE, MAX_PLAYRATE)
        elif key == "SOFFS":
            check_range(where, "SOFFS (take start offset)", _number(values), *seconds)
    for section in _sections(item):
        check_range(where, "STARTPOS (section start)", _number(section.values("STARTPOS")), *seconds)
        check_range(where, "LENGTH (section length)", _number(section.values("LENGTH")), *seconds)


def channel_count(values: list[str] | None, where: str, field: str) -> int:
    """A track's or the master's channel count (``NCHAN``, ``MASTER_NCH``); 2 when absent.

    Raises
    ------
    ProjectLimitError
        Outside REAPER's 2 to 128.
    """
    value = _number(values)
    check_range(where, field, value, MIN_CHANNELS, MAX_CHANNELS)
    return 2 if value is None else int(value)


def send_offset(values: list[str] | None, where: str) -> int:
    """The channel a track's send to its parent lands on (``MAINSEND on offset``); 0 when absent.

    Raises
    ------
    ProjectLimitError
        Below 0 or past the last channel REAPER has (127).
    """
    value = _number(values, 1)
    check_range(where, "MAINSEND channel offset", value, 0, MAX_CHANNELS - 1)
    return 0 if value is None else int(value)


def sample_rate(values: list[str] | None) -> int | None:
    """The project sample rate (``SAMPLERATE``), or None when it is not set (absent or 0).

    Raises
    ------
    ProjectLimitError
    """
    value = _number(values)
    if value is None or value == 0:
        return None
    check_range("the project", "SAMPLERATE", value, MIN_SAMPLE_RATE, MAX_SAMPLE_RATE, " Hz", False)
    return int(value)


__all__ = [
    "MAX_CHANNELS",
    "MAX_PLAYRATE",
    "MAX_SAMPLE_RATE",
    "MAX_SECONDS",
    "MIN_CHANNELS",
    "MIN_PLAYRATE",
    "MIN_SAMPLE_RATE",
    "ProjectLimitError",
    "channel_count",
    "check_item",
    "check_range",
    "sample_rate",
    "send_offset",
]
