"""The lossless tree: chunks (``<TAG ... >`` blocks) holding lines and chunks.

Every node keeps the exact text it was read from (indentation, quoting,
trailing spaces, line ending), so writing an untouched tree gives back the
same bytes. Edited or new nodes are written in REAPER's own style.
"""

from __future__ import annotations

from collections.abc import Iterator

from bridge.rpp.tokens import format_tokens, tokenize

INDENT = "  "


class Line:
    """One line of a project: a key and its values, or a line of raw data.

    Parameters
    ----------
    raw : str
        The line's text without its line ending, indentation included.
    eol : str
        The line ending as found (``"\\r\\n"``, ``"\\n"`` or ``""`` at end of file).
    """

    __slots__ = ("_tokens", "eol", "raw")

    def __init__(self, raw: str, eol: str = "\n") -> None:
        self.raw = raw
        self.eol = eol
        self._tokens: list[str] | None = None

    @classmethod
    def build(cls, *values: object, indent: str = "", eol: str = "\n") -> Line:
        """Make a line from values, quoting and formatting them as REAPER does."""
        return cls(indent + format_tokens(list(values)), eol)

    @property
    def tokens(self) -> list[str]:
        """The line split into tokens, quotes removed."""
        if self._tokens is None:
            self._tokens = tokenize(self.raw)
        return self._tokens

    @property
    def key(self) -> str:
        """The first token (``""`` for a blank line)."""
        toks = self.tokens
        return toks[0] if toks else ""

    @property
    def values(self) -> list[str]:
        """The tokens after the key."""
        return self.tokens[1:]

    @property
    def indent(self) -> str:
        """The leading whitespace of the line."""
        return self.raw[: len(self.raw) - len(self.raw.lstrip(" \t"))]

    def set(self, *values: object) -> None:
        """Replace the line's values, keeping its key, indentation and ending."""
        self.raw = self.indent + format_tokens([self.key, *values])
        self._tokens = None

    def set_raw(self, body: str) -> None:
        """Replace the line's text after its indentation."""
        self.raw = self.indent + body
        self._tokens = None

    def __repr__(self) -> str:
        return f"Line({self.raw.strip()!r})"


Node = "Line | Chunk"


class Chunk:
    """A ``<TAG params...`` block: its head line, children and closing ``>``.

    The root chunk of a file also carries whatever surrounded it: a byte order
    mark, blank lines before it and trailing text after it.
    """

    __slots__ = ("children", "head", "lead", "tail", "trail")

    def __init__(self, head: Line, children: list[Line | Chunk] | None = None, tail: Line | None = None) -> None:
        self.head = head
        self.children: list[Line | Chunk] = children if children is not None else []
        self.tail = tail if tail is not None else Line(head.indent + ">", head.eol)
        self.lead = ""
        self.trail = ""

    # -- reading -------------------------------------------------------------------
    @property
    def tag(self) -> str:
        """The chunk's name, e.g. ``"TRACK"`` for ``<TRACK {GUID}``."""
        toks = self.head.tokens
        return toks[0][1:] if toks else ""

    @property
    def params(self) -> list[str]:
        """The tokens after the tag on the head line."""
        return self.head.tokens[1:]

    def lines(self, key: str | None = None) -> Iterator[Line]:
        """Direct child lines, optionally only those whose first token is ``key``."""
        for child in self.children:
            if isinstance(child, Line) and (key is None or child.key == key):
                yield child

    def chunks(self, tag: str | None = None) -> Iterator[Chunk]:
        """Direct child chunks, optionally only those with the given tag."""
        for child in self.children:
            if isinstance(child, Chunk) and (tag is None or child.tag == tag):
                yield child

    def line(self, key: str) -> Line | None:
        """The first direct child line with this key, or None."""
        return next(self.lines(key), None)

    def chunk(self, tag: str) -> Chunk | None:
        """The first direct child chunk with this tag, or None."""
        return next(self.chunks(tag), None)

    def values(self, key: str) -> list[str] | None:
        """The values of the first line with this key, or None when absent."""
        found = self.line(key)
        return found.values if found is not None else None

    def walk(self) -> Iterator[Chunk]:
        """This chunk and every chunk inside it, depth first, in file order."""
        stack: list[Chunk] = [self]
        while stack:
            node = stack.pop()
            yield node
            stack.extend(reversed([c for c in node.children if isinstance(c, Chunk)]))

    # -- editing -------------------------------------------------------------------
    @property
    def child_indent(self) -> str:
        """Indentation REAPER uses for this chunk's children."""
        return self.head.indent + INDENT

    def set(self, key: str, *values: object) -> Line:
        """Set the values of the line ``key``, appending it if absent."""
        found = self.line(key)
        if found is None:
            found = Line.build(key, *values, indent=self.child_indent, eol=self.head.eol or "\n")
            self.children.append(found)
        else:
            found.set(*values)
        return found

    def insert(self, index: int, node: Line | Chunk) -> None:
        """Insert a node at ``index`` among the children, restyled to fit here."""
        restyle(node, self.child_indent, self.head.eol or "\n")
        self.children.insert(index, node)

    def append(self, node: Line | Chunk) -> None:
        """Append a node to the children, restyled to fit here."""
        self.insert(len(self.children), node)

    def index(self, node: Line | Chunk) -> int:
        """Position of ``node`` among the children (by identity)."""
        for i, child in enumerate(self.children):
            if child is node:
                return i
        raise ValueError("node is not a child of this chunk")

    def __repr__(self) -> str:
        return f"Chunk({self.head.raw.strip()!r}, {len(self.children)} children)"


def restyle(node: Line | Chunk, indent: str, eol: str) -> None:
    """Re-indent ``node`` (and everything inside it) for its new place.

    Only leading whitespace and line endings change; the text of each line is
    kept exactly.
    """
    stack: list[tuple[Line | Chunk, str]] = [(node, indent)]
    while stack:
        cur, ind = stack.pop()
        if isinstance(cur, Line):
            cur.raw = ind + cur.raw.lstrip(" \t")
            cur.eol = eol
            cur._tokens = None
            continue
        for line in (cur.head, cur.tail):
            line.raw = ind + line.raw.lstrip(" \t")
            line.eol = eol
            line._tokens = None
        stack.extend((child, ind + INDENT) for child in cur.children)
