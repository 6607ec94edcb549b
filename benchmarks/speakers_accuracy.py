"""Speaker diarization: DER and count accuracy on conversations built from real speech, and on the corpus' files.

Material
--------
- ``mixtures``: conversations of 2, 3 and 4 distinct speakers built from LibriSpeech test-other
  (read English, CC BY 4.0; the 10 speakers x 10 utterances shipped in Resemblyzer's repository,
  ``audio_data/librispeech_test-other``). They live outside this repository, in
  ``SPEAKERS_DATA`` (default ``/work/speakers-data``): get them with the repository snapshot's
  ``git archive HEAD audio_data/librispeech_test-other | tar -x -C /work/speakers-data``.
  Each conversation: turns of 1-15 s (uniform), each cut from its speaker's utterances at a
  quiet 10 ms frame near the chosen length, pauses of 0.2-0.8 s between turns, no overlap. The
  ``backchannel`` ones also put a single short word (0.25-0.9 s, an isolated word of the listener,
  standing in for "yeah": no recording of "yeah" by these speakers exists) into a pause of a long
  turn, 3 times. The reference is where each turn, alone and clean, has speech (Silero VAD on the
  single-speaker turn, as simulated-mixture benchmarks take their reference from the sources;
  pauses inside a turn shorter than 0.3 s joined, the NIST RT convention), so missed speech and
  false alarms measure what the mixture does to the segmentation, not the VAD's own errors.
  Speakers 1688 1998 2033 2414 2609 are the *tuning* set (the constants in
  ``bridge.speech.speakers`` were chosen on them); 3005 3080 3331 367 533 are *held out*.
- ``corpus``: the pyannote sample (2 people on the phone, 30 s) and two 30 s AMI meeting excerpts,
  scored against their RTTM.

Scoring: DER as NIST md-eval (collar 0.25 s, overlap scored; ``bridge.speech.der``), count accuracy
(speakers found = speakers present). Anchors in the same run: the same pipeline told the true count
(``--speakers N``), and "everyone is one speaker" on our own speech segments.

Run: ``.venv/bin/python benchmarks/speakers_accuracy.py [--set tune|held-out|all] [--per-k 4]``
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import CORPUS

from bridge.speech.der import der, read_rttm
from bridge.speech.speakers import diarize
from bridge.speech.vad import speech_segments, to_16k

DATA = Path(os.environ.get("SPEAKERS_DATA", "/work/speakers-data")) / "audio_data" / "librispeech_test-other"
TUNE = ("1688", "1998", "2033", "2414", "2609")
HELD_OUT = ("3005", "3080", "3331", "367", "533")
RATE = 16000
FRAME = 160  # 10 ms


@dataclass
class Mixture:
    name: str
    audio: np.ndarray
    truth: list[tuple[float, float, str]]
    speakers: int


def _frame_db(x: np.ndarray) -> np.ndarray:
    n = len(x) // FRAME
    e = (x[:n * FRAME].reshape(n, FRAME).astype(np.float64) ** 2).mean(axis=1)
    return 10 * np.log10(e + 1e-12)


def _speech_spans(x: np.ndarray, min_gap: float = 0.3) -> list[tuple[int, int]]:
    """Sample spans of speech in one speaker's clean turn (Silero VAD on that turn alone; pauses under
    ``min_gap`` joined)."""
    spans: list[tuple[int, int]] = []
    for s, e in speech_segments(x):
        a, b = int(s * RATE), int(e * RATE)
        if spans and a - spans[-1][1] < min_gap * RATE:
            spans[-1] = (spans[-1][0], b)
        else:
            spans.append((a, b))
    return spans


class Voice:
    """One speaker's utterances as a stream to cut turns from."""

    def __init__(self, folder: Path) -> None:
        parts = []
        for f in sorted(folder.glob("*.flac")):
            x, rate = sf.read(f, dtype="float32")
            parts.append(to_16k(x, rate))
        self.audio = np.concatenate(parts)
        self.name = folder.name
        self.pos = 0
        self.quiet = _frame_db(self.audio)

    def take(self, seconds: float) -> np.ndarray:
        """The next ``seconds`` of speech, ending at a quiet frame within 0.4 s of that length."""
        want = int(seconds * RATE)
        if self.pos + want + RATE > len(self.audio):
            self.pos = 0
        lo = (self.pos + want) // FRAME - 40
        hi = min(len(self.quiet) - 1, lo + 80)
        end = (lo + int(np.argmin(self.quiet[lo:hi]))) * FRAME
        piece = self.audio[self.pos:end]
        self.pos = end
        return piece

    def word(self, rng: np.random.Generator) -> np.ndarray:
        """An isolated short word (0.25-0.9 s of speech between pauses; else the shortest stretch)."""
        if not hasattr(self, "_spans"):
            self._spans = _speech_spans(self.audio, min_gap=0.15)
        spans = self._spans
        words = [(s, e) for s, e in spans if 0.25 * RATE <= e - s <= 0.9 * RATE]
        if not words:  # no isolated word: the shortest stretch of speech
            words = [min((p for p in spans if p[1] - p[0] >= 0.25 * RATE), key=lambda p: p[1] - p[0])]
        s, e = words[int(rng.integers(len(words)))]
        return self.audio[max(0, s - 800):e + 800]


