"""Lossless reading and writing of REAPER project (``.RPP``) text.

>>> from bridge import rpp
>>> root = rpp.loads('<REAPER_PROJECT 0.1 "7.0"\\n  TEMPO 120 4 4\\n>\\n')
>>> root.values("TEMPO")
['120', '4', '4']
>>> rpp.dumps(root) == '<REAPER_PROJECT 0.1 "7.0"\\n  TEMPO 120 4 4\\n>\\n'
True
"""

from bridge.rpp.errors import RppError
from bridge.rpp.parse import decode, dump, dumps, load, loads, loads_nodes, write_atomic
from bridge.rpp.tokens import format_number, format_tokens, quote, tokenize
from bridge.rpp.tree import Chunk, Line, restyle

__all__ = [
    "Chunk",
    "Line",
    "RppError",
    "decode",
    "dump",
    "dumps",
    "format_number",
    "format_tokens",
    "load",
    "loads",
    "loads_nodes",
    "quote",
    "restyle",
    "tokenize",
    "write_atomic",
]
