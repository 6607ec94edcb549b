"""What tempo, beats and metre are found from: onset envelopes, their periodicity, harmony per frame.

All at 22,050 Hz with 512-sample hops (23 ms frames), computed once per analysis:

- ``onset``: librosa's spectral-flux onset strength over the whole log-mel spectrum;
- ``low``: the same over the bands below 150 Hz (kick drum and bass: they mark bar lines more
  than hi-hats and strummed eighths do);
- ``periodicity``: the onset envelope's autocorrelation tempogram (8.9 s windows) averaged over
  the file -- how strongly the music repeats at each lag;
- ``chroma``: 12 pitch classes per frame (harmony changes mark bar lines).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SAMPLE_RATE = 22050
HOP = 512
FRAME_RATE = SAMPLE_RATE / HOP
WINDOW = 384  # tempogram frames (8.9 s): lags up to 30 BPM
LOW_HZ = 150.0


@dataclass(frozen=True)
class Features:
    """Envelopes and periodicity of one piece of audio (see the module docstring)."""

    onset: np.ndarray
    low: np.ndarray
    periodicity: np.ndarray
    chroma: np.ndarray
    duration: float

    def salience(self, bpm: np.ndarray | float) -> np.ndarray:
        """Periodicity at the lags of ``bpm`` (linear between lags; 0 outside the window)."""
        lag = 60.0 * FRAME_RATE / np.asarray(bpm, dtype=float)
        return np.interp(lag, np.arange(len(self.periodicity)), self.periodicity, left=0.0, right=0.0)

def analyse(y: np.ndarray) -> Features:
    """Features of mono audio at :data:`SAMPLE_RATE`."""
    import librosa

    power = np.abs(librosa.stft(y, n_fft=2048, hop_length=HOP)) ** 2  # one spectrogram for everything
    mel = librosa.feature.melspectrogram(S=power, sr=SAMPLE_RATE, n_mels=128, fmax=SAMPLE_RATE / 2)
    db = librosa.power_to_db(mel, ref=np.max)
    onset = librosa.onset.onset_strength(S=db, sr=SAMPLE_RATE, hop_length=HOP, aggregate=np.median)
    bands = int(np.sum(librosa.mel_frequencies(n_mels=128, fmax=SAMPLE_RATE / 2) < LOW_HZ))
    low = librosa.onset.onset_strength(S=db[:max(2, bands)], sr=SAMPLE_RATE, hop_length=HOP)

    if np.any(onset > 0):
        gram = librosa.feature.tempogram(onset_envelope=onset, sr=SAMPLE_RATE, hop_length=HOP, win_length=WINDOW)
        periodicity = np.asarray(gram.mean(axis=1))
    else:
        periodicity = np.zeros(WINDOW)
    chroma = librosa.feature.chroma_stft(S=power, sr=SAMPLE_RATE, hop_length=HOP)
    return Features(onset, low, periodicity, chroma, len(y) / SAMPLE_RATE)
