"""Music for the library benchmarks: POP909's songs arranged and rendered, hummed melodies, real noise.

Nothing here is committed material: everything lands in ``/work/library-corpus`` (or
``$REABRIDGE_LIBRARY_CORPUS``), outside the repository.

- ``songs/``: POP909 (music-x-lab/POP909-Dataset, MIT; 909 pop songs as MIDI with MELODY,
  BRIDGE and PIANO tracks plus beat and chord annotations) arranged as a band -- lead, a
  second instrument, keys, a bass line on the chord roots and drums on the annotated beats,
  the instruments drawn per song from General MIDI lists -- and rendered with fluidsynth and
  FluidR3_GM at 22,050 Hz stereo. Every fifth song is written as MP3 (192 kbps), the rest as FLAC.
  Songs 1..``--indexed`` go into the index; the next ``--unknown`` are never indexed (the
  false-positive queries).
- ``hum/``: for the first ``--hum`` indexed songs, 12 s of the MELODY track (a window with at
  least 12 notes) played by a different instrument (voice "oohs", whistle, ocarina, flute,
  clarinet, recorder), transposed by 1-6 semitones either way, at 80-120 % tempo, with a pitch
  wobble (a glide into each note, 5.5 Hz vibrato of +-25 cents, and each note off by
  N(0, 20 cents)) -- through MIDI pitch bends, so fluidsynth renders it.
- ``noise/``: real background noise (city, coffee shop, rain, train, dishes, exercise bike) copied
  from ``/work/clean-corpus/noise``.

Run: ``.venv/bin/python benchmarks/library_material.py [--indexed 120 --unknown 100 --hum 60]``
(POP909 from a local clone: ``--pop909 DIR``, default the fetched mirror's git objects).
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import mido
import numpy as np
import soundfile as sf

ROOT = Path(os.environ.get("REABRIDGE_LIBRARY_CORPUS", "/work/library-corpus"))
MIRROR = Path("/work/.mirror/music-x-lab+POP909-Dataset/repo/.git")
SOUNDFONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
RATE = 22050
LEADS = [73, 65, 56, 80, 81, 71, 68, 22, 54, 64, 11, 40]  # flute, alto sax, trumpet, square, saw, clarinet...
SECONDS = [48, 49, 24, 25, 27, 89, 90, 52, 61, 19, 42]  # strings, guitars, pads, choir, brass, organ, cello
KEYS = [0, 1, 2, 4, 5, 16, 6, 3]
BASSES = [33, 32, 34, 38, 39, 35]
HUMMERS = [53, 78, 79, 74, 71, 75]  # voice oohs, whistle, ocarina, recorder, clarinet, pan flute
KICK, SNARE, HAT, OPEN_HAT, CRASH = 36, 38, 42, 46, 49
PITCH_NAMES = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}


@dataclass
class Song:
    """One POP909 song's MIDI and annotations."""

    number: int
    midi: mido.MidiFile
    beats: np.ndarray  # (time, is_beat, is_downbeat)
    chords: list[tuple[float, float, str]]


def _git(path: str) -> bytes:
    return subprocess.run(["git", f"--git-dir={MIRROR}", "show", f"HEAD:{path}"], check=True,
                          capture_output=True).stdout


def load_song(number: int, pop909: Path | None) -> Song:
    """POP909 song ``number`` (1-909) from a folder or the fetched mirror."""
    name = f"{number:03d}"

    def read(rel: str) -> bytes:
        return (pop909 / rel).read_bytes() if pop909 else _git(f"POP909/{rel}")

    with tempfile.NamedTemporaryFile(suffix=".mid") as tmp:
        tmp.write(read(f"{name}/{name}.mid"))
        tmp.flush()
        midi = mido.MidiFile(tmp.name)
    beats = np.loadtxt(read(f"{name}/beat_midi.txt").decode().splitlines(), ndmin=2)
    chords = []
    for line in read(f"{name}/chord_midi.txt").decode().splitlines():
        parts = line.split()
        if len(parts) >= 3:
            chords.append((float(parts[0]), float(parts[1]), parts[2]))
    return Song(number, midi, beats, chords)


def _notes(midi: mido.MidiFile, track_name: str) -> list[tuple[float, float, int, int]]:
    """(start s, end s, pitch, velocity) of one named track, through the file's tempo map."""
    tempo = 500000
    ticks = midi.ticks_per_beat
    # tempo map from every track (POP909 keeps it in the first)
    changes: list[tuple[int, int]] = []
    for track in midi.tracks:
        now = 0
        for msg in track:
            now += msg.time
            if msg.type == "set_tempo":
                changes.append((now, msg.tempo))
    changes.sort()

    def seconds(tick: int) -> float:
        t, last_tick, last_tempo = 0.0, 0, tempo
        for at, value in changes:
            if at >= tick:
                break
            t += (at - last_tick) * last_tempo / ticks / 1e6
            last_tick, last_tempo = at, value
        return t + (tick - last_tick) * last_tempo / ticks / 1e6

    out = []
    for track in midi.tracks:
        if track.name != track_name:
            continue
        now = 0
        open_notes: dict[int, tuple[int, int]] = {}
        for msg in track:
            now += msg.time
            if msg.type == "note_on" and msg.velocity > 0:
                open_notes[msg.note] = (now, msg.velocity)
            elif msg.type in ("note_off", "note_on") and msg.note in open_notes:
                start, vel = open_notes.pop(msg.note)
                out.append((seconds(start), seconds(now), msg.note, vel))
    out.sort()
    return out


