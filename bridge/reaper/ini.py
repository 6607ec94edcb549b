"""Editing REAPER's ini files line by line: everything reabridge does not touch stays byte for byte.

``configparser`` would rewrite a whole file (case, spacing, comments, order); REAPER's
files are edited here one line at a time. Every line keeps its own ending (CRLF, LF or
a lone CR, even mixed in one file); a line reabridge adds gets the file's usual one.

A file is read and written back in its own encoding (:func:`decode`, :class:`IniText`):
UTF-8 with or without a byte-order mark (what REAPER writes), UTF-16 or UTF-32 with a
byte-order mark (older files, hand edits on Windows). A file that is none of these is
refused rather than guessed at, so a line of ours never lands in the wrong encoding.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

from bridge.errors import ReabridgeError

_SECTION = re.compile(r"^\s*\[(?P<name>[^\]]*)\]\s*$")
_LINE = re.compile(r"([^\r\n]*)(\r\n|\n|\r|$)")

#: byte-order marks, longest first (UTF-32 LE starts with UTF-16 LE's mark)
_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


class IniEncodingError(ReabridgeError):
    """A file reabridge would edit is not text in an encoding it can write back unchanged."""


@dataclass(frozen=True)
class IniText:
    """A text file as read: its text, and how to write it back the same way.

    Attributes
    ----------
    text : str
        The decoded text (line endings as they are in the file).
    encoding : str
        The codec (``"utf-8"``, ``"utf-16-le"``...), without the byte-order mark.
    bom : bytes
        The byte-order mark the file starts with (empty when it has none).
    """

    text: str
    encoding: str = "utf-8"
    bom: bytes = b""

    def encode(self, text: str) -> bytes:
        """``text`` in this file's encoding, with its byte-order mark."""
        return self.bom + text.encode(self.encoding)

    @property
    def described(self) -> str:
        """The encoding in words (for messages)."""
        name = self.encoding.upper().replace("-LE", " LE").replace("-BE", " BE")
        return f"{name} with a byte-order mark" if self.bom else name


def decode(data: bytes, name: str) -> IniText:
    """Read a file's bytes in their own encoding.

    Parameters
    ----------
    data : bytes
        The whole file.
    name : str
        The file's name, for the message.

    Raises
    ------
    IniEncodingError
        The bytes are not UTF-8, nor UTF-16/UTF-32 with a byte-order mark, or would not
        come back the same when written again.
    """
    encoding, bom = "utf-8", b""
    for mark, codec in _BOMS:
        if data.startswith(mark):
            encoding, bom = codec, mark
            break
    body = data[len(bom):]
    if not bom and b"\x00" in body:
        raise IniEncodingError(f"{name} holds NUL bytes (UTF-16 without a byte-order mark?); reabridge will not "
                               "edit it: save it as UTF-8 (REAPER's own encoding) and run the command again")
    try:
        text = body.decode(encoding)
    except UnicodeDecodeError as exc:
        raise IniEncodingError(f"{name} is not {encoding.upper()} text (byte {body[exc.start]:#04x} at offset "
                               f"{exc.start + len(bom)}); reabridge will not edit it: save it as UTF-8 (REAPER's "
                               "own encoding) and run the command again") from None
    found = IniText(text, encoding, bom)
    if found.encode(text) != data:  # pragma: no cover - strict decoding of these codecs round-trips
        raise IniEncodingError(f"{name} would not be written back byte for byte as {found.described}; "
                               "reabridge will not edit it")
    return found


def newline(text: str) -> str:
    """The file's line ending (CRLF on Windows-made files; a lone CR only in files that use nothing else)."""
    if "\r\n" in text:
        return "\r\n"
    if "\r" in text and "\n" not in text:
        return "\r"
    return "\n"


def _rows(text: str) -> list[tuple[str, str]]:
    """``(line, ending)`` pairs; the last line's ending is empty when the file does not end with one."""
    rows = [(m[1], m[2]) for m in _LINE.finditer(text)]
    if rows and rows[-1] == ("", ""):
        rows.pop()
    return rows


