"""Stems quality: SDR of the vocal (and accompaniment) estimates on mixtures whose stems are known.

The material stays outside the repository (licences): a folder (``--corpus``, default
``/work/stems-corpus``) of 44.1 kHz stereo WAVs ``NAME.wav`` (the mixture) with ``NAME.vocals.wav`` and
``NAME.accompaniment.wav``. The set measured for the README:

- ``musdb_80s_rock``: MUSDB18's 7-second sample "Music Delta - 80s Rock" (sigsep/sigsep-mus-eval
  ``tests/data``; MedleyDB material, CC BY-NC-SA), accompaniment = drums + bass + other;
- ``ikala_10161``: the iKala chorus excerpt in mirdata's test resources (left channel accompaniment, right
  channel voice; research licence), both centred;
- ``vocadito_jtd``: a real solo singer (vocadito track 1, CC BY 4.0) over a real jazz-trio recording looped
  (mirdata's JTD excerpt), 33 s, built by adding them (0.8 each);
- ``vocalda_filosax``: basic-pitch's sung phrase (the corpus' ``tempo/`` file) over Filosax's piano and drums
  backing looped (mirdata test resources), 12 s.

SDR here is the plain ratio over the whole excerpt, all channels: ``10 log10(|s|^2 / |s - s_hat|^2)``, and
its median over 1-second windows; not BSS-Eval v4 (museval allows a 512-tap distortion filter and reports
the median of per-second values, so its numbers run higher on the same estimate).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import soundfile as sf

NAMES = ("musdb_80s_rock", "ikala_10161", "vocadito_jtd", "vocalda_filosax")


def sdr(ref: np.ndarray, est: np.ndarray) -> float:
    """Plain SDR in dB over all samples and channels."""
    return float(10 * np.log10(np.sum(ref ** 2) / max(np.sum((ref - est) ** 2), 1e-20)))


def framewise(ref: np.ndarray, est: np.ndarray, rate: int) -> float:
    """Median of the plain SDR over 1-second windows holding signal."""
    values = [sdr(ref[i:i + rate], est[i:i + rate]) for i in range(0, len(ref) - rate + 1, rate)
              if np.sum(ref[i:i + rate] ** 2) > 1e-6]
    return float(np.median(values)) if values else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=Path("/work/stems-corpus"))
    args = parser.parse_args()
    from bridge.stems.separate import separate_stream
    from bridge.stems.split import shared_net

    net = shared_net()
    print("| mixture | length | vocals SDR (mixture as estimate) | vocals SDR | vocals, median 1 s | "
          "accompaniment SDR (mixture) | accompaniment SDR |\n|---|---|---|---|---|---|---|")
    for name in NAMES:
        mix, rate = sf.read(args.corpus / f"{name}.wav", dtype="float32", always_2d=True)
        vocals, _ = sf.read(args.corpus / f"{name}.vocals.wav", dtype="float64", always_2d=True)
        backing, _ = sf.read(args.corpus / f"{name}.accompaniment.wav", dtype="float64", always_2d=True)
        out = np.concatenate(list(separate_stream(net, [mix], len(mix)))).astype(np.float64)
        print(f"| {name} | {len(mix) / rate:.1f} s | {sdr(vocals, mix):.1f} | {sdr(vocals, out[:, :2]):.1f} | "
              f"{framewise(vocals, out[:, :2], rate):.1f} | {sdr(backing, mix):.1f} | "
              f"{sdr(backing, out[:, 2:]):.1f} |", flush=True)


if __name__ == "__main__":
    main()
