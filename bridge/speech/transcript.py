"""A transcript: timed segments of text, optionally with speakers, as the JSON the issue fixes.

``{"language": "en", "duration": s, "text": "...", "segments": [{"start": s, "end": s, "text": "...",
"speaker": "S1" | null}]}`` -- :meth:`Transcript.to_dict` gives exactly that (plus
``replacements`` when a vocabulary changed words, and ``left_out`` when the
English-only guard dropped segments).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any


@dataclass(frozen=True)
class Segment:
    """One stretch of speech and its words.

    Attributes
    ----------
    start, end : float
        Seconds from the start of the audio.
    text : str
    speaker : str or None
        ``"S1"``, ``"S2"``... when speakers were labelled.
    confidence : float
        Mean natural-log probability of the decoder's tokens (0 is certain).
    """

    start: float
    end: float
    text: str
    speaker: str | None = None
    confidence: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """The segment as the JSON carries it."""
        return {"start": round(self.start, 3), "end": round(self.end, 3), "text": self.text, "speaker": self.speaker}

    def label(self) -> str:
        """The text with its speaker in front (``"S1: ..."``), as regions and subtitles show it."""
        return f"{self.speaker}: {self.text}" if self.speaker else self.text

    def shifted(self, offset: float, scale: float = 1.0) -> Segment:
        """The same segment at ``offset + scale * time`` (source time to project time)."""
        return replace(self, start=offset + self.start * scale, end=offset + self.end * scale)


@dataclass(frozen=True)
class Replacement:
    """A word the vocabulary changed: what the model wrote, what it became, and where."""

    heard: str
    term: str
    start: float
    end: float

    def to_dict(self) -> dict[str, Any]:
        """Plain data."""
        return {"heard": self.heard, "term": self.term, "start": round(self.start, 3), "end": round(self.end, 3)}


@dataclass
class Transcript:
    """The whole transcript of one piece of audio.

    Attributes
    ----------
    duration : float
        Seconds of audio.
    segments : list of Segment
    replacements : list of Replacement
        What ``--vocabulary`` changed.
    left_out : list of tuple of float
        ``(start, end)`` of speech the English-only guard did not trust.
    speech : float
        Seconds the VAD heard as speech.
    """

    duration: float
    segments: list[Segment] = field(default_factory=list)
    replacements: list[Replacement] = field(default_factory=list)
    left_out: list[tuple[float, float]] = field(default_factory=list)
    speech: float = 0.0
    language: str = "en"

    @property
    def text(self) -> str:
        """All segments' text, one space between them."""
        return " ".join(s.text for s in self.segments if s.text)

    def to_dict(self) -> dict[str, Any]:
        """The transcript as ``--json`` prints it."""
        data: dict[str, Any] = {"language": self.language, "duration": round(self.duration, 3), "text": self.text,
                                "segments": [s.to_dict() for s in self.segments]}
        if self.replacements:
            data["replacements"] = [r.to_dict() for r in self.replacements]
        if self.left_out:
            data["left_out"] = [{"start": round(a, 3), "end": round(b, 3)} for a, b in self.left_out]
        return data
