"""Audio clean-up: de-hum, de-click, denoise (voice or broadband), de-reverb and loudness, in that order.

Each stage is a function over arrays in a module of its own (:mod:`~bridge.clean.dehum`,
:mod:`~bridge.clean.declick`, :mod:`~bridge.clean.mmse` and :mod:`~bridge.clean.rnnoise`,
:mod:`~bridge.clean.spectral`, :mod:`~bridge.clean.dereverb`); :mod:`~bridge.clean.chain`
composes them over a stream in overlapping blocks, :mod:`~bridge.clean.measure` and
:mod:`~bridge.clean.report` give the figures and the picture.
"""
