"""Library robustness (issue 26): reabridge against audfprint on modified excerpts, Panako's protocol.

The first ``--indexed`` songs of ``/work/library-corpus`` (``benchmarks/library_material.py``) are
indexed by each system; queries are excerpts of ``--lengths`` seconds (5 and 10) cut at random
places in random indexed songs -- the same excerpts for every modification, so the columns compare
like with like -- then modified:

- ``white10``/``white0``: Gaussian white noise at 10 and 0 dB SNR (against the excerpt's power);
- ``real10``/``real0``: real background noise (``noise/``: city, coffee shop, rain, train, birds,
  dishes, an exercise bike; a random stretch of a random file) at 10 and 0 dB SNR;
- ``mp3``: MP3 at 64 kbps (ffmpeg's libmp3lame, decoded back by ffmpeg);
- ``bandpass``: 300-3400 Hz, a 4th-order Butterworth band-pass run forwards and backwards (no delay);
- ``speed+5``/``speed-5``: +-5 % speed, pitch and tempo together (a varispeed: soxr resampling);
- ``tempo+5``/``tempo-5``: +-5 % tempo with the pitch kept (pedalboard's ``time_stretch``, i.e. Rubber Band);
- ``pitch+1``: +1 semitone with the tempo kept (pedalboard's ``time_stretch``, Rubber Band);
- ``reverb``: a room (pedalboard's ``Reverb``, i.e. Freeverb: room size 0.7, wet 0.35, dry 0.7);
- ``clean``: the excerpt as it is.

Top-1 is counted twice: the right file, and the right file with the offset within 20 ms of where
the excerpt was cut. False positives: ``--unknown`` queries from songs that are not indexed (the
songs after the indexed ones; lengths and modifications cycle through the lists), where any match
is wrong. A known query answered with another file is counted too (``wrong``): a false match is
worse than none.

reabridge runs through exactly the CLI forms of the issue (``reabridge library index DIR --db FILE``,
``reabridge library find CLIP --db FILE --json``), one process per query; audfprint (dpwe/audfprint,
fetched and run from ``/work/library-corpus/audfprint`` in its own venv ``venv-afp``, never in
``.venv``) is indexed with its CLI (``new --ncores 2``) and queried through its ``Matcher`` with the
CLI's defaults, in one process, so its offset keeps its own resolution (23.2 ms frames) rather than
the CLI's printed 0.1 s.

Writes ``benchmarks/out/library_robustness.json`` and ``.png``. Run under ``nice``:
``nice -n 10 .venv/bin/python benchmarks/library_robustness.py [--indexed 120 --per-cell 40]``.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import OUT, REPO

ROOT = Path(os.environ.get("REABRIDGE_LIBRARY_CORPUS", "/work/library-corpus"))
AFP_DIR = ROOT / "audfprint"
AFP_PYTHON = ROOT / "venv-afp" / "bin" / "python"
REABRIDGE = REPO / ".venv" / "bin" / "reabridge"
RATE = 22050
MODS = ("clean", "white10", "white0", "real10", "real0", "mp3", "bandpass", "speed+5", "speed-5", "tempo+5",
        "tempo-5", "pitch+1", "reverb")
OFFSET_TOLERANCE = 0.020

# audfprint queried in one process with its CLI's defaults; reads query paths on stdin, writes JSON lines
_AFP_DRIVER = """
import json, sys, time
sys.path.insert(0, sys.argv[1])
import docopt, audfprint, hash_table
args = docopt.docopt(audfprint.USAGE, argv=["match", "--dbase", sys.argv[2], "--verbose", "0"])
analyzer, matcher = audfprint.setup_analyzer(args), audfprint.setup_matcher(args)
table = hash_table.HashTable(sys.argv[2])
hop = analyzer.n_hop / analyzer.target_sr
for line in open(sys.argv[3]):  # not stdin: ffmpeg, which audfprint reads audio with, eats stdin
    path = line.strip()
    t0 = time.perf_counter()
    rows, _, _ = matcher.match_file(analyzer, table, path)
    took = time.perf_counter() - t0
    out = {"path": path, "seconds": took, "matches": []}
    for row in rows:
        out["matches"].append({"file": table.names[int(row[0])], "offset": float(row[2]) * hop,
                               "score": int(row[1])})
    print("@@" + json.dumps(out), flush=True)
