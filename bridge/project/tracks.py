"""Tracks (``<TRACK`` chunks)."""

from __future__ import annotations

from pathlib import Path

from bridge.project.fx import FxInfo, read_fx_chain
from bridge.project.items import Item, _float
from bridge.rpp.tree import Chunk


class Track:
    """A track of a project.

    Attributes
    ----------
    chunk : Chunk
        The ``<TRACK`` chunk itself (edits go through :mod:`bridge.changes`).
    index : int
        0-based position among the project's tracks.
    depth : int
        Folder depth: 0 at top level, 1 inside one folder, ...
    """

    def __init__(self, chunk: Chunk, index: int, depth: int, project_dir: Path | None,
                 record_paths: tuple[str, ...]) -> None:
        self.chunk = chunk
        self.index = index
        self.depth = depth
        self._dir = project_dir
        self._records = record_paths

    @property
    def name(self) -> str:
        """The track name (``""`` when unnamed)."""
        v = self.chunk.values("NAME")
        return v[0] if v else ""

    @property
    def display_name(self) -> str:
        """The name REAPER shows: the name, or ``Track N`` when unnamed."""
        return self.name or f"Track {self.index + 1}"

    @property
    def guid(self) -> str:
        """The track GUID (``TRACKID``, or the GUID on the ``<TRACK`` line)."""
        v = self.chunk.values("TRACKID")
        if v:
            return v[0]
        return self.chunk.params[0] if self.chunk.params else ""

    @property
    def volume(self) -> float:
        """Fader volume as a linear factor."""
        return _float(self.chunk.values("VOLPAN"), 0, 1.0)

    @property
    def pan(self) -> float:
        """Pan, -1 (left) to 1 (right)."""
        return _float(self.chunk.values("VOLPAN"), 1, 0.0)

    @property
    def mute(self) -> bool:
        """Whether the track is muted."""
        v = self.chunk.values("MUTESOLO")
        return bool(v) and v[0] == "1"

    @property
    def solo(self) -> bool:
        """Whether the track is soloed (any solo mode)."""
        v = self.chunk.values("MUTESOLO")
        return bool(v) and len(v) > 1 and v[1] not in ("0", "")

    @property
    def folder_delta(self) -> int:
        """Change of folder depth after this track (+1 opens a folder, -n closes n)."""
        v = self.chunk.values("ISBUS")
        if not v or len(v) < 2 or v[0] == "0":
            return 0
        try:
            return int(float(v[1]))
        except (ValueError, OverflowError):
            return 0

    @property
    def is_folder(self) -> bool:
        """Whether this track is a folder parent."""
        return self.folder_delta > 0

    @property
    def fx(self) -> list[FxInfo]:
        """The track's effects, in chain order."""
        return read_fx_chain(self.chunk.chunk("FXCHAIN"))

    @property
    def items(self) -> list[Item]:
        """The track's media items, in file order."""
        return [Item(c, self._dir, self._records) for c in self.chunk.chunks("ITEM")]

    def to_dict(self) -> dict[str, object]:
        """Plain data for JSON."""
        items = self.items
        return {
            "index": self.index,
            "name": self.name,
            "guid": self.guid,
            "depth": self.depth,
            "folder": self.is_folder,
            "volume": self.volume,
            "pan": self.pan,
            "mute": self.mute,
            "solo": self.solo,
            "fx": [f.to_dict() for f in self.fx],
            "item_count": len(items),
            "items": [i.to_dict() for i in items],
        }
