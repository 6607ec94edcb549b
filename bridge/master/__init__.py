"""Mastering: loudness measurement, chains from presets, exact loudness targets."""
