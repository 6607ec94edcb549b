"""Typed, read-only views over a parsed REAPER project."""

from bridge.project.fx import FxInfo
from bridge.project.items import Item, Source, Take
from bridge.project.markers import Marker
from bridge.project.media import ResolvedMedia, resolve_media
from bridge.project.midi import MidiEvent, MidiNote
from bridge.project.project import Project
from bridge.project.tempo import TempoMap, TempoPoint
from bridge.project.tracks import Track

__all__ = [
    "FxInfo",
    "Item",
    "Marker",
    "MidiEvent",
    "MidiNote",
    "Project",
    "ResolvedMedia",
    "Source",
    "Take",
    "TempoMap",
    "TempoPoint",
    "Track",
    "resolve_media",
]
