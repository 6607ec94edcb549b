"""Running a JSFX offline: compile its sections to instructions, then feed it audio block by block.

REAPER's order is kept: ``@init`` once, ``@slider`` once (the sliders are set
before it), then for every block of ``samplesblock`` samples ``@block`` and
``@sample`` per sample frame with ``spl0``... holding the channels. Channels a
JSFX does not touch pass through. If the effect reports latency in
``pdc_delay``, the output is shifted back by it (as REAPER's delay
compensation does), so it stays aligned with the input.

Compiling an effect takes milliseconds (:mod:`bridge.jsfx.bytecode`): the
interpreter (:mod:`bridge.jsfx.vm`) is compiled by numba once for all effects and
cached on disk, so a new effect starts at once and the same effect renders the same
samples every time.
"""

from __future__ import annotations

import functools
import hashlib
import os
import pickle
import sys
import threading
import time
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from bridge.jsfx import interrupt, vm
from bridge.jsfx.bytecode import BytecodeCompiler, Linked
from bridge.jsfx.effect import RUN_SECTIONS, Effect
from bridge.jsfx.errors import JsfxError
from bridge.jsfx.files import Files
from bridge.jsfx.parser import parse
from bridge.jsfx.strings import Strings, execute_py, process_py

MEMORY_WORDS = 8 * 1024 * 1024  # REAPER's default local memory (options:maxmem raises it, up to 32M)
GMEM_WORDS = 1024 * 1024
DEEP_STACK = 512 * 1024 * 1024  # bytes of thread stack for reading and compiling very deep code
T = TypeVar("T")


def deep(work: Callable[[], T]) -> T:
    """Run ``work`` on a thread with a large stack and no practical recursion limit.

    Code REAPER accepts can nest expressions thousands deep (long ``a + b + c ...`` chains,
    generated code); reading and compiling it must not stop at Python's default limit.
    """
    result: list[Any] = []
    failure: list[BaseException] = []

    def run() -> None:
        old = sys.getrecursionlimit()
        sys.setrecursionlimit(max(old, 200_000))
        try:
            result.append(work())
        except BaseException as exc:  # handed back to the caller's thread
            failure.append(exc)
        finally:
            sys.setrecursionlimit(old)

    previous = threading.stack_size()
    threading.stack_size(DEEP_STACK)
    try:  # a daemon thread: Ctrl-C while a big effect compiles ends the process without waiting for it
        thread = threading.Thread(target=run, name="reabridge-jsfx-compile", daemon=True)
        thread.start()
    finally:
        threading.stack_size(previous)
    while thread.is_alive():
        thread.join(interrupt.POLL)
        interrupt.check_time()
    if failure:
        if isinstance(failure[0], RecursionError):
            raise JsfxError("the effect's code is nested too deeply to compile") from None
        raise failure[0]
    return result[0]  # type: ignore[no-any-return]


CACHE_SECONDS = 0.5  # programs that took longer to compile are kept on disk for the next start


@functools.cache
def _compiler_digest() -> bytes:
    """What the compiled program depends on besides the effect: the compiler's own source."""
    h = hashlib.sha256()
    for module in ("lexer", "parser", "bytecode", "vm", "preprocess"):
        h.update((Path(__file__).parent / f"{module}.py").read_bytes())
    return h.digest()


def _program_path(effect: Effect) -> Path:
    h = hashlib.sha256(_compiler_digest())
    h.update(repr(sorted(effect.slider_vars.items())).encode())
    for name in RUN_SECTIONS:
        for code in effect.sections[name]:
            h.update(f"\x00{name}\x00{code.file}\x00{code.line}\x00".encode() + code.text.encode())
    from bridge.jsfx.native import cache_dir

    return cache_dir() / f"program_{h.hexdigest()[:24]}.pickle"


def compile_effect(effect: Effect) -> Linked:
    """The effect's sections as one program (``@init``'s functions are visible everywhere, others' locally).

    A big effect's program is kept in the cache folder (keyed by its code and the compiler's
    source), so it starts in a fraction of a second the next time.
    """
    path = _program_path(effect)
    try:
        with open(path, "rb") as f:
            cached = pickle.load(f)
        if isinstance(cached, Linked):
            return cached
    except (OSError, pickle.PickleError, EOFError, AttributeError, ValueError, TypeError):
        pass
    started = time.perf_counter()
    linked = _compile(effect)
    if time.perf_counter() - started > CACHE_SECONDS:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            with open(tmp, "wb") as f:
                pickle.dump(linked, f, protocol=pickle.HIGHEST_PROTOCOL)
            tmp.replace(path)
            path.with_suffix(".name").write_text(" ".join((effect.desc or effect.path.name).split())[:200] + "\n")
        except OSError:
            pass  # a read-only or full cache only costs the next start its compile
    return linked


