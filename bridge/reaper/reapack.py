"""ReaPack: the package headers of ``reaper_scripts/`` and the ``index.xml`` ReaPack reads.

Follows reapack-index's rules for what it reads: a header of ``@tag value`` lines at
the top of each file (a value may continue on lines indented under it), files with
``@noindex`` are not packages of their own, the package file's folder is its
category, and ``@provides`` lists the files a package installs (``[main]`` ones
become actions, ``[nomain] .`` keeps the package file itself out of the Actions list).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote
from xml.sax.saxutils import escape, quoteattr

from bridge.errors import ReabridgeError

#: where the published repository serves raw files (change it when publishing elsewhere)
DEFAULT_URL_BASE = "https://raw.githubusercontent.com/reabridge/reabridge/main/"
INDEX_NAME = "reabridge"
COMMENTS = {".lua": "--", ".py": "#", ".eel": "//", ".jsfx": "//"}
REQUIRED = ("description", "version", "author", "about", "changelog")


class HeaderError(ReabridgeError):
    """A package header is missing a tag or is malformed."""


@dataclass
class Header:
    """The tags of one file's header (names lower-case; multi-line values joined with newlines)."""

    path: Path
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def indexed(self) -> bool:
        """Whether the file is a package of its own."""
        return "noindex" not in self.tags

    def provides(self) -> list[tuple[str | None, str]]:
        """``(option, file)`` per ``@provides`` line (option: ``main``, ``nomain`` or None)."""
        out = []
        for row in self.tags.get("provides", "").splitlines():
            row = row.strip()
            if not row:
                continue
            m = re.fullmatch(r"\[(?P<opt>[^\]]*)\]\s*(?P<file>.+)", row)
            out.append((m["opt"].strip(), m["file"].strip()) if m else (None, row))
        return out


def read_header(path: Path) -> Header:
    """The header of a script (the comment lines at its top that carry ``@tags``)."""
    mark = COMMENTS.get(path.suffix.lower())
    if mark is None:
        raise HeaderError(f"{path.name}: not a kind of file reabridge indexes")
    header = Header(path)
    current: str | None = None
    for raw in path.read_text(encoding="utf-8").splitlines():
        if not raw.startswith(mark):
            break
        body = raw[len(mark):]
        m = re.match(r"^ @(?P<tag>[A-Za-z_]+)\s*(?P<value>.*)$", body)
        if m:
            current = m["tag"].lower()
            header.tags[current] = m["value"].strip()
        elif current is not None and re.match(r"^ \s+\S", body):
            value = body.strip()
            header.tags[current] = (header.tags[current] + "\n" + value).strip("\n")
        elif current is not None and body.strip() == "":
            header.tags[current] += "\n"  # a paragraph break inside a value
        else:
            current = None
    for tag, value in header.tags.items():
        header.tags[tag] = value.strip()
    return header


def check_header(header: Header) -> list[str]:
    """What is wrong with a header (empty: nothing)."""
    problems = [f"{header.path.name}: no @{t}" for t in REQUIRED if not header.tags.get(t)]
    version = header.tags.get("version", "")
    if version and not re.fullmatch(r"\d+(\.\d+)*([-+.]?[A-Za-z0-9]+)?", version):
        problems.append(f"{header.path.name}: @version {version!r} is not a version number")
    for _, name in header.provides():
        if name != "." and not (header.path.parent / name).is_file():
            problems.append(f"{header.path.name}: @provides {name}, which does not exist")
    return problems


def _rtf(text: str) -> str:
    """Plain paragraphs as the RTF ReaPack shows in its About window."""
    def esc(s: str) -> str:
        out = s.replace("\\", "\\\\").replace("{", "\\{").replace("}", "\\}")
        return "".join(c if ord(c) < 128 else f"\\u{ord(c) if ord(c) < 32768 else ord(c) - 65536}?" for c in out)

    paragraphs = [" ".join(p.split()) for p in re.split(r"\n\s*\n", text) if p.strip()]
    return "{\\rtf1\\ansi\\deff0{\\fonttbl{\\f0 \\fswiss Helvetica;}}\\f0\\pard\n" + \
        "\n".join(esc(p) + "\\par" for p in paragraphs) + "\n}"


def index_xml(folder: Path, root: Path, url_base: str = DEFAULT_URL_BASE) -> str:
    """ReaPack's ``index.xml`` for the packages in ``folder`` (paths relative to the repository ``root``).

    Raises
    ------
    HeaderError
        A header misses a tag ReaPack users need, or provides a missing file.
    """
    headers = [read_header(p) for p in sorted(folder.iterdir())
               if p.suffix.lower() in COMMENTS and p.is_file() and not p.name.startswith("_")]
    problems = [msg for h in headers for msg in check_header(h)]
    if problems:
        raise HeaderError("; ".join(problems))
    category = folder.relative_to(root).as_posix()
    base = url_base if url_base.endswith("/") else url_base + "/"
    rows = ['<?xml version="1.0" encoding="utf-8"?>', f'<index version="1" name="{INDEX_NAME}">',
            f"  <category name={quoteattr(category)}>"]
    for h in (h for h in headers if h.indexed):
        t = h.tags
        rows.append(f"    <reapack name={quoteattr(h.path.name)} type=\"script\" desc={quoteattr(t['description'])}>")
        rows += ["      <metadata>", f"        <description><![CDATA[{_rtf(t['about'])}]]></description>",
                 "      </metadata>"]
        rows.append(f"      <version name={quoteattr(t['version'])} author={quoteattr(t['author'])}>")
        rows.append(f"        <changelog><![CDATA[{t['changelog']}]]></changelog>")
        provides = h.provides() or [("main", ".")]
        for option, name in provides:
            path = f"{category}/{h.path.name if name == '.' else name}"
            url = escape(base + quote(path))
            main = ' main="main"' if option == "main" else ""
            file = "" if name == "." else f" file={quoteattr(name)}"
            rows.append(f"        <source{main}{file}>{url}</source>")
        rows += ["      </version>", "    </reapack>"]
    rows += ["  </category>", "</index>"]
    return "\n".join(rows) + "\n"
