"""Query by humming (issue 26): hummed-style melodies against an index of songs, reabridge vs chroma DTW.

Material (``benchmarks/library_material.py``, outside the repo under ``/work/library-corpus``):
``hum/hum_NNN.wav`` is 12 s of song NNN's MELODY track played by another instrument (voice oohs,
whistle, ocarina, recorder, clarinet, pan flute), transposed 1-6 semitones either way, at 80-120 %
tempo, with a glide into each note, vibrato and per-note detuning; the index holds the first
``--songs`` rendered songs (full band arrangements), which include every hummed one.

- reabridge: the index is built with ``reabridge library index DIR --db FILE`` (incremental: a
  folder and database left by ``library_robustness.py`` are reused as they are), and each clip
  goes through ``reabridge library hum CLIP --db FILE --top 5 --json`` (one process each).
- baseline (naive, no melody extraction): 12-bin chroma of query and song (librosa
  ``chroma_stft``, 186 ms frames), subsequence DTW of the query against each song with cosine
  cost and steps (1,1), (1,2), (2,1), for each of the 12 transpositions, best one kept; ranked
  by the lowest path cost per query frame.

Prints and writes top-1/top-5 to ``benchmarks/out/library_hum.json``.
Run: ``nice -n 10 .venv/bin/python benchmarks/library_hum.py [--songs 120]``.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import OUT, REPO
from benchmarks.library_robustness import RATE, _link_folder, _read_song, reabridge_index, song_files

ROOT = Path(os.environ.get("REABRIDGE_LIBRARY_CORPUS", "/work/library-corpus"))
REABRIDGE = REPO / ".venv" / "bin" / "reabridge"
HOP = 4096


def hum_queries(root: Path) -> list[tuple[Path, int, dict[str, float]]]:
    """(clip, song number, how it was made) for every hummed clip."""
    out = []
    with open(root / "hum" / "hum.tsv", newline="") as fh:
        for row in csv.reader(fh, delimiter="\t"):
            name, number, start, tempo, shift, program, notes = row
            out.append((root / "hum" / name, int(number), {"start": float(start), "tempo": float(tempo),
                                                           "transpose": int(shift), "program": int(program),
                                                           "notes": int(notes)}))
    return sorted(out)


def _number(path: str) -> int:
    return int(Path(path).stem.split("_")[-1])


def reabridge_hum(clips: list[Path], db: Path, top: int) -> tuple[list[list[int]], list[float]]:
    """Ranked song numbers per clip through ``reabridge library hum CLIP --db FILE --top N --json``; seconds each."""
    ranks, seconds = [], []
    for clip in clips:
        t0 = time.perf_counter()
        ranks.append(cli_hum(clip, db, top))
        seconds.append(time.perf_counter() - t0)
    return ranks, seconds


def cli_hum(clip: Path, db: Path, top: int) -> list[int]:
    """Song numbers from ``reabridge library hum CLIP --db FILE --top N --json``."""
    proc = subprocess.run([str(REABRIDGE), "library", "hum", str(clip), "--db", str(db), "--top", str(top), "--json"],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        print(f"  {clip.name}: {proc.stderr.strip()[-300:]}", flush=True)
        return []
    return [_number(m["file"]) for m in json.loads(proc.stdout)["matches"]]


def _chroma(y: np.ndarray) -> np.ndarray:
    import librosa

    c = librosa.feature.chroma_stft(y=y, sr=RATE, n_fft=HOP, hop_length=HOP)
    return c / np.maximum(np.linalg.norm(c, axis=0, keepdims=True), 1e-9)


def subsequence_dtw(cost: np.ndarray) -> np.ndarray:
    """Lowest cost per query frame of a path through ``cost`` (..., query frames, song frames) that may start and
    end anywhere in the song; steps (1,1), (1,2), (2,1) (tempo within 1/2..2), the leading axes batched."""
    inf = np.inf
    n = cost.shape[-2]
    prev2 = np.full(cost.shape[:-2] + cost.shape[-1:], inf)
    prev = cost[..., 0, :].copy()
    for i in range(1, n):
        best = np.full_like(prev, inf)
        best[..., 1:] = prev[..., :-1]  # (1,1)
        best[..., 2:] = np.minimum(best[..., 2:], prev[..., :-2])  # (1,2): the song moves faster
        best[..., 1:] = np.minimum(best[..., 1:], prev2[..., :-1])  # (2,1): the song moves slower
        prev2, prev = prev, cost[..., i, :] + best
    return prev.min(axis=-1) / n


def chroma_ranks(clips: list[Path], songs: list[Path], cache: Path) -> tuple[list[list[int]], list[float]]:
    """The naive baseline (see the module docstring): every song ranked for every clip; seconds per clip."""
    cache.mkdir(parents=True, exist_ok=True)
    chromas = {}
    for song in songs:
        npy = cache / f"{song.stem}.chroma.npy"
        if not npy.exists():
            np.save(npy, _chroma(_read_song(song)))
        chromas[_number(str(song))] = np.load(npy)
    out, seconds = [], []
    for clip in clips:
        t0 = time.perf_counter()
        q = _chroma(_read_song(clip))
        rotations = np.stack([np.roll(q, r, axis=0).T for r in range(12)])  # (12, frames, 12)
        costs = {number: float(subsequence_dtw(1.0 - rotations @ s).min()) for number, s in chromas.items()}
        out.append(sorted(costs, key=costs.__getitem__))
        seconds.append(time.perf_counter() - t0)
    return out, seconds


def top_k(ranks: list[list[int]], truth: list[int], k: int) -> float:
    """Share of clips whose song is among the first ``k`` answers."""
    return sum(t in r[:k] for r, t in zip(ranks, truth, strict=True)) / len(truth)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--songs", type=int, default=120, help="songs in the index (the first N; >= the hummed ones)")
    parser.add_argument("--work", type=Path, default=ROOT / "robustness", help="links and database (shared with "
                        "library_robustness.py: the index is reused)")
    parser.add_argument("--no-baseline", action="store_true", help="skip the chroma DTW baseline")
    parser.add_argument("--out", type=Path, default=OUT / "library_hum.json")
    args = parser.parse_args()

    songs = song_files(ROOT)[: args.songs]
    queries = hum_queries(ROOT)
    clips, truth = [q[0] for q in queries], [q[1] for q in queries]
    if max(truth) > len(songs):
        raise SystemExit(f"hummed songs go up to {max(truth)}; index at least that many (--songs)")
    folder = _link_folder(songs, args.work / f"index{args.songs}")
    db = args.work / "reabridge.sqlite"
    if db.exists():  # incremental: a no-op when library_robustness.py indexed the same folder
        t0 = time.perf_counter()
        subprocess.run([str(REABRIDGE), "library", "index", str(folder), "--db", str(db)], check=True,
                       capture_output=True)
        took = time.perf_counter() - t0
    else:
        took = reabridge_index(folder, db)
    print(f"index of {len(songs)} songs ready ({took:.0f} s)", flush=True)
    ranks, seconds = reabridge_hum(clips, db, top=5)
    code = subprocess.run(["git", "-C", str(REPO), "log", "-1", "--format=%h", "--", "bridge/library"],
                          capture_output=True, text=True).stdout.strip()
    result: dict = {"songs": len(songs), "queries": len(clips), "bridge_library_commit": code,
                    "reabridge": {"top1": top_k(ranks, truth, 1), "top5": top_k(ranks, truth, 5),
                                  "no_answer": sum(not r for r in ranks),
                                  "query_ms_median": 1000 * float(np.median(seconds))}}
    print(f"reabridge: top-1 {result['reabridge']['top1']:.0%}, top-5 {result['reabridge']['top5']:.0%}", flush=True)
    by_mode: dict[str, list[int]] = {}
    for (_, number, meta), r in zip(queries, ranks, strict=True):
        by_mode.setdefault(f"program {meta['program']}", []).append(int(number in r[:5]))
    result["reabridge"]["top5_by_instrument"] = {k: f"{sum(v)}/{len(v)}" for k, v in sorted(by_mode.items())}
    result["reabridge"]["answers"] = {c.name: r for c, r in zip(clips, ranks, strict=True)}
    if not args.no_baseline:
        base, base_seconds = chroma_ranks(clips, songs, args.work / "chroma")
        result["chroma_dtw"] = {"top1": top_k(base, truth, 1), "top5": top_k(base, truth, 5),
                                "query_ms_median": 1000 * float(np.median(base_seconds)),
                                "median_rank": float(np.median([r.index(t) + 1 for r, t in zip(base, truth,
                                                                                               strict=True)]))}
        print(f"chroma DTW: top-1 {result['chroma_dtw']['top1']:.0%}, top-5 {result['chroma_dtw']['top5']:.0%}, "
              f"median rank {result['chroma_dtw']['median_rank']:.0f} of {len(songs)}", flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