"""


@dataclass
class Query:
    """One query clip and what the right answer is."""

    path: str
    song: str  # file name of the song it was cut from
    known: bool  # cut from an indexed song
    start: float  # where it was cut (s)
    length: float
    mod: str


@dataclass
class Answer:
    """A system's top match for one query (``file`` None: no match)."""

    file: str | None
    offset: float | None
    score: float | None
    seconds: float
    confidence: float | None = None
    stretch: float | None = None


# ---------------------------------------------------------------- material


def song_files(root: Path) -> list[Path]:
    """The rendered songs in order (``songs.tsv`` when it exists, else the folder sorted)."""
    table = root / "songs.tsv"
    if table.exists():
        with open(table, newline="") as fh:
            return [Path(row["file"]) for row in csv.DictReader(fh, delimiter="\t")]
    return sorted(p for p in (root / "songs").glob("pop909_*") if p.suffix in (".flac", ".mp3"))


def _noise_clips(root: Path) -> list[np.ndarray]:
    import soxr

    clips = []
    for path in sorted((root / "noise").glob("*")):
        data, rate = sf.read(path, dtype="float32", always_2d=True)
        clips.append(soxr.resample(data.mean(axis=1), rate, RATE).astype(np.float32))
    if not clips:
        raise SystemExit(f"no real noise in {root / 'noise'}: run benchmarks/library_material.py")
    return clips


def _with_noise(y: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    gain = np.sqrt(np.mean(y**2) / max(float(np.mean(noise**2)), 1e-12) / 10 ** (snr_db / 10))
    return y + gain * noise


def _mp3(y: np.ndarray, kbps: int) -> np.ndarray:
    with tempfile.TemporaryDirectory() as tmp:
        wav, mp3, back = (Path(tmp) / n for n in ("a.wav", "a.mp3", "b.wav"))
        sf.write(wav, y, RATE, subtype="FLOAT")
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(wav), "-c:a", "libmp3lame", "-b:a", f"{kbps}k",
                        str(mp3)], check=True)
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(mp3), "-f", "wav", "-c:a", "pcm_f32le", str(back)],
                       check=True)
        out, _ = sf.read(back, dtype="float32", always_2d=True)
    return out.mean(axis=1)


def modify(y: np.ndarray, mod: str, rng: np.random.Generator, noises: list[np.ndarray]) -> np.ndarray:
    """``y`` (mono, 22,050 Hz) with one modification (see the module docstring)."""
    import pedalboard
    import soxr
    from scipy.signal import butter, sosfiltfilt

    if mod == "clean":
        return y
    if mod.startswith("white"):
        return _with_noise(y, rng.standard_normal(len(y)).astype(np.float32), float(mod[5:]))
    if mod.startswith("real"):
        noise = noises[int(rng.integers(len(noises)))]
        start = int(rng.integers(0, max(1, len(noise) - len(y))))
        return _with_noise(y, np.resize(noise[start:], len(y)), float(mod[4:]))
    if mod == "mp3":
        return _mp3(y, 64)
    if mod == "bandpass":
        return sosfiltfilt(butter(4, [300, 3400], btype="bandpass", fs=RATE, output="sos"), y).astype(np.float32)
    if mod.startswith("speed"):
        factor = 1 + float(mod[5:]) / 100  # played faster: read at RATE * factor, heard at RATE
        return soxr.resample(y, RATE * factor, RATE).astype(np.float32)
    if mod.startswith("tempo"):
        factor = 1 + float(mod[5:]) / 100
        return pedalboard.time_stretch(y[None, :], RATE, stretch_factor=factor)[0]
    if mod == "pitch+1":
        return pedalboard.time_stretch(y[None, :], RATE, stretch_factor=1.0, pitch_shift_in_semitones=1.0)[0]
    if mod == "reverb":
        board = pedalboard.Pedalboard([pedalboard.Reverb(room_size=0.7, wet_level=0.35, dry_level=0.7)])
        return board(y[None, :], RATE)[0]
    raise ValueError(mod)


def _write_clip(path: Path, y: np.ndarray) -> None:
    peak = float(np.max(np.abs(y))) if len(y) else 0.0
    if peak > 0.99:
        y = y * (0.99 / peak)
    sf.write(path, y.astype(np.float32), RATE, subtype="PCM_16")


