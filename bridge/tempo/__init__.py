"""Tempo and beat detection, and turning beats into a tempo map."""

from bridge.tempo.detect import TempoDetector, TempoResult

__all__ = ["TempoDetector", "TempoResult"]
