"""Clean-up quality against its anchors, in one run: PESQ, STOI and SI-SDR at 0/5/10 dB, wide- and narrow-band.

Material (outside the repository, see README): LibriSpeech test-other utterances (CC BY 4.0) in
``CLEAN_SPEECH`` (default ``/work/speakers-data/audio_data/librispeech_test-other``) mixed with real
recorded noise in ``CLEAN_NOISE`` (default ``/work/clean-corpus/noise``: Blanket's birds (CC0), city
(CC BY), coffee shop (public domain), rain (CC BY), train (CC BY 3.0); Speech Commands' doing_the_dishes
and exercise_bike (CC BY 4.0)). Anchors: noisereduce with its defaults and RNNoise alone (resampled to
48 kHz and back). Ours: the default voice chain (``reabridge clean`` with no stage options).

Usage: ``python benchmarks/clean_quality.py [16000|8000]`` (PESQ-WB at 16 kHz, PESQ-NB at 8 kHz).
"""

from __future__ import annotations

import glob
import os
import sys

import numpy as np
import soundfile as sf


def main() -> None:
    import noisereduce
    from pesq import pesq
    from pystoi import stoi

    from bridge.audio.resample import resample_stream
    from bridge.audio.sink import ArraySink
    from bridge.audio.source import AudioSource
    from bridge.clean.chain import Settings, clean_to_sink
    from bridge.clean.rnnoise import rnnoise

    rate = int(sys.argv[1]) if len(sys.argv) > 1 else 16000
    speech_dir = os.environ.get("CLEAN_SPEECH", "/work/speakers-data/audio_data/librispeech_test-other")
    noise_dir = os.environ.get("CLEAN_NOISE", "/work/clean-corpus/noise")

    def rs(x: np.ndarray, a: float, b: float) -> np.ndarray:
        return x.astype(np.float32) if a == b else np.concatenate(list(resample_stream([x.astype(np.float32)], a, b,
                                                                                         len(x))))

    def sisdr(ref: np.ndarray, est: np.ndarray) -> float:
        ref, est = ref - ref.mean(), est - est.mean()
        target = np.dot(est, ref) / np.dot(ref, ref) * ref
        return float(10 * np.log10(np.sum(target ** 2) / np.sum((est - target) ** 2)))

    def ours(x: np.ndarray) -> np.ndarray:
        sink = ArraySink(rate, 1)
        clean_to_sink(AudioSource.from_array(x, rate), Settings(), sink)
        return sink.audio[:, 0].astype(np.float32)

    speech = sorted(glob.glob(f"{speech_dir}/*/*.flac"))
    noises = sorted(glob.glob(f"{noise_dir}/*"))
    rng = np.random.default_rng(7)
    picks = [speech[i] for i in rng.choice(len(speech), 6, replace=False)]
    methods = {"noisy": lambda x: x, "noisereduce": lambda x: noisereduce.reduce_noise(y=x, sr=rate),
               "rnnoise": lambda x: rs(rnnoise(rs(x, rate, 48000))[0], 48000, rate)[: len(x)], "reabridge": ours}
    scores: dict[tuple[int, str], list[tuple[float, float, float]]] = {}
    for snr in (0, 5, 10):
        for i, path in enumerate(picks):
            s, sr = sf.read(path, dtype="float32")
            s = rs(s, sr, rate)
            n, nsr = sf.read(noises[i % len(noises)], dtype="float32")
            n = rs(n.mean(axis=1) if n.ndim == 2 else n, nsr, rate)
            n = np.tile(n, len(s) // len(n) + 1)
            start = rng.integers(0, len(n) - len(s) + 1)
            n = n[start:start + len(s)]
            n *= np.sqrt(np.mean(s ** 2) / np.mean(n ** 2)) * 10 ** (-snr / 20)
            x = (s + n).astype(np.float32)
            for name, method in methods.items():
                y = np.asarray(method(x), dtype=np.float32)[: len(s)]
                scores.setdefault((snr, name), []).append(
                    (pesq(rate, s, y, "wb" if rate == 16000 else "nb"), stoi(s, y, rate), sisdr(s, y)))
    print(f"{rate} Hz, PESQ-{'WB' if rate == 16000 else 'NB'} / STOI / SI-SDR (dB), mean of {len(picks)} clips")
    for snr in (0, 5, 10):
        cells = []
        for name in methods:
            p, st, sd = np.mean(scores[(snr, name)], axis=0)
            cells.append(f"{name} {p:.2f}/{st:.3f}/{sd:.1f}")
        print(f"SNR {snr:2d} dB: " + "  ".join(cells))


if __name__ == "__main__":
    main()
