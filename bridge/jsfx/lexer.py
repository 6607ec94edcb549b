"""EEL2 tokens, as REAPER's compiler reads them.

Numbers: decimal (``1``, ``.5``; no exponents, as in REAPER: ``1e8`` is an error), hex
(``0x1F``, ``$x1F``), characters (``'a'``, ``$'a'``; several characters make a base-256
number), bit masks (``$~8`` = 255) and the constants ``$pi``, ``$e`` and ``$phi``. Names
may hold dots (namespaces) and are not case sensitive. Comments are ``//`` to the end of
the line and ``/* ... */``. String literals (``"..."``, with ``\n``-style escapes; ``"a" "b"``
is one string) and ``#named`` strings are tokens of their own.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from bridge.jsfx.errors import JsfxError, where

# longest first, so "===" is not read as "==" then "="
OPERATORS = sorted(
    ["===", "!==", "<<", ">>", "<=", ">=", "==", "!=", "&&", "||", "+=", "-=", "*=", "/=", "%=", "^=", "|=",
     "&=", "~=", "+", "-", "*", "/", "%", "^", "|", "&", "~", "<", ">", "!", "=", "?", ":", ";", ",", "(", ")",
     "[", "]"],
    key=len, reverse=True)
CONSTANTS = {"$pi": math.pi, "$e": math.e, "$phi": (1 + math.sqrt(5)) / 2}
#: the operators that can start at each character, longest first (as in OPERATORS)
_OPERATORS_BY_FIRST: dict[str, tuple[str, ...]] = {c: tuple(o for o in OPERATORS if o[0] == c)
                                                    for c in {o[0] for o in OPERATORS}}


@dataclass(frozen=True)
class Token:
    """One token: ``kind`` is ``num``, ``name``, ``op`` or ``end``."""

    kind: str
    value: object
    line: int
    col: int


@dataclass(frozen=True)
class Code:
    """A piece of EEL2 source and where it starts in its file (for messages)."""

    text: str
    file: str
    line: int


def _error(code: Code, line: int, col: int, message: str) -> JsfxError:
    return JsfxError(f"{where(code.file, line, col)}: {message}")


def tokenize(code: Code) -> list[Token]:
    """All tokens of ``code``, ending with an ``end`` token.

    Raises
    ------
    JsfxError
        An unknown character, an unfinished comment or character constant, or a string.
    """
    text, tokens = code.text, []
    i, line, line_start = 0, code.line, 0
    n = len(text)
    while i < n:
        c = text[i]
        col = i - line_start + 1
        if c == "\n":
            line += 1
            i += 1
            line_start = i
            continue
        if c in " \t\r\f\v":
            i += 1
            continue
        if text.startswith("//", i):
            end = text.find("\n", i)
            i = n if end < 0 else end
            continue
        if text.startswith("/*", i):
            end = text.find("*/", i + 2)
            if end < 0:
                raise _error(code, line, col, "a /* comment is never closed")
            line += text.count("\n", i, end)
            if "\n" in text[i:end]:
                line_start = text.rfind("\n", i, end) + 1
            i = end + 2
            continue
        if c.isdigit() or (c == "." and i + 1 < n and text[i + 1].isdigit()):
            value, i = _number(text, i, code, line, col)
            tokens.append(Token("num", value, line, col))
            continue
        if c == "$":
            value, i = _dollar(text, i, code, line, col)
            tokens.append(Token("num", value, line, col))
            continue
        if c == "'":
            value, i = _chars(text, i, code, line, col)
            tokens.append(Token("num", value, line, col))
            continue
        if c.isalpha() or c == "_":
            j = i + 1
            while j < n and (text[j].isalnum() or text[j] in "_."):
                j += 1
            tokens.append(Token("name", text[i:j].lower(), line, col))
            i = j
            continue
        if c == '"':
            value, j = _string(text, i, code, line, col)
            if tokens and tokens[-1].kind == "str":  # "a" "b" is one string, as in REAPER
                tokens[-1] = Token("str", tokens[-1].value + value, tokens[-1].line, tokens[-1].col)
            else:
                tokens.append(Token("str", value, line, col))
            line += text.count("\n", i, j)
            if "\n" in text[i:j]:
                line_start = text.rfind("\n", i, j) + 1
            i = j
            continue
        if c == "#":
            j = i + 1
            while j < n and (text[j].isalnum() or text[j] in "_."):
                j += 1
            tokens.append(Token("named", text[i + 1:j].lower(), line, col))
            i = j
            continue
        op = next((o for o in _OPERATORS_BY_FIRST.get(c, ()) if text.startswith(o, i)), None)
        if op is None:
            raise _error(code, line, col, f"unexpected character {c!r}")
        tokens.append(Token("op", op, line, col))
        i += len(op)
    tokens.append(Token("end", None, line, i - line_start + 1))
    return tokens


def _number(text: str, i: int, code: Code, line: int, col: int) -> tuple[float, int]:
    n = len(text)
    if text.startswith(("0x", "0X"), i):
        j = i + 2
        while j < n and text[j] in "0123456789abcdefABCDEF":
            j += 1
        if j == i + 2:
            raise _error(code, line, col, "0x must be followed by hex digits")
        return float(int(text[i + 2:j], 16)), j
    j = i
    while j < n and text[j].isdigit():
        j += 1
    if j < n and text[j] == ".":
        j += 1
        while j < n and text[j].isdigit():
            j += 1
    if j < n and (text[j].isalpha() or text[j] in "_."):  # 1e8, 2x, 1.2.3: one token REAPER cannot read
        k = j
        while k < n and (text[k].isalnum() or text[k] in "_."):
            k += 1
        hint = " (EEL2 has no exponent notation: write 100000000 or 10^8)" if text[j] in "eE" else ""
        raise _error(code, line, col, f"{text[i:k]!r} is not a number REAPER reads{hint}")
    return float(text[i:j]), j


_ESCAPES = {"n": b"\n", "r": b"\r", "t": b"\t", "\\": b"\\", '"': b'"', "'": b"'", "0": b"\0"}


def _string(text: str, i: int, code: Code, line: int, col: int) -> tuple[bytes, int]:
    """A string literal from its opening quote: its bytes and where it ends (escapes as in EEL2)."""
    out = bytearray()
    j = i + 1
    n = len(text)
    while j < n and text[j] != '"':
        if text[j] == "\\" and j + 1 < n:
            e = text[j + 1]
            if e == "x" and j + 3 < n + 1 and all(ch in "0123456789abcdefABCDEF" for ch in text[j + 2:j + 4]):
                out.append(int(text[j + 2:j + 4], 16))
                j += 4
                continue
            out += _ESCAPES.get(e, ("\\" + e).encode("utf-8"))
            j += 2
            continue
        out += text[j].encode("utf-8")
        j += 1
    if j >= n:
        raise _error(code, line, col, 'a string ("...") is never closed')
    return bytes(out), j + 1


def _dollar(text: str, i: int, code: Code, line: int, col: int) -> tuple[float, int]:
    n = len(text)
    low = text[i:i + 4].lower()
    for name, value in CONSTANTS.items():
        if low.startswith(name) and not (i + len(name) < n and (text[i + len(name)].isalnum()
                                                                 or text[i + len(name)] == "_")):
            return value, i + len(name)
    if low.startswith("$x"):
        j = i + 2
        while j < n and text[j] in "0123456789abcdefABCDEF":
            j += 1
        if j == i + 2:
            raise _error(code, line, col, "$x must be followed by hex digits")
        return float(int(text[i + 2:j], 16)), j
    if text.startswith("$~", i):
        j = i + 2
        while j < n and text[j].isdigit():
            j += 1
        if j == i + 2:
            raise _error(code, line, col, "$~ must be followed by a number of bits")
        return float((1 << min(int(text[i + 2:j]), 53)) - 1), j
    if text.startswith("$'", i):
        return _chars(text, i + 1, code, line, col)
    raise _error(code, line, col, f"unknown constant {text[i:i + 6]!r}... (known: $pi, $e, $phi, $x.., $~N, $'c')")


def _chars(text: str, i: int, code: Code, line: int, col: int) -> tuple[float, int]:
    end = text.find("'", i + 1)
    if end < 0 or "\n" in text[i:end]:
        raise _error(code, line, col, "a character constant ('c') is not closed")
    chars = text[i + 1:end].replace("\\'", "'")
    value = 0  # '' is 0, as in REAPER
    for ch in chars.encode("latin-1", "replace"):
        value = value * 256 + ch
    return float(value), end + 1
