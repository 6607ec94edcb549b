"""Library speed (issue 26): indexing realtime factor, query time on a 1,000-track index, growth with size.

1. Indexing: the first ``--songs`` (40) songs of ``/work/library-corpus/songs`` (POP909 renders,
   ``benchmarks/library_material.py``) through the function behind ``reabridge library index`` (its
   worker processes included) into a fresh database: audio seconds per wall second, and per CPU
   second (this process and the workers; on 2 cores the wall figure is at best twice that). Anchors
   in the same run, on one song: each stage's CPU time (decode to 8 kHz, spectrogram + peaks +
   hashes, tempo, key, melody line, timbre, the SQLite transaction) and basic-pitch (the issue's
   melody engine, our onnxruntime copy) on 30 s of it -- why the stored melody comes from the cheaper
   pitch track instead.
2. Query: a 1,000-track index = the real songs + synthetic tracks. A synthetic track is a real song's
   landmark rows with every hash replaced by one drawn from the real songs' hash distribution: the same
   rows per track and the same skew of common hashes (what lookups cost), and nothing a query could
   match. Queries: 10 s excerpts of the real songs (clean and +5 % speed) and 10 s of songs not indexed,
   through ``identify`` (the find job's function; the CLI adds ~1 s of Python start-up): median and p95 ms.
3. Growth: more synthetic tracks up to ``--max-tracks`` (10,000), the same queries at each size, and
   100,000 extrapolated from the measured slope (the rows each lookup scans grow linearly with tracks,
   the B-tree descent with their log) -- said as an extrapolation, not a measurement.

Writes ``benchmarks/out/library_speed.json``. Run under ``nice``:
``nice -n 10 .venv/bin/python benchmarks/library_speed.py [--songs 40 --max-tracks 10000]``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks._common import OUT

ROOT = Path(os.environ.get("REABRIDGE_LIBRARY_CORPUS", "/work/library-corpus"))


def songs(count: int) -> list[Path]:
    files = sorted(p for p in (ROOT / "songs").iterdir() if p.suffix.lower() in (".flac", ".mp3", ".wav"))
    if len(files) < count:
        raise SystemExit(f"need {count} songs in {ROOT / 'songs'}: run benchmarks/library_material.py")
    return files


def stages(path: Path) -> dict[str, float]:
    """CPU seconds of each indexing stage on one song, and basic-pitch on 30 s of it."""
    from bridge.audio.reader import audio_info
    from bridge.library import descriptors, landmarks, melody, timbre
    from bridge.library.indexer import read_8k
    from bridge.library.store import SourceData, open_store

    def cpu(fn):  # type: ignore[no-untyped-def]
        t = time.process_time()
        out = fn()
        return out, time.process_time() - t

    descriptors.estimate_tempo(np.random.default_rng(0).standard_normal((2000, 117)).astype(np.float32))  # warm
    timbre.timbre_vector(np.random.default_rng(0).standard_normal(22050).astype(np.float32))
    out: dict[str, float] = {"seconds": audio_info(path).duration}
    (y, _, _), out["decode"] = cpu(lambda: read_8k(str(path)))
    spec, a = cpu(lambda: landmarks.log_spectrogram(y))
    peaks, b = cpu(lambda: landmarks.find_peaks(spec))
    marks, c = cpu(lambda: landmarks.landmarks(peaks))
    out["fingerprint"] = a + b + c
    _, out["tempo"] = cpu(lambda: descriptors.estimate_tempo(spec))
    _, out["key"] = cpu(lambda: descriptors.estimate_key(descriptors.chroma(spec)))
    _, out["melody"] = cpu(lambda: melody.melody_line(spec))
    _, out["timbre"] = cpu(lambda: timbre.timbre_of_file(str(path)))
    with tempfile.TemporaryDirectory() as tmp, open_store(Path(tmp) / "s.sqlite", write=True) as store:
        data = SourceData("x", peaks.frames, out["seconds"], marks.hashes, marks.times, marks.pitches, marks.spans)

        def commit() -> None:
            with store.transaction():
                store.add_source(data)

        _, out["sqlite"] = cpu(commit)
    from bridge.transcribe.engine import Transcriber

    engine, out["basic_pitch_load"] = cpu(Transcriber)
    _, bp = cpu(lambda: engine.transcribe_file(path, frames=int(30 * audio_info(path).sample_rate)))
    out["basic_pitch_30s"] = bp
    return out


def index_real(files: list[Path], db: Path) -> dict[str, float]:
    from bridge.library.indexer import index, workers
    from bridge.library.store import open_store

    with open_store(db, write=True) as store:
        report = index([str(f) for f in files], store)
        _, _, rows = store.counts()
    return {"files": len(files), "audio_seconds": report.audio_seconds, "wall_seconds": report.wall_seconds,
            "cpu_seconds": report.cpu_seconds, "workers": workers(), "landmark_rows": rows,
            "realtime_wall": report.audio_seconds / report.wall_seconds,
            "realtime_per_cpu_second": report.audio_seconds / report.cpu_seconds,
            "db_bytes": db.stat().st_size}


def add_synthetic(db: Path, tracks: int, rng: np.random.Generator) -> float:
    """Add synthetic tracks (real rows, hashes redrawn from the real distribution); returns wall seconds.

    The rows are appended to a staging table and then merged into ``landmarks`` in hash order in one
    statement (row-by-row inserts at random hashes into a table of tens of millions of rows take hours).
    """
    con = sqlite3.connect(db, isolation_level=None)
    con.execute("PRAGMA journal_mode = WAL")
    con.execute("PRAGMA synchronous = OFF")
    con.execute("PRAGMA cache_size = -1048576")
    con.execute("PRAGMA temp_store = FILE")
    real = np.array(con.execute("SELECT hash, source, t, p, s FROM landmarks WHERE source <= ?",
                                (REAL_SOURCES[0],)).fetchall(), dtype=np.int64)
    by_source = [real[real[:, 1] == s] for s in np.unique(real[:, 1])]
    pool = real[:, 0]
    t0 = time.perf_counter()
    con.execute("CREATE TABLE IF NOT EXISTS staging (hash INTEGER, source INTEGER, t INTEGER, p INTEGER, s INTEGER)")
    con.execute("BEGIN")
    for _ in range(tracks):
        rows = by_source[int(rng.integers(len(by_source)))].copy()
        rows[:, 0] = pool[rng.integers(0, len(pool), len(rows))]
        sid = con.execute("INSERT INTO sources (sha, frames, duration, rows) VALUES (?, ?, ?, ?)",
                          (f"synthetic-{rng.integers(1 << 62):x}", int(rows[:, 2].max() // 8 + 64), 200.0,
                           len(rows))).lastrowid
        con.execute("INSERT INTO paths (real, given, size, mtime_ns, source) VALUES (?, ?, 0, 0, ?)",
                    (f"/synthetic/{sid}", f"/synthetic/{sid}", sid))
        rows[:, 1] = sid
        con.executemany("INSERT INTO staging VALUES (?, ?, ?, ?, ?)", rows.tolist())
    con.execute("COMMIT")
    con.execute("BEGIN")
    con.execute("INSERT OR IGNORE INTO landmarks SELECT * FROM staging ORDER BY hash, source, t, p, s")
    con.execute("DELETE FROM staging")
    con.execute("COMMIT")
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    return time.perf_counter() - t0


REAL_SOURCES = [0]


def queries(files: list[Path], unknown: list[Path], count: int, rng: np.random.Generator) -> list[tuple]:
    """(kind, expected file or None, 8 kHz samples) -- 10 s excerpts, clean and +5 % speed, and unknown songs."""
    import soxr

    from bridge.library.indexer import read_8k

    out = []
    for n in range(count):
        f = files[n % len(files)]
        y, dur, _ = read_8k(str(f))
        start = float(rng.uniform(5, max(6.0, dur - 20)))
        clip = y[int(start * 8000):int((start + 10) * 8000)]
        out.append(("clean", str(f), clip, start))
        out.append(("speed+5%", str(f), soxr.resample(clip, 8000 * 1.05, 8000).astype(np.float32), start))
    for f in unknown[:count]:
        y, dur, _ = read_8k(str(f))
        out.append(("unknown", None, y[int(30 * 8000):int(40 * 8000)], 30.0))
    return out


def time_queries(db: Path, qs: list[tuple]) -> dict[str, object]:
    from bridge.library.query import identify
    from bridge.library.store import open_store

    times: dict[str, list[float]] = {}
    right = wrong = 0
    with open_store(db) as store:
        identify(store, qs[0][2])  # warm the page cache once
        for kind, expected, clip, _ in qs:
            t = time.perf_counter()
            found = identify(store, clip)
            times.setdefault(kind, []).append(1000 * (time.perf_counter() - t))
            if expected is None:
                wrong += bool(found)
            elif found and found[0].file == expected:
                right += 1
            elif found:
                wrong += 1
    summary: dict[str, object] = {k: {"median_ms": round(float(np.median(v)), 1),
                                      "p95_ms": round(float(np.percentile(v, 95)), 1), "n": len(v)}
                                  for k, v in times.items()}
    summary["top1_known"] = right
    summary["false_or_wrong"] = wrong
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--songs", type=int, default=40)
    parser.add_argument("--queries", type=int, default=20)
    parser.add_argument("--max-tracks", type=int, default=10000)
    parser.add_argument("--sizes", default="1000,3000,10000")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "reabridge-library-speed")
    args = parser.parse_args()
    rng = np.random.default_rng(26)
    files = songs(args.songs + args.queries)
    indexed, unknown = files[:args.songs], files[args.songs:]
    shutil.rmtree(args.work, ignore_errors=True)
    args.work.mkdir(parents=True)
    db = args.work / "library.sqlite"
    result: dict[str, object] = {}
    print("stages on one song (CPU s):", flush=True)
    result["stages"] = st = stages(indexed[0])
    print("  " + ", ".join(f"{k} {v:.3f}" for k, v in st.items()), flush=True)
    print(f"  fingerprint + descriptors: {st['seconds'] / sum(st[k] for k in ('decode', 'fingerprint', 'tempo', 'key', 'melody', 'timbre', 'sqlite')):.0f}x realtime per core; basic-pitch {30 / st['basic_pitch_30s']:.0f}x", flush=True)  # noqa: E501
    print(f"indexing {len(indexed)} songs ...", flush=True)
    result["indexing"] = ix = index_real(indexed, db)
    print(f"  {ix['audio_seconds']:.0f} s of audio: {ix['realtime_wall']:.0f}x realtime (wall, {ix['workers']} "
          f"workers), {ix['realtime_per_cpu_second']:.0f}x per CPU second, {ix['landmark_rows']} rows", flush=True)
    con = sqlite3.connect(db)
    REAL_SOURCES[0] = con.execute("SELECT max(id) FROM sources").fetchone()[0]
    con.close()
    qs = queries(indexed, unknown, args.queries, rng)
    growth = []
    have = len(indexed)
    for size in [int(s) for s in args.sizes.split(",") if int(s) <= args.max_tracks]:
        added = add_synthetic(db, size - have, rng) if size > have else 0.0
        have = size
        rows = sqlite3.connect(db).execute("SELECT count(*) FROM landmarks").fetchone()[0]
        timing = time_queries(db, qs)
        entry = {"tracks": size, "rows": rows, "db_bytes": db.stat().st_size, "insert_seconds": round(added, 1),
                 **timing}
        growth.append(entry)
        print(f"  {size} tracks, {rows} rows, {db.stat().st_size / 1e9:.2f} GB: "
              + ", ".join(f"{k} {v}" for k, v in timing.items()), flush=True)
    result["growth"] = growth
    if len(growth) >= 2:
        a, b = growth[-2], growth[-1]
        slope = (b["clean"]["median_ms"] - a["clean"]["median_ms"]) / (b["tracks"] - a["tracks"])  # type: ignore[index]
        result["extrapolated_100k_median_ms"] = round(b["clean"]["median_ms"] + slope * (100000 - b["tracks"]), 0)  # type: ignore[index]
        print(f"  100,000 tracks (extrapolated, linear from the last two sizes): "
              f"~{result['extrapolated_100k_median_ms']:.0f} ms per clean query", flush=True)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "library_speed.json").write_text(json.dumps(result, indent=2))
    shutil.rmtree(args.work, ignore_errors=True)


if __name__ == "__main__":
    main()
