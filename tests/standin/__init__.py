"""A REAPER stand-in for the live path's tests: NOT REAPER.

REAPER cannot be installed on the machines this project is built and tested on.
This package stands in for it, as strictly as we can make it, so that the live
path (python-reapy's real client, reabridge's REAPER-side server script, and the
daemon's live session) runs end to end:

- :mod:`tests.standin.reaper` is a fake ``reaper_python`` module: the ReaScript
  functions reabridge uses, over one in-memory project parsed with
  :mod:`bridge.rpp`, with REAPER's Python calling conventions (out-parameters
  returned in a tuple after the return value, void functions returning their
  parameters, pointers as ``"(MediaTrack*)0x..."`` strings, NULL as
  ``0x0000000000000000``). Unknown functions do not exist; a wrong number or
  type of arguments raises, as REAPER's wrappers do. Undo blocks keep
  snapshots, so "one undo step" and undoing it can be checked.
- :mod:`tests.standin.webif` answers the web interface's ext-state look-up the
  way REAPER's web interface does (what reapy uses to find its server).
- ``python -m tests.standin SONG.RPP --resource-path DIR`` runs
  ``reaper_scripts/reabridge_server.py`` inside it, exactly as REAPER would run
  the script, driving its ``defer`` loop, and prints one JSON line with the port
  and the token file. SIGTERM saves the in-memory project to SONG.RPP.

What it cannot tell us: how REAPER itself formats chunks it hands out, how it
renumbers or re-GUIDs what scripts set, its real timing. Those were not tested
against a real REAPER (see README, "Running with REAPER").
"""
