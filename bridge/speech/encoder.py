"""Resemblyzer's speaker encoder (its shipped ``pretrained.pt``) in numpy: audio in, voice embeddings out.

The network is Resemblyzer's ``VoiceEncoder``: 40 mel bands (25 ms windows every
10 ms at 16 kHz, power, not log), a 3-layer LSTM of 256 units, the last layer's
final hidden state through a 256x256 linear layer, ReLU, and L2 normalisation.
Two voices' embeddings have a cosine similarity near 1 when they are the same
speaker. A *partial* is 160 frames (1.6 s), as Resemblyzer cuts utterances.

The weights are read from the ``resemblyzer`` wheel's file without importing
torch (:mod:`bridge.speech.torch_file`); the package itself is never imported
(its ``__init__`` needs ``webrtcvad``, which we do not install). Embeddings equal
Resemblyzer's own (torch) within 1e-5 (``tests/test_speakers_encoder.py``).
"""

from __future__ import annotations

import functools
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from bridge.speech.model_files import SpeechModelError, _package_file
from bridge.speech.torch_file import TorchFileError, load_tensors

RATE = 16000
N_FFT = 400  #: 25 ms
HOP = 160  #: 10 ms
N_MELS = 40
PARTIAL = 160  #: frames in a partial utterance (1.6 s)
HIDDEN = 256
LAYERS = 3


def encoder_file() -> Path:
    """Resemblyzer's ``pretrained.pt`` (``REABRIDGE_RESEMBLYZER_WEIGHTS`` overrides)."""
    override = os.environ.get("REABRIDGE_RESEMBLYZER_WEIGHTS")
    if override:
        path = Path(override)
        if not path.is_file():
            raise SpeechModelError(f"REABRIDGE_RESEMBLYZER_WEIGHTS names a file that does not exist ({path})")
        return path
    return _package_file("resemblyzer", "resemblyzer", "pretrained.pt")


# -- features ------------------------------------------------------------------------------
def _hz_to_mel(hz: np.ndarray) -> np.ndarray:
    """Slaney's mel scale: linear below 1 kHz, logarithmic above."""
    hz = np.asarray(hz, dtype=np.float64)
    mel = hz / (200.0 / 3)
    log = hz >= 1000.0
    return np.where(log, 15.0 + np.log(np.maximum(hz, 1e-10) / 1000.0) / (np.log(6.4) / 27.0), mel)


def _mel_to_hz(mel: np.ndarray) -> np.ndarray:
    mel = np.asarray(mel, dtype=np.float64)
    return np.where(mel >= 15.0, 1000.0 * np.exp((np.log(6.4) / 27.0) * (mel - 15.0)), mel * (200.0 / 3))


@functools.lru_cache(maxsize=1)
def mel_filters() -> np.ndarray:
    """The ``(40, 201)`` triangular filters (Slaney's scale and area normalisation, 0-8 kHz)."""
    fft_hz = np.fft.rfftfreq(N_FFT, 1.0 / RATE)
    edges = _mel_to_hz(np.linspace(_hz_to_mel(0.0), _hz_to_mel(RATE / 2), N_MELS + 2))
    widths = np.diff(edges)
    ramps = edges[:, None] - fft_hz[None, :]
    lower = -ramps[:-2] / widths[:-1, None]
    upper = ramps[2:] / widths[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper)) * (2.0 / (edges[2:] - edges[:-2]))[:, None]
    return weights.astype(np.float32)


@functools.lru_cache(maxsize=1)
def _window() -> np.ndarray:
    return (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(N_FFT) / N_FFT)).astype(np.float32)  # periodic Hann


