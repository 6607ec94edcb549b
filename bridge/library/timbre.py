"""Timbre and envelope vectors for ``reabridge library similar`` ("more kicks like this one").

A sound (its first 30 s, mono, 22,050 Hz) becomes one vector:

- MFCC statistics: the mean and standard deviation of 20 MFCCs (the first, loudness, dropped
  from the means so level does not decide), and the mean of their first differences' magnitude;
- envelope descriptors: log attack time (10 % to 90 % of the peak of the RMS envelope), decay
  (log time from the peak down to 20 %), spectral centroid and flatness (means, log), the
  fraction of frames above half the peak (sustained or percussive), and zero-crossing rate.

Each block is scaled to a comparable range and the whole vector is compared by cosine
similarity after centring on fixed typical values (so all-positive features do not make every
pair look alike).
"""

from __future__ import annotations

import numpy as np

SAMPLE_RATE = 22050
SECONDS = 30.0
N_MFCC = 20
HOP = 256


def timbre_vector(y: np.ndarray, rate: int = SAMPLE_RATE) -> np.ndarray | None:
    """The descriptor vector (float32) of mono audio at :data:`SAMPLE_RATE`; None for silence."""
    import librosa

    y = np.asarray(y, dtype=np.float32)
    if len(y) < rate // 20 or not np.any(np.abs(y) > 1e-5):
        return None
    y = y / max(float(np.max(np.abs(y))), 1e-9)
    n_fft = 1024 if len(y) >= 1024 else 1 << int(np.log2(len(y)))
    spec = np.abs(librosa.stft(y, n_fft=n_fft, hop_length=HOP)) ** 2
    mel = librosa.feature.melspectrogram(S=spec, sr=rate, n_mels=64)
    mfcc = librosa.feature.mfcc(S=librosa.power_to_db(mel + 1e-10), n_mfcc=N_MFCC)
    delta = np.abs(np.diff(mfcc, axis=1)).mean(axis=1) if mfcc.shape[1] > 1 else np.zeros(N_MFCC)
    rms = np.sqrt(np.mean(spec, axis=0)) + 1e-9
    peak = int(np.argmax(rms))
    top = rms[peak]
    frame = HOP / rate
    rise = np.flatnonzero(rms[:peak + 1] >= 0.1 * top)
    start = int(rise[0]) if len(rise) else peak
    reach = np.flatnonzero(rms[start:peak + 1] >= 0.9 * top)
    attack = ((int(reach[0]) if len(reach) else 0) + 0.5) * frame
    after = np.flatnonzero(rms[peak:] < 0.2 * top)
    decay = ((int(after[0]) if len(after) else len(rms) - peak) + 0.5) * frame
    freqs = librosa.fft_frequencies(sr=rate, n_fft=n_fft)
    power = spec + 1e-12
    centroid = float(np.mean((freqs[:, None] * power).sum(axis=0) / power.sum(axis=0)))
    flatness = float(np.mean(np.exp(np.mean(np.log(power), axis=0)) / np.mean(power, axis=0)))
    sustained = float(np.mean(rms >= 0.5 * top))
    zcr = float(np.mean(np.abs(np.diff(np.signbit(y).astype(np.int8))))) if len(y) > 1 else 0.0
    envelope = np.array([np.log10(attack) + 2.0, np.log10(decay) + 1.0, np.log2(max(centroid, 50.0) / 1500.0),
                         np.log10(max(flatness, 1e-6)) + 2.0, 2.0 * sustained - 1.0, 10.0 * zcr - 1.0])
    means = mfcc[1:].mean(axis=1) / 20.0
    spread = mfcc.std(axis=1) / 10.0 - 1.0
    moves = delta / 5.0 - 1.0
    return np.concatenate([means, spread, moves, 2.0 * envelope]).astype(np.float32)


def timbre_of_file(path: str) -> np.ndarray | None:
    """:func:`timbre_vector` of a file's first 30 s (None when it cannot be read or is silent)."""
    from bridge.audio.reader import AudioError, audio_info, iter_blocks
    from bridge.audio.resample import resample_stream

    try:
        info = audio_info(path)
        frames = min(info.frames, int(SECONDS * info.sample_rate))
        blocks = list(resample_stream(iter_blocks(path, 0, frames, mono=True), info.sample_rate, SAMPLE_RATE,
                                      frames, quality="MQ"))
    except AudioError:
        return None
    if not blocks:
        return None
    return timbre_vector(np.concatenate(blocks))


def cosine(query: np.ndarray, vectors: np.ndarray) -> np.ndarray:
    """Cosine similarity of ``query`` with each row of ``vectors``."""
    qn = query / max(float(np.linalg.norm(query)), 1e-9)
    norms = np.maximum(np.linalg.norm(vectors, axis=1), 1e-9)
    return (vectors @ qn) / norms
