"""What reabridge records in a project: applied ChangeSet ids and the project's identity.

Both live in the project's extended state, section ``REABRIDGE`` (the place
REAPER's ``SetProjExtState`` writes to, so a running REAPER and the file agree)::

    <EXTSTATE
      <REABRIDGE
        project_id {8C1D...}
        applied.transcribe-3f2a 2026-11-26T10:00:00Z
      >
    >
"""

from __future__ import annotations

from bridge import rpp
from bridge.rpp.tree import Chunk, Line

EXTSTATE_SECTION = "REABRIDGE"
APPLIED_PREFIX = "applied."
PROJECT_ID_KEY = "project_id"


def reabridge_section(root: Chunk, create: bool) -> Chunk | None:
    """The ``<REABRIDGE`` section of the project's ext state (made when ``create``)."""
    ext = root.chunk("EXTSTATE")
    if ext is None:
        if not create:
            return None
        ext = rpp.loads("<EXTSTATE\n>\n")
        root.append(ext)
    section = next((c for c in ext.chunks() if c.tag.upper() == EXTSTATE_SECTION), None)
    if section is None and create:
        section = rpp.loads(f"<{EXTSTATE_SECTION}\n>\n")
        ext.append(section)
    return section


def applied_ids(root: Chunk) -> set[str]:
    """Ids of the ChangeSets already applied to this project."""
    section = reabridge_section(root, create=False)
    if section is None:
        return set()
    return {line.key[len(APPLIED_PREFIX):] for line in section.lines() if line.key.startswith(APPLIED_PREFIX)}


def record_applied(root: Chunk, change_id: str, stamp: str) -> None:
    """Note that ChangeSet ``change_id`` (made at ``stamp``) is applied."""
    section = reabridge_section(root, create=True)
    assert section is not None
    section.append(Line.build(APPLIED_PREFIX + change_id, stamp))


def project_id(root: Chunk) -> str | None:
    """The project's reabridge identity (a GUID), when one was recorded."""
    section = reabridge_section(root, create=False)
    if section is None:
        return None
    line = section.line(PROJECT_ID_KEY)
    return line.values[0] if line is not None and line.values else None


def set_project_id(root: Chunk, guid: str) -> None:
    """Record the project's reabridge identity (what REAPER's actions do with ``SetProjExtState``)."""
    section = reabridge_section(root, create=True)
    assert section is not None
    line = section.line(PROJECT_ID_KEY)
    if line is None:
        section.insert(0, Line.build(PROJECT_ID_KEY, guid))
    else:
        line.set(guid)
