"""The read side of a REAPER project: typed views over a parsed ``.RPP``."""

from __future__ import annotations

import os
from pathlib import Path

from bridge import rpp
from bridge.project.fx import FxInfo, read_fx_chain
from bridge.project.items import Item, _float
from bridge.project.markers import Marker, read_markers
from bridge.project.tempo import TempoMap, TempoPoint, unpack_timesig
from bridge.project.tracks import Track
from bridge.rpp.errors import RppError
from bridge.rpp.tree import Chunk


class Project:
    """A REAPER project read from a ``.RPP`` file or text.

    Parameters
    ----------
    root : Chunk
        The parsed ``<REAPER_PROJECT`` chunk.
    path : Path, optional
        Where the file lives; media paths are resolved against its folder.

    Examples
    --------
    >>> project = Project.load("song.RPP")            # doctest: +SKIP
    >>> [t.name for t in project.tracks]              # doctest: +SKIP
    ['Drums', 'Bass', 'Gtr DI']
    """

    def __init__(self, root: Chunk, path: Path | None = None) -> None:
        if root.tag != "REAPER_PROJECT":
            raise RppError(f"this is a <{root.tag} block, not a REAPER project (<REAPER_PROJECT)", line=1)
        self.root = root
        self.path = Path(path).absolute() if path is not None else None

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Project:
        """Read a project file."""
        return cls(rpp.load(path), Path(path))

    @classmethod
    def loads(cls, text: str, path: Path | None = None) -> Project:
        """Parse project text."""
        return cls(rpp.loads(text), path)

    # -- project-wide -----------------------------------------------------------------
    @property
    def directory(self) -> Path | None:
        """The project folder (None for a project not on disk)."""
        return self.path.parent if self.path is not None else None

    @property
    def version(self) -> str:
        """The REAPER version that saved the project, e.g. ``7.16/win64``."""
        p = self.root.params
        return p[1] if len(p) > 1 else ""

    @property
    def sample_rate(self) -> int | None:
        """Project sample rate in Hz when the project sets one (``SAMPLERATE``)."""
        v = self.root.values("SAMPLERATE")
        rate = int(_float(v, 0, 0.0))
        return rate or None

    @property
    def record_paths(self) -> tuple[str, ...]:
        """The recording folders (``RECORD_PATH``), primary first."""
        v = self.root.values("RECORD_PATH") or []
        return tuple(x for x in v if x)

    @property
    def tempo_map(self) -> TempoMap:
        """Base tempo, time signature and the tempo envelope's points."""
        v = self.root.values("TEMPO") or []
        bpm = _float(v, 0, 120.0) or 120.0
        num = int(_float(v, 1, 4.0)) or 4
        den = int(_float(v, 2, 4.0)) or 4
        points: list[TempoPoint] = []
        env = self.root.chunk("TEMPOENVEX")
        if env is not None:
            for line in env.lines("PT"):
                pv = line.values
                t, b = _float(pv, 0, -1.0), _float(pv, 1, 0.0)
                if t < 0 or b <= 0:
                    continue
                shape = int(_float(pv, 2, 1.0))
                sig = unpack_timesig(int(_float(pv, 3, 0.0)))
                points.append(TempoPoint(t, b, shape == 0, *(sig or (None, None))))
        return TempoMap(bpm, num, den, tuple(points))

    @property
    def markers(self) -> list[Marker]:
        """Markers and regions."""
        return read_markers(self.root)

    @property
    def master_fx(self) -> list[FxInfo]:
        """Effects on the master track."""
        return read_fx_chain(self.root.chunk("MASTERFXLIST"))

    # -- tracks and items -------------------------------------------------------------
    @property
    def tracks(self) -> list[Track]:
        """All tracks in file order, with folder depth."""
        out: list[Track] = []
        depth = 0
        for i, chunk in enumerate(self.root.chunks("TRACK")):
            track = Track(chunk, i, max(depth, 0), self.directory, self.record_paths)
            out.append(track)
            depth += track.folder_delta
        return out

    def items(self) -> list[tuple[Track, Item]]:
        """Every item with the track holding it, in file order."""
        return [(t, i) for t in self.tracks for i in t.items]

    def selected_items(self) -> list[tuple[Track, Item]]:
        """The items selected in REAPER when the project was saved."""
        return [(t, i) for t, i in self.items() if i.selected]

    def find_item(self, guid: str) -> tuple[Track, Item]:
        """The item with this GUID (braces and case do not matter).

        Raises
        ------
        KeyError
            No item has this GUID.
        """
        want = norm_guid(guid)
        for t, i in self.items():
            if norm_guid(i.guid) == want:
                return t, i
        raise KeyError(f"no item with GUID {guid} in this project")

    def find_track(self, ref: str | int) -> Track:
        """A track by GUID, 0-based index, or exact name.

        Raises
        ------
        KeyError
            No such track.
        """
        tracks = self.tracks
        if isinstance(ref, int):
            if 0 <= ref < len(tracks):
                return tracks[ref]
            raise KeyError(f"there is no track number {ref + 1} (the project has {len(tracks)} tracks)")
        want = norm_guid(ref)
        for t in tracks:
            if norm_guid(t.guid) == want:
                return t
        for t in tracks:
            if t.name == ref:
                return t
        raise KeyError(f"no track named or with GUID {ref!r}")

    # -- summary -----------------------------------------------------------------
    def summary(self) -> dict[str, object]:
        """Everything ``reabridge project info`` shows, as plain data."""
        tm = self.tempo_map
        tracks = [t.to_dict() for t in self.tracks]
        missing = sorted({
            take["file"] for t in tracks for item in t["items"] for take in item["takes"]
            if take["missing"] and take["file"]
        })
        return {
            "path": str(self.path) if self.path is not None else None,
            "reaper_version": self.version,
            "sample_rate": self.sample_rate,
            "tempo": {"bpm": tm.bpm, "numerator": tm.numerator, "denominator": tm.denominator,
                      "points": [{"time": p.time, "bpm": p.bpm, "linear": p.linear,
                                  "numerator": p.numerator, "denominator": p.denominator}
                                 for p in tm.points]},
            "master_fx": [f.to_dict() for f in self.master_fx],
            "markers": [m.to_dict() for m in self.markers],
            "missing_media": missing,
            "tracks": tracks,
        }


def norm_guid(guid: str) -> str:
    """A GUID in one spelling for comparisons (braces and case do not matter)."""
    return guid.strip().strip("{}").upper()
