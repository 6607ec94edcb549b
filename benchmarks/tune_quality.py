"""Pitch correction: how close corrected notes land to the grid, formants kept, f0 trackers, polyphony, speed, memory.

Material
--------
Real singing, kept outside this repository in ``TUNE_CORPUS`` (default ``/work/tune-corpus``;
``SOURCES.txt`` there says where each file comes from):

- ``vocadito_1.wav`` (Vocadito, CC BY 4.0, the excerpt mirdata ships in
  ``tests/resources/mir_datasets/vocadito``): 33 s of solo singing with reference f0
  (``vocadito_1_f0.csv``) and notes (``vocadito_1_notesA1.csv``);
- the shared corpus' ``tempo/basic-pitch-ts__vocal-da-80bpm.22050.wav`` (Apache-2.0): a 12 s sung phrase;
- ``poly/``: mirdata's test excerpts of solo instruments, voices, stems and full mixes (for ``--polyphony``).

What is measured (every figure beside its anchor in the same run)
----------------------------------------------------------------
- ``detune`` (default): each note of the song (vocadito's annotated notes; for vocal-da, the notes
  reabridge segments) is pitch-shifted by a known amount (+-15 to 45 cents, seeded) with librosa's
  ``pitch_shift`` (an independent shifter), cross-faded over 10 ms. ``reabridge tune --scale chromatic
  --speed 0`` corrects it. Each note's pitch is read by WORLD's Harvest (not reabridge's tracker) as
  the median over its middle 60 %; the figure is its distance from the nearest semitone in cents,
  before (the detuned input; and the singer's own original, which is not on a grid either) and
  after. ``nearest note``: the share of notes that landed on the semitone nearest the detuned note
  (what a chromatic hard-tune should do; a note sung 40 cents sharp and detuned 45 more lands a
  semitone up, as it should).
- ``formants``: every note moved 4 semitones up (then down) by a guide melody (``--guide`` with the
  annotated notes +-4), against librosa's ``pitch_shift`` by the same amount (which moves the
  formants with the pitch). Distance of the spectral envelope (cepstrally smoothed log spectrum,
  30 coefficients, 50 Hz-5 kHz) from the input's, in dB, over voiced frames.
- ``--trackers``: raw pitch accuracy (within 50 cents), median and 95th-percentile error in cents,
  voicing recall and false alarm against vocadito's reference f0, and CPU seconds, for reabridge's
  tracker, raw DIO + StoneMask, Harvest and pYIN (librosa).
- ``--polyphony``: the share of frames where basic-pitch hears two or more notes, per file.
- ``--speed``: the whole command (a fresh Python: imports, model load, both passes, writing) on
  vocadito (33 s) and on 3 minutes of it, wall and CPU seconds and the realtime factor; ``--memory``:
  peak resident memory on 1 and 10 minutes (vocadito repeated).

The machine is shared (2 cores): CPU seconds are the steadier figure.

Run: ``nice .venv/bin/python benchmarks/tune_quality.py`` (detune and formants), ``--trackers``, ``--polyphony``,
``--speed``, ``--memory`` (only those), or ``--all``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import soundfile as sf

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("TUNE_CORPUS", "/work/tune-corpus"))
CORPUS = Path(os.environ.get("REABRIDGE_CORPUS", REPO.parent / "shared" / "corpus"))
VOCADITO = DATA / "vocadito_1.wav"
VOCAL_DA = CORPUS / "tempo" / "basic-pitch-ts__vocal-da-80bpm.22050.wav"

warnings.filterwarnings("ignore")


def world():  # type: ignore[no-untyped-def]
    from bridge.tune.track import pyworld

    return pyworld()


def harvest_midi(x: np.ndarray, rate: int) -> tuple[np.ndarray, np.ndarray]:
    """Times and pitch (float MIDI, NaN unvoiced) by WORLD's Harvest, every 5 ms."""
    f0, t = world().harvest(np.ascontiguousarray(x, dtype=np.float64), rate, f0_floor=60.0, f0_ceil=1000.0,
                            frame_period=5.0)
    return t, np.where(f0 > 0, 69 + 12 * np.log2(np.maximum(f0, 1e-9) / 440.0), np.nan)


def note_spans(path: Path, x: np.ndarray, rate: int) -> list[tuple[float, float]]:
    """The notes of a file: vocadito's annotations, else reabridge's segmentation."""
    annotated = DATA / (path.stem + "_notesA1.csv")
    if annotated.is_file():
        rows = np.loadtxt(annotated, delimiter=",", ndmin=2)
        return [(float(s), float(s + d)) for s, _, d in rows if d >= 0.15]
    from bridge.audio.source import AudioSource
    from bridge.tune.notes import segment
    from bridge.tune.track import track_pitch

    return [(n.start_time, n.end_time) for n in segment(track_pitch(AudioSource.from_array(x, rate))).notes
            if n.end_time - n.start_time >= 0.15]


