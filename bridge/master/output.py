"""Writing the master: format, sample rate and dither follow the input unless asked."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from bridge.audio.reader import AudioInfo

SUBTYPES = {"16": "PCM_16", "24": "PCM_24", "32f": "FLOAT"}


def tpdf_dither(audio: np.ndarray, bits: int, seed: int = 0) -> np.ndarray:
    """Add triangular (TPDF) dither of one LSB for a ``bits``-bit output."""
    lsb = 2.0 ** (1 - bits)
    rng = np.random.default_rng(seed)
    noise = (rng.random(audio.shape) - rng.random(audio.shape)) * lsb
    return audio + noise


def write_master(audio: np.ndarray, rate: float, target: Path, like: AudioInfo, fmt: str | None = None,
                 sample_rate: int | None = None) -> tuple[str, int]:
    """Write ``audio`` atomically; returns (subtype, rate) used.

    The subtype follows the input (``like``) unless ``fmt`` is one of
    :data:`SUBTYPES`; 16-bit output is TPDF-dithered.
    """
    out_rate = int(sample_rate or rate)
    y = audio
    if out_rate != rate:
        y = soxr.resample(y, rate, out_rate, quality="VHQ")
    subtype = SUBTYPES[fmt] if fmt else (like.subtype if like.subtype in SUBTYPES.values() else "FLOAT")
    if subtype == "PCM_16":
        y = tpdf_dither(y, 16)
    y = np.clip(y, -1.0, 1.0 - 2.0 ** -23) if subtype != "FLOAT" else y
    tmp = target.with_name(f".{target.stem}.tmp{target.suffix or '.wav'}")
    try:
        sf.write(tmp, y.astype(np.float32 if subtype == "FLOAT" else np.float64), out_rate, subtype=subtype)
        tmp.replace(target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return subtype, out_rate
