"""Amp rendering speed: ``reabridge amp render`` against neural-amp-modeler's Python forward.

Input: a 3-minute guitar DI at 48 kHz (the demo's Karplus-Strong riff repeated). Captures:
the corpus "standard" WaveNets (BossWN-standard: A1, Tanh; wavenet_standard: 0.7, ReLU).
Anchor (issue 4): at least 30x realtime for the whole command on a standard WaveNet with exact
output; neural-amp-modeler's forward on the whole file, same machine and run, for scale.
``--hour`` also renders a 60-minute DI to show memory stays bounded.

Run: ``.venv/bin/python benchmarks/amp_speed.py [--hour]``
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf
from _common import CORPUS, OUT, VENV_BIN, measure

CAPTURES = ["mikeoliphant__NeuralAudio__BossWN-standard.nam", "sdatkinson__neural-amp-modeler__wavenet_standard.nam"]


def make_di(seconds: int, path: Path) -> Path:
    if path.exists():
        return path
    from bridge.demo import synth

    riff = synth.guitar_di().astype(np.float32)
    with sf.SoundFile(path, "w", synth.SAMPLE_RATE, 1, "PCM_24") as f:
        left = seconds * synth.SAMPLE_RATE
        while left > 0:
            f.write(riff[:left])
            left -= min(left, len(riff))
    return path


NAM_FORWARD = """
import sys, time, soundfile as sf, torch
from nam.models._from_nam import init_from_nam
from bridge.amp import load_nam
model = load_nam(sys.argv[1])
net = init_from_nam({"architecture": model.architecture, "config": model.config, "weights": model.weights,
                     "sample_rate": model.sample_rate}).eval()
x = torch.from_numpy(sf.read(sys.argv[2], dtype="float32")[0])
t0 = time.perf_counter()
with torch.no_grad():
    net(x)
print(time.perf_counter() - t0)
"""


def nam_forward(capture: Path, di: Path) -> tuple[float, float]:
    """neural-amp-modeler's forward on the whole file, in its own process: (model-call seconds, peak MB).

    A separate process, so its memory (every layer's activations for the whole file) neither
    slows nor inflates the reabridge measurements (a forked child inherits the parent's peak).
    """
    proc = subprocess.run([sys.executable, "-c", NAM_FORWARD, str(capture), str(di)], capture_output=True,
                          text=True, check=True)
    seconds = float(proc.stdout.strip().splitlines()[-1])
    _, rss = measure([sys.executable, "-c", NAM_FORWARD, str(capture), str(di)])
    return seconds, rss


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    di = make_di(180, OUT / "di_3min.wav")
    for name in CAPTURES:
        capture = CORPUS / "nam" / name
        with tempfile.TemporaryDirectory() as tmp:
            wall, rss = measure([str(VENV_BIN / "reabridge"), "amp", "render", str(di), "--model", str(capture),
                                 "-o", str(Path(tmp) / "out.wav")])
        nam, nam_rss = nam_forward(capture, di)
        print(f"{name}: reabridge amp render (whole command) {wall:.2f} s = {180 / wall:.1f}x realtime, "
              f"peak {rss:.0f} MB | neural-amp-modeler forward (model call only) {nam:.2f} s = "
              f"{180 / nam:.1f}x realtime, peak {nam_rss:.0f} MB | speed-up {nam / wall:.1f}x")
    if "--hour" in sys.argv:
        hour = make_di(3600, OUT / "di_60min.wav")
        with tempfile.TemporaryDirectory() as tmp:
            wall, rss = measure([str(VENV_BIN / "reabridge"), "amp", "render", str(hour), "--model",
                                 str(CORPUS / "nam" / CAPTURES[0]), "-o", str(Path(tmp) / "out.wav")])
        print(f"60 min DI: {wall:.1f} s ({3600 / wall:.1f}x realtime), peak {rss:.0f} MB")


if __name__ == "__main__":
    main()
