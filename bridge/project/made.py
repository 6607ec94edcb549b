"""What reabridge made in a project, so a job run again replaces its own earlier result.

Each thing a job adds (a MIDI item, a take, a marker, an effect, a track) is
recorded in the project's ``REABRIDGE`` ext state, keyed by its GUID::

    made.{GUID} "<job> <source item GUID> <source take GUID or -> <key>"

``key`` tells results of the same job apart (the capture for amp renders, the
preset for masters, ``bars``/``beats`` for markers). With these records:

- transcribing an item again replaces its MIDI item (on the same MIDI track);
- writing bar markers again replaces the markers made from that item;
- rendering an item through the same capture (or mastering with the same
  preset) again replaces that take, and always starts from the take the job
  was first asked to process, never from its own earlier render;
- a chain put on the master track again replaces the chain of that preset.

Records of things the user has since deleted are simply dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, unquote

from bridge.changes.extstate import reabridge_section
from bridge.changes.ops import SetExtState
from bridge.project.items import Item, Take
from bridge.project.project import Project, norm_guid

PREFIX = "made."


@dataclass(frozen=True)
class Made:
    """One thing reabridge made: its GUID, the job, what it was made from, and the job's key."""

    guid: str
    job: str
    item: str
    take: str | None = None
    key: str = ""

    def record(self) -> SetExtState:
        """The operation that records it."""
        value = " ".join((self.job, self.item, self.take or "-", quote(self.key, safe="") or "-"))
        return SetExtState(PREFIX + self.guid, value)

    def forget(self) -> SetExtState:
        """The operation that removes the record."""
        return SetExtState(PREFIX + self.guid, "")

    def same_source(self, job: str, item: str, key: str = "") -> bool:
        """Whether this was made by ``job`` from ``item`` with ``key``."""
        return self.job == job and norm_guid(self.item) == norm_guid(item) and self.key == key


def made_records(project: Project) -> list[Made]:
    """Everything the project's records say reabridge made."""
    section = reabridge_section(project.root, create=False)
    if section is None:
        return []
    found = []
    for line in section.lines():
        if not line.key.startswith(PREFIX) or not line.values:
            continue
        parts = line.values[0].split(" ")
        if len(parts) != 4:
            continue
        job, item, take, key = parts
        found.append(Made(line.key[len(PREFIX):], job, item, None if take == "-" else take,
                          "" if key == "-" else unquote(key)))
    return found


def by_guid(records: list[Made]) -> dict[str, Made]:
    """Records keyed by the normalised GUID of what was made."""
    return {norm_guid(m.guid): m for m in records}


def source_take(item: Item, job: str, records: list[Made]) -> tuple[Take | None, str | None]:
    """The take ``job`` should process on ``item``, and a note when it is not the obvious one.

    When the active take is one ``job`` made itself, the job works from the take
    that render came from (an amp render is never fed through the amp again).
    """
    active = item.active_take
    if active is None:
        return None, None
    made = by_guid(records).get(norm_guid(active.guid))
    if made is None or made.job != job or made.take is None:
        return active, None
    origin = next((t for t in item.takes if norm_guid(t.guid) == norm_guid(made.take)), None)
    if origin is None:
        return active, f"the take the active render was made from is gone; '{active.name}' itself was used"
    return origin, None
