"""ChangeSets (what a job wants done) and the writer that turns them into RPP text."""

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
    derived_guid,
    new_guid,
)
from bridge.changes.splice import applied_ids, apply_changeset
from bridge.changes.text import OpText, changeset_text

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
    "OpText",
    "PitchBend",
    "SetTempo",
    "TempoChange",
    "applied_ids",
    "apply_changeset",
    "changeset_text",
    "derived_guid",
    "new_guid",
]
