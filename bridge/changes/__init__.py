"""ChangeSets (what a job wants done) and the writer that turns them into RPP text."""

from bridge.changes.apply import applied_ids, apply_changeset
from bridge.changes.ops import (
    AddAudioItem,
    AddAudioTake,
    AddJsEffect,
    AddMarker,
    AddMidiItem,
    AddTrack,
    ChangeSet,
    ChangeSetError,
    ControlChange,
    Note,
    Op,
    PitchBend,
    SetTempo,
    TempoChange,
    new_guid,
)

__all__ = [
    "AddAudioItem",
    "AddAudioTake",
    "AddJsEffect",
    "AddMarker",
    "AddMidiItem",
    "AddTrack",
    "ChangeSet",
    "ChangeSetError",
    "ControlChange",
    "Note",
    "Op",
    "PitchBend",
    "SetTempo",
    "TempoChange",
    "applied_ids",
    "apply_changeset",
    "new_guid",
]
