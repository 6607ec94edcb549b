"""REAPER's side of the house: its resource folder, the actions reabridge adds, install, doctor, ReaPack."""
