"""Per-file descriptors stored beside the fingerprints: tempo, key, melody line, timbre.

All but timbre come from the fingerprint's own 8 kHz log-frequency spectrogram, so they cost
little on top of fingerprinting (indexing must stay >= 100x realtime on 2 cores):

- tempo: an onset envelope (half-wave rectified spectral flux, mean over bands) resampled to
  the frame rate of :mod:`bridge.tempo.features`, its tempogram, and the tempo chooser of
  :mod:`bridge.tempo.detect` (the same scoring and preference as ``reabridge tempo``; no beat
  tracking, which is the slow part);
- key: a chroma vector folded from the spectrogram's 24-per-octave bands, correlated with the
  Krumhansl-Kessler major and minor profiles (the best of 24);
- melody: :func:`bridge.library.melody.melody_line` (a predominant-pitch track made into notes);
- chroma: 12 pitch classes every 192 ms (:func:`chroma_frames`), what humming is matched against;
- timbre: :func:`bridge.library.timbre.timbre_vector` on the first 30 s.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bridge.library import landmarks as lm

NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
# Krumhansl & Kessler (1982) probe-tone profiles
MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])


def band_pitches() -> np.ndarray:
    """MIDI pitch of each spectrogram band's centre."""
    return 69.0 + 12.0 * np.log2(lm._CENTRES / 440.0)


def chroma(spec: np.ndarray) -> np.ndarray:
    """12 pitch-class weights (C first) of a :func:`bridge.library.landmarks.log_spectrogram`."""
    if not len(spec):
        return np.zeros(12)
    above = np.maximum(spec - np.median(spec, axis=1, keepdims=True), 0.0)  # what stands out in each frame
    classes = np.round(band_pitches()).astype(int) % 12
    return np.bincount(np.repeat(classes[None, :], len(spec), axis=0).ravel(), weights=above.ravel(), minlength=12)


CHROMA_BLOCK = 12  # spectrogram frames per chroma frame (192 ms)


def chroma_frames(spec: np.ndarray) -> np.ndarray:
    """``(n, 12)`` float32 chroma every 192 ms: the spectrogram's power folded into pitch classes (each
    frame scaled to unit length; silence stays 0). Power, not the log magnitude above each frame's median:
    on 60 hummed queries of band mixes the power chroma found the song first for 45 %, the other 13 %."""
    if not len(spec):
        return np.zeros((0, 12), dtype=np.float32)
    power = np.exp(2.0 * spec.astype(np.float64))
    fold = np.zeros((spec.shape[1], 12))
    fold[np.arange(spec.shape[1]), np.round(band_pitches()).astype(int) % 12] = 1.0
    per_frame = power @ fold
    blocks = len(per_frame) // CHROMA_BLOCK
    if blocks == 0:
        return np.zeros((0, 12), dtype=np.float32)
    c = per_frame[:blocks * CHROMA_BLOCK].reshape(blocks, CHROMA_BLOCK, 12).sum(axis=1)
    norm = np.linalg.norm(c, axis=1, keepdims=True)
    return (c / np.maximum(norm, 1e-9)).astype(np.float32)


def estimate_key(weights: np.ndarray) -> tuple[str, float] | None:
    """The best-correlating key (``"A minor"``) and its correlation; None without any pitch content."""
    if not np.any(weights > 0):
        return None
    best, name = -2.0, ""
    for root in range(12):
        for profile, mode in ((MAJOR, "major"), (MINOR, "minor")):
            r = float(np.corrcoef(weights, np.roll(profile, root))[0, 1])
            if r > best:
                best, name = r, f"{NAMES[root]} {mode}"
    return name, best


def estimate_tempo(spec: np.ndarray) -> float | None:
    """Tempo (BPM) from the spectrogram's onset envelope, chosen as ``reabridge tempo`` chooses."""

    from bridge.tempo import features as tf
    from bridge.tempo.detect import choose_tempo

    if len(spec) < 4 * int(1 / lm.FRAME_SECONDS):  # under 4 s
        return None
    flux = np.maximum(np.diff(spec, axis=0), 0.0).mean(axis=1)
    t = np.arange(len(flux)) * lm.FRAME_SECONDS
    grid = np.arange(0.0, t[-1], 1.0 / tf.FRAME_RATE)
    onset = np.interp(grid, t, flux)
    if not np.any(onset > 0):
        return None
    features = tf.Features(onset, onset, periodicity(onset, tf.WINDOW), np.zeros((12, 1)), float(t[-1]))
    bpm, _, _ = choose_tempo(features)
    return round(float(bpm), 2)


def periodicity(onset: np.ndarray, window: int, every: int = 8) -> np.ndarray:
    """The mean of the onset envelope's autocorrelation tempogram (librosa's: Hann-windowed, centred,
    each column scaled to its maximum), taken over every ``every``-th frame -- the mean hardly changes
    and it costs an eighth."""
    import scipy.fft

    padded = np.pad(onset, window // 2, mode="linear_ramp")
    frames = np.lib.stride_tricks.sliding_window_view(padded, window)[::every] * np.hanning(window + 1)[:-1]
    spectrum = scipy.fft.rfft(frames, n=2 * window, axis=1)
    acf = scipy.fft.irfft(np.abs(spectrum) ** 2, axis=1)[:, :window]
    top = np.max(np.abs(acf), axis=1, keepdims=True)
    acf = np.where(top > 0, acf / np.maximum(top, 1e-12), 0.0)
    return np.asarray(acf.mean(axis=0))


def describe(path: str, y: np.ndarray, spec: np.ndarray) -> dict[str, Any]:
    """Tempo, key, melody line and timbre vector of one file (``y``: 8 kHz mono; ``spec`` its spectrogram)."""
    from bridge.library.melody import melody_line
    from bridge.library.timbre import timbre_of_file

    key = estimate_key(chroma(spec))
    notes = melody_line(spec)
    frames = chroma_frames(spec)
    return {"tempo": estimate_tempo(spec), "key": key[0] if key else None,
            "melody": notes if len(notes) >= 8 else None, "timbre": timbre_of_file(path),
            "chroma": frames if len(frames) >= 8 else None}
