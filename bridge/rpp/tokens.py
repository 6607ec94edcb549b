"""Splitting RPP lines into tokens, and writing tokens the way REAPER does.

REAPER separates tokens with spaces. A token holding a space (or starting with
a quote character, or empty) is wrapped in the first quote character it does
not contain, tried in the order ``"``, ``'``, `````. A string holding all
three has its backticks turned into apostrophes and is wrapped in backticks.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal

_TOKEN = re.compile(r'"([^"]*)(?:"|$)|\'([^\']*)(?:\'|$)|`([^`]*)(?:`|$)|([^\s]+)')
_QUOTES = "\"'`"


def tokenize(text: str) -> list[str]:
    """Split one line of RPP text into its tokens (quotes removed).

    Never raises: an unterminated quote runs to the end of the line, as in
    REAPER.

    Examples
    --------
    >>> tokenize('NAME "Lead Vox" 1')
    ['NAME', 'Lead Vox', '1']
    """
    out: list[str] = []
    for m in _TOKEN.finditer(text):
        a, b, c, d = m.groups()
        out.append(d if d is not None else a if a is not None else b if b is not None else c)
    return out


def quote(value: str, always: bool = False) -> str:
    """Return ``value`` as REAPER writes it as one token.

    Line breaks cannot be stored in a token; they become spaces. With
    ``always``, the value is quoted even without spaces (REAPER does this for
    ``FILE`` paths).

    Examples
    --------
    >>> quote('Gtr DI')
    '"Gtr DI"'
    >>> quote('say "hi"')
    '\\'say "hi"\\''
    """
    value = value.replace("\r\n", " ").replace("\n", " ").replace("\r", " ")
    if not always and value and not any(ch.isspace() for ch in value) and value[0] not in _QUOTES:
        return value
    for q in _QUOTES:
        if q not in value:
            return f"{q}{value}{q}"
    return "`" + value.replace("`", "'") + "`"


def format_number(value: float) -> str:
    """Format a number as REAPER does: fixed-point, up to 14 decimals, no trailing zeros.

    A value is written with the fewest digits that read back as the same number
    (``138.031821``, never the binary noise ``138.03182100000001`` that 14 fixed
    decimals show), cut at 14 decimals as REAPER cuts them (``396.55764583333337``
    in a REAPER project has 14).

    Examples
    --------
    >>> format_number(2.0), format_number(1 / 3), format_number(-0.0), format_number(138.031821)
    ('2', '0.33333333333333', '0', '138.031821')
    """
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if not math.isfinite(value):
        raise ValueError(f"cannot write {value!r} into a REAPER project")
    shortest = repr(float(value))  # the shortest text that reads back as this float
    if "e" in shortest:
        shortest = format(Decimal(shortest), "f")
    decimals = len(shortest.partition(".")[2])
    text = f"{value:.14f}" if decimals > 14 else shortest
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def format_tokens(values: list[object] | tuple[object, ...]) -> str:
    """Join values into one RPP line body: numbers formatted, strings quoted."""
    parts = []
    for v in values:
        if isinstance(v, (int, float)):
            parts.append(format_number(v))
        else:
            parts.append(quote(str(v)))
    return " ".join(parts)