def _text(rows: list[tuple[str, str]], eol: str) -> str:
    """Rows back into text; a line that had no ending gets one when another line follows it."""
    out = []
    for i, (row, end) in enumerate(rows):
        out.append(row + (end or (eol if i < len(rows) - 1 else "")))
    return "".join(out)


def lines(text: str) -> list[str]:
    """The lines without their endings (only CR and LF end a line, as in REAPER)."""
    return [row for row, _ in _rows(text)]


def join(rows: list[str], eol: str) -> str:
    """Lines back into text (a final line ending, as REAPER writes)."""
    return "".join(row + eol for row in rows)


def _span(rows: list[tuple[str, str]], section: str) -> tuple[int, int] | None:
    """``(first, end)`` rows of a section's body (its header is ``first - 1``)."""
    start = None
    for i, (row, _) in enumerate(rows):
        m = _SECTION.match(row)
        if m is None:
            continue
        if start is not None:
            return start, i
        if m["name"].strip().lower() == section.lower():
            start = i + 1
    return (start, len(rows)) if start is not None else None


def _find(rows: list[tuple[str, str]], section: str, key: str) -> int | None:
    span = _span(rows, section)
    if span is None:
        return None
    for i in range(*span):
        name, eq, _ = rows[i][0].partition("=")
        if eq and name.strip().lower() == key.lower():
            return i
    return None


def get(text: str, section: str, key: str) -> str | None:
    """A key's value, or None when the section or key is missing."""
    rows = _rows(text)
    i = _find(rows, section, key)
    return None if i is None else rows[i][0].partition("=")[2]


def _insert(rows: list[tuple[str, str]], at: int, new: list[str], eol: str) -> None:
    """Insert lines before row ``at`` (the line before them gets an ending if it had none)."""
    if at > 0 and not rows[at - 1][1]:
        rows[at - 1] = (rows[at - 1][0], eol)
    rows[at:at] = [(row, eol) for row in new]


def set_value(text: str, section: str, key: str, value: str | None) -> str:
    """The text with ``key=value`` in ``section`` (added, replaced, or removed when value is None)."""
    eol = newline(text)
    rows = _rows(text)
    i = _find(rows, section, key)
    if value is None:
        if i is not None:
            del rows[i]
        return _text(rows, eol)
    if i is not None:
        rows[i] = (f"{rows[i][0].partition('=')[0]}={value}", rows[i][1])
        return _text(rows, eol)
    span = _span(rows, section)
    if span is None:
        _insert(rows, len(rows), [f"[{section}]", f"{key}={value}"], eol)
    else:
        end = span[1]
        while end > span[0] and not rows[end - 1][0].strip():
            end -= 1  # before the blank lines that separate sections
        _insert(rows, end, [f"{key}={value}"], eol)
    return _text(rows, eol)


def has_section(text: str, section: str) -> bool:
    """Whether the text has a ``[section]`` header."""
    return _span(_rows(text), section) is not None


def drop_empty_section(text: str, section: str) -> str:
    """The text without ``[section]`` when nothing but blank lines is under it."""
    rows = _rows(text)
    span = _span(rows, section)
    if span is None or any(rows[i][0].strip() for i in range(*span)):
        return text
    del rows[span[0] - 1:span[1]]
    return _text(rows, newline(text))


def add_lines(text: str, new: list[str]) -> str:
    """The text with ``new`` lines appended (those already there exactly are not repeated)."""
    eol = newline(text) if text else "\n"
    rows = _rows(text)
    have = {row for row, _ in rows}
    missing = list(dict.fromkeys(row for row in new if row not in have))
    if not missing:
        return text
    _insert(rows, len(rows), missing, eol)
    return _text(rows, eol)


def remove_lines(text: str, old: list[str]) -> tuple[str, int]:
    """The text without the lines equal to one of ``old``; how many went."""
    gone = set(old)
    rows = _rows(text)
    kept = [r for r in rows if r[0] not in gone]
    if len(kept) == len(rows):
        return text, 0
    if kept and rows and not rows[-1][1] and kept[-1][1]:
        kept[-1] = (kept[-1][0], "")  # the file did not end with a line ending; it still does not
    return _text(kept, newline(text)), len(rows) - len(kept)