def note_pitch(t: np.ndarray, midi: np.ndarray, span: tuple[float, float]) -> float:
    """Median pitch over the middle 60 % of a note."""
    a, b = span
    inside = (t >= a + 0.2 * (b - a)) & (t <= b - 0.2 * (b - a))
    return float(np.nanmedian(midi[inside])) if np.isfinite(midi[inside]).sum() >= 3 else float("nan")


def shift_notes(x: np.ndarray, rate: int, spans: list[tuple[float, float]], cents: list[float]) -> np.ndarray:
    """Each span pitch-shifted by its cents (librosa's phase vocoder + resampling), cross-faded over 10 ms."""
    import librosa

    y = x.copy()
    fade = int(0.01 * rate)
    for (a, b), c in zip(spans, cents, strict=True):
        lo, hi = max(0, int(a * rate) - fade), min(len(x), int(b * rate) + fade)
        moved = librosa.effects.pitch_shift(x[lo:hi].astype(np.float32), sr=rate, n_steps=c / 100.0)
        w = np.ones(hi - lo)
        w[:fade], w[-fade:] = np.linspace(0, 1, fade), np.linspace(1, 0, fade)
        y[lo:hi] = y[lo:hi] * (1 - w) + moved[:hi - lo] * w
    return y


def run_tune(src: Path, out: Path, *args: str) -> None:
    from bridge.cli.app import main

    try:
        main(["tune", str(src), "-o", str(out), "-y", *args])
    except SystemExit as done:
        if done.code:
            raise RuntimeError(f"reabridge tune failed on {src.name}") from None


def grid_cents(values: list[float]) -> np.ndarray:
    v = np.array([x for x in values if np.isfinite(x)])
    return np.abs(v - np.round(v)) * 100


def detune(tmp: Path) -> None:
    print("\n== detuned by known amounts, corrected with --scale chromatic --speed 0 (Harvest reads every note)")
    rng = np.random.default_rng(7)
    print(f"{'file':28s} {'notes':>5s} {'orig med/p90':>14s} {'detuned med/p90':>16s} {'after med/p90':>14s} "
          f"{'<=5c':>6s} {'nearest note':>12s}")
    for path in (VOCADITO, VOCAL_DA):
        x, rate = sf.read(path)
        spans = note_spans(path, x, rate)
        cents = list(rng.choice([-1, 1], len(spans)) * rng.uniform(15, 45, len(spans)))
        detuned = shift_notes(x, rate, spans, cents)
        sf.write(tmp / "detuned.wav", detuned, rate, subtype="FLOAT")
        run_tune(tmp / "detuned.wav", tmp / "tuned.wav", "--scale", "chromatic", "--speed", "0")
        tuned = sf.read(tmp / "tuned.wav")[0]
        t0, m0 = harvest_midi(x, rate)
        t1, m1 = harvest_midi(detuned, rate)
        t2, m2 = harvest_midi(tuned, rate)
        orig = [note_pitch(t0, m0, s) for s in spans]
        before = [note_pitch(t1, m1, s) for s in spans]
        after = [note_pitch(t2, m2, s) for s in spans]
        g0, g1, g2 = grid_cents(orig), grid_cents(before), grid_cents(after)
        same = [round(a) == round(b) for a, b in zip(after, before, strict=True) if np.isfinite(a) and np.isfinite(b)]
        print(f"{path.name[:28]:28s} {len(spans):5d} {np.median(g0):6.1f}/{np.percentile(g0, 90):5.1f}   "
              f"{np.median(g1):7.1f}/{np.percentile(g1, 90):5.1f}    {np.median(g2):6.1f}/{np.percentile(g2, 90):5.1f} "
              f"{100 * np.mean(g2 <= 5):5.0f}% {100 * np.mean(same):11.0f}%")


