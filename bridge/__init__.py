"""reabridge: machine-learning audio tools for the REAPER DAW."""

__version__ = "0.1.0"
