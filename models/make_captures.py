"""Make the captures bundled in models/captures/ (run once; the results are committed).

Each is a neural-amp-modeler WaveNet ("feather" size) trained by ``reabridge amp capture``'s
code on the demo guitar DI (synthesised, at three levels) played through a chain of
pedalboard plug-ins. They are captures of those synthetic chains, not of real amplifiers,
and their metadata says so.

Run: ``.venv/bin/python models/make_captures.py``
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from pedalboard import Compressor, Distortion, HighpassFilter, LowpassFilter, PeakFilter, Pedalboard

from bridge.amp.capture import train_capture
from bridge.demo import synth

HERE = Path(__file__).resolve().parent / "captures"
CHAINS = {
    "reabridge Crunch": ("Synthetic crunch: pedalboard HighpassFilter 90 Hz, PeakFilter +4 dB at 800 Hz, "
                         "Distortion 14 dB, LowpassFilter 5.5 kHz. Not a real amplifier.",
                         Pedalboard([HighpassFilter(90), PeakFilter(800, 4, 0.8), Distortion(drive_db=14),
                                     LowpassFilter(5500)])),
    "reabridge Lead": ("Synthetic lead: pedalboard Compressor 4:1 at -20 dB, Distortion 26 dB, PeakFilter -5 dB "
                       "at 400 Hz, LowpassFilter 4.5 kHz. Not a real amplifier.",
                       Pedalboard([Compressor(-20, 4), Distortion(drive_db=26), PeakFilter(400, -5, 1.0),
                                   LowpassFilter(4500)])),
}


def main(epochs: int = 40) -> None:
    HERE.mkdir(parents=True, exist_ok=True)
    riff = synth.guitar_di().astype(np.float32)
    di = np.concatenate([riff * g for g in (0.4, 0.8, 1.3)])
    for name, (description, chain) in CHAINS.items():
        wet = chain(di[None, :], synth.SAMPLE_RATE)[0].astype(np.float32)
        wet *= 0.7 / max(1e-9, float(np.max(np.abs(wet))))
        out = HERE / (name.replace(" ", "_") + ".nam")
        result = train_capture(di, wet, synth.SAMPLE_RATE, out, size="feather", epochs=epochs, name=name,
                               description=description, lr=0.008, segment=4096,
                               progress=lambda e, n, v, name=name: print(f"{name}: epoch {e}/{n} ESR {v:.4f}",
                                                                         flush=True))
        print(f"{out.name}: validation ESR {result.validation_esr:.4f} ({result.grade})")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 40)
