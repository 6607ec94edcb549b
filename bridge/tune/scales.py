"""Keys and scales as musicians write them, turned into the pitch classes a note may snap to.

``"A minor"``, ``"Am"``, ``"F# major"``, ``"Bb dorian"``, ``"C#m"``, ``"E♭ lydian"``, ``"chromatic"``;
a list of notes (``"C D E G A"``) is a scale of its own. Pitch classes count semitones
from C (C = 0, C# = 1 ... B = 11). The modes are a data table (:data:`MODES`), so adding
one is one line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bridge.errors import ReabridgeError

#: mode -> semitones above the root (the first entry names the mode in take names and reports)
MODES: dict[str, tuple[int, ...]] = {
    "major": (0, 2, 4, 5, 7, 9, 11),
    "minor": (0, 2, 3, 5, 7, 8, 10),
    "dorian": (0, 2, 3, 5, 7, 9, 10),
    "phrygian": (0, 1, 3, 5, 7, 8, 10),
    "lydian": (0, 2, 4, 6, 7, 9, 11),
    "mixolydian": (0, 2, 4, 5, 7, 9, 10),
    "locrian": (0, 1, 3, 5, 6, 8, 10),
    "harmonic minor": (0, 2, 3, 5, 7, 8, 11),
    "melodic minor": (0, 2, 3, 5, 7, 9, 11),
    "major pentatonic": (0, 2, 4, 7, 9),
    "minor pentatonic": (0, 3, 5, 7, 10),
    "blues": (0, 3, 5, 6, 7, 10),
    "chromatic": tuple(range(12)),
}

#: other ways of writing a mode -> its name in :data:`MODES`
ALIASES: dict[str, str] = {
    "maj": "major", "ionian": "major", "m": "minor", "min": "minor", "aeolian": "minor", "natural minor": "minor",
    "harmonic": "harmonic minor", "harmonic min": "harmonic minor", "melodic": "melodic minor",
    "melodic min": "melodic minor", "jazz minor": "melodic minor", "pentatonic": "major pentatonic",
    "major pent": "major pentatonic", "maj pentatonic": "major pentatonic", "minor pent": "minor pentatonic",
    "min pentatonic": "minor pentatonic", "m pentatonic": "minor pentatonic", "blues scale": "blues",
    "minor blues": "blues", "chromatic scale": "chromatic",
}

LETTERS = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
#: how pitch classes are named in take names and reports
SHARP_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
FLAT_NAMES = ("C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B")

FORMS = ("'A minor', 'Am', 'F# major', 'Bb dorian', 'C#m', 'E♭ lydian' (a root A-G with #/b/♯/♭, then major, "
         "minor, dorian, phrygian, lydian, mixolydian, locrian, harmonic minor, melodic minor, major pentatonic, "
         "minor pentatonic or blues), or 'chromatic'")

_NOTE = re.compile(r"^([A-Ga-g])([#♯b♭]*)$")
_KEY = re.compile(r"^([A-Ga-g])([#♯b♭]?)(.*)$")


class ScaleError(ReabridgeError):
    """A key, scale or note list that cannot be read."""


def _accidental(text: str) -> int:
    return sum(1 if c in "#♯" else -1 for c in text)


def pitch_class(name: str) -> int:
    """The pitch class of a note name (``"F#"`` -> 6, ``"Bb"`` -> 10, ``"E♭"`` -> 3, ``"Cb"`` -> 11)."""
    match = _NOTE.match(name.strip())
    if not match:
        raise ScaleError(f"'{name}' is not a note name (A-G, optionally with # or b: C, F#, Bb)")
    return (LETTERS[match.group(1).upper()] + _accidental(match.group(2))) % 12


@dataclass(frozen=True)
class Scale:
    """The pitch classes notes snap to, and how to name them.

    Attributes
    ----------
    name : str
        As reports and take names show it (``"A minor"``, ``"chromatic"``, ``"C D E G A"``).
    pitch_classes : tuple of int
        Sorted, 0 = C.
    """

    name: str
    pitch_classes: tuple[int, ...]

    def nearest(self, midi: float) -> int:
        """The MIDI note of this scale closest to ``midi`` (a float note number); ties go down."""
        base = int(round(midi))
        best: int | None = None
        for offset in sorted(range(-12, 13), key=lambda o: (abs(base + o - midi), base + o)):
            if (base + offset) % 12 in self.pitch_classes:
                best = base + offset
                break
        assert best is not None
        return best

    def contains(self, note: int) -> bool:
        """Whether a MIDI note belongs to the scale."""
        return note % 12 in self.pitch_classes


def _mode_name(text: str) -> str | None:
    words = " ".join(text.lower().replace("-", " ").split())
    if words in MODES:
        return words
    return ALIASES.get(words)


def parse_key(text: str) -> Scale:
    """A key as musicians write it (``"A minor"``, ``"Am"``, ``"F# major"``, ``"Bb dorian"``, ``"chromatic"``).

    A root alone (``"C"``) is its major key, as in chord symbols.

    Raises
    ------
    ScaleError
        Naming the accepted forms.
    """
    raw = " ".join(text.strip().split())
    if _mode_name(raw) == "chromatic":
        return Scale("chromatic", MODES["chromatic"])
    match = _KEY.match(raw)
    mode = _mode_name(match.group(3)) if match else None
    if match and match.group(3).strip() == "":
        mode = "major"
    if match and match.group(3) in ("m", "M"):  # "Am", "C#m"; "CM" is major, as in chord symbols
        mode = "minor" if match.group(3) == "m" else "major"
    if not match or mode is None or mode == "chromatic":
        raise ScaleError(f"unknown key '{text}': write it like {FORMS}")
    letter, accidental = match.group(1).upper(), match.group(2)
    root = (LETTERS[letter] + _accidental(accidental)) % 12
    shown = letter + {"♯": "#", "♭": "b"}.get(accidental, accidental)
    return Scale(f"{shown} {mode}", tuple(sorted((root + step) % 12 for step in MODES[mode])))


def scale_of(root: str, mode: str) -> Scale:
    """``--key A --scale dorian``: a root and a mode named apart."""
    found = _mode_name(mode)
    if found is None:
        raise ScaleError(f"unknown scale '{mode}': use one of {', '.join(MODES)}")
    if found == "chromatic":
        return Scale("chromatic", MODES["chromatic"])
    return parse_key(f"{root} {found}")


def parse_notes(text: str) -> Scale:
    """A scale from its notes (``"C D E G A"``, commas allowed; order and octaves do not matter)."""
    names = [n for n in re.split(r"[\s,]+", text.strip()) if n]
    if not names:
        raise ScaleError("no notes given: list them like 'C D E G A'")
    classes = sorted({pitch_class(n) for n in names})
    flat = any(c in "b♭" for n in names for c in n[1:])
    shown = " ".join((FLAT_NAMES if flat else SHARP_NAMES)[c] for c in classes)
    return Scale(shown, tuple(classes))


def note_name(midi: int, flat: bool = False) -> str:
    """``69`` -> ``"A4"`` (middle C is C4)."""
    return f"{(FLAT_NAMES if flat else SHARP_NAMES)[midi % 12]}{midi // 12 - 1}"