def _root(label: str) -> int | None:
    if label in ("N", "X") or not label:
        return None
    name = label.split(":")[0]
    pitch = PITCH_NAMES.get(name[0].upper())
    if pitch is None:
        return None
    for accidental in name[1:]:
        pitch += 1 if accidental == "#" else -1 if accidental == "b" else 0
    return pitch % 12


def _write(events: list[tuple[float, mido.Message]], programs: dict[int, int], path: Path) -> None:
    """Events at seconds into a MIDI file at 120 BPM (480 ticks per quarter: 960 ticks a second)."""
    mid = mido.MidiFile(ticks_per_beat=480)
    track = mido.MidiTrack()
    mid.tracks.append(track)
    track.append(mido.MetaMessage("set_tempo", tempo=500000, time=0))
    for ch, prog in programs.items():
        track.append(mido.Message("program_change", channel=ch, program=prog, time=0))
    order = {"note_off": 0, "pitchwheel": 1, "control_change": 1, "note_on": 2}
    events.sort(key=lambda e: (e[0], order.get(e[1].type, 1)))
    now = 0
    for t, msg in events:
        tick = max(now, int(round(t * 960)))
        track.append(msg.copy(time=tick - now))
        now = tick
    track.append(mido.MetaMessage("end_of_track", time=960))
    mid.save(path)


def arrange(song: Song, path: Path) -> dict[str, int]:
    """The song as a band (see the module docstring); returns the programs used."""
    rng = np.random.default_rng(song.number)
    programs = {0: int(rng.choice(LEADS)), 1: int(rng.choice(SECONDS)), 2: int(rng.choice(KEYS)),
                3: int(rng.choice(BASSES))}
    events: list[tuple[float, mido.Message]] = []
    for ch, name, gain in ((0, "MELODY", 1.0), (1, "BRIDGE", 0.75), (2, "PIANO", 0.7)):
        for start, end, pitch, vel in _notes(song.midi, name):
            v = int(np.clip(vel * gain + rng.normal(0, 4), 1, 127))
            events.append((start, mido.Message("note_on", channel=ch, note=pitch, velocity=v)))
            events.append((max(end, start + 0.02), mido.Message("note_off", channel=ch, note=pitch, velocity=0)))
    for start, end, label in song.chords:  # bass: the root on each beat of the chord
        root = _root(label)
        if root is None:
            continue
        inside = song.beats[(song.beats[:, 0] >= start - 1e-3) & (song.beats[:, 0] < end - 1e-3), 0]
        for k, t in enumerate(inside):
            pitch = 36 + root + (7 if k % 4 == 2 and rng.random() < 0.3 else 0)
            length = min(end, t + 0.45) - t
            events.append((float(t), mido.Message("note_on", channel=3, note=pitch, velocity=90)))
            events.append((float(t + max(length, 0.05)), mido.Message("note_off", channel=3, note=pitch, velocity=0)))
    times = song.beats[:, 0]
    downbeat = song.beats[:, 2] > 0.5 if song.beats.shape[1] > 2 else np.zeros(len(times), bool)
    bar_pos = 0
    for k, t in enumerate(times):
        bar_pos = 0 if downbeat[k] else bar_pos + 1
        step = times[k + 1] - t if k + 1 < len(times) else 0.5
        hits = [(t, HAT, 70), (t + step / 2, HAT, 55)]
        hits.append((t, KICK, 100) if bar_pos % 2 == 0 else (t, SNARE, 95))
        if downbeat[k] and rng.random() < 0.15:
            hits.append((t, CRASH, 90))
        for at, note, vel in hits:
            at = float(at + rng.normal(0, 0.004))
            events.append((max(at, 0.0), mido.Message("note_on", channel=9, note=note, velocity=vel)))
            events.append((max(at, 0.0) + 0.08, mido.Message("note_off", channel=9, note=note, velocity=0)))
    _write(events, programs, path)
    return programs


def render(mid: Path, out: Path, *, channels: int = 2, mp3: bool = False) -> None:
    """fluidsynth at 22,050 Hz, then FLAC (or MP3 at 192 kbps), trimmed of trailing silence."""
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "r.wav"
        subprocess.run(["fluidsynth", "-ni", "-q", "-g", "0.7", "-F", str(wav), "-r", str(RATE), str(SOUNDFONT),
                        str(mid)], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        data, rate = sf.read(wav, dtype="float32", always_2d=True)
        loud = np.flatnonzero(np.abs(data).max(axis=1) > 1e-4)
        data = data[: loud[-1] + rate // 2] if len(loud) else data
        if channels == 1:
            data = data.mean(axis=1, keepdims=True)
        peak = float(np.abs(data).max()) or 1.0
        data = data * min(1.0, 0.89 / peak)
        if mp3:
            flac = Path(tmp) / "r.flac"
            sf.write(flac, data, rate)
            subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(flac), "-b:a", "192k", str(out)], check=True)
        else:
            sf.write(out, data, rate, subtype="PCM_16")


