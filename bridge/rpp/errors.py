"""The one exception the RPP layer raises."""

from __future__ import annotations

from bridge.errors import ReabridgeError


class RppError(ReabridgeError):
    """A REAPER project file (or chunk text) could not be read.

    Parameters
    ----------
    message : str
        What is wrong, in words a musician can act on.
    line : int, optional
        1-based line number in the file where the problem was found.
    """

    def __init__(self, message: str, line: int | None = None) -> None:
        self.message = message
        self.line = line
        super().__init__(f"line {line}: {message}" if line is not None else message)
