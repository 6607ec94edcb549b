"""Pitch correction (``reabridge tune``): f0 tracking, notes, targets, formant-preserving resynthesis.

The stages are small modules over arrays, composed by :mod:`bridge.tune.chain`:
:mod:`~bridge.tune.track` (f0) -> :mod:`~bridge.tune.notes` (segmentation) ->
:mod:`~bridge.tune.targets` (a target per note, a shift per frame) ->
:mod:`~bridge.tune.resynth` (WORLD). Keys and scales: :mod:`~bridge.tune.scales`;
guide melodies: :mod:`~bridge.tune.guide`; the polyphony check:
:mod:`~bridge.tune.polyphony`; the report: :mod:`~bridge.tune.report`.
"""
