"""Errors from reading, compiling or running a JSFX, each naming where in which file."""

from __future__ import annotations

from bridge.errors import ReabridgeError


class JsfxError(ReabridgeError):
    """A JSFX that cannot be read, compiled or run: syntax errors name line and column."""


def where(file: str, line: int, col: int | None = None) -> str:
    """``file:line`` or ``file:line:col`` for messages."""
    return f"{file}:{line}" + (f":{col}" if col is not None else "")