def build(name: str, voices: list[Voice], rng: np.random.Generator, seconds: float, backchannels: int = 0
          ) -> Mixture:
    pieces: list[np.ndarray] = [np.zeros(int(0.5 * RATE), dtype=np.float32)]
    truth: list[tuple[float, float, str]] = []
    at = len(pieces[0])
    last = -1
    long_turns: list[tuple[int, int, int]] = []  # where back-channels can go: (index in pieces, speaker)
    while at < seconds * RATE:
        who = int(rng.choice([i for i in range(len(voices)) if i != last]))
        turn = voices[who].take(float(rng.uniform(1.0, 15.0)))
        turn = turn * np.float32(10 ** (rng.uniform(-4, 4) / 20))  # speakers at slightly different levels
        for s, e in _speech_spans(turn):
            truth.append(((at + s) / RATE, (at + e) / RATE, voices[who].name))
        if len(turn) > 8 * RATE:
            long_turns.append((len(pieces), who, at))
        pieces.append(turn)
        at += len(turn)
        pause = np.zeros(int(rng.uniform(0.2, 0.8) * RATE), dtype=np.float32)
        pieces.append(pause)
        at += len(pause)
        last = who
    audio = np.concatenate(pieces)
    if backchannels:
        # a short word of another speaker in the middle of a long turn, in a pause made for it
        chosen = sorted(rng.choice(len(long_turns), size=min(backchannels, len(long_turns)), replace=False))
        shift = 0
        for index in chosen:
            _, who, start = long_turns[index]
            other = voices[int(rng.choice([i for i in range(len(voices)) if i != who]))]
            word = other.word(rng) * np.float32(0.9)
            gap = np.zeros(int(0.3 * RATE), dtype=np.float32)
            cut = start + shift + 4 * RATE
            quiet = _frame_db(audio[cut - RATE:cut + RATE])
            cut = cut - RATE + int(np.argmin(quiet)) * FRAME
            insert = np.concatenate([gap, word, gap])
            audio = np.concatenate([audio[:cut], insert, audio[cut:]])
            t, d = cut / RATE, len(insert) / RATE
            moved = []
            for s, e, spk in truth:
                if e <= t:
                    moved.append((s, e, spk))
                elif s >= t:
                    moved.append((s + d, e + d, spk))
                else:
                    moved += [(s, t, spk), (t + d, e + d, spk)]
            ws = _speech_spans(word)
            moved += [(t + 0.3 + a / RATE, t + 0.3 + b / RATE, other.name) for a, b in ws]
            truth = sorted(moved)
            shift += len(insert)
    noise = np.random.default_rng(1).normal(0, 10 ** (-65 / 20), len(audio)).astype(np.float32)
    return Mixture(name, audio + noise, truth, len({t[2] for t in truth}))