def envelope_db(x: np.ndarray, rate: int) -> tuple[np.ndarray, np.ndarray]:
    """Cepstrally smoothed log spectra (30 coefficients), 50 Hz-5 kHz, 46 ms frames every 10 ms; frame times."""
    n, hop = 2048, int(0.01 * rate)
    frames = np.lib.stride_tricks.sliding_window_view(np.pad(x, (n // 2, n // 2)), n)[::hop] * np.hanning(n)
    log = np.log(np.abs(np.fft.rfft(frames, axis=1)) + 1e-9)
    cep = np.fft.irfft(log, axis=1)
    cep[:, 30:-30] = 0
    smooth = np.fft.rfft(cep, axis=1).real * 20 / np.log(10)
    freqs = np.fft.rfftfreq(n, 1 / rate)
    keep = (freqs >= 50) & (freqs <= 5000)
    return smooth[:, keep], np.arange(len(frames)) * 0.01


def formants(tmp: Path) -> None:
    import librosa

    from bridge.tune.track import PitchTrack  # noqa: F401  (imports pyworld quietly)

    print("\n== formants: every note moved by a guide melody vs librosa.effects.pitch_shift (envelope distance, dB)")
    x, rate = sf.read(VOCADITO)
    rows = np.loadtxt(DATA / "vocadito_1_notesA1.csv", delimiter=",", ndmin=2)
    t, midi = harvest_midi(x, rate)
    voiced_t = t[np.isfinite(midi)]
    ref, times = envelope_db(x, rate)
    frames = np.isin(np.round(times, 2), np.round(voiced_t, 2))
    import mido

    for steps in (4, -4):
        guide = mido.MidiFile(ticks_per_beat=1000)
        track = mido.MidiTrack()
        guide.tracks.append(track)
        track.append(mido.MetaMessage("set_tempo", tempo=1_000_000))  # 60 BPM: 1000 ticks a second
        events = []
        for start, hz, dur in rows:
            note = int(round(69 + 12 * np.log2(hz / 440.0))) + steps
            events += [(int(start * 1000), "note_on", note), (int((start + dur) * 1000), "note_off", note)]
        now = 0
        for tick, kind, note in sorted(events):
            track.append(mido.Message(kind, note=note, velocity=80 if kind == "note_on" else 0, time=tick - now))
            now = tick
        guide.save(str(tmp / "guide.mid"))
        run_tune(VOCADITO, tmp / "moved.wav", "--guide", str(tmp / "guide.mid"), "--speed", "0")
        ours = sf.read(tmp / "moved.wav")[0]
        theirs = librosa.effects.pitch_shift(x.astype(np.float32), sr=rate, n_steps=steps)
        tm, mm = harvest_midi(ours, rate)
        moved = np.nanmedian(mm[np.isfinite(mm) & np.isfinite(np.interp(tm, t, midi))] -
                             np.interp(tm, t, midi)[np.isfinite(mm) & np.isfinite(np.interp(tm, t, midi))])
        d_ours = np.mean(np.abs(envelope_db(ours, rate)[0][frames] - ref[frames]))
        d_theirs = np.mean(np.abs(envelope_db(theirs, rate)[0][frames] - ref[frames]))
        print(f"{steps:+d} semitones (reabridge moved the pitch by {moved:+.2f}): reabridge {d_ours:.2f} dB, "
              f"librosa pitch_shift {d_theirs:.2f} dB")


def trackers() -> None:
    import librosa

    from bridge.audio.source import AudioSource
    from bridge.tune.track import track_pitch

    print("\n== f0 trackers on vocadito_1 (reference f0): RPA = voiced reference frames within 50 cents")
    x, rate = sf.read(VOCADITO)
    ref = np.loadtxt(DATA / "vocadito_1_f0.csv", delimiter=",")
    y16 = librosa.resample(x, orig_sr=rate, target_sr=16000)

    def score(t: np.ndarray, f: np.ndarray) -> str:
        idx = np.clip(np.searchsorted(t, ref[:, 0]), 0, len(t) - 1)
        fv = f[idx]
        rv, ev = ref[:, 1] > 0, fv > 0
        both = rv & ev
        c = 1200 * np.log2(fv[both] / ref[both, 1])
        rpa = 100 * np.mean(np.abs(c) < 50) * both.sum() / rv.sum()
        return (f"RPA {rpa:5.1f}%  median {np.median(np.abs(c)):4.1f}c"
                f"  p95 {np.percentile(np.abs(c), 95):5.1f}c  voicing recall {100 * both.sum() / rv.sum():5.1f}%"
                f"  false alarm {100 * (ev & ~rv).sum() / max(1, (~rv).sum()):5.1f}%")

    pw = world()
    runs = {
        "reabridge (DIO+StoneMask, gates)": lambda: (lambda tr: (tr.times, tr.f0))(
            track_pitch(AudioSource.from_array(x, rate))),
        "DIO + StoneMask (raw, 16 kHz)": lambda: (lambda ft: (ft[1], pw.stonemask(y16, ft[0], ft[1], 16000)))(
            pw.dio(y16, 16000, f0_floor=55, f0_ceil=1100, frame_period=5.0)),
        "Harvest (16 kHz)": lambda: (lambda ft: (ft[1], ft[0]))(
            pw.harvest(y16, 16000, f0_floor=55, f0_ceil=1100, frame_period=5.0)),
        "pYIN (librosa, 16 kHz, 5 ms)": lambda: (lambda fvp: (np.arange(len(fvp[0])) * 80 / 16000,
                                                            np.where(fvp[1], fvp[0], 0.0)))(
            librosa.pyin(y16, fmin=55, fmax=1100, sr=16000, frame_length=1024, hop_length=80)),
    }
    for name, run in runs.items():
        start = time.process_time()
        t, f = run()
        print(f"{name:34s} {score(t, np.nan_to_num(f)):s}  CPU {time.process_time() - start:6.2f} s "
              f"({len(x) / rate:.0f} s of audio)")


def polyphony() -> None:
    from bridge.audio.source import AudioSource
    from bridge.transcribe.model import SAMPLE_RATE, WINDOW_SAMPLES, BasicPitchModel
    from bridge.tune.polyphony import POLYPHONIC_SHARE, measure, window_starts
    from bridge.tune.track import Snippets, track_pitch

    print(f"\n== polyphony: share of frames with 2+ notes heard (refused at {100 * POLYPHONIC_SHARE:.0f}%)")
    model = BasicPitchModel(threads=1)
    for path in sorted([*(DATA / "poly").glob("*.wav"), VOCADITO, VOCAL_DA]):
        source = AudioSource.from_file(path)
        length = int(np.ceil(WINDOW_SAMPLES * source.rate / SAMPLE_RATE))
        snippets = Snippets([(s, length) for s in window_starts(source.frames, source.rate)])
        track_pitch(source, snippets=snippets)
        poly = measure(snippets.audio, source.rate, model)
        print(f"{path.name[:52]:52s} {100 * poly.share:5.1f}%  {'refused' if poly.polyphonic else 'tuned'}")


def whole_command(args: list[str]) -> tuple[float, float, float]:
    """Wall s, CPU s and peak MB of ``reabridge ARGS`` in a fresh Python."""
    code = ("import resource, sys, time\nfrom bridge.cli.app import main\ntry:\n    main(sys.argv[1:])\n"
            "except SystemExit as e:\n    assert not e.code, e.code\nu = resource.getrusage(resource.RUSAGE_SELF)\n"
            "print(u.ru_utime + u.ru_stime, u.ru_maxrss)")
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=True)
    cpu, rss = done.stdout.strip().splitlines()[-1].split()
    return time.perf_counter() - start, float(cpu), int(rss) / 1024


def repeated(path: Path, seconds: float, out: Path) -> Path:
    x, rate = sf.read(path)
    reps = int(np.ceil(seconds * rate / len(x)))
    with sf.SoundFile(out, "w", rate, 1, "PCM_16") as f:
        left = int(seconds * rate)
        for _ in range(reps):
            f.write(x[:left])
            left -= min(left, len(x))
    return out


def speed(tmp: Path) -> None:
    print("\n== speed: the whole command (fresh Python: imports, the polyphony model, both passes, writing)")
    for path in (VOCADITO, repeated(VOCADITO, 180, tmp / "three_minutes.wav")):
        n = sf.info(path).duration
        wall, cpu, _ = whole_command(["tune", str(path), "-o", str(tmp / "out.wav"), "-y", "--key", "A minor"])
        print(f"{path.name:22s} {n:6.1f} s  wall {wall:6.1f} s (x{wall / n:.3f} realtime)  CPU {cpu:6.1f} s "
              f"(x{cpu / n:.3f})")


def memory(tmp: Path) -> None:
    print("\n== memory: peak resident set of the whole command")
    for minutes in (1, 10):
        path = repeated(VOCADITO, minutes * 60, tmp / f"{minutes}min.wav")
        wall, cpu, peak = whole_command(["tune", str(path), "-o", str(tmp / "out.wav"), "-y", "--scale", "chromatic"])
        print(f"{minutes:3d} minute(s) of singing: peak {peak:6.0f} MB, wall {wall:6.1f} s, CPU {cpu:6.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trackers", action="store_true")
    parser.add_argument("--polyphony", action="store_true")
    parser.add_argument("--speed", action="store_true")
    parser.add_argument("--memory", action="store_true")
    parser.add_argument("--all", action="store_true")
    args = parser.parse_args()
    if not VOCADITO.is_file():
        sys.exit(f"the singing material is not at {DATA}: see this script's docstring (TUNE_CORPUS)")
    extras = args.trackers or args.polyphony or args.speed or args.memory
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        if args.all or not extras:
            detune(tmp)
            formants(tmp)
        if args.trackers or args.all:
            trackers()
        if args.polyphony or args.all:
            polyphony()
        if args.speed or args.all:
            speed(tmp)
        if args.memory or args.all:
            memory(tmp)


if __name__ == "__main__":
    main()
