"""Editing REAPER's ini files line by line: everything reabridge does not touch stays byte for byte.

``configparser`` would rewrite a whole file (case, spacing, comments, order); REAPER's
files are edited here one line at a time, in the file's own line ending.
"""

from __future__ import annotations

import re

_SECTION = re.compile(r"^\s*\[(?P<name>[^\]]*)\]\s*$")


def newline(text: str) -> str:
    """The file's line ending (CRLF on Windows-made files)."""
    return "\r\n" if "\r\n" in text else "\n"


def lines(text: str) -> list[str]:
    """The lines without their endings."""
    return text.splitlines()


def join(rows: list[str], eol: str) -> str:
    """Lines back into text (a final line ending, as REAPER writes)."""
    return "".join(row + eol for row in rows)


def _span(rows: list[str], section: str) -> tuple[int, int] | None:
    """``(first, end)`` rows of a section's body (its header is ``first - 1``)."""
    start = None
    for i, row in enumerate(rows):
        m = _SECTION.match(row)
        if m is None:
            continue
        if start is not None:
            return start, i
        if m["name"].strip().lower() == section.lower():
            start = i + 1
    return (start, len(rows)) if start is not None else None


def _find(rows: list[str], section: str, key: str) -> int | None:
    span = _span(rows, section)
    if span is None:
        return None
    for i in range(*span):
        name, eq, _ = rows[i].partition("=")
        if eq and name.strip().lower() == key.lower():
            return i
    return None


def get(text: str, section: str, key: str) -> str | None:
    """A key's value, or None when the section or key is missing."""
    rows = lines(text)
    i = _find(rows, section, key)
    return None if i is None else rows[i].partition("=")[2]


def set_value(text: str, section: str, key: str, value: str | None) -> str:
    """The text with ``key=value`` in ``section`` (added, replaced, or removed when value is None)."""
    eol = newline(text)
    rows = lines(text)
    i = _find(rows, section, key)
    if value is None:
        if i is not None:
            del rows[i]
        return join(rows, eol)
    if i is not None:
        rows[i] = f"{rows[i].partition('=')[0]}={value}"
    else:
        span = _span(rows, section)
        if span is None:
            rows.append(f"[{section}]")
            rows.append(f"{key}={value}")
        else:
            end = span[1]
            while end > span[0] and not rows[end - 1].strip():
                end -= 1  # before the blank lines that separate sections
            rows.insert(end, f"{key}={value}")
    return join(rows, eol)


def has_section(text: str, section: str) -> bool:
    """Whether the text has a ``[section]`` header."""
    return _span(lines(text), section) is not None


def drop_empty_section(text: str, section: str) -> str:
    """The text without ``[section]`` when nothing but blank lines is under it."""
    rows = lines(text)
    span = _span(rows, section)
    if span is None or any(rows[i].strip() for i in range(*span)):
        return text
    del rows[span[0] - 1:span[1]]
    return join(rows, newline(text))


def add_lines(text: str, new: list[str]) -> str:
    """The text with ``new`` lines appended (those already there exactly are not repeated)."""
    eol = newline(text) if text else "\n"
    rows = lines(text)
    have = set(rows)
    rows.extend(row for row in new if row not in have)
    return join(rows, eol)


def remove_lines(text: str, old: list[str]) -> tuple[str, int]:
    """The text without the lines equal to one of ``old``; how many went."""
    gone = set(old)
    rows = lines(text)
    kept = [row for row in rows if row not in gone]
    return join(kept, newline(text)), len(rows) - len(kept)