def mixtures(ids: tuple[str, ...], label: str, per_k: int, seed: int) -> list[Mixture]:
    rng = np.random.default_rng(seed)
    voices = {i: Voice(DATA / i) for i in ids}
    out = []
    for k in (2, 3, 4):
        for n in range(per_k):
            chosen = [voices[i] for i in rng.choice(ids, size=k, replace=False)]
            back = 3 if n == 0 else 0
            out.append(build(f"{label}-{k}spk-{n}{'-backchannel' if back else ''}", chosen, rng,
                             float(rng.uniform(60, 120)), back))
    return out


def corpus() -> list[Mixture]:
    out = []
    for name in ("pyannote__sample", "pyannote__dev00", "pyannote__dev01"):
        x, rate = sf.read(CORPUS / "speech" / f"{name}.wav", dtype="float32", always_2d=True)
        truth = read_rttm(CORPUS / "speech" / f"{name}.rttm")
        out.append(Mixture(name, to_16k(x.mean(axis=1), rate), truth, len({t[2] for t in truth})))
    return out


def score(m: Mixture) -> dict:
    t0 = time.perf_counter()
    speech = speech_segments(m.audio)
    auto = diarize(m.audio, RATE, speech=speech)
    seconds = time.perf_counter() - t0
    fixed = diarize(m.audio, RATE, speakers=m.speakers, speech=speech)
    one = [(s, e, "S1") for s, e in speech]
    as_seg = lambda turns: [(t.start, t.end, t.speaker) for t in turns]  # noqa: E731
    r_auto, r_fixed, r_one = der(m.truth, as_seg(auto)), der(m.truth, as_seg(fixed)), der(m.truth, one)
    found = len({t.speaker for t in auto})
    return {"name": m.name, "dur": len(m.audio) / RATE, "true": m.speakers, "found": found,
            "der": r_auto.der, "miss": r_auto.missed / r_auto.total, "fa": r_auto.false_alarm / r_auto.total,
            "conf": r_auto.confusion / r_auto.total, "der_fixed": r_fixed.der, "der_one": r_one.der,
            "rtf": seconds / (len(m.audio) / RATE), "total": r_auto.total,
            "err": r_auto.der * r_auto.total, "err_fixed": r_fixed.der * r_fixed.total,
            "err_one": r_one.der * r_one.total}


def report(title: str, rows: list[dict]) -> None:
    print(f"\n== {title}")
    print(f"{'file':34s} {'dur':>6s} {'true':>4s} {'found':>5s} {'DER':>6s} {'miss':>5s} {'FA':>5s}"
          f" {'conf':>5s} {'DER(N)':>7s} {'1 spk':>6s} {'RTF':>6s}")
    for r in rows:
        print(f"{r['name']:34s} {r['dur']:6.1f} {r['true']:4d} {r['found']:5d} {100 * r['der']:5.1f}%"
              f" {100 * r['miss']:4.1f}% {100 * r['fa']:4.1f}% {100 * r['conf']:4.1f}% {100 * r['der_fixed']:6.1f}%"
              f" {100 * r['der_one']:5.1f}% {r['rtf']:6.3f}")
    total = sum(r["total"] for r in rows)
    right = sum(r["found"] == r["true"] for r in rows)
    print(f"{'overall (time-weighted)':34s} {'':6s} {'':4s} {f'{right}/{len(rows)}':>5s}"
          f" {100 * sum(r['err'] for r in rows) / total:5.1f}% {'':5s} {'':5s} {'':5s}"
          f" {100 * sum(r['err_fixed'] for r in rows) / total:6.1f}%"
          f" {100 * sum(r['err_one'] for r in rows) / total:5.1f}%")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--set", choices=("tune", "held-out", "all"), default="all")
    parser.add_argument("--per-k", type=int, default=4, help="conversations per speaker count")
    args = parser.parse_args()
    if not DATA.is_dir():
        sys.exit(f"LibriSpeech speakers not found in {DATA}; see this script's docstring")
    if args.set in ("tune", "all"):
        report("tuning speakers", [score(m) for m in mixtures(TUNE, "tune", args.per_k, 7)])
    if args.set in ("held-out", "all"):
        report("held-out speakers", [score(m) for m in mixtures(HELD_OUT, "held", args.per_k, 11)])
        report("corpus (AMI excerpts, pyannote sample) against their RTTM", [score(m) for m in corpus()])


if __name__ == "__main__":
    main()