def mel_frames(samples16k: np.ndarray, block: int = 6000) -> np.ndarray:
    """Mel power frames ``(n, 40)`` of 16 kHz audio, one every 10 ms, centred (zero padding at the ends).

    ``block`` frames are computed at a time, so an hour of audio needs no big temporaries.
    """
    samples16k = np.asarray(samples16k, dtype=np.float32).reshape(-1)
    padded = np.pad(samples16k, N_FFT // 2)
    count = 1 + len(samples16k) // HOP
    out = np.empty((count, N_MELS), dtype=np.float32)
    filters, window = mel_filters(), _window()
    for start in range(0, count, block):
        stop = min(count, start + block)
        frames = np.lib.stride_tricks.sliding_window_view(padded[start * HOP:(stop - 1) * HOP + N_FFT], N_FFT)[::HOP]
        spectrum = np.fft.rfft(frames * window, axis=1)
        power = (spectrum.real ** 2 + spectrum.imag ** 2).astype(np.float32)
        out[start:stop] = power @ filters.T
    return out


# -- the network -----------------------------------------------------------------------------
class SpeakerEncoder:
    """Resemblyzer's voice encoder, loaded once.

    Parameters
    ----------
    path : Path, optional
        The ``.pt`` file (Resemblyzer's ``pretrained.pt`` by default).
    batch : int
        Partials run through the LSTM together.
    threads : int
        Batches run at the same time, each with a single-threaded BLAS (a 256x512
        product per step is too small to share out: OpenBLAS's own threads make it
        several times slower when the cores are busy).
    """

    def __init__(self, path: Path | None = None, batch: int = 256, threads: int = 2) -> None:
        self.path = path or encoder_file()
        try:
            state = load_tensors(self.path, "model_state")
        except (TorchFileError, OSError) as exc:
            raise SpeechModelError(f"cannot load the speaker model {self.path}: {exc}") from None
        try:
            self._layers = []
            for layer in range(LAYERS):
                w_ih, w_hh = state[f"lstm.weight_ih_l{layer}"], state[f"lstm.weight_hh_l{layer}"]
                bias = state[f"lstm.bias_ih_l{layer}"] + state[f"lstm.bias_hh_l{layer}"]
                # one product per step: [input, h] @ [W_ih; W_hh]^T, gates i f g o (PyTorch's order)
                self._layers.append((np.ascontiguousarray(np.concatenate([w_ih, w_hh], axis=1).T, dtype=np.float32),
                                     bias.astype(np.float32)))
            self._linear = (np.ascontiguousarray(state["linear.weight"].T, dtype=np.float32),
                            state["linear.bias"].astype(np.float32))
        except KeyError as exc:
            raise SpeechModelError(f"{self.path.name} is not a Resemblyzer voice encoder (no {exc})") from None
        # tanh(x * scale) gives the g gate directly and 2 * sigmoid(x) - 1 for i, f, o
        self._scale = np.full(4 * HIDDEN, 0.5, dtype=np.float32)
        self._scale[2 * HIDDEN:3 * HIDDEN] = 1.0
        self.batch = batch
        self.threads = max(1, threads)

    def embed(self, mels: np.ndarray, lengths: np.ndarray | None = None) -> np.ndarray:
        """Embeddings ``(n, 256)`` of mel frame sequences ``(n, frames, 40)``.

        ``lengths`` (frames per row, at most ``frames``) lets rows of different lengths
        share a batch: each row's embedding is the state after its own last frame.
        """
        mels = np.asarray(mels, dtype=np.float32)
        n = len(mels)
        if lengths is None:
            lengths = np.full(n, mels.shape[1], dtype=np.int64)
        lengths = np.asarray(lengths)
        out = np.empty((n, HIDDEN), dtype=np.float32)
        # batches of equal size (at most self.batch rows), at least one per thread when there are enough rows
        count = max(-(-n // self.batch), min(self.threads, -(-n // 32)), 1)
        bounds = np.linspace(0, n, count + 1).astype(int)

        def run(i: int) -> None:
            a, b = bounds[i], bounds[i + 1]
            if b > a:
                out[a:b] = self._forward(mels[a:b], lengths[a:b])

        with threadpool_limits(1):
            if self.threads == 1 or count == 1:
                for i in range(count):
                    run(i)
            else:
                with ThreadPoolExecutor(self.threads) as pool:
                    list(pool.map(run, range(count)))
        return out

    def _forward(self, x: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        rows, steps = len(x), int(lengths.max())
        hs = [np.zeros((rows, HIDDEN), dtype=np.float32) for _ in range(LAYERS)]
        cs = [np.zeros((rows, HIDDEN), dtype=np.float32) for _ in range(LAYERS)]
        final = np.zeros((rows, HIDDEN), dtype=np.float32)
        scale, half = self._scale, 2 * HIDDEN
        for t in range(steps):
            below = x[:, t]
            for layer, (weights, bias) in enumerate(self._layers):
                gates = np.concatenate([below, hs[layer]], axis=1) @ weights
                gates += bias
                gates *= scale
                np.tanh(gates, out=gates)
                sig = gates[:, :half]  # i, f as 2*sigmoid - 1
                sig *= 0.5
                sig += 0.5
                o = gates[:, 3 * HIDDEN:] * 0.5 + 0.5
                c = sig[:, HIDDEN:] * cs[layer] + sig[:, :HIDDEN] * gates[:, half:3 * HIDDEN]
                cs[layer] = c
                hs[layer] = below = o * np.tanh(c)
            ending = lengths == t + 1
            if ending.any():
                final[ending] = below[ending]
        weight, bias = self._linear
        raw = np.maximum(final @ weight + bias, 0.0)
        norms = np.linalg.norm(raw, axis=1, keepdims=True)
        return raw / np.maximum(norms, 1e-12)

    def embed_utterance(self, samples16k: np.ndarray, rate: float = 1.3, min_coverage: float = 0.75) -> np.ndarray:
        """One embedding of a whole utterance, cut into partials as Resemblyzer's ``embed_utterance`` cuts it.

        The partials' embeddings are averaged and normalised again. Used to check
        this encoder against Resemblyzer's; diarisation embeds its own windows.
        """
        samples16k = np.asarray(samples16k, dtype=np.float32).reshape(-1)
        frames = int(np.ceil((len(samples16k) + 1) / HOP))
        step = int(np.round((RATE / rate) / HOP))
        starts = list(range(0, max(1, frames - PARTIAL + step + 1), step))
        last = starts[-1] * HOP
        if len(starts) > 1 and (len(samples16k) - last) / (PARTIAL * HOP) < min_coverage:
            starts = starts[:-1]
        need = (starts[-1] + PARTIAL) * HOP
        if need >= len(samples16k):
            samples16k = np.pad(samples16k, (0, need - len(samples16k)))
        mel = mel_frames(samples16k)
        partials = self.embed(np.stack([mel[s:s + PARTIAL] for s in starts]))
        mean = partials.mean(axis=0)
        return mean / np.linalg.norm(mean)


@functools.lru_cache(maxsize=1)
def default_encoder() -> SpeakerEncoder:
    """One shared encoder per process (read-only weights)."""
    return SpeakerEncoder()


_lock = threading.Lock()


def shared_encoder() -> SpeakerEncoder:
    """:func:`default_encoder`, loaded once even when threads ask at the same time."""
    with _lock:
        return default_encoder()
