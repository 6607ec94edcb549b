"""De-hum and de-click on real speech: hum left at each harmonic, what the speech keeps, clicks found.

Material (outside the repository): 8 LibriSpeech test-other utterances (CC BY 4.0) in ``CLEAN_SPEECH``
(default ``/work/speakers-data/audio_data/librispeech_test-other``) at 48 kHz.

- Hum: mains hum at 50 and 60 Hz with 8 harmonics (each 3 dB under the one before, random phases, the
  fundamental 20 dB under the speech's RMS), added to the speech; the de-hum stage as the chain runs it
  (``HumSurvey`` -> ``find_hum`` -> ``remove_hum``). For the hum found the removal is linear, so the hum left
  is the removal applied to the hum alone (per harmonic, dB under the hum added; issue 23's goal >= 30 dB)
  and what the voice loses is the removal applied to the speech alone (its SI-SDR; goal: unharmed).
- Clicks: ``--denoise off --dehum off --declick`` on the click-free speech (the change in dB relative to the
  speech; goal: none beyond -60 dB), and on the speech with 10 inserted clicks of 0.1-2 ms (a one-sided
  exponential decay, random sign, 0.05-0.3 amplitude), precision and recall of the events reported (an
  event within 3 ms of an inserted click counts).

Run: ``nice .venv/bin/python benchmarks/clean_hum.py``
"""

from __future__ import annotations

import glob
import os

import numpy as np
import soundfile as sf

RATE = 48000


def _run(x: np.ndarray, settings: object) -> tuple[np.ndarray, object]:
    from bridge.audio.sink import ArraySink
    from bridge.audio.source import AudioSource
    from bridge.clean.chain import clean_to_sink

    sink = ArraySink(RATE, 1)
    report = clean_to_sink(AudioSource.from_array(x, RATE), settings, sink)
    return sink.audio[:, 0].astype(np.float64), report


def _level(x: np.ndarray, freq: float) -> float:
    """Amplitude (dB) of the component at ``freq`` over the middle of ``x`` (Hann-weighted projection)."""
    mid = x[len(x) // 8: -len(x) // 8]
    w = np.hanning(len(mid))
    t = np.arange(len(mid)) / RATE
    return float(20 * np.log10(2 * abs(np.dot(mid * w, np.exp(-2j * np.pi * freq * t))) / w.sum() + 1e-15))


def _sisdr(ref: np.ndarray, est: np.ndarray) -> float:
    ref, est = ref - ref.mean(), est - est.mean()
    target = np.dot(est, ref) / np.dot(ref, ref) * ref
    return float(10 * np.log10(np.sum(target ** 2) / np.sum((est - target) ** 2)))


def main() -> None:
    import librosa

    from bridge.clean.chain import Settings
    from bridge.clean.declick import declick as find_and_repair
    from bridge.clean.dehum import HumSurvey, find_hum, remove_hum

    speech_dir = os.environ.get("CLEAN_SPEECH", "/work/speakers-data/audio_data/librispeech_test-other")
    files = sorted(glob.glob(f"{speech_dir}/*/*.flac"))[:8]
    rng = np.random.default_rng(11)
    voices = []
    for path in files:
        s, sr = sf.read(path, dtype="float32")
        voices.append(librosa.resample(s, orig_sr=sr, target_sr=RATE).astype(np.float32))
    print(f"{len(voices)} LibriSpeech clips at {RATE} Hz")
    for mains in (50.0, 60.0):
        left: list[list[float]] = []
        kept, found = [], []
        for s in voices:
            t = np.arange(len(s)) / RATE
            rms = float(np.sqrt(np.mean(s.astype(np.float64) ** 2)))
            amps = [rms * 10 ** (-20 / 20) * 10 ** (-3 * k / 20) for k in range(8)]
            hum = sum(a * np.sin(2 * np.pi * mains * (k + 1) * t + rng.uniform(0, 2 * np.pi))
                      for k, a in enumerate(amps))
            survey = HumSurvey(RATE, len(s))
            survey.add((s + hum).astype(np.float32))
            found_hum = find_hum(survey)
            if found_hum is None:
                found.append(())
                continue
            found.append(found_hum.harmonics)
            # for a given Hum the removal is linear: the hum left is the removal applied to the hum alone, and
            # what the speech loses is the removal applied to the speech alone
            rest = remove_hum(hum.astype(np.float32), RATE, found_hum).astype(np.float64)
            left.append([_level(hum, mains * (k + 1)) - _level(rest, mains * (k + 1)) for k in range(8)])
            kept.append(_sisdr(s.astype(np.float64), remove_hum(s, RATE, found_hum).astype(np.float64)))
        print(f"{mains:g} Hz hum found in {len(left)} of {len(voices)} clips; harmonics treated: "
              + "; ".join(",".join(map(str, h)) for h in found))
        if left:
            per = np.median(np.array(left), axis=0)
            print("  dB removed per harmonic (median of clips): "
                  + ", ".join(f"{mains * (k + 1):g} Hz {v:.1f}" for k, v in enumerate(per)))
            print(f"  the speech through the same removal: SI-SDR median {np.median(kept):.1f} dB, "
                  f"worst {np.min(kept):.1f} dB")
    declick = Settings(denoise="off", dehum="off", declick=True)
    changes, found, true, hits, inserted = [], 0, 0, 0, 0
    for s in voices:
        y, _ = _run(s, declick)
        diff = float(np.sum((y[: len(s)] - s) ** 2))
        changes.append(10 * np.log10(diff / float(np.sum(s.astype(np.float64) ** 2))) if diff > 0 else -np.inf)
        z = s.astype(np.float64).copy()
        where = np.sort(rng.choice(np.arange(RATE, len(s) - RATE), 10, replace=False))
        for p in where:
            n = max(1, int(rng.uniform(0.0001, 0.002) * RATE))
            z[p:p + n] += rng.choice([-1, 1]) * rng.uniform(0.05, 0.3) * np.exp(-np.arange(n) / max(1, n / 3))
        _, events = find_and_repair(z, RATE)  # the stage itself, for the events' positions
        starts = np.array([c.start for c in events], dtype=float)
        found += len(starts)
        inserted += len(where)
        if len(starts):
            true += int(sum(np.min(np.abs(where - c)) < 0.003 * RATE for c in starts))
            hits += int(sum(np.min(np.abs(starts - q)) < 0.003 * RATE for q in where))
    shown = ", ".join("none" if c == -np.inf else f"{c:.1f}" for c in changes)
    print(f"de-click on click-free speech, change in dB per clip: {shown}")
    print(f"inserted clicks ({inserted}): recall {hits / inserted:.2f}, precision {true / max(1, found):.2f}")


if __name__ == "__main__":
    main()