def _read_song(path: Path) -> np.ndarray:
    """A song mono at 22,050 Hz, decoded as reabridge decodes it (so offsets mean the same samples)."""
    from bridge.audio.reader import read_audio

    y, info = read_audio(path, mono=True)
    if info.sample_rate != RATE:
        import soxr

        y = soxr.resample(y, info.sample_rate, RATE)
    return y.astype(np.float32)


def make_queries(indexed: list[Path], unknown: list[Path], *, lengths: list[float], per_cell: int, seed: int,
                 folder: Path, mods: tuple[str, ...]) -> list[Query]:
    """Cut and modify the queries (cached in ``folder`` with a manifest)."""
    manifest = folder / "queries.json"
    key = {"indexed": [p.name for p in indexed], "unknown": [p.name for p in unknown], "lengths": lengths,
           "per_cell": per_cell, "seed": seed, "mods": list(mods)}
    if manifest.exists():
        saved = json.loads(manifest.read_text())
        if saved["key"] == key:
            return [Query(**q) for q in saved["queries"]]
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    noises = _noise_clips(ROOT)
    # (song, start, length, mods, known)
    plan: list[tuple[Path, float, float, tuple[str, ...], bool]] = []
    durations = {p: sf.info(p).duration for p in [*indexed, *unknown]}
    for length in lengths:
        for _ in range(per_cell):
            song = indexed[int(rng.integers(len(indexed)))]
            start = float(rng.uniform(5.0, max(5.0, durations[song] - length - 5.0)))
            plan.append((song, round(start, 3), length, mods, True))
    for k, song in enumerate(unknown):
        length = lengths[k % len(lengths)]
        start = float(rng.uniform(5.0, max(5.0, durations[song] - length - 5.0)))
        plan.append((song, round(start, 3), length, (mods[k % len(mods)],), False))
    queries: list[Query] = []
    by_song: dict[Path, list[int]] = {}
    for i, item in enumerate(plan):
        by_song.setdefault(item[0], []).append(i)
    for song, items in by_song.items():
        y = _read_song(song)
        for i in items:
            _, start, length, which, known = plan[i]
            cut = y[int(round(start * RATE)): int(round((start + length) * RATE))]
            for mod in which:
                path = folder / f"{'k' if known else 'u'}{i:04d}_{int(length)}s_{mod}.wav"
                _write_clip(path, modify(cut, mod, np.random.default_rng(seed * 100_000 + i), noises))
                queries.append(Query(str(path), song.name, known, start, length, mod))
    queries.sort(key=lambda q: q.path)
    manifest.write_text(json.dumps({"key": key, "queries": [asdict(q) for q in queries]}, indent=1))
    return queries


# ---------------------------------------------------------------- systems


def _link_folder(files: list[Path], folder: Path) -> Path:
    """A folder holding exactly ``files`` (hard links, so paths differ but bytes and names do not)."""
    folder.mkdir(parents=True, exist_ok=True)
    want = {p.name for p in files}
    for old in folder.iterdir():
        if old.name not in want:
            old.unlink()
    for p in files:
        dst = folder / p.name
        if not dst.exists():
            os.link(p, dst)
    return folder


def reabridge_index(folder: Path, db: Path, *, keep: bool = False) -> float:
    """Index ``folder`` through ``reabridge library index DIR --db FILE``; returns wall seconds.

    With ``keep`` an existing database is brought up to date (incremental) instead of rebuilt.
    """
    if not keep:
        db.unlink(missing_ok=True)
    t0 = time.perf_counter()
    proc = subprocess.run([str(REABRIDGE), "library", "index", str(folder), "--db", str(db)], capture_output=True,
                          text=True)
    took = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"reabridge library index failed ({proc.returncode}): {proc.stderr.strip()[-500:]}")
    return took


