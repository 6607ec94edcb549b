"""Where words occur in the transcripts reabridge wrote into a project.

The speech job records everything it adds (``made.{GUID}`` records, see
:mod:`bridge.project.made`): regions and markers by their GUID, notes items by
theirs, take markers by their item, take, source position and name. This module
reads those records back, finds each entry as it is now in the project (a
region the user renamed is searched under its new name; one the user deleted is
gone), and matches the text case-insensitively, ignoring punctuation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from bridge.project.made import made_records
from bridge.project.project import Project, norm_guid

JOB = "speech"
_LABEL = re.compile(r"^(S\d+): (.*)$", re.S)


@dataclass(frozen=True)
class Hit:
    """One transcript entry that holds the words searched for.

    Attributes
    ----------
    time : float
        Project seconds where the entry starts.
    end : float or None
        Where it ends (regions and notes items), None for markers.
    item : str
        The transcribed item's GUID.
    where : str
        The item as messages name it.
    speaker : str or None
    text : str
    kind : str
        ``regions``, ``markers``, ``take-markers`` or ``notes``.
    """

    time: float
    end: float | None
    item: str
    where: str
    speaker: str | None
    text: str
    kind: str

    def to_dict(self) -> dict[str, Any]:
        """Plain data (``--json``)."""
        return {"time": round(self.time, 3), "end": None if self.end is None else round(self.end, 3),
                "item": self.item, "where": self.where, "speaker": self.speaker, "text": self.text, "kind": self.kind}


def _words(text: str) -> str:
    return " ".join(re.findall(r"[\w']+", text.lower()))


def _split(label: str) -> tuple[str | None, str]:
    m = _LABEL.match(label)
    return (m.group(1), m.group(2)) if m else (None, label)


def _markers(project: Project) -> dict[str, tuple[float, float | None, str]]:
    """Markers and regions by GUID: ``(position, end or None, name)``."""
    out: dict[str, tuple[float, float | None, str]] = {}
    lines = list(project.root.lines("MARKER"))
    for i, line in enumerate(lines):
        v = line.values
        if len(v) < 8:
            continue
        try:
            position = float(v[1])
            flags = int(float(v[3]))
        except ValueError:
            continue
        end = None
        if flags & 1 and i + 1 < len(lines) and lines[i + 1].values[:1] == v[:1]:
            try:
                end = float(lines[i + 1].values[1])
            except (ValueError, IndexError):
                end = None
        out[norm_guid(v[7])] = (position, end, v[2])
    return out


def transcript_entries(project: Project) -> list[Hit]:
    """Every transcript entry reabridge made that is still in the project, in time order."""
    items = {norm_guid(item.guid): (track, item) for track, item in project.items()}
    markers = _markers(project)
    found = []
    for made in made_records(project):
        if made.job != JOB:
            continue
        source = items.get(norm_guid(made.item))
        from bridge.audio.item_audio import describe

        where = describe(*source) if source else f"item {made.item} (no longer in the project)"
        if made.key in ("regions", "markers"):
            marker = markers.get(norm_guid(made.guid))
            if marker is None:
                continue
            speaker, text = _split(marker[2])
            found.append(Hit(marker[0], marker[1], made.item, where, speaker, text, made.key))
        elif made.key == "notes":
            entry = items.get(norm_guid(made.guid))
            if entry is None:
                continue
            speaker, text = _split(entry[1].notes)
            found.append(Hit(entry[1].position, entry[1].position + entry[1].length, made.item, where, speaker, text,
                             "notes"))
        elif made.key.startswith("take-marker ") and source is not None:
            _, position, name = made.key.split(" ", 2)
            name, srcpos = unquote(name), float(position)
            take = next((t for t in source[1].takes if made.take and norm_guid(t.guid) == norm_guid(made.take)), None)
            if take is None or not any(abs(p - srcpos) < 1e-6 and n == name for p, n in take.markers):
                continue
            speaker, text = _split(name)
            time = source[1].position + (srcpos - take.start_offset) / (take.playrate or 1.0)
            found.append(Hit(time, None, made.item, where, speaker, text, "take-markers"))
    return sorted(found, key=lambda h: (h.time, h.item))


def find(project: Project, words: str) -> list[Hit]:
    """The transcript entries holding ``words`` (case and punctuation ignored), in time order."""
    want = _words(words)
    if not want:
        return []
    return [h for h in transcript_entries(project) if f" {want} " in f" {_words(h.text)} "]