def hum_query(song: Song, lead: int, out: Path, rng: np.random.Generator, seconds: float = 12.0) -> dict[str, float]:
    """A hummed-like rendition of 12 s of the song's melody (see the module docstring)."""
    notes = _notes(song.midi, "MELODY")
    starts = np.array([n[0] for n in notes])
    candidates = [s for s in starts if np.sum((starts >= s) & (starts < s + seconds)) >= 12]
    begin = float(rng.choice(candidates[: max(1, len(candidates) - 1)])) if candidates else float(starts[0])
    tempo = float(rng.uniform(0.8, 1.2))
    shift = int(rng.choice([-6, -5, -4, -3, -2, -1, 1, 2, 3, 4, 5, 6]))
    program = int(rng.choice([p for p in HUMMERS if p != lead]))
    events: list[tuple[float, mido.Message]] = []
    window = [n for n in notes if begin <= n[0] < begin + seconds]
    # the top line only (a hummer sings one note at a time)
    line: list[tuple[float, float, int, int]] = []
    for n in window:
        if line and n[0] - line[-1][0] < 0.03:
            if n[2] > line[-1][2]:
                line[-1] = n
            continue
        line.append(n)
    for k, (start, end, pitch, _) in enumerate(line):
        t0 = (start - begin) / tempo
        stop = (min(end, line[k + 1][0]) - begin) / tempo if k + 1 < len(line) else (end - begin) / tempo
        stop = max(stop, t0 + 0.05)
        offset = rng.normal(0, 20)  # cents
        for step in np.arange(t0, stop, 0.02):  # glide in, vibrato, the note's own offset
            u = step - t0
            cents = offset - 50 * max(0.0, 1 - u / 0.06) + 25 * np.sin(2 * np.pi * 5.5 * u) * min(1.0, u / 0.2)
            value = int(np.clip(cents * 8192 / 200, -8192, 8191))
            events.append((float(step), mido.Message("pitchwheel", channel=0, pitch=value)))
        vel = int(rng.integers(70, 100))
        events.append((float(t0), mido.Message("note_on", channel=0, note=pitch + shift, velocity=vel)))
        events.append((float(stop - 0.01), mido.Message("note_off", channel=0, note=pitch + shift, velocity=0)))
    mid = out.with_suffix(".mid")
    _write(events, {0: program}, mid)
    render(mid, out, channels=1)
    mid.unlink()
    return {"start": begin, "tempo": tempo, "transpose": shift, "program": program, "notes": len(line)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--indexed", type=int, default=120)
    parser.add_argument("--unknown", type=int, default=100)
    parser.add_argument("--hum", type=int, default=60)
    parser.add_argument("--pop909", type=Path, default=None, help="a POP909 folder (default: the fetched mirror)")
    args = parser.parse_args()
    songs_dir, hum_dir, noise_dir = (ROOT / n for n in ("songs", "hum", "noise"))
    for d in (songs_dir, hum_dir, noise_dir):
        d.mkdir(parents=True, exist_ok=True)
    rows = []
    for number in range(1, args.indexed + args.unknown + 1):
        split = "indexed" if number <= args.indexed else "unknown"
        mp3 = number % 5 == 0
        out = songs_dir / f"pop909_{number:03d}.{'mp3' if mp3 else 'flac'}"
        song = load_song(number, args.pop909)
        mid = songs_dir / f"pop909_{number:03d}.mid"
        programs = arrange(song, mid)
        if not out.exists():
            render(mid, out, mp3=mp3)
        rows.append({"file": str(out), "split": split, "song": number, "lead": programs[0],
                     "duration": round(sf.info(out).duration, 2)})
        if number <= args.hum:
            hum = hum_dir / f"hum_{number:03d}.wav"
            rng = np.random.default_rng(10_000 + number)
            meta = hum_query(song, programs[0], hum, rng) if not hum.exists() else {}
            if meta:
                with open(hum_dir / "hum.tsv", "a", newline="") as fh:
                    csv.writer(fh, delimiter="\t").writerow([hum.name, number, *meta.values()])
        if number % 20 == 0:
            print(f"{number} songs", flush=True)
    for src in sorted(Path("/work/clean-corpus/noise").glob("*")):
        dst = noise_dir / src.name
        if not dst.exists():
            shutil.copyfile(src, dst)
    with open(ROOT / "songs.tsv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]), delimiter="\t")
        writer.writeheader()
        writer.writerows(rows)
    print(f"{len(rows)} songs in {ROOT / 'songs.tsv'}")


if __name__ == "__main__":
    main()