def reabridge_find(queries: list[Query], db: Path) -> list[Answer]:
    """Each query through ``reabridge library find CLIP --db FILE --json`` (one process each)."""
    answers = []
    for n, q in enumerate(queries):
        t0 = time.perf_counter()
        proc = subprocess.run([str(REABRIDGE), "library", "find", q.path, "--db", str(db), "--json"],
                              capture_output=True, text=True)
        took = time.perf_counter() - t0
        if proc.returncode != 0:
            print(f"  reabridge find failed on {Path(q.path).name}: {proc.stderr.strip()[-300:]}", flush=True)
            answers.append(Answer(None, None, None, took))
            continue
        matches = json.loads(proc.stdout)["matches"]
        best = matches[0] if matches else None
        answers.append(Answer(best["file"], float(best["offset"]), float(best["score"]), took, best.get("confidence"),
                              best.get("stretch")) if best else Answer(None, None, None, took))
        if (n + 1) % 100 == 0:
            print(f"  reabridge: {n + 1}/{len(queries)} queries", flush=True)
    return answers


def reabridge_find_python(queries: list[Query], db: Path) -> list[Answer]:
    """Each query through the functions behind ``reabridge library find`` (the job's own steps, in one process)."""
    from bridge.audio.reader import read_audio
    from bridge.library import landmarks as lm
    from bridge.library.query import identify
    from bridge.library.store import open_store

    answers = []
    with open_store(db) as store:
        for q in queries:
            t0 = time.perf_counter()
            y, info = read_audio(Path(q.path), mono=True)
            found = identify(store, lm.to_8k(y, info.sample_rate), top=5)
            took = time.perf_counter() - t0
            best = found[0] if found else None
            answers.append(Answer(best.file, best.offset, best.score, took, best.extra.get("confidence"),
                                  best.extra.get("stretch")) if best else Answer(None, None, None, took))
            if len(answers) % 200 == 0:
                print(f"  reabridge: {len(answers)}/{len(queries)} queries", flush=True)
    return answers


def cli_agreement(queries: list[Query], answers: list[Answer], db: Path, n: int) -> dict:
    """``n`` queries (spread over the set) through the CLI too: do both give the same top file and offset?"""
    picks = np.linspace(0, len(queries) - 1, min(n, len(queries))).astype(int)
    cli = reabridge_find([queries[i] for i in picks], db)
    same = sum(a.file == answers[i].file and (a.offset is None or abs(a.offset - (answers[i].offset or 0)) < 1e-3)
               for i, a in zip(picks, cli, strict=True))
    return {"checked": len(picks), "same": int(same),
            "cli_ms_median": 1000 * float(np.median([a.seconds for a in cli]))}


