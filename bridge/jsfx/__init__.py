"""JSFX: REAPER's own effects, written in EEL2. Reading, compiling and running them offline, and generating them."""
