"""Reading and writing RPP text, byte for byte.

``dumps(loads(text)) == text`` for any text ``loads`` accepts. Anything it
does not accept raises :class:`~bridge.rpp.errors.RppError` with a line number.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from bridge.fileio import OutputError, read_regular, write_atomic
from bridge.rpp.errors import RppError
from bridge.rpp.tree import Chunk, Line

# Control characters never found in a project REAPER wrote (tab, CR before LF
# and LF are fine). Finding one means binary junk or a damaged file.
_JUNK = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]|\r(?!\n)")
_BOM = "\ufeff"


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def loads(text: str) -> Chunk:
    """Parse RPP text (a whole project, or one chunk such as a track) into a tree.

    Parameters
    ----------
    text : str
        The text, with its original line endings.

    Returns
    -------
    Chunk
        The root chunk; :func:`dumps` turns it back into the same text.

    Raises
    ------
    RppError
        Empty, truncated, unbalanced or binary input.
    """
    if not isinstance(text, str):
        raise RppError(f"expected project text, got {type(text).__name__}")
    bom = text.startswith(_BOM)
    body = text[1:] if bom else text
    if not body.strip():
        raise RppError("the file is empty: there is no REAPER project in it", line=1)
    junk = _JUNK.search(body)
    if junk:
        code = ord(junk.group()[0])
        raise RppError(
            f"unexpected control character 0x{code:02X}: this is not a REAPER project "
            "(binary data or a damaged file)",
            line=_line_of(body, junk.start()),
        )

    pieces = body.split("\n")
    last = len(pieces) - 1
    stack: list[tuple[Chunk, int]] = []
    root: Chunk | None = None
    closed = False
    lead: list[str] = []
    trail: list[str] = []
    for number, piece in enumerate(pieces, start=1):
        if number <= last:
            if piece.endswith("\r"):
                raw, eol = piece[:-1], "\r\n"
            else:
                raw, eol = piece, "\n"
        else:
            raw, eol = piece, ""
        content = raw.lstrip(" \t")
        if closed:
            if content.startswith(">"):
                raise RppError("'>' closes a block that was never opened (one '>' too many)", line=number)
            if content.strip():
                raise RppError(
                    f"text after the end of the project ('{_clip(content)}'); "
                    "the final '>' closes the project",
                    line=number,
                )
            trail.append(raw + eol)
            continue
        if content.startswith("<"):
            head = Line(raw, eol)
            if len(content) < 2 or content[1].isspace():
                raise RppError("a block starts with '<' but has no name", line=number)
            chunk = Chunk(head)
            if stack:
                stack[-1][0].children.append(chunk)
            else:
                root = chunk
            stack.append((chunk, number))
        elif content.startswith(">"):
            if not stack:
                raise RppError("'>' closes a block that was never opened", line=number)
            chunk, _ = stack.pop()
            chunk.tail = Line(raw, eol)
            if not stack:
                closed = True
        elif stack:
            stack[-1][0].children.append(Line(raw, eol))
        elif content.strip():
            raise RppError(
                f"expected a block such as '<REAPER_PROJECT', found '{_clip(content)}'",
                line=number,
            )
        else:
            lead.append(raw + eol)
    if stack:
        chunk, opened = stack[-1]
        raise RppError(
            f"the file ends inside the <{chunk.tag} block opened at line {opened} "
            f"({len(stack)} block(s) left open): the file looks truncated",
            line=last + 1,
        )
    assert root is not None  # non-blank text always opens a block or raises
    root.lead = (_BOM if bom else "") + "".join(lead)
    root.trail = "".join(trail)
    return root


def loads_nodes(text: str) -> list[Line | Chunk]:
    """Parse a run of lines and chunks (for example a take's lines) into nodes."""
    return loads("<NODES\n" + text + ">\n").children


def _clip(text: str, width: int = 40) -> str:
    text = text.strip()
    return text if len(text) <= width else text[: width - 1] + "…"


def dumps(chunk: Chunk) -> str:
    """Write a tree back to RPP text (the exact input text if nothing changed)."""
    out: list[str] = [chunk.lead]
    stack: list[Line | Chunk | tuple[Line]] = [chunk]
    while stack:
        node = stack.pop()
        if isinstance(node, tuple):
            out.append(node[0].raw + node[0].eol)
        elif isinstance(node, Line):
            out.append(node.raw + node.eol)
        else:
            out.append(node.head.raw + node.head.eol)
            stack.append((node.tail,))
            stack.extend(reversed(node.children))
    out.append(chunk.trail)
    return "".join(out)


def decode(data: bytes) -> str:
    """Decode project bytes as UTF-8 (what REAPER writes), with a line number on failure."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise RppError(
            f"byte 0x{data[exc.start]:02X} is not valid UTF-8; REAPER writes projects as "
            "UTF-8, so this file is damaged or was saved by another program",
            line=line,
        ) from None


def load(path: str | os.PathLike[str]) -> Chunk:
    """Read and parse a project file.

    Raises
    ------
    RppError
        The file is unreadable or not a valid project.
    """
    try:
        data = read_regular(path)
    except OutputError as exc:
        raise RppError(f"cannot read {os.fspath(path)!r}: {exc}") from None
    except OSError as exc:
        raise RppError(f"cannot read {os.fspath(path)!r}: {exc.strerror or exc}") from None
    return loads(decode(data))


def dump(chunk: Chunk, path: str | os.PathLike[str]) -> None:
    """Write a tree to ``path`` atomically (temporary file, then rename)."""
    write_atomic(Path(path), dumps(chunk).encode("utf-8"))
