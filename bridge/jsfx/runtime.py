"""Running a JSFX offline: compile its sections with numba, then feed it audio block by block.

REAPER's order is kept: ``@init`` once, ``@slider`` once (the sliders are set
before it), then for every block of ``samplesblock`` samples ``@block`` and
``@sample`` per sample frame with ``spl0``... holding the channels. Channels a
JSFX does not touch pass through. If the effect reports latency in
``pdc_delay``, the output is shifted back by it (as REAPER's delay
compensation does), so it stays aligned with the input.

The compiled module is written to a cache folder (``$REABRIDGE_CACHE`` or
``~/.cache/reabridge/jsfx``) and numba caches its machine code there, so
running the same effect again skips compilation.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from bridge.jsfx.compiler import SPL_CHANNELS, Compiler
from bridge.jsfx.effect import RUN_SECTIONS, Effect
from bridge.jsfx.errors import JsfxError
from bridge.jsfx.parser import parse

MEMORY_WORDS = 8 * 1024 * 1024  # REAPER's default local memory (options:maxmem raises it, up to 32M)
GMEM_WORDS = 1024 * 1024
CODE_VERSION = "1"
_INDENT = {"init": 2, "slider": 2, "block": 3, "sample": 4}


def cache_dir() -> Path:
    """Where compiled effects are kept."""
    root = os.environ.get("REABRIDGE_CACHE")
    base = Path(root) if root else Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "reabridge"
    return base / "jsfx"


def _compile_sections(effect: Effect) -> tuple[dict[str, list[str]], Compiler]:
    compiler = Compiler(str(effect.path), effect.slider_vars)
    programs = {name: [parse(code) for code in effect.sections[name]] for name in RUN_SECTIONS}
    for program in programs["init"]:
        compiler.define(program)
    code: dict[str, list[str]] = {}
    for name in RUN_SECTIONS:
        shared = dict(compiler.functions)
        compiler.lines, compiler.indent = [], _INDENT[name]
        for program in programs[name]:
            if name != "init":
                compiler.define(program)  # functions of other sections are local to them
            compiler.statements(program)
        code[name] = compiler.lines
        compiler.functions = shared if name != "init" else compiler.functions
    return code, compiler


def generate_module(effect: Effect) -> tuple[str, dict[str, int]]:
    """Python source of the numba module for ``effect`` and its variable slots."""
    code, compiler = _compile_sections(effect)
    effect.notices.extend(sorted(n for n in compiler.notices if n not in effect.notices))
    body = "\n".join(line for lines in code.values() for line in lines)
    slots = compiler.slots
    uses_frame = "S[" in body or "B.spl_" in body
    # channels the code touches beyond the input's read 0 on every sample (REAPER's spl beyond num_ch)
    reach = SPL_CHANNELS if "B.spl_" in body else max([int(k) + 1 for k in re.findall(r"S\[(\d+)\]", body)] or [0])
    fixed = {slots[n] for n in ("samplesblock", "play_position", "beat_position", "srate", "tempo")}
    used = sorted({int(m) for m in re.findall(r"\bv(\d+)\b", body)} | fixed)
    v = {name: f"v{index}" for name, index in slots.items()}
    out = ["import math", "", "import numpy as np", "from numba import njit", "",
           "import bridge.jsfx.builtins as B", "", "",
           '@njit(cache=True, error_model="numpy")',
           "def run(mode, V, M, G, R, buf, n, nch, block):",
           f"    S = np.zeros({SPL_CHANNELS})",
           f"    frame_channels = min(nch, {SPL_CHANNELS})"]
    out += [f"    v{i} = V[{i}]" for i in used]
    out += ["    if mode == 0:", "        pass", *code["init"],
            "    elif mode == 1:", "        pass", *code["slider"],
            "    else:", "        pos = 0", "        while pos < n:", "            m = min(block, n - pos)",
            f"            {v['samplesblock']} = float(m)", "            pass", *code["block"],
            "            for i in range(pos, pos + m):"]
    if uses_frame:
        out += ["                for k in range(frame_channels):", "                    S[k] = buf[k, i]",
                f"                for k in range(frame_channels, {reach}):", "                    S[k] = 0.0"]
    out += ["                pass", *code["sample"]]
    if uses_frame:
        out += ["                for k in range(frame_channels):", "                    buf[k, i] = S[k]"]
    out += [f"            {v['play_position']} += m / {v['srate']}",
            f"            {v['beat_position']} = {v['play_position']} * {v['tempo']} / 60.0",
            "            pos += m"]
    out += [f"    V[{i}] = v{i}" for i in used]
    out += ["    return 0", ""]
    return "\n".join(out), dict(slots)


def _builtins_fingerprint() -> str:
    """A hash of the built-ins' source: numba inlines them, so cached effects must follow their changes."""
    from bridge.jsfx import builtins

    return hashlib.sha1(Path(builtins.__file__).read_bytes()).hexdigest()


def _load_module(source: str) -> object:
    digest = hashlib.sha1((CODE_VERSION + _builtins_fingerprint() + source).encode()).hexdigest()[:20]
    folder = cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"jsfx_{digest}.py"
    if not path.exists():
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(source)
        tmp.replace(path)
    name = f"reabridge_jsfx_{digest}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # numba's cache finds the module again by name
    if str(folder) not in sys.path:
        sys.path.append(str(folder))
    spec.loader.exec_module(module)
    return module


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
        source, self.slots = generate_module(effect)
        self.source = source
        module = _load_module(source)
        self._run: Callable = module.run  # type: ignore[attr-defined]
        self.vars = np.zeros(len(self.slots))
        maxmem = effect.options.get("maxmem")
        words = MEMORY_WORDS if not maxmem else max(1, min(int(float(maxmem)), 32 * 1024 * 1024))
        self.memory = np.zeros(words)
        self.gmem = np.zeros(GMEM_WORDS)
        for name, value in (("srate", rate), ("num_ch", channels), ("samplesblock", block), ("tempo", tempo),
                            ("play_state", 1.0), ("ts_num", 4.0), ("ts_denom", 4.0)):
            self.vars[self.slots[name]] = value
        for slider in effect.sliders.values():
            self.vars[self.slots[slider.var]] = slider.default
        for number, value in (sliders or {}).items():
            if number not in effect.sliders:
                raise JsfxError(f"{effect.path.name} has no slider {number}")
            self.vars[self.slots[effect.sliders[number].var]] = float(value)
        from bridge.jsfx import builtins

        self.rng = builtins.rng_state()
        empty = np.zeros((max(1, channels), 0))
        self._run(0, self.vars, self.memory, self.gmem, self.rng, empty, 0, channels, block)
        self.compile_seconds = time.perf_counter() - started
        self._run(1, self.vars, self.memory, self.gmem, self.rng, empty, 0, channels, block)

    def var(self, name: str) -> float:
        """The current value of an EEL2 variable (0 if the code never uses it)."""
        index = self.slots.get(name.lower())
        return float(self.vars[index]) if index is not None else 0.0

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
        self._run(2, self.vars, self.memory, self.gmem, self.rng, buf, buf.shape[1], buf.shape[0], self.block)
        return buf.T
