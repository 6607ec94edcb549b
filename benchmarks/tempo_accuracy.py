"""Tempo, beat and downbeat accuracy: reabridge's detector against librosa's ``beat_track``, same run, same audio.

Material (see ``tempo_material.py`` for the rendered sets):

- ``synthetic``: 28 arrangements rendered from MIDI written for this, 52-190 BPM, 3/4, 6/8, swing,
  half-time, one-drop, rubato, a tempo change and a ritardando (exact beats and downbeats);
- ``midi``: the corpus' 12 quantised MIDI songs rendered with fluidsynth (beats from their grids);
- ``real``: recordings with human beat annotations from public datasets' files -- GTZAN (100 clips,
  10 genres), Ballroom, Hainsworth, SIMAC, JTD -- assembled outside the repository (their licences
  keep them out of it) in ``TEMPO_CORPUS`` (default ``/work/tempo-corpus``: ``index.tsv`` and
  ``<dataset>/<id>.wav`` + ``.beats``).

The detector was tuned on ``synthetic`` and the even-numbered GTZAN clips; the held-out set
(odd-numbered GTZAN clips, the other datasets and the MIDI songs) is reported separately, and is
the headline. Metrics (mir_eval): Acc1 (tempo within 4 %), Acc2 (also at x2, x1/2, x3, x1/3), beat
F-measure (70 ms window, first 5 s trimmed as mir_eval does), downbeat F-measure (against librosa's
beats taken every N from the first beat -- what a grid started at the first beat gives -- as the
anchor), the metre found (beats per bar), and how often the estimate or its first alternative is
right (what a user choosing between the two offered tempi gets).

Run: ``.venv/bin/python benchmarks/tempo_accuracy.py [--only SUBSTRING] [-o results.tsv]``
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from pathlib import Path

import mir_eval
import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import librosa_beats
from tempo_material import Clip, corpus_midi, synthetic

from bridge.tempo import TempoDetector

REAL = Path(os.environ.get("TEMPO_CORPUS", "/work/tempo-corpus"))


def real_clips() -> list[Clip]:
    index = REAL / "index.tsv"
    if not index.exists():
        print(f"(no real recordings: {index} not found)")
        return []
    clips = []
    with open(index, newline="") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            rows = [line.split() for line in (REAL / row["audio"]).with_suffix(".beats").read_text().splitlines()
                    if line.strip()]
            beats = np.array([float(r[0]) for r in rows])
            positions = [float(r[1]) for r in rows if len(r) > 1]
            downbeats = np.array([float(r[0]) for r in rows if len(r) > 1 and float(r[1]) == 1.0])
            per_bar = int(row["beats_per_bar"]) if row.get("beats_per_bar") else 0
            if positions and not per_bar:
                per_bar = int(max(positions))
            clips.append(Clip(row["id"], "real", REAL / row["audio"], beats, downbeats, per_bar,
                              float(row["tempo_bpm"]), row.get("genre_or_note", ""), float(row["duration_s"])))
    return clips


def tuning(clip: Clip) -> bool:
    """Whether the detector was tuned on this clip (the rest is held out)."""
    if clip.kind == "synthetic":
        return True
    if clip.id.startswith("gtzan_"):
        return int(clip.id.rsplit("_", 1)[1]) % 2 == 0
    return False


def acc(estimate: float, reference: float) -> tuple[bool, bool]:
    close = [abs(estimate - reference * f) <= 0.04 * reference * f for f in (1, 2, 0.5, 3, 1 / 3)]
    return close[0], any(close)


def f_beats(reference: np.ndarray, estimate: np.ndarray) -> float:
    ref, est = mir_eval.beat.trim_beats(np.asarray(reference)), mir_eval.beat.trim_beats(np.asarray(estimate))
    if len(ref) == 0:
        return float("nan")
    return float(mir_eval.beat.f_measure(ref, est))


def f_downbeats(reference: np.ndarray, estimate: np.ndarray) -> float:
    if len(reference) < 2:
        return float("nan")
    return float(mir_eval.beat.f_measure(np.asarray(reference), np.asarray(estimate)))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", default="")
    parser.add_argument("-o", "--output", type=Path)
    args = parser.parse_args()

    t0 = time.perf_counter()
    detector = TempoDetector()
    print(f"detector warm-up (numba): {detector.warmup_seconds:.2f} s (first TempoDetector "
          f"{time.perf_counter() - t0:.2f} s)")
    clips = [c for c in synthetic() + corpus_midi() + real_clips() if args.only in c.id]
    rows = []
    for clip in clips:
        y, rate = sf.read(clip.audio, dtype="float32", always_2d=True)
        y = y.mean(axis=1)
        t0 = time.perf_counter()
        ours = detector.detect(y, rate)
        ours_s = time.perf_counter() - t0
        lib_bpm, lib_beats, lib_s = librosa_beats(y, rate)
        n = clip.beats_per_bar or 4
        a1, a2 = acc(ours.bpm, clip.bpm)
        top2 = a1 or any(acc(a.bpm, clip.bpm)[0] for a in ours.alternatives[:1])
        l1, l2 = acc(lib_bpm, clip.bpm)
        row = {"id": clip.id, "kind": clip.kind, "set": "tune" if tuning(clip) else "held-out", "ref_bpm": clip.bpm,
               "ours_bpm": round(ours.bpm, 2), "librosa_bpm": round(lib_bpm, 2), "ours_acc1": a1, "ours_acc2": a2,
               "ours_top2": top2, "librosa_acc1": l1, "librosa_acc2": l2,
               "ours_f": f_beats(clip.beats, np.array(ours.beats)),
               "librosa_f": f_beats(clip.beats, lib_beats), "ref_per_bar": clip.beats_per_bar,
               "ours_per_bar": ours.beats_per_bar,
               "ours_down_f": f_downbeats(clip.downbeats, np.array(ours.downbeats)),
               "grid_down_f": f_downbeats(clip.downbeats, lib_beats[::n]),
               "ours_s": round(ours_s, 3), "librosa_s": round(lib_s, 3), "seconds": round(len(y) / rate, 1)}
        rows.append(row)
        print(f"{clip.id:45s} ref {clip.bpm:6.1f}  ours {ours.bpm:6.1f} {'ok' if a1 else '--'}  "
              f"librosa {lib_bpm:6.1f} {'ok' if l1 else '--'}  F {row['ours_f']:.2f}/{row['librosa_f']:.2f}  "
              f"bar {ours.beats_per_bar}/{clip.beats_per_bar or '?'} downF {row['ours_down_f']:.2f}/"
              f"{row['grid_down_f']:.2f}", flush=True)
    if args.output:
        with open(args.output, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]), delimiter="\t")
            writer.writeheader()
            writer.writerows(rows)
    print()
    for name, pick in (("held-out", lambda r: r["set"] == "held-out"), ("tuning", lambda r: r["set"] == "tune"),
                       ("real recordings (all)", lambda r: r["kind"] == "real"),
                       ("synthetic", lambda r: r["kind"] == "synthetic"),
                       ("corpus MIDI", lambda r: r["kind"] == "midi")):
        sel = [r for r in rows if pick(r)]
        if not sel:
            continue

        def mean(key: str, sel: list[dict] = sel) -> float:
            values = [float(r[key]) for r in sel if r[key] == r[key]]
            return float(np.mean(values)) if values else float("nan")

        metre = [r for r in sel if r["ref_per_bar"]]
        print(f"{name} ({len(sel)} clips): Acc1 ours {mean('ours_acc1'):.0%} librosa {mean('librosa_acc1'):.0%} | "
              f"Acc2 ours {mean('ours_acc2'):.0%} librosa {mean('librosa_acc2'):.0%} | ours or its first "
              f"alternative {mean('ours_top2'):.0%} | beat F ours "
              f"{mean('ours_f'):.3f} librosa {mean('librosa_f'):.3f} | downbeat F ours {mean('ours_down_f'):.3f} "
              f"grid-from-first-beat {mean('grid_down_f'):.3f} | metre right "
              f"{np.mean([r['ours_per_bar'] == r['ref_per_bar'] for r in metre]) if metre else float('nan'):.0%}")
    audio_s = sum(r["seconds"] for r in rows)
    print(f"\nspeed: ours {sum(r['ours_s'] for r in rows) / audio_s * 60:.3f} s per minute of audio, librosa "
          f"beat_track {sum(r['librosa_s'] for r in rows) / audio_s * 60:.3f} s (same clips, after warm-up)")


if __name__ == "__main__":
    main()
