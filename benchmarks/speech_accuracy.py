"""Speech accuracy: word error rate against reference transcripts, pocketsphinx in the same run, and the
English-only guard on speech in other languages.

Material (real recordings with reference transcripts found in public repositories; the ones
outside the corpus are not redistributable here and live in ``$SPEECH_CORPUS``, default
``/work/speech-corpus`` -- see ``SOURCES`` for where each came from):

- read speech: J. F. Kennedy's inaugural (corpus), a LibriSpeech test-clean utterance, a CMU
  ARCTIC prompt, TIMIT's LDC93S1, two Harvard sentences, an LJSpeech utterance, DeepSpeech's
  "new home in the stars" (all 16 kHz except the 44.1 kHz TIMIT and JFK copies);
- conversational: pyannote's two-person telephone sample with its STM (corpus).

Both sides go through whisper-normalizer's ``EnglishTextNormalizer``; WER is words substituted,
deleted and inserted over reference words, summed over the set. pocketsphinx 5 (CMU's classic
offline recogniser, its shipped US English model) hears the same 16 kHz audio, whole file.

The guard: every English file above must be transcribed; real non-English speech (Common
Voice French, DeepSpeech's Russian sample) and espeak-ng's voices in ten languages must be
refused (or give no text), never printed as a transcript.

Run: ``.venv/bin/python benchmarks/speech_accuracy.py`` (``--fidelity`` also checks every
segment against moonshine-cpp's own runtime).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import CORPUS, REPO

from bridge.audio.reader import read_audio
from bridge.errors import ReabridgeError
from bridge.speech.engine import SpeechEngine
from bridge.speech.vad import to_16k

SPEECH = Path(os.environ.get("SPEECH_CORPUS", "/work/speech-corpus"))
SOURCES = {
    "speechbrain": "github.com/speechbrain/speechbrain tests/samples (single-mic, TTS; S2ST Common Voice clips "
                   "from the commit before b0309cf5)",
    "deepspeech": "github.com/mozilla/DeepSpeech (data/smoke_test, util/spec_augment, examples)",
}

READ = [
    (CORPUS / "speech" / "whisper__jfk.flac", (CORPUS / "speech" / "whisper__jfk.txt").read_text()),
    (SPEECH / "deepspeech" / "61-70968-0002.wav", "A GOLDEN FORTUNE AND A HAPPY LIFE"),
    (SPEECH / "deepspeech" / "arctic_a0024.wav", "It was my reports from the north which chiefly induced people to "
                                                 "buy."),
    (SPEECH / "deepspeech" / "LDC93S1_pcms16le_2_44100.wav", "She had your dark suit in greasy wash water all year."),
    (SPEECH / "deepspeech" / "new-home-in-the-stars-16k.wav", "we must find a new home in the stars"),
    (SPEECH / "speechbrain" / "single-mic__example1.wav", "The birch canoe slid on the smooth planks"),
    (SPEECH / "speechbrain" / "single-mic__example5.wav", "The frosty air passed through the coat"),
    (SPEECH / "speechbrain" / "TTS__LJ050-0131.wav", "unless a system is established for the frequent formal "
                                                     "review of activities thereunder. in this regard"),
]


def stm_text(path: Path) -> str:
    """The words of an STM file in time order."""
    rows = []
    for line in path.read_text().splitlines():
        parts = line.split(maxsplit=5)
        if len(parts) == 6 and not line.startswith(";;"):
            rows.append((float(parts[3]), parts[5]))
    return " ".join(text for _, text in sorted(rows))


CONVERSATIONAL = [(CORPUS / "speech" / "pyannote__sample.wav", stm_text(CORPUS / "speech" / "pyannote__sample.stm"))]

ESPEAK = {
    "fr": "Le comité s'est réuni mardi pour discuter du budget de l'année prochaine. Plusieurs membres ont exprimé "
          "des inquiétudes au sujet du coût du nouveau bâtiment.",
    "de": "Der Ausschuss traf sich am Dienstag, um den Haushalt für das nächste Jahr zu besprechen. Mehrere "
          "Mitglieder äußerten Bedenken wegen der Kosten des neuen Gebäudes.",
    "es": "El comité se reunió el martes para discutir el presupuesto del próximo año. Varios miembros expresaron "
          "su preocupación por el costo del nuevo edificio.",
    "it": "Il comitato si è riunito martedì per discutere il bilancio del prossimo anno. Diversi membri hanno "
          "espresso preoccupazione per il costo del nuovo edificio.",
    "nl": "De commissie kwam dinsdag bijeen om de begroting voor volgend jaar te bespreken. Verscheidene leden "
          "uitten hun zorgen over de kosten van het nieuwe gebouw.",
    "pt": "O comitê se reuniu na terça-feira para discutir o orçamento do próximo ano. Vários membros expressaram "
          "preocupação com o custo do novo prédio.",
    "sv": "Kommittén träffades i tisdags för att diskutera nästa års budget. Flera ledamöter uttryckte oro över "
          "kostnaden för den nya byggnaden.",
    "pl": "Komitet spotkał się we wtorek, aby omówić budżet na przyszły rok. Kilku członków wyraziło obawy "
          "dotyczące kosztów nowego budynku.",
    "ru": "Комитет собрался во вторник, чтобы обсудить бюджет на следующий год. Несколько членов выразили "
          "обеспокоенность стоимостью нового здания.",
    "cmn": "委员会星期二开会讨论明年的预算。几位成员对新大楼的费用表示担忧。",
    "en-us": "I went to the market this morning and bought some apples, a loaf of bread and a bottle of milk. Then "
             "I walked home through the park.",
}
FOREIGN = [SPEECH / "speechbrain" / "common_voice_fr_17299458.wav", SPEECH / "deepspeech" / "ru.wav"]


def normalise(text: str) -> list[str]:
    from whisper_normalizer.english import EnglishTextNormalizer

    return EnglishTextNormalizer()(text).split()


def errors(ref: list[str], hyp: list[str]) -> int:
    """Word edit distance (substitutions + deletions + insertions)."""
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, start=1):
        new = [i]
        for j, h in enumerate(hyp, start=1):
            new.append(min(row[j] + 1, new[j - 1] + 1, row[j - 1] + (r != h)))
        row = new
    return row[-1]


def ours(engine: SpeechEngine, path: Path) -> str:
    try:
        return engine.transcribe_file(path).text
    except ReabridgeError as exc:
        return f"<refused: {exc}>"


def sphinx(path: Path) -> str:
    from pocketsphinx import Decoder

    samples, info = read_audio(path, mono=True)
    audio = np.clip(to_16k(samples, info.sample_rate) * 32768.0, -32768, 32767).astype(np.int16)
    decoder = Decoder(samprate=16000, loglevel="FATAL")
    decoder.start_utt()
    decoder.process_raw(audio.tobytes(), full_utt=True)
    decoder.end_utt()
    hyp = decoder.hyp()
    return hyp.hypstr if hyp is not None else ""


def wer_table(name: str, material: list[tuple[Path, str]], engine: SpeechEngine) -> tuple[float, float]:
    print(f"\n== {name}: {len(material)} recordings")
    totals = {"ours": 0, "sphinx": 0}
    words = 0
    for path, reference in material:
        ref = normalise(reference)
        hyps = {"ours": ours(engine, path), "sphinx": sphinx(path)}
        words += len(ref)
        cells = []
        for who, hyp in hyps.items():
            e = errors(ref, normalise(hyp))
            totals[who] += e
            cells.append(f"{who} {e:2d}")
        print(f"  {path.name[:34]:34s} {len(ref):3d} words | {' | '.join(cells)} | ours: {hyps['ours'][:70]}")
    w_ours, w_sphinx = totals["ours"] / words, totals["sphinx"] / words
    print(f"  WER over {words} words: reabridge (Moonshine base-en) {100 * w_ours:.1f} %, pocketsphinx "
          f"{100 * w_sphinx:.1f} %")
    return w_ours, w_sphinx


def guard(engine: SpeechEngine) -> None:
    print("\n== English-only guard")
    with tempfile.TemporaryDirectory() as tmp:
        cases = [(p.name, p) for p in FOREIGN]
        for voice, text in ESPEAK.items():
            out = Path(tmp) / f"{voice}.wav"
            subprocess.run(["espeak-ng", "-v", voice, "-w", str(out), text], check=True)
            cases.append((f"espeak-ng {voice}", out))
        for _, (path, _) in enumerate(READ + CONVERSATIONAL):
            cases.append((path.name, path))
        for label, path in cases:
            text = ours(engine, path)
            verdict = "refused" if text.startswith("<refused") else "transcribed"
            print(f"  {label[:34]:34s} {verdict:11s} {re.sub(r'^<refused: ', '', text)[:90]}")


def fidelity(engine: SpeechEngine) -> None:
    """Every segment of every recording: our words against moonshine-cpp's runtime."""
    sys.path.insert(0, str(REPO))
    from bridge.speech.chunks import speech_chunks
    from tests.speech_reference import Reference

    reference = Reference()
    same = total = 0
    for path, _ in READ + CONVERSATIONAL:
        samples, info = read_audio(path, mono=True)
        for chunk in speech_chunks([to_16k(samples, info.sample_rate)]):
            total += 1
            a, b = engine.model.decode(chunk.samples).text, reference.transcribe(chunk.samples)
            same += a == b
            if a != b:
                print(f"  differs: {path.name} {chunk.start:.2f} s: {a!r} / {b!r}")
    print(f"\n== fidelity: {same} of {total} segments give exactly moonshine-cpp's runtime text")


def main() -> None:
    missing = [p for p, _ in READ + CONVERSATIONAL if not p.exists()]
    if missing:
        raise SystemExit(f"missing material (see the docstring): {', '.join(str(p) for p in missing)}")
    t0 = time.perf_counter()
    engine = SpeechEngine()
    read = wer_table("read speech", READ, engine)
    talk = wer_table("conversational (telephone, two speakers)", CONVERSATIONAL, engine)
    guard(engine)
    if "--fidelity" in sys.argv:
        fidelity(engine)
    print(f"\nread: {100 * read[0]:.1f} % against pocketsphinx {100 * read[1]:.1f} %; conversational: "
          f"{100 * talk[0]:.1f} % against {100 * talk[1]:.1f} %. Whisper base's published figures for the same kinds "
          "of material are ~5.0 % on LibriSpeech test-clean and ~12.4 % on test-other (OpenAI's paper); this set "
          f"is far smaller, so read it as a check, not a ranking. ({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
