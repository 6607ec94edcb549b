"""When an effect gets its own machine code: once the interpreter has spent as long on it as the compile costs.

Compiling an effect's native code costs a CPU for seconds to minutes (and up to a
gigabyte and a half); it buys a median 7x the interpreter's speed (1.6-12.7x over 15 effects,
``benchmarks/jsfx_tiers.py``). Whether
that pays depends on how much the effect will be used, which nobody knows in advance --
the ski-rental problem. Its classic answer is applied here: keep renting (interpret) until
the rent paid equals the price (the compile's estimated CPU time), then buy. The total is
never more than twice what perfect foresight would have spent, and a render that is over
before a compile could pay off never starts one: auditioning a folder of effects compiles
nothing. The rent is summed over renders in the cache folder (``<module>.spent``), so a
batch of short renders of the same effect gets there too.

Once the compile is under way (:mod:`bridge.jsfx.background`: one at a time, idle priority,
bounded), the render keeps interpreting and switches to the machine code between blocks
as soon as it is ready; both tiers keep their state in the same arrays and compute the
same samples, so the switch cannot be heard.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path
from types import ModuleType

from bridge.jsfx import background, native
from bridge.jsfx.bytecode import Linked

LOOK_EVERY = 1.0  # seconds of wall time between looks at the cache (a stat, and a flock when buying)
SAVE_EVERY = 1.0  # seconds of interpreter time between updates of the saved rent


def compile_cost(rows: int) -> float:
    """The compile's CPU seconds, estimated from the program's size (instructions).

    Fitted to 15 effects of 42-1010 instructions measured by ``benchmarks/jsfx_tiers.py`` (3 s at 42-64,
    11-16 s at 180-253, 41-48 s at 406-498, 59-100 s at 618-842, 127 s at 1010), erring high for the
    small ones: a compile started too late costs little, one started too early can cost a minute of
    CPU for a render that never needed it.
    """
    return 2.0 + 0.06 * rows ** 1.1


class Promotion:
    """The interpreter's time on one effect, and the switch to its machine code when that pays.

    Parameters
    ----------
    program : Linked
        The effect's program.
    effect : str
        Its name (shown by ``reabridge jsfx cache`` while it compiles).
    """

    def __init__(self, program: Linked, effect: str) -> None:
        self.program = program
        self.effect = effect
        path = native.eligible(program) if native.mode() == "background" else None
        self.cost = compile_cost(len(program.code))
        hopeless = self.cost > background.CPU_LIMIT  # it would only hit the limit (and take gigabytes on the way)
        self.path = path if path is not None and not hopeless and background.failed(path) is None else None
        self.rent = read_spent(self.path)[0] if self.path is not None else 0.0
        self.unsaved = 0.0
        self.started = False
        self.next_look = 0.0

    @property
    def active(self) -> bool:
        """Whether this effect may still be promoted (eligible, not failed, not compiled yet)."""
        return self.path is not None

    def paid(self, seconds: float) -> ModuleType | None:
        """Add ``seconds`` of interpreter time; returns the machine code when it is ready to switch to."""
        if self.path is None:
            return None
        self.rent += seconds
        self.unsaved += seconds
        now = time.monotonic()
        if self.unsaved >= SAVE_EVERY:
            self.save()
        if now < self.next_look:
            return None
        self.next_look = now + LOOK_EVERY
        path = self.path
        if background.is_compiled(path):
            self.path = None
            self.save(path)
            return native.ready(path)
        if background.failed(path) is not None:
            self.path = None
        elif self.rent >= self.cost and not self.started:
            native.write_module(self.program, path, self.effect)
            self.started = background.start(path, self.effect)  # False: another compile runs; asked again later
        return None

    def save(self, path: Path | None = None) -> None:
        """Keep the rent paid so far for the next render of this effect."""
        path = path or self.path
        if path is None or self.unsaved <= 0.0:
            return
        self.unsaved = 0.0
        with contextlib.suppress(OSError):
            path.parent.mkdir(parents=True, exist_ok=True)
            stamp = path.with_suffix(".spent")
            tmp = stamp.with_name(f".{stamp.name}.{os.getpid()}.tmp")
            tmp.write_text(f"{self.rent:.6f} {self.cost:.1f} {' '.join(self.effect.split())[:200]}\n")
            tmp.replace(stamp)


def read_spent(path: Path) -> tuple[float, float, str]:
    """From ``<module>.spent``: interpreter seconds so far, the compile's estimated cost, the effect's name."""
    try:
        rent, cost, *name = path.with_suffix(".spent").read_text().strip().split(" ", 2)
        return max(0.0, float(rent)), float(cost), name[0] if name else ""
    except (OSError, ValueError):
        return 0.0, 0.0, ""
