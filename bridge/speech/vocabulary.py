"""Specialised vocabulary: near-misses in a transcript snapped to the user's terms, by sound and spelling.

The model knows common English; names and jargon come out as the nearest words it
knows ("Kubernetes" as "Cooper Netties"). Given a list of terms (one per line), each
run of one to (words in the term + 1) transcript words is compared with each
term: by spelling (edit distance over the letters, spaces ignored) and by sound
(the same over a phonetic key that folds English spellings of one sound together:
``ph``/``f``, ``c``/``k``/``q``, silent letters, vowels after the first letter).
A run is replaced when both agree well enough (:data:`MIN_SCORE`) -- a common word
the model wrote whole (one of its whole-word tokens, "country") only for a term spelled
nearly the same --, the best
candidate first, never overlapping another replacement; every replacement is
listed (``--json``: ``replacements``) so the user can check it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from bridge.errors import ReabridgeError
from bridge.fileio import read_regular
from bridge.speech.transcript import Replacement, Segment, Transcript

MIN_SCORE = 0.75  #: 0.4 x spelling + 0.6 x sound similarity a replacement needs
MIN_SPELLING = 0.5  #: ... with the spelling alone at least this similar
COMMON_SPELLING = 0.85  #: a common word the model wrote (one of its whole-word tokens) needs this close a spelling
SHORT_SPELLING = 0.75  #: terms under 6 letters sound like too many common words: spelling must be this close
MAX_TERMS = 5000
MAX_BYTES = 1 << 20
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'\-]*")


class VocabularyError(ReabridgeError):
    """The vocabulary file cannot be used."""


def _letters(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


_SOUNDS = [("ph", "f"), ("gh", ""), ("ck", "k"), ("kn", "n"), ("wr", "r"), ("wh", "w"), ("dg", "j"), ("sch", "sk"),
           ("tch", "ch"), ("ce", "se"), ("ci", "si"), ("cy", "sy"), ("c", "k"), ("q", "k"), ("x", "ks"), ("z", "s"),
           ("v", "f"), ("th", "t"), ("ee", "i"), ("ea", "i")]


def sound_key(text: str) -> str:
    """A phonetic key: letters folded by English sound, vowels after the first dropped, doubles collapsed."""
    word = _letters(text)
    for spelled, sound in _SOUNDS:
        word = word.replace(spelled, sound)
    if not word:
        return ""
    head, rest = word[0], re.sub(r"[aeiouyhw]", "", word[1:])
    key = head + rest
    return re.sub(r"(.)\1+", r"\1", key)


def similarity(a: str, b: str) -> float:
    """1 - edit distance / the longer length (1 for equal strings)."""
    if a == b:
        return 1.0
    if not a or not b:
        return 0.0
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i]
        for j, cb in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return 1.0 - previous[-1] / max(len(a), len(b))


@dataclass(frozen=True)
class Term:
    """One vocabulary entry, with its spelling and sound keys."""

    text: str
    letters: str
    sound: str
    words: int


class Vocabulary:
    """A list of terms to snap near-misses to.

    Parameters
    ----------
    terms : list of str
    """

    def __init__(self, terms: list[str]) -> None:
        self.common: frozenset[str] = frozenset()  #: words the model knows whole (set by the engine)
        self.terms = [Term(t, _letters(t), sound_key(t), len(t.split())) for t in terms if _letters(t)]
        if not self.terms:
            raise VocabularyError("the vocabulary holds no terms (one term per line)")

    @classmethod
    def load(cls, path: Path) -> Vocabulary:
        """Read a vocabulary file: UTF-8 text, one term per line, ``#`` starts a comment line.

        Raises
        ------
        VocabularyError
            The file is empty, binary, not UTF-8, too big, or holds no terms.
        """
        try:
            data = read_regular(path, MAX_BYTES)
        except OSError as exc:
            raise VocabularyError(f"cannot read the vocabulary {path}: {exc.strerror or exc}") from None
        except ReabridgeError as exc:  # not a regular file, or over the limit
            raise VocabularyError(f"the vocabulary {path} cannot be used: {exc} (it should be a text file with "
                                  "one term per line, at most 1 MB)") from None
        if b"\x00" in data:
            raise VocabularyError(f"the vocabulary {path} is a binary file, not text with one term per line")
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise VocabularyError(f"the vocabulary {path} is not UTF-8 text (one term per line)") from None
        if any(ord(ch) < 32 and ch not in "\t\r\n" for ch in text):
            raise VocabularyError(f"the vocabulary {path} holds control characters; it should be plain text, "
                                  "one term per line")
        terms = [line.strip() for line in text.splitlines()]
        terms = [t for t in terms if t and not t.startswith("#")]
        if not terms:
            raise VocabularyError(f"the vocabulary {path} is empty; write one term per line")
        if len(terms) > MAX_TERMS:
            raise VocabularyError(f"the vocabulary {path} has {len(terms)} terms; at most {MAX_TERMS} are used")
        return cls(terms)

    def _best(self, run: str) -> tuple[float, Term | None]:
        letters, sound = _letters(run), sound_key(run)
        best, best_term = 0.0, None
        for term in self.terms:
            if letters == term.letters:
                return (0.0, None) if run == term.text else (2.0, term)  # same letters: spacing or case differs
            if len(term.letters) < 4 or abs(len(letters) - len(term.letters)) > max(2, len(term.letters) // 2):
                continue
            spelling = similarity(letters, term.letters)
            if spelling < (MIN_SPELLING if len(term.letters) >= 6 else SHORT_SPELLING):
                continue
            if spelling < COMMON_SPELLING and run.lower() in self.common:
                continue  # a word the model knows well is taken at its word unless the term is spelled nearly so
            score = 0.4 * spelling + 0.6 * similarity(sound, term.sound)
            if score >= MIN_SCORE and score > best:
                best, best_term = score, term
        return best, best_term

    def snap(self, segment: Segment) -> tuple[Segment, list[Replacement]]:
        """One segment with its near-misses replaced, and what was replaced."""
        words = list(_WORD.finditer(segment.text))
        longest = max(t.words for t in self.terms) + 1
        candidates = []
        for i in range(len(words)):
            for n in range(1, longest + 1):
                if i + n > len(words):
                    break
                span = segment.text[words[i].start():words[i + n - 1].end()]
                if n > 1 and re.search(r"[.,;:!?\"()]", span):
                    break  # a run never crosses punctuation
                score, term = self._best(span)
                if term is not None:
                    candidates.append((score, n, i, term))
        taken = [False] * len(words)
        chosen = []
        for _, n, i, term in sorted(candidates, key=lambda c: (-c[0], -c[1], c[2])):
            if any(taken[i:i + n]):
                continue
            taken[i:i + n] = [True] * n
            chosen.append((i, n, term))
        if not chosen:
            return segment, []
        text, replaced = segment.text, []
        for i, n, term in sorted(chosen, key=lambda c: -c[0]):
            start, end = words[i].start(), words[i + n - 1].end()
            replaced.append(Replacement(text[start:end], term.text, segment.start, segment.end))
            text = text[:start] + term.text + text[end:]
        replaced.reverse()
        return Segment(segment.start, segment.end, text, segment.speaker, segment.confidence), replaced

    def apply(self, transcript: Transcript) -> Transcript:
        """The transcript with every segment snapped; replacements listed on it."""
        segments, replacements = [], list(transcript.replacements)
        for seg in transcript.segments:
            new, replaced = self.snap(seg)
            segments.append(new)
            replacements += replaced
        return Transcript(transcript.duration, segments, replacements, transcript.left_out, transcript.speech,
                          transcript.language)
