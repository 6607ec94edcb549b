"""De-reverb (WPE) on reverberant real speech: SI-SDR, STOI, PESQ-WB and the blind decay time, before and after.

Material (outside the repository): LibriSpeech test-other utterances (CC BY 4.0) in ``CLEAN_SPEECH``
(default ``/work/speakers-data/audio_data/librispeech_test-other``) at 16 kHz, convolved with simulated
room impulse responses: a direct path (a unit impulse at 0, so the dry speech is the aligned reference)
plus Polack's statistical tail -- Gaussian noise under an exponential decay of 60 dB per RT60, from 2 ms
on, 1.2 RT60 long -- scaled to a direct-to-reverberant ratio of ``DRR_DB`` (0 dB: a talker a couple of
metres from the microphone). RT60 0.3, 0.6 and 1.0 s. The same 6 clips at each RT60, one seed.

The processing is ``reabridge clean --denoise off --dehum off --no-declick --dereverb`` (through
:func:`bridge.clean.chain.clean_to_sink`, as the command runs it). Anchor: the reverberant input itself.
SRMR is not measured (no SRMR meter is installed); the decay time is reabridge's own blind estimate,
the figure ``--report`` gives.

Usage: ``python benchmarks/clean_dereverb.py``
"""

from __future__ import annotations

import glob
import os

import numpy as np
import soundfile as sf

RATE = 16000
DRR_DB = 0.0
RT60S = (0.3, 0.6, 1.0)


def rir(rt60: float, rng: np.random.Generator) -> np.ndarray:
    """A direct path and an exponentially decaying noise tail with ``DRR_DB`` between them."""
    n = int(1.2 * rt60 * RATE)
    t = np.arange(n) / RATE
    tail = rng.standard_normal(n) * np.exp(-3 * np.log(10) * t / rt60)
    tail[: int(0.002 * RATE)] = 0.0
    tail *= np.sqrt(10 ** (-DRR_DB / 10) / np.sum(tail ** 2))
    tail[0] = 1.0
    return tail


def main() -> None:
    from pesq import pesq
    from pystoi import stoi
    from scipy.signal import fftconvolve

    from bridge.audio.resample import resample_stream
    from bridge.audio.sink import ArraySink
    from bridge.audio.source import AudioSource
    from bridge.clean.chain import Settings, clean_to_sink

    speech_dir = os.environ.get("CLEAN_SPEECH", "/work/speakers-data/audio_data/librispeech_test-other")

    def sisdr(ref: np.ndarray, est: np.ndarray) -> float:
        ref, est = ref - ref.mean(), est - est.mean()
        target = np.dot(est, ref) / np.dot(ref, ref) * ref
        return float(10 * np.log10(np.sum(target ** 2) / np.sum((est - target) ** 2)))

    settings = Settings(denoise="off", dehum="off", declick=False, dereverb=True)
    speech = sorted(glob.glob(f"{speech_dir}/*/*.flac"))
    rng = np.random.default_rng(11)
    picks = [speech[i] for i in rng.choice(len(speech), 6, replace=False)]
    print(f"{RATE} Hz, simulated RIRs (direct + Polack tail, DRR {DRR_DB:g} dB), mean of {len(picks)} clips: "
          "SI-SDR (dB) / STOI / PESQ-WB / blind decay (s), reverberant -> dereverberated")
    for rt60 in RT60S:
        rows = []
        for path in picks:
            s, sr = sf.read(path, dtype="float32")
            if sr != RATE:
                s = np.concatenate(list(resample_stream([s], sr, RATE, len(s))))
            x = fftconvolve(s, rir(rt60, rng))[: len(s)].astype(np.float32)
            x *= 0.5 / np.max(np.abs(x))
            sink = ArraySink(RATE, 1)
            report = clean_to_sink(AudioSource.from_array(x, RATE), settings, sink)
            y = sink.audio[:, 0].astype(np.float32)
            rows.append([sisdr(s, x), sisdr(s, y), stoi(s, x, RATE), stoi(s, y, RATE), pesq(RATE, s, x, "wb"),
                         pesq(RATE, s, y, "wb"), report.decay_before or np.nan, report.decay_after or np.nan])
        m = np.nanmean(np.array(rows), axis=0)
        print(f"RT60 {rt60:.1f} s: SI-SDR {m[0]:.1f} -> {m[1]:.1f}  STOI {m[2]:.3f} -> {m[3]:.3f}  "
              f"PESQ-WB {m[4]:.2f} -> {m[5]:.2f}  decay {m[6]:.2f} -> {m[7]:.2f}")


if __name__ == "__main__":
    main()
