"""The base of every error reabridge reports to a person."""

from __future__ import annotations


class ReabridgeError(ValueError):
    """An error with a message a musician can act on.

    The command line prints the message on one line (no traceback unless
    ``--debug``); the daemon sends it to REAPER as the request's status.
    """