def audfprint_index(files: list[Path], db: Path, *, keep: bool = False) -> float:
    """Index with audfprint's CLI (``new --ncores 2``); returns wall seconds (0 when ``keep`` finds one built)."""
    if keep and db.exists():
        return 0.0
    db.unlink(missing_ok=True)
    t0 = time.perf_counter()
    subprocess.run([str(AFP_PYTHON), str(AFP_DIR / "audfprint.py"), "new", "--dbase", str(db), "--ncores", "2",
                    *map(str, files)], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def audfprint_find(queries: list[Query], db: Path) -> list[Answer]:
    """All queries through audfprint's Matcher in one process (see the module docstring)."""
    with tempfile.TemporaryDirectory() as tmp:
        driver, paths = Path(tmp) / "driver.py", Path(tmp) / "queries.txt"
        driver.write_text(_AFP_DRIVER)
        paths.write_text("".join(q.path + "\n" for q in queries))
        proc = subprocess.run([str(AFP_PYTHON), str(driver), str(AFP_DIR), str(db), str(paths)],
                              stdin=subprocess.DEVNULL, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"audfprint failed: {proc.stderr.strip()[-800:]}")
    rows = {r["path"]: r for r in (json.loads(line[2:]) for line in proc.stdout.splitlines() if line[:2] == "@@")}
    answers = []
    for q in queries:
        r = rows[q.path]
        best = r["matches"][0] if r["matches"] else None
        answers.append(Answer(best["file"], best["offset"], best["score"], r["seconds"]) if best
                       else Answer(None, None, None, r["seconds"]))
    return answers


# ---------------------------------------------------------------- scoring


def _spectrum(y: np.ndarray) -> np.ndarray:
    from scipy.signal import stft

    return np.abs(stft(y, nperseg=2048, noverlap=1536)[2]).ravel()


def repeats(queries: list[Query], answers: list[Answer], songs: dict[str, Path]) -> dict[str, float]:
    """For right-file answers more than 20 ms off: how alike the song is at the reported and the true offset.

    The songs are rendered from MIDI, so a repeated chorus is the same audio at another time; an
    answer there is not wrong about the music. Returns query path -> cosine similarity of the two
    stretches' magnitude spectrograms (1: the same sound).
    """
    out: dict[str, float] = {}
    todo = [(q, a) for q, a in zip(queries, answers, strict=True) if q.known and a.file is not None
            and Path(a.file).name == q.song and a.offset is not None and abs(a.offset - q.start) > OFFSET_TOLERANCE]
    todo.sort(key=lambda qa: qa[0].song)
    cache: tuple[str, np.ndarray] | None = None
    for q, a in todo:
        if cache is None or cache[0] != q.song:
            cache = (q.song, _read_song(songs[q.song]))
        y = cache[1]
        n = int(q.length * RATE)
        at, there = int(round(q.start * RATE)), int(round(max(0.0, a.offset or 0.0) * RATE))
        here_cut, there_cut = y[at: at + n], y[there: there + n]
        if len(there_cut) < n // 2:
            out[q.path] = 0.0
            continue
        m = min(len(here_cut), len(there_cut))
        u, v = _spectrum(here_cut[:m]), _spectrum(there_cut[:m])
        out[q.path] = round(float(u @ v / max(np.linalg.norm(u) * np.linalg.norm(v), 1e-12)), 4)
    return out


REPEAT_SIMILARITY = 0.9


def score(queries: list[Query], answers: list[Answer], lengths: list[float], mods: tuple[str, ...],
          alike: dict[str, float]) -> dict:
    """Per length and modification: right file, right file + offset, wrong file, no match; and false positives.

    ``file_offset_or_repeat`` also counts an offset more than 20 ms off where the song repeats the
    same music (spectrogram similarity >= 0.9 to the true place, see :func:`repeats`).
    """
    cells: dict[str, dict[str, dict]] = {}
    for length in lengths:
        cells[f"{int(length)}s"] = {}
        for mod in mods:
            pairs = [(q, a) for q, a in zip(queries, answers, strict=True)
                     if q.known and q.length == length and q.mod == mod]
            if not pairs:
                continue
            right = [(q, a) for q, a in pairs if a.file is not None and Path(a.file).name == q.song]
            errors = [abs(a.offset - q.start) for q, a in right if a.offset is not None]
            n = len(pairs)
            cells[f"{int(length)}s"][mod] = {
                "n": n,
                "file": len(right) / n,
                "file_offset": sum(e <= OFFSET_TOLERANCE for e in errors) / n,
                "file_offset_or_repeat": sum(
                    abs((a.offset or 0.0) - q.start) <= OFFSET_TOLERANCE or alike.get(q.path, 0.0) >= REPEAT_SIMILARITY
                    for q, a in right) / n,
                "wrong": sum(a.file is not None and Path(a.file).name != q.song for q, a in pairs) / n,
                "none": sum(a.file is None for _, a in pairs) / n,
                "offset_error_ms_median": 1000 * float(np.median(errors)) if errors else None,
                "offset_error_ms_p90": 1000 * float(np.percentile(errors, 90)) if errors else None,
                "query_ms_median": 1000 * float(np.median([a.seconds for _, a in pairs])),
            }
    strangers = [(q, a) for q, a in zip(queries, answers, strict=True) if not q.known]
    false = [{"query": Path(q.path).name, "mod": q.mod, "matched": a.file, "offset": a.offset, "score": a.score,
              "confidence": a.confidence, "stretch": a.stretch} for q, a in strangers if a.file is not None]
    every = [[Path(q.path).name, q.song, q.start, a.file and Path(a.file).name, a.offset, a.score, a.confidence,
              a.stretch] for q, a in zip(queries, answers, strict=True)]
    return {"cells": cells, "false_positives": {"n": len(strangers), "count": len(false), "which": false},
            "answers": {"columns": ["query", "song", "start", "file", "offset", "score", "confidence", "stretch"],
                        "rows": every}}


def plot(result: dict, path: Path) -> None:
    """Grouped bars per modification, one panel per length: right file, + offset or repeat, + offset <= 20 ms."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    systems = list(result["systems"])
    lengths = list(next(iter(result["systems"].values()))["cells"])
    fig, axes = plt.subplots(len(lengths), 1, figsize=(13, 3.6 * len(lengths)), squeeze=False)
    colours = {"reabridge": ("#c6dbef", "#6baed6", "#08519c"), "audfprint": ("#fdd0a2", "#fd8d3c", "#a63603")}
    width = 0.8 / len(systems)
    for ax, length in zip(axes[:, 0], lengths, strict=True):
        mods = list(result["systems"][systems[0]]["cells"][length])
        x = np.arange(len(mods))
        for k, system in enumerate(systems):
            cells = result["systems"][system]["cells"][length]
            light, mid, dark = colours.get(system, ("#dddddd", "#999999", "#444444"))
            pos = x + (k - (len(systems) - 1) / 2) * width
            ax.bar(pos, [100 * cells[m]["file"] for m in mods], width, color=light, label=f"{system}: right file")
            ax.bar(pos, [100 * cells[m]["file_offset_or_repeat"] for m in mods], width * 0.75, color=mid,
                   label=f"{system}: + offset (or a repeat of the same music)")
            ax.bar(pos, [100 * cells[m]["file_offset"] for m in mods], width * 0.5, color=dark,
                   label=f"{system}: + offset <= 20 ms")
        fps = ", ".join(f"{s} {result['systems'][s]['false_positives']['count']}/"
                        f"{result['systems'][s]['false_positives']['n']}" for s in systems)
        ax.set_title(f"{length} queries, top-1 (%) -- false positives on unindexed songs: {fps}")
        ax.set_xticks(x, mods)
        ax.set_ylim(0, 105)
        ax.axhline(95, color="grey", lw=0.8, ls="--")
        ax.axhline(90, color="grey", lw=0.8, ls=":")
        ax.grid(axis="y", alpha=0.3)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", fontsize=8, ncol=len(systems) * 3 // 2 or 1)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    fig.savefig(path, dpi=110)


def _code_version() -> str:
    """The commit measured, and whether bridge/library had uncommitted changes."""
    head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    dirty = subprocess.run(["git", "-C", str(REPO), "status", "--short", "bridge/library"], capture_output=True,
                           text=True)
    return head.stdout.strip() + (" + uncommitted bridge/library changes" if dirty.stdout.strip() else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--indexed", type=int, default=120, help="songs in the index (the first N)")
    parser.add_argument("--unknown", type=int, default=100, help="false-positive queries (songs after the index)")
    parser.add_argument("--per-cell", type=int, default=40, help="queries per length x modification")
    parser.add_argument("--lengths", type=float, nargs="+", default=[5.0, 10.0])
    parser.add_argument("--mods", nargs="+", default=list(MODS), choices=MODS)
    parser.add_argument("--systems", nargs="+", default=["reabridge", "audfprint"],
                        choices=["reabridge", "audfprint"])
    parser.add_argument("--via", choices=["python", "cli"], default="python",
                        help="reabridge queries through the job's functions in one process (fast), or the CLI")
    parser.add_argument("--cli-check", type=int, default=40, help="with --via python: this many also through the CLI")
    parser.add_argument("--seed", type=int, default=26)
    parser.add_argument("--work", type=Path, default=ROOT / "robustness", help="queries, links and databases")
    parser.add_argument("--out", type=Path, default=OUT / "library_robustness.json")
    parser.add_argument("--keep-db", action="store_true",
                        help="use the indexes built beforehand (reabridge: brought up to date incrementally) instead "
                        "of rebuilding them; indexing speed is then not measured")
    parser.add_argument("--merge", action="store_true",
                        help="keep the other systems' results already in --out (same material and queries)")
    args = parser.parse_args()

    songs = song_files(ROOT)
    if len(songs) < args.indexed + args.unknown:
        raise SystemExit(f"{len(songs)} songs in {ROOT}; need {args.indexed} + {args.unknown}")
    indexed, unknown = songs[: args.indexed], songs[args.indexed: args.indexed + args.unknown]
    mods = tuple(args.mods)
    t0 = time.perf_counter()
    queries = make_queries(indexed, unknown, lengths=args.lengths, per_cell=args.per_cell, seed=args.seed,
                           folder=args.work / "queries", mods=mods)
    print(f"{len(queries)} queries ready ({time.perf_counter() - t0:.0f} s)", flush=True)
    audio_seconds = sum(sf.info(p).duration for p in indexed)
    folder = _link_folder(indexed, args.work / f"index{args.indexed}")
    linked = [folder / p.name for p in indexed]
    result: dict = {"indexed": len(indexed), "indexed_hours": audio_seconds / 3600, "unknown": len(unknown),
                    "per_cell": args.per_cell, "lengths": args.lengths, "seed": args.seed,
                    "offset_tolerance_ms": 1000 * OFFSET_TOLERANCE, "systems": {}}
    if args.merge and args.out.exists():
        before = json.loads(args.out.read_text())
        if {k: before.get(k) for k in ("indexed", "unknown", "per_cell", "lengths", "seed")} != \
                {k: result[k] for k in ("indexed", "unknown", "per_cell", "lengths", "seed")}:
            raise SystemExit(f"{args.out} was measured on other material or queries; run without --merge")
        result["systems"] = {k: v for k, v in before["systems"].items() if k not in args.systems}
    for system in args.systems:
        db = args.work / ("reabridge.sqlite" if system == "reabridge" else "audfprint.pklz")
        print(f"{system}: indexing {len(indexed)} songs ({audio_seconds / 3600:.1f} h)", flush=True)
        code = _code_version() if system == "reabridge" else "dpwe/audfprint cb03ba9"
        existed = db.exists()
        took = reabridge_index(folder, db, keep=args.keep_db) if system == "reabridge" else \
            audfprint_index(linked, db, keep=args.keep_db)
        print(f"{system}: indexed in {took:.0f} s ({audio_seconds / max(took, 1e-9):.0f}x realtime)", flush=True)
        t1 = time.perf_counter()
        if system == "audfprint":
            answers = audfprint_find(queries, db)
        else:
            answers = (reabridge_find if args.via == "cli" else reabridge_find_python)(queries, db)
        alike = repeats(queries, answers, {p.name: p for p in indexed})
        found = score(queries, answers, args.lengths, mods, alike)
        found["repeat_similarity"] = alike
        if system == "reabridge" and args.via == "python" and args.cli_check:
            found["cli_agreement"] = cli_agreement(queries, answers, db, args.cli_check)
            print(f"reabridge: CLI agrees on {found['cli_agreement']['same']}/{found['cli_agreement']['checked']}",
                  flush=True)
        found.update({"code": code, "finished": time.strftime("%H:%M UTC", time.gmtime()),
                      "index_seconds": took, "index_x_realtime": audio_seconds / max(took, 1e-9),
                      "index_kept": bool(args.keep_db and existed),
                      "query_wall_seconds": time.perf_counter() - t1})
        result["systems"][system] = found
        print(f"{system}: {len(queries)} queries in {found['query_wall_seconds']:.0f} s", flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1))
    plot(result, args.out.with_suffix(".png"))
    print_table(result)
    print(f"wrote {args.out} and {args.out.with_suffix('.png')}")


def print_table(result: dict) -> None:
    """Top-1 right file / right file + offset, per system, length and modification."""
    systems = list(result["systems"])
    for length in next(iter(result["systems"].values()))["cells"]:
        print(f"\n{length} (n per cell {result['per_cell']}): top-1 % right file / + offset <= 20 ms / + offset or "
              "the same music repeated; w = wrong file %")
        print(f"{'modification':<12}" + "".join(f"{s:>24}" for s in systems))
        for mod in result["systems"][systems[0]]["cells"][length]:
            row = f"{mod:<12}"
            for s in systems:
                c = result["systems"][s]["cells"][length][mod]
                row += (f"{100 * c['file']:>8.0f} /{100 * c['file_offset']:>4.0f} /"
                        f"{100 * c['file_offset_or_repeat']:>4.0f} w{100 * c['wrong']:<3.0f}")
            print(row)
    for s in systems:
        fp = result["systems"][s]["false_positives"]
        speed = "index built beforehand" if result["systems"][s].get("index_kept") else \
            f"indexing {result['systems'][s]['index_x_realtime']:.0f}x realtime"
        print(f"{s}: false positives {fp['count']}/{fp['n']}; {speed}")


if __name__ == "__main__":
    main()
