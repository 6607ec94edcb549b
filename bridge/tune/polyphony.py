"""Is the input one voice or several? basic-pitch's note posteriors on a few 2-second windows.

Pitch correction follows one f0; on chords it would produce mush, so clearly polyphonic
input is refused. basic-pitch's network (already shipped for transcription, run through
onnxruntime) is trained to hear several notes at once: a frame where it hears two or more
notes that are not neighbouring semitones is a polyphonic frame. Measured on real
material (``benchmarks/tune_quality.py --polyphony``), solo voices, sax, flute, bass, a
solo-instrument excerpt and a distorted guitar line have at most 8 % such frames (a 2 s
sparse piano excerpt 11 %), full mixes and a jazz piano stem 28-52 %, synthetic triads 99 %;
the threshold is :data:`POLYPHONIC_SHARE` (20 %). A note at the octave, twelfth or double
octave above the lowest one heard is taken for its overtone, so an octave doubling alone
does not count as polyphony.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: windows of 2 s spread over the file
WINDOWS = 15
#: a note posterior above this counts as heard
ACTIVE = 0.4
#: semitones from a note to its 2nd, 3rd and 4th harmonics (the ones basic-pitch may hear as notes of a voice; the
#: 5th harmonic's interval, two octaves and a third, is too often a real bass-and-melody interval in a mix)
OVERTONES = (12, 19, 24)
#: refuse when at least this share of the frames with a note hold two or more
POLYPHONIC_SHARE = 0.20


@dataclass(frozen=True)
class Polyphony:
    """How many notes basic-pitch hears at once.

    Attributes
    ----------
    share : float
        Of the frames where a note is heard, the share holding two or more (not adjacent semitones).
    frames : int
        Frames with a note heard.
    """

    share: float
    frames: int

    @property
    def polyphonic(self) -> bool:
        """Clearly more than one note at a time."""
        return self.frames >= 20 and self.share >= POLYPHONIC_SHARE


def window_starts(frames: int, rate: float) -> list[int]:
    """Start samples (at ``rate``) of the windows to listen to: spread evenly, at most :data:`WINDOWS`."""
    from bridge.transcribe.model import SAMPLE_RATE, WINDOW_SAMPLES

    length = int(np.ceil(WINDOW_SAMPLES * rate / SAMPLE_RATE))
    count = max(1, min(WINDOWS, frames // length))
    if frames <= length:
        return [0]
    step = (frames - length) / max(count - 1, 1)
    return [int(round(i * step)) for i in range(count)]


def measure(snippets: list[np.ndarray], rate: float, model: object | None = None) -> Polyphony:
    """Polyphony of mono ``snippets`` (at ``rate``), with basic-pitch's network (``model``: a loaded one)."""
    import soxr

    from bridge.transcribe.model import SAMPLE_RATE, WINDOW_SAMPLES, BasicPitchModel

    if not snippets:
        return Polyphony(0.0, 0)
    net = model if model is not None else BasicPitchModel(threads=1)
    windows = []
    for snippet in snippets:
        y = soxr.resample(snippet.astype(np.float32), rate, SAMPLE_RATE) if rate != SAMPLE_RATE else snippet
        y = np.asarray(y, dtype=np.float32)[:WINDOW_SAMPLES]
        windows.append(np.pad(y, (0, WINDOW_SAMPLES - len(y))))
    notes = np.concatenate([net.predict(np.stack(windows[i:i + 4]))[0].reshape(-1, 88)  # type: ignore[attr-defined]
                            for i in range(0, len(windows), 4)])
    counts = [_separate_notes(row) for row in notes]
    heard = [c for c in counts if c > 0]
    return Polyphony(float(np.mean([c >= 2 for c in heard])) if heard else 0.0, len(heard))


def _separate_notes(row: np.ndarray) -> int:
    """Notes heard in one frame: runs of active bins count once (a bent note lights its neighbour), and a
    note at a harmonic's interval above the lowest (octave, twelfth, two octaves...) is that note's overtone."""
    active = np.flatnonzero(row > ACTIVE)
    if len(active) == 0:
        return 0
    runs = np.split(active, np.flatnonzero(np.diff(active) > 1) + 1)
    pitches = [int(r[np.argmax(row[r])]) for r in runs]
    lowest = pitches[0]
    return 1 + sum(1 for p in pitches[1:] if min(abs(p - lowest - h) for h in OVERTONES) > 1)
