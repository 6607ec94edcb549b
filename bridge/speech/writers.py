"""A transcript as SubRip (``.srt``), WebVTT (``.vtt``), plain text (``.txt``) or JSON (``.json``).

Subtitles follow the usual reading rules: at most two lines of
:data:`LINE_CHARS` characters on screen, so a long segment becomes several
cues, its time shared out by the characters each holds. A labelled speaker
starts every cue of its segment (``S1: ...``).
"""

from __future__ import annotations

import json
from pathlib import Path

from bridge.errors import ReabridgeError
from bridge.speech.transcript import Segment, Transcript

LINE_CHARS = 42
FORMATS = {".srt": "srt", ".vtt": "vtt", ".txt": "txt", ".json": "json"}


def format_for(path: Path) -> str:
    """The format a file name asks for (by its extension)."""
    kind = FORMATS.get(path.suffix.lower())
    if kind is None:
        raise ReabridgeError(f"{path.name}: a transcript is written as .srt, .vtt, .txt or .json")
    return kind


def _stamp(seconds: float, comma: bool) -> str:
    ms = int(round(max(0.0, seconds) * 1000))
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, ms = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{',' if comma else '.'}{ms:03d}"


def _wrap(words: list[str], width: int) -> list[str]:
    lines: list[str] = []
    for word in words:
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines


def cues(segment: Segment, width: int = LINE_CHARS) -> list[tuple[float, float, str]]:
    """A segment as subtitle cues of at most two lines: ``(start, end, text)``."""
    prefix = f"{segment.speaker}: " if segment.speaker else ""
    lines = _wrap((prefix + segment.text).split(), width)
    if not lines:
        return []
    pages = ["\n".join(lines[i:i + 2]) for i in range(0, len(lines), 2)]
    total = sum(len(p) for p in pages)
    out, at = [], segment.start
    for n, page in enumerate(pages):
        end = segment.end if n == len(pages) - 1 else at + (segment.end - segment.start) * len(page) / total
        text = page if n == 0 or not prefix else prefix + page
        out.append((at, end, text))
        at = end
    return out


def to_srt(transcript: Transcript) -> str:
    """SubRip text."""
    blocks = []
    for start, end, text in (c for s in transcript.segments for c in cues(s)):
        blocks.append(f"{len(blocks) + 1}\n{_stamp(start, True)} --> {_stamp(end, True)}\n{text}\n")
    return "\n".join(blocks)


def to_vtt(transcript: Transcript) -> str:
    """WebVTT text."""
    blocks = ["WEBVTT\n"]
    for start, end, text in (c for s in transcript.segments for c in cues(s)):
        blocks.append(f"{_stamp(start, False)} --> {_stamp(end, False)}\n{text}\n")
    return "\n".join(blocks)


def to_txt(transcript: Transcript) -> str:
    """One segment per line (its speaker in front when labelled)."""
    return "".join(s.label() + "\n" for s in transcript.segments)


def to_json(transcript: Transcript) -> str:
    """The JSON object of :meth:`Transcript.to_dict`."""
    return json.dumps(transcript.to_dict(), ensure_ascii=False, indent=1) + "\n"


def render(transcript: Transcript, kind: str) -> bytes:
    """The transcript in one of :data:`FORMATS`, as UTF-8 bytes."""
    text = {"srt": to_srt, "vtt": to_vtt, "txt": to_txt, "json": to_json}[kind](transcript)
    return text.encode("utf-8")