def _compile(effect: Effect) -> Linked:
    def work() -> Linked:
        compiler = BytecodeCompiler(str(effect.path), effect.slider_vars)
        programs = {name: [parse(code) for code in effect.sections[name]] for name in RUN_SECTIONS}
        for program in programs["init"]:
            compiler.define(program)
        entries: dict[str, int] = {}
        for name in RUN_SECTIONS:
            shared = {name: dict(overloads) for name, overloads in compiler.functions.items()}
            if name != "init":
                for program in programs[name]:
                    compiler.define(program)  # functions of other sections are local to them
            entries[name] = compiler.section(programs[name]) if programs[name] else -1
            if name != "init":
                compiler.functions = shared
        return compiler.link(entries)

    return deep(work)


class JsfxProcessor:
    """A compiled JSFX instance at a sample rate, with its own memory and variables.

    Parameters
    ----------
    effect : Effect
    rate : float
    channels : int
        ``num_ch``; blocks given to :meth:`process` have this many channels.
    sliders : dict, optional
        Slider number to value; the others keep their defaults.
    block : int
        ``samplesblock``: frames per ``@block`` call.
    tempo : float
        ``tempo`` in BPM (``play_state`` is 1, playing, from position 0).
    """

    def __init__(self, effect: Effect, rate: float, channels: int, sliders: dict[int, float] | None = None,
                 block: int = 512, tempo: float = 120.0) -> None:
        if block < 1:
            raise JsfxError("the block size must be at least 1 sample")
        self.effect = effect
        self.rate = rate
        self.channels = channels
        self.block = block
        started = time.perf_counter()
        self.program = compile_effect(effect)
        effect.notices.extend(sorted(n for n in self.program.notices if n not in effect.notices))
        self.slots = self.program.slots
        self.vars = self.program.values.copy()
        maxmem = effect.options.get("maxmem")
        words = MEMORY_WORDS if not maxmem else max(1, min(int(float(maxmem)), 32 * 1024 * 1024))
        self.memory = np.zeros(words)
        self.gmem = np.zeros(GMEM_WORDS)
        self.rng = np.zeros(625, dtype=np.uint32)  # EEL2's generator, seeded on first use
        self.stack = np.zeros(vm.STACK, dtype=np.int64)
        self.halt = interrupt.new_flag()  # set by interrupt.run to stop the code (signal, cancel, time-out)
        self.strings = Strings(self.program.literals)
        self.strings.files = Files(effect.path.parent, effect.data_dir, effect.filenames,
                                   {n: s.folder for n, s in effect.sliders.items() if s.shape == "file"},
                                   {n: self.slots[s.var] for n, s in effect.sliders.items()})
        self.special = np.array([self.slots[n] for n in ("samplesblock", "play_position", "beat_position", "srate",
                                                         "tempo", "spl0", "ext_nodenorm")], dtype=np.int64)
        for name, value in (("srate", rate), ("num_ch", channels), ("samplesblock", block), ("tempo", tempo),
                            ("play_state", 1.0), ("ts_num", 4.0), ("ts_denom", 4.0)):
            self.vars[self.slots[name]] = value
        for slider in effect.sliders.values():
            self.vars[self.slots[slider.var]] = slider.default
        for number, value in (sliders or {}).items():
            if number not in effect.sliders:
                raise JsfxError(f"{effect.path.name} has no slider {number}")
            self.vars[self.slots[effect.sliders[number].var]] = float(value)
        from bridge.jsfx import native
        from bridge.jsfx.promotion import Promotion

        label = effect.desc or effect.path.name
        self.native = native.available(self.program, label)  # the effect's own machine code, once it has been built
        # otherwise the interpreter, until its time on the effect pays for a compile (then switching to it)
        self.promotion = Promotion(self.program, label) if self.native is None else None
        if self.promotion is not None and self.promotion.active:
            weakref.finalize(self, self.promotion.save)
        self._section("init")
        self.compile_seconds = time.perf_counter() - started
        self._section("slider")

    def _section(self, name: str) -> None:
        pc = self.program.entries[name]
        if pc < 0:
            return
        args = (self.program.code, pc, self.vars, self.memory, self.gmem, self.rng)
        sliders, stack, halt, native = self.program.sliders, self.stack, self.halt, self.native
        if native is not None:
            got = interrupt.run(lambda: native.run(pc, self.vars, self.memory, self.gmem, self.rng, sliders, stack,
                                                   halt), halt)
        elif self.program.strings_in[name]:
            got = interrupt.run(lambda: execute_py(*args, sliders, self.strings, halt), halt)
        else:
            got = interrupt.run(lambda: vm.execute(*args, sliders, stack, halt), halt)
        _check(got)

    def var(self, name: str) -> float:
        """The current value of an EEL2 variable (0 if the code never uses it)."""
        index = self.slots.get(name.lower())
        return float(self.vars[index]) if index is not None else 0.0

    def string(self, number: float) -> str:
        """The text of a string (a slot number, a literal's or a ``#named`` string's number)."""
        return self.strings.get(number).decode("utf-8", "replace")

    @property
    def latency(self) -> int:
        """``pdc_delay`` as the effect set it, in samples."""
        return max(0, int(self.var("pdc_delay")))

    @property
    def loop_limit_line(self) -> int:
        """The line of a while() that hit REAPER's iteration limit (0: none did)."""
        return int(self.var("__loop_limit_line"))

    def process(self, audio: np.ndarray) -> np.ndarray:
        """Run ``(frames, channels)`` audio through the effect; returns the output, same shape (float64).

        Give the blocks of a stream in order and in multiples of ``block``
        frames (except the last) to keep REAPER's ``@block`` cadence.
        """
        x = np.asarray(audio, dtype=np.float64)
        if x.ndim == 1:
            x = x[:, None]
        buf = np.ascontiguousarray(x.T)
        p = self.program
        # declared pins (in_pin:none / out_pin:none: 0); an effect declaring none has (at least 2) in and out pins
        ins, outs, nch = self.effect.in_pins, self.effect.out_pins, buf.shape[0]
        declared = bool(ins or outs)
        inputs = (0 if [n.lower() for n in ins] == ["none"] else len(ins)) if declared else max(2, nch)
        passed = (0 if [n.lower() for n in outs] == ["none"] else len(outs)) if declared else nch
        through = buf[passed:].copy()  # channels above the out_pins pass through unchanged, as in REAPER
        reach = min(p.reach, inputs)  # spl of input pins without a channel read 0; spl above the pins keep their values
        if p.entries["block"] < 0 and p.entries["sample"] < 0:
            n = buf.shape[1]
            self.vars[self.special[1]] += n / self.vars[self.special[3]]
            self.vars[self.special[2]] = self.vars[self.special[1]] * self.vars[self.special[4]] / 60.0
            return buf.T
        state = (self.vars, self.memory, self.gmem, self.rng)
        native, n, nch, halt = self.native, buf.shape[1], buf.shape[0], self.halt
        if native is not None:
            got = interrupt.run(lambda: native.process(*state, p.sliders, self.stack, buf, n, nch, self.block, reach,
                                                       self.special, halt), halt)
        elif p.strings_in["block"] or p.strings_in["sample"]:
            got = interrupt.run(lambda: process_py(p.code, p.entries["block"], p.entries["sample"], *state, p.sliders,
                                                   self.strings, buf, n, nch, self.block, reach, self.special, halt),
                                halt)
        else:
            started = time.perf_counter()
            got = interrupt.run(lambda: vm.process(p.code, p.entries["block"], p.entries["sample"], *state, p.sliders,
                                                   self.stack, buf, n, nch, self.block, reach, self.special, halt),
                                halt)
            if self.promotion is not None:
                self.native = self.promotion.paid(time.perf_counter() - started)  # ready: the next block runs on it
        _check(got)
        buf[passed:] = through
        return buf.T


def _check(got: int) -> None:
    """What the code returned: 0 when it finished (:func:`interrupt.run` raises for a stop it asked for)."""
    if got == interrupt.STOPPED:
        raise JsfxError("the effect's code was stopped")
    if got != 0:
        raise JsfxError("internal error: a string operation outside the string interpreter")
