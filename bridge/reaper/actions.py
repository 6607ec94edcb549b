"""The actions reabridge adds to REAPER: one Lua script each (``reaper_scripts/``), a data table.

Each action has a stable command id -- ``_RS`` followed by 40 hexadecimal digits,
the form REAPER gives scripts -- derived from its file name, so a shortcut or a
toolbar button made for it keeps working across re-installs and machines.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from bridge.assets import reaper_scripts_dir

#: keyboard modifier bits in reaper-kb.ini ``KEY`` lines (1: a virtual-key code follows)
VIRTKEY, SHIFT, CTRL, ALT = 1, 4, 8, 16
#: what ``--shortcuts`` binds: Ctrl+Alt+Shift with a letter (REAPER's default key map leaves
#: these free; one already bound in the user's key map is left alone)
SHORTCUT_MODS = VIRTKEY | SHIFT | CTRL | ALT
LIBRARY = "reabridge_lib.lua"
SERVER = "reabridge_server.py"


@dataclass(frozen=True)
class Action:
    """One REAPER action.

    Attributes
    ----------
    file : str
        The script's file name in ``reaper_scripts/``.
    title : str
        What the Actions list shows after "reabridge: ".
    key : str or None
        The letter ``--shortcuts`` binds with Ctrl+Alt+Shift.
    """

    file: str
    title: str
    key: str | None = None

    @property
    def command_id(self) -> str:
        """``RS`` + 40 hex digits, as in reaper-kb.ini (``_RS...`` for NamedCommandLookup)."""
        return "RS" + hashlib.sha1(f"reabridge:{self.file}".encode()).hexdigest()

    @property
    def description(self) -> str:
        """The Actions list entry."""
        return f"reabridge: {self.title}"

    @property
    def shortcut(self) -> str | None:
        """The shortcut as REAPER names it (Ctrl+Alt+Shift+T)."""
        return f"Ctrl+Alt+Shift+{self.key}" if self.key else None


ACTIONS: tuple[Action, ...] = (
    Action("reabridge_Transcribe selected items to MIDI.lua", "Transcribe selected items to MIDI", "T"),
    Action("reabridge_Render selected items through amp capture.lua",
           "Render selected items through amp capture...", "A"),
    Action("reabridge_Create amp capture from selected DI and re-amp items.lua",
           "Create amp capture from selected DI and re-amp items"),
    Action("reabridge_Master selected item.lua", "Master selected item...", "M"),
    Action("reabridge_Insert mastering chain JSFX on master.lua", "Insert mastering chain JSFX on master"),
    Action("reabridge_Detect tempo from selected item and write tempo map.lua",
           "Detect tempo from selected item and write tempo map", "B"),
    Action("reabridge_Show reabridge jobs.lua", "Show reabridge jobs", "J"),
    Action("reabridge_Start or stop reabridge daemon.lua", "Start/stop reabridge daemon"),
    Action("reabridge_Split selected item by speaker.lua", "Split selected item by speaker"),
    Action("reabridge_Transcribe speech in selected items.lua", "Transcribe speech in selected items..."),
    Action("reabridge_Find in transcript.lua", "Find in transcript..."),
    Action("reabridge_Export transcript as SRT.lua", "Export transcript as SRT..."),
    Action("reabridge_Clean up selected items.lua", "Clean up selected items...", "C"),
    Action("reabridge_Split selected item into vocals and accompaniment.lua",
           "Split selected item into vocals and accompaniment"),
    Action("reabridge_Tune selected items.lua", "Tune selected items..."),
    Action("reabridge_Identify selected item in library.lua", "Identify selected item in library"),
    Action("reabridge_Find projects using the selected item's source.lua",
           "Find projects using the selected item's source"),
    Action("reabridge_Find similar sounds to the selected item.lua", "Find similar sounds to the selected item"),
)

#: the REAPER-side Python server, registered as an action so REAPER can start it with itself
SERVER_ACTION = Action(SERVER, "REAPER-side server (Python; started with REAPER)")


def shipped_files() -> list[str]:
    """Every file ``reabridge install`` copies into ``Scripts/reabridge``."""
    return [LIBRARY, *(a.file for a in ACTIONS), SERVER]


def script_source(name: str) -> bytes:
    """A shipped script's bytes."""
    return (reaper_scripts_dir() / name).read_bytes()
