"""Helpers shared by the benchmark scripts (not part of the product)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import soundfile as sf

REPO = Path(__file__).resolve().parents[1]
CORPUS = Path(os.environ.get("REABRIDGE_CORPUS", REPO.parent / "shared" / "corpus")).resolve()
OUT = REPO / "benchmarks" / "out"
SOUNDFONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
VENV_BIN = Path(sys.executable).parent


def ensure_fluidsynth() -> None:
    """Install fluidsynth and the FluidR3 General MIDI soundfont from Debian if missing."""
    if shutil.which("fluidsynth") and SOUNDFONT.exists():
        return
    print("installing fluidsynth + fluid-soundfont-gm (Debian) ...", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env, stdout=subprocess.DEVNULL)
    subprocess.run(["apt-get", "install", "-y", "-qq", "fluidsynth", "fluid-soundfont-gm"], check=True, env=env,
                   stdout=subprocess.DEVNULL)


def render_midi(midi: Path, wav: Path, rate: int = 44100) -> Path:
    """Render a MIDI file to a stereo WAV with fluidsynth (cached in benchmarks/out)."""
    if wav.exists():
        return wav
    ensure_fluidsynth()
    wav.parent.mkdir(parents=True, exist_ok=True)
    tmp = wav.with_suffix(".tmp.wav")
    subprocess.run(["fluidsynth", "-ni", "-q", "-g", "0.6", "-F", str(tmp), "-r", str(rate), str(SOUNDFONT),
                    str(midi)], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    tmp.replace(wav)
    return wav


def excerpt(src: Path, dst: Path, seconds: float, repeat: int = 1) -> Path:
    """The first ``seconds`` of ``src`` (repeated ``repeat`` times) as a WAV file."""
    if dst.exists():
        return dst
    info = sf.info(src)
    data, rate = sf.read(src, frames=int(seconds * info.samplerate), dtype="float32")
    with sf.SoundFile(dst, "w", rate, data.shape[1] if data.ndim > 1 else 1, "PCM_16") as f:
        for _ in range(repeat):
            f.write(data)
    return dst


def measure(cmd: list[str]) -> tuple[float, float]:
    """Run a command; return (wall seconds, peak resident memory in MB) of that process tree's largest process."""
    import tempfile

    with tempfile.TemporaryFile() as err_file:  # a pipe would fill up and block the child
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err_file)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        err_file.seek(0)
        err = err_file.read().decode(errors="replace")
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{cmd[0]} failed: {err[-2000:]}")
    return wall, usage.ru_maxrss / 1024.0


def peak_rss_mb() -> float:
    """This process's peak resident memory so far, MB."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def midi_notes(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(intervals, pitches in Hz) of every note in a MIDI file, drums excluded."""
    import pretty_midi

    pm = pretty_midi.PrettyMIDI(str(path))
    notes = [(n.start, n.end, n.pitch) for inst in pm.instruments if not inst.is_drum for n in inst.notes]
    notes.sort()
    intervals = np.array([[s, e] for s, e, _ in notes]).reshape(-1, 2)
    pitches = np.array([440.0 * 2 ** ((p - 69) / 12) for _, _, p in notes])
    return intervals, pitches


def librosa_beats(y: np.ndarray, rate: float) -> tuple[float, np.ndarray, float]:
    """The anchor for tempo: librosa's ``beat_track`` with its defaults on ``y`` resampled to 22,050 Hz
    (as reabridge analyses it); returns (BPM, beat times, seconds it took)."""
    import librosa

    t0 = time.perf_counter()
    y22 = librosa.resample(y, orig_sr=rate, target_sr=22050, res_type="soxr_hq")
    bpm, frames = librosa.beat.beat_track(y=y22, sr=22050)
    beats = librosa.frames_to_time(frames, sr=22050)
    return float(np.atleast_1d(bpm)[0]), beats, time.perf_counter() - t0
