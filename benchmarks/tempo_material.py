"""Annotated material for the tempo evaluation: music rendered from MIDI whose beats are known exactly.

Two kinds, both rendered with fluidsynth and the FluidR3 General MIDI soundfont (cached in
``benchmarks/out/tempo``):

- ``synthetic``: arrangements written here, across styles and 60-200 BPM: rock, pop with
  16th hats, half-time hip-hop, four-on-the-floor house, drum & bass, a 3/4 waltz, a 6/8
  ballad, swing jazz (2:1 swing), a reggae one-drop, bossa nova, funk with ghost notes,
  solo piano with rubato, a tempo change and a ritardando. Timing is humanised (a few ms)
  and every clip has its own seed, so the set is fixed but not mechanical.
- ``midi``: the corpus' own quantised MIDI files (Lakh-style pop arrangements and a pop piano
  arrangement), beats taken from their tempo maps and time signatures.

Beats follow the metre's beat unit: quarter notes in x/4, dotted quarters in 6/8 and
12/8; downbeats are bar starts.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import mido
import numpy as np
from _common import CORPUS, OUT, SOUNDFONT, ensure_fluidsynth

TPQ = 480
DRUMS = 9
KICK, SNARE, RIM, HAT, OPEN_HAT, RIDE, CRASH, CLAP, SHAKER = 36, 38, 37, 42, 46, 51, 49, 39, 70


@dataclass
class Clip:
    """One annotated clip: audio file, beat times, downbeat times, beats per bar, tempo."""

    id: str
    kind: str
    audio: Path
    beats: np.ndarray
    downbeats: np.ndarray
    beats_per_bar: int
    bpm: float
    style: str = ""
    duration: float = 0.0
    extra: dict[str, float] = field(default_factory=dict)


# -- writing arrangements ------------------------------------------------------------------------------
@dataclass
class Song:
    """Notes in beats (of the metre's beat unit), turned into MIDI with a tempo curve."""

    beats_per_bar: int
    subdivision: int  # 2 (simple metre) or 3 (compound: 6/8, 12/8)
    notes: list[tuple[float, float, int, int, int]] = field(default_factory=list)  # beat, length, ch, pitch, vel
    programs: dict[int, int] = field(default_factory=dict)

    def add(self, beat: float, length: float, channel: int, pitch: int, velocity: int) -> None:
        self.notes.append((beat, length, channel, pitch, velocity))


def _tempo_curve(bpm: float, bars: int, beats_per_bar: int, change: str, rng: np.random.Generator) -> np.ndarray:
    """Tempo (BPM) of every beat."""
    n = bars * beats_per_bar
    curve = np.full(n, bpm, dtype=float)
    if change == "step":  # a new tempo from the middle bar on
        curve[n // 2 // beats_per_bar * beats_per_bar:] = bpm * 1.3
    elif change == "ritardando":  # the last quarter slows to 70 %
        k = n * 3 // 4
        curve[k:] = bpm * np.linspace(1.0, 0.7, n - k)
    elif change == "rubato":  # slow drifts of up to +-8 %, phrase by phrase
        phase = rng.uniform(0, 2 * np.pi)
        curve = bpm * (1 + 0.08 * np.sin(2 * np.pi * np.arange(n) / (4 * beats_per_bar * 2) + phase))
    return curve


def _to_midi(song: Song, curve: np.ndarray, path: Path, jitter_ms: float, rng: np.random.Generator) -> np.ndarray:
    """Write the song; returns beat times in seconds (from the tempo curve)."""
    unit = TPQ if song.subdivision == 2 else TPQ * 3 // 2  # quarter, or dotted quarter
    beat_times = np.concatenate([[0.0], np.cumsum(60.0 / curve)])
    mid = mido.MidiFile(ticks_per_beat=TPQ)
    track = mido.MidiTrack()
    mid.tracks.append(track)
    num, den = (song.beats_per_bar, 4) if song.subdivision == 2 else (song.beats_per_bar * 3, 8)
    track.append(mido.MetaMessage("time_signature", numerator=num, denominator=den, time=0))
    events: list[tuple[int, mido.Message | mido.MetaMessage]] = []
    for k, bpm in enumerate(curve):
        # MIDI tempo is per quarter note; a dotted-quarter beat at B BPM is a quarter at 1.5 B
        quarter_bpm = bpm if song.subdivision == 2 else bpm * 1.5
        events.append((k * unit, mido.MetaMessage("set_tempo", tempo=int(round(60e6 / quarter_bpm)))))
    for ch, prog in song.programs.items():
        events.append((0, mido.Message("program_change", channel=ch, program=prog)))
    seconds_per_tick = 60.0 / curve / unit
    for beat, length, ch, pitch, vel in song.notes:
        if beat >= len(curve):
            continue
        shift = rng.normal(0, jitter_ms / 1000.0)
        beat_index = int(beat)
        shift_ticks = int(round(shift / seconds_per_tick[beat_index]))
        start = max(0, int(round(beat * unit)) + shift_ticks)
        end = max(start + 1, int(round(min(beat + length, len(curve)) * unit)))
        events.append((start, mido.Message("note_on", channel=ch, note=pitch, velocity=int(np.clip(vel, 1, 127)))))
        events.append((end, mido.Message("note_off", channel=ch, note=pitch, velocity=0)))
    events.sort(key=lambda e: (e[0], 0 if e[1].type in ("set_tempo", "program_change", "note_off") else 1))
    now = 0
    for tick, msg in events:
        track.append(msg.copy(time=tick - now))
        now = tick
    track.append(mido.MetaMessage("end_of_track", time=unit))
    mid.save(path)
    return beat_times[:-1]


def _chords(song: Song, bars: int, ch: int, per_bar: int, rng: np.random.Generator, length: float = 0.9) -> None:
    roots = [0, 5, 7, 9, 2, 4]
    for bar in range(bars):
        root = 48 + roots[(bar // 2 + int(rng.integers(0, 2))) % len(roots)]
        step = song.beats_per_bar / per_bar
        for k in range(per_bar):
            for interval in (0, 4, 7):
                song.add(bar * song.beats_per_bar + k * step, length * step, ch, root + interval, 60)


def _bass(song: Song, bars: int, ch: int, pattern: list[float], rng: np.random.Generator) -> None:
    for bar in range(bars):
        root = 36 + [0, 5, 7, 9][(bar // 2) % 4]
        for off in pattern:
            song.add(bar * song.beats_per_bar + off, 0.4, ch, root + (7 if rng.random() < 0.2 else 0), 90)


def _drums(song: Song, bars: int, hits: dict[int, list[float]], accent: dict[int, int] | None = None,
           swing: float = 0.5, ghost: bool = False, rng: np.random.Generator | None = None) -> None:
    for bar in range(bars):
        for note, offsets in hits.items():
            for off in offsets:
                frac = off % 1
                if abs(frac - 0.5) < 1e-9:
                    off = off - 0.5 + swing  # swing moves the off-beat eighth
                vel = (accent or {}).get(note, 100) - (15 if frac else 0)
                song.add(bar * song.beats_per_bar + off, 0.1, DRUMS, note, vel)
        if bar % 4 == 0:
            song.add(bar * song.beats_per_bar, 0.5, DRUMS, CRASH, 95)
        if ghost and rng is not None:
            for k in range(song.beats_per_bar * 4):
                if rng.random() < 0.2:
                    song.add(bar * song.beats_per_bar + k / 4, 0.05, DRUMS, SNARE, 35)


def _style(style: str, bars: int, rng: np.random.Generator) -> Song:
    eighths = [k / 2 for k in range(8)]
    sixteenths = [k / 4 for k in range(16)]
    if style == "waltz":
        song = Song(3, 2, programs={0: 48, 1: 32, 2: 0})
        _bass(song, bars, 1, [0.0], rng)
        for bar in range(bars):
            for k in (1, 2):
                for interval in (0, 4, 7):
                    song.add(bar * 3 + k, 0.5, 2, 60 + interval + [0, 5, 7][bar % 3], 62)
        _drums(song, bars, {HAT: [0, 1, 2], KICK: [0]}, {HAT: 70})
        return song
    if style == "six-eight":
        song = Song(2, 3, programs={0: 0, 1: 33})
        _bass(song, bars, 1, [0.0, 1.0], rng)
        for bar in range(bars):  # arpeggiated eighths: 3 per beat
            for k in range(6):
                song.add(bar * 2 + k / 3, 0.3, 0, 60 + [0, 4, 7, 12, 7, 4][k] + [0, 5, 7, 5][bar % 4], 55)
        _drums(song, bars, {KICK: [0], SNARE: [1], HAT: [k / 3 for k in range(6)]}, {HAT: 60})
        return song
    song = Song(4, 2, programs={0: 0, 1: 33, 2: 89})
    if style == "rock":
        _drums(song, bars, {KICK: [0, 2, 2.5], SNARE: [1, 3], HAT: eighths})
        _bass(song, bars, 1, [0, 0.5, 2, 2.5], rng)
        _chords(song, bars, 0, 2, rng)
    elif style == "pop16":
        _drums(song, bars, {KICK: [0, 1.75, 2.5], SNARE: [1, 3], HAT: sixteenths}, {HAT: 70})
        _bass(song, bars, 1, [0, 1.75, 2.5], rng)
        _chords(song, bars, 2, 1, rng, 1.0)
    elif style == "halftime":  # hip-hop: snare on 3 only -- the octave trap
        _drums(song, bars, {KICK: [0, 1.5, 2.75], SNARE: [2], HAT: eighths}, {HAT: 75})
        _bass(song, bars, 1, [0, 1.5], rng)
        _chords(song, bars, 2, 1, rng, 1.0)
    elif style == "house":
        _drums(song, bars, {KICK: [0, 1, 2, 3], CLAP: [1, 3], OPEN_HAT: [0.5, 1.5, 2.5, 3.5]})
        _bass(song, bars, 1, [0.5, 1.5, 2.5, 3.5], rng)
        _chords(song, bars, 2, 4, rng, 0.3)
    elif style == "dnb":
        _drums(song, bars, {KICK: [0, 2.5], SNARE: [1, 3], HAT: eighths}, {HAT: 70})
        _bass(song, bars, 1, [0], rng)
        _chords(song, bars, 2, 1, rng, 1.0)
    elif style == "swing":
        song.programs = {0: 0, 1: 32}
        _drums(song, bars, {RIDE: [0, 1, 1.5, 2, 3, 3.5], OPEN_HAT: [1, 3]}, {RIDE: 80}, swing=2 / 3)
        for bar in range(bars):  # walking bass
            for k in range(4):
                song.add(bar * 4 + k, 0.9, 1, 36 + [0, 4, 7, 9, 5, 9, 12, 7][(bar * 4 + k) % 8], 85)
        _chords(song, bars, 0, 2, rng, 0.3)
    elif style == "reggae":  # one drop: kick and rim on 3, chords on the off-beats
        _drums(song, bars, {KICK: [2], RIM: [2], HAT: eighths}, {HAT: 60})
        _bass(song, bars, 1, [0, 0.75, 2.5], rng)
        for bar in range(bars):
            for off in (0.5, 1.5, 2.5, 3.5):
                for interval in (0, 4, 7):
                    song.add(bar * 4 + off, 0.25, 0, 60 + interval, 65)
    elif style == "bossa":
        song.programs = {0: 24, 1: 32}
        _drums(song, bars, {KICK: [0, 1.5, 2, 3.5], RIM: [0, 0.75, 1.5, 2.5, 3.25], SHAKER: eighths},
               {RIM: 70, SHAKER: 50})
        _bass(song, bars, 1, [0, 1.5, 2, 3.5], rng)
        _chords(song, bars, 0, 2, rng, 0.5)
    elif style == "funk":
        _drums(song, bars, {KICK: [0, 0.75, 2.25, 2.5], SNARE: [1, 3], HAT: sixteenths}, {HAT: 60}, ghost=True,
               rng=rng)
        _bass(song, bars, 1, [0, 0.75, 1.5, 2.25, 2.5, 3.5], rng)
    elif style == "piano":  # solo piano, chords on every beat, melody in eighths
        song.programs = {0: 0}
        _chords(song, bars, 0, 4, rng, 0.8)
        for k in range(bars * 8):
            song.add(k / 2, 0.45, 0, 72 + int(rng.integers(-5, 8)), 70 if k % 2 == 0 else 50)
    elif style == "metal":  # double kick in 16ths, snare on 2 and 4
        _drums(song, bars, {KICK: sixteenths, SNARE: [1, 3], CRASH: [0, 1, 2, 3]}, {KICK: 90, CRASH: 60})
        song.programs = {0: 30, 1: 33}
        _bass(song, bars, 1, [0, 0.5, 1, 1.5, 2, 2.5, 3, 3.5], rng)
    return song


# style, tempi, change
SYNTHETIC = [
    ("rock", (96, 132, 160), ""), ("pop16", (84, 104), ""), ("halftime", (72, 88), ""), ("house", (122, 126), ""),
    ("dnb", (172,), ""), ("waltz", (96, 150, 180), ""), ("six-eight", (52, 66), ""), ("swing", (126, 180), ""),
    ("reggae", (74, 80), ""), ("bossa", (136,), ""), ("funk", (100, 112), ""), ("piano", (64, 92), "rubato"),
    ("rock", (100,), "step"), ("pop16", (110,), "ritardando"), ("metal", (190,), ""), ("swing", (64,), ""),
]


def synthetic(seconds: float = 30.0) -> list[Clip]:
    """The synthetic set (rendered once, then read from the cache)."""
    folder = OUT / "tempo"
    folder.mkdir(parents=True, exist_ok=True)
    clips = []
    seed = 0
    for style, tempi, change in SYNTHETIC:
        for bpm in tempi:
            seed += 1
            rng = np.random.default_rng(seed)
            probe = _style(style, 1, rng)
            bars = int(np.ceil(seconds * bpm / 60.0 / probe.beats_per_bar)) + 1
            song = _style(style, bars, rng)
            curve = _tempo_curve(float(bpm), bars, song.beats_per_bar, change, rng)
            name = f"{style}-{bpm}{'-' + change if change else ''}"
            mid, wav = folder / f"{name}.mid", folder / f"{name}.wav"
            beats = _to_midi(song, curve, mid, 6.0 if style != "piano" else 12.0, rng)
            _render(mid, wav, seconds)
            keep = beats < seconds - 0.05
            downbeats = beats[::song.beats_per_bar]
            clips.append(Clip(name, "synthetic", wav, beats[keep], downbeats[downbeats < seconds - 0.05],
                              song.beats_per_bar, float(np.median(curve[: int(keep.sum())])), style, seconds))
    return clips


def _render(mid: Path, wav: Path, seconds: float) -> None:
    if wav.exists() and wav.stat().st_mtime >= mid.stat().st_mtime:
        return
    ensure_fluidsynth()
    tmp = wav.with_suffix(".full.wav")
    subprocess.run(["fluidsynth", "-ni", "-q", "-g", "0.6", "-F", str(tmp), "-r", "44100", str(SOUNDFONT), str(mid)],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    import soundfile as sf

    data, rate = sf.read(tmp, frames=int(seconds * 44100), dtype="float32")
    sf.write(wav, data, rate, subtype="PCM_16")
    tmp.unlink()


# -- the corpus' MIDI files --------------------------------------------------------------------------
# the quantised ones (over 90 % of their notes on a 16th of their own beat grid): there the grid is the music's
# beat; the performed files (POP909's, a waltz, a piano etude) have grids that do not follow the playing
MIDI_FILES = ["All_The_Small_Things", "Funkytown", "Girls_Just_Want_to_Have_Fun", "I_Gotta_Feeling", "In_Too_Deep",
              "Les_Yeux_Revolvers", "Mr._Blue_Sky", "Shut_Up", "What_a_Fool_Believes",
              "d6caebd1964d9e4a3c5ea59525230e2a", "d8faddb8596fff7abb24d78666f73e4e", "POP909_008"]


def midi_beats(path: Path) -> tuple[np.ndarray, np.ndarray, int]:
    """Beat and downbeat times of a MIDI file from its tempo map and time signatures, and beats per bar."""
    mid = mido.MidiFile(path)
    tpq = mid.ticks_per_beat
    tempo_events: list[tuple[int, int]] = [(0, 500000)]
    signatures: list[tuple[int, int, int]] = [(0, 4, 4)]
    end = 0
    for track in mid.tracks:
        tick = 0
        for msg in track:
            tick += msg.time
            if msg.type == "set_tempo":
                tempo_events.append((tick, msg.tempo))
            elif msg.type == "time_signature":
                signatures.append((tick, msg.numerator, msg.denominator))
            elif msg.type == "note_on" and msg.velocity > 0:
                end = max(end, tick)
    # by tick only (stable): the file's own tick-0 events come after the defaults and replace them
    tempo_events.sort(key=lambda e: e[0])
    signatures.sort(key=lambda e: e[0])
    signatures = [s for k, s in enumerate(signatures) if k + 1 == len(signatures) or signatures[k + 1][0] != s[0]]

    def seconds(tick: float) -> float:
        t, last_tick, last_tempo = 0.0, 0, 500000
        for at, tempo in tempo_events:
            if at >= tick:
                break
            t += (at - last_tick) * last_tempo / 1e6 / tpq
            last_tick, last_tempo = at, tempo
        return t + (tick - last_tick) * last_tempo / 1e6 / tpq

    beat_ticks, down_ticks, per_bar = [], [], []
    for k, (start, num, den) in enumerate(signatures):
        stop = signatures[k + 1][0] if k + 1 < len(signatures) else end
        compound = den == 8 and num % 3 == 0 and num > 3
        unit = tpq * 4 / den * (3 if compound else 1)
        count = num // 3 if compound else num
        tick, index = float(start), 0
        while tick < stop:
            beat_ticks.append(tick)
            if index % count == 0:
                down_ticks.append(tick)
            tick += unit
            index += 1
        per_bar.append(count)
    beats = np.array([seconds(t) for t in beat_ticks])
    downs = np.array([seconds(t) for t in down_ticks])
    return beats, downs, max(set(per_bar), key=per_bar.count) if per_bar else 4


def corpus_midi(seconds: float = 45.0) -> list[Clip]:
    """The corpus' MIDI files rendered (their first ``seconds`` after the first note)."""
    folder = OUT / "tempo"
    folder.mkdir(parents=True, exist_ok=True)
    clips = []
    for name in MIDI_FILES:
        src = next(iter(sorted((CORPUS / "midi").glob(f"MidiTok__{name}.mid"))), None)
        if src is None:
            continue
        wav = folder / f"midi-{name}.wav"
        _render(src, wav, seconds)
        beats, downs, per_bar = midi_beats(src)
        keep = beats < seconds - 0.05
        if keep.sum() < 16:
            continue
        ibi = np.diff(beats[keep])
        clips.append(Clip(f"midi-{name}", "midi", wav, beats[keep], downs[downs < seconds - 0.05], per_bar,
                          float(60.0 / np.median(ibi)), "corpus MIDI", seconds))
    return clips
