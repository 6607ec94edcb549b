"""REAPER's JSFX preprocessor: ``<? code ?>`` blocks run before the effect is read.

The code in each block is EEL2, run once when the effect loads; what it ``printf``\\ s
takes the block's place in the text (code, slider lines, anything). Variables keep
their values from one block to the next, and while ``_suppress`` is above 0 the
text between blocks is left out. ``config:`` lines give the preprocessor its
variables' defaults (``config: npartials "Partials" 32 4 16 32 64``). This follows
WDL's ``eel_pproc.h``, the preprocessor REAPER and ysfx use.

Lines are kept where they were: a block that spans lines leaves as many line breaks
behind, and left-out text leaves its line breaks, so messages about the code that
follows still name the right line.
"""

from __future__ import annotations

import re

import numpy as np

from bridge.jsfx import interrupt
from bridge.jsfx.bytecode import BytecodeCompiler
from bridge.jsfx.errors import JsfxError, where
from bridge.jsfx.lexer import Code
from bridge.jsfx.parser import parse
from bridge.jsfx.strings import Strings, execute_py

OPEN, CLOSE = "<?", "?>"
MEMORY_WORDS = 1 << 20
_CONFIG = re.compile(r"""^config:\s*(\S{2,})\s+("[^"]{2,}"|'[^']{2,}'|\S{2,})\s*(.*)$""", re.IGNORECASE | re.MULTILINE)
_NUMBER = re.compile(r"\s*([-+]?(?:\d+\.?\d*|\.\d+))")


def config_defaults(text: str) -> dict[str, float]:
    """The preprocessor variables ``config:`` lines declare, with their default values.

    ``config: name "Label" default value1 value2 ...`` (values may carry ``=label``);
    as in REAPER, a line with a one-letter name or label or fewer than two values
    declares nothing.
    """
    found: dict[str, float] = {}
    for m in _CONFIG.finditer(text):
        default = _NUMBER.match(m.group(3))
        values = re.findall(r"(?:^|\s)[-+]?(?:\d+\.?\d*|\.\d+)(?=\s|=|$)", m.group(3)[default.end():]) \
            if default else []
        if default and len(values) >= 2:
            found.setdefault(m.group(1).lower(), float(default.group(1)))
    return found


def preprocess(text: str, file: str, variables: dict[str, float]) -> str:
    """``text`` with every ``<? ?>`` block run and replaced by what it printed.

    Raises
    ------
    JsfxError
        A block never closed, or code in a block that does not compile.
    """
    if OPEN not in text:
        return text
    literals: list[str] = []
    blocks: list[Code] = []
    position = 0
    while True:
        tag = text.find(OPEN, position)
        if tag < 0:
            literals.append(text[position:])
            break
        literals.append(text[position:tag])
        start = tag + len(OPEN)
        while text[start:start + 1] in (" ", "\t"):
            start += 1
        end = text.find(CLOSE, start)
        if end < 0:
            raise JsfxError(f"{where(file, text.count(chr(10), 0, tag) + 1)}: a {OPEN} preprocessor block is never "
                            f"closed with {CLOSE}")
        blocks.append(Code(text[start:end], file, text.count("\n", 0, start) + 1))
        position = end + len(CLOSE)

    compiler = BytecodeCompiler(file, {})
    entries: dict[str, int] = {}
    for k, block in enumerate(blocks):
        program = parse(block)
        compiler.define(program)
        entries[str(k)] = compiler.section([program])
    linked = compiler.link(entries)
    values = linked.values.copy()
    for name, value in variables.items():
        if name in linked.slots:
            values[linked.slots[name]] = value
    memory, gmem = np.zeros(MEMORY_WORDS), np.zeros(MEMORY_WORDS)
    rng = np.zeros(625, dtype=np.uint32)
    strings = Strings(linked.literals)
    suppress = linked.slots.get("_suppress")
    halt = interrupt.new_flag()

    out = [literals[0]]
    for k, block in enumerate(blocks):
        strings.printed = bytearray()
        entry = linked.entries[str(k)]
        interrupt.run(lambda pc=entry: execute_py(linked.code, pc, values, memory, gmem, rng, linked.sliders, strings,
                                                  halt), halt)  # Ctrl-C and the time-out stop a block that loops
        printed = strings.printed.decode("utf-8", "replace")
        out.append(printed + "\n" * max(0, block.text.count("\n") - printed.count("\n")))
        following = literals[k + 1]
        out.append("\n" * following.count("\n") if suppress is not None and values[suppress] > 0 else following)
    return "".join(out)
