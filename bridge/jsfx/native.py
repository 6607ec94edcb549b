"""The fast tier: an effect's instructions translated to numba functions of their own, compiled once and cached.

The interpreter (:mod:`bridge.jsfx.vm`) starts any effect at once; an effect used a lot
runs from machine code made for it. The translation is mechanical -- each instruction
becomes the same floating-point operation on a local variable, each run of instructions
between jumps a branch of a ``while`` loop -- so both tiers compute the same samples,
bit for bit (tested), and a render can switch tiers between blocks. Compiling costs a CPU
for seconds to minutes and up to a gigabyte (``benchmarks/jsfx_tiers.py``), so it happens
in a bounded background process (:mod:`bridge.jsfx.background`) only once the interpreter
has spent as long on the effect as the compile would cost (:mod:`bridge.jsfx.promotion`),
and the result is kept in the cache folder (``$REABRIDGE_CACHE`` or ``~/.cache/reabridge/jsfx``).

``$REABRIDGE_JSFX_NATIVE``: ``background`` (the default, as above), ``wait`` (compile before
the render starts, within the same bounds), ``never`` (the interpreter only).
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

import numpy as np

from bridge.jsfx import background, vm
from bridge.jsfx.bytecode import Linked

VERSION = "3"
EFFECT_LINE = "# effect: "
MAX_ROWS = 40000  # bigger effects stay on the interpreter (numba would take too long and too much memory)
_SECTIONS = ("init", "slider", "block", "sample")
_TEMPLATES = {
    vm.MOV: "{A} = {B}", vm.ADD: "{A} = {B} + {C}", vm.SUB: "{A} = {B} - {C}", vm.MUL: "{A} = {B} * {C}",
    vm.DIV: "{A} = {B} / {C}", vm.POW: "{A} = bi.op_pow({B}, {C})", vm.MOD: "{A} = bi.op_mod({B}, {C})",
    vm.SHL: "{A} = bi.op_shl({B}, {C})", vm.SHR: "{A} = bi.op_shr({B}, {C})", vm.BAND: "{A} = bi.op_and({B}, {C})",
    vm.BOR: "{A} = bi.op_or({B}, {C})", vm.BXOR: "{A} = bi.op_xor({B}, {C})",
    vm.LT: "{A} = 1.0 if {B} < {C} else 0.0", vm.GT: "{A} = 1.0 if {B} > {C} else 0.0",
    vm.LE: "{A} = 1.0 if {B} <= {C} else 0.0", vm.GE: "{A} = 1.0 if {B} >= {C} else 0.0",
    vm.EQ: "{A} = 1.0 if abs({B} - {C}) < bi.CLOSE else 0.0", vm.NE: "{A} = 1.0 if abs({B} - {C}) >= bi.CLOSE else 0.0",
    vm.EQX: "{A} = 1.0 if {B} == {C} else 0.0", vm.NEX: "{A} = 1.0 if {B} != {C} else 0.0", vm.NEG: "{A} = -{B}",
    vm.NOT: "{A} = 0.0 if abs({B}) >= bi.CLOSE else 1.0", vm.BOOL: "{A} = 1.0 if abs({B}) >= bi.CLOSE else 0.0",
    vm.MATH1: "{A} = vm._math1({c}, {B})", vm.MIN: "{A} = {C} if {C} < {B} else {B}",
    vm.MAX: "{A} = {C} if {C} > {B} else {B}", vm.ATAN2: "{A} = math.atan2({B}, {C})",
    vm.MREAD: "{A} = bi.mem_read(mem, {B})", vm.MWRITE: "bi.mem_write(mem, {B}, {C})",
    vm.GREAD: "{A} = bi.mem_read(gmem, {B})", vm.GWRITE: "bi.mem_write(gmem, {B}, {C})",
    vm.RAND: "{A} = bi.f_rand(rng, {B})", vm.LOOPINIT: "{A} = float(bi.loop_count({B}))",
    vm.SPLREAD: "k = bi.to_int32({B})|{A} = v[{c} + k] if 0 <= k < 64 else 0.0",
    vm.SPLWRITE: "k = bi.to_int32({B})|if 0 <= k < 64:|    v[{d} + k] = {C}",
    vm.SLIDERREAD: "k = bi.to_int32({B})|{A} = v[sliders[k]] if 0 <= k < sliders.shape[0] and sliders[k] >= 0 else 0.0",
    vm.SLIDERWRITE: "k = bi.to_int32({B})|if 0 <= k < sliders.shape[0] and sliders[k] >= 0:|    v[sliders[k]] = {C}",
    vm.MEMSET: "{A} = bi.f_memset(mem, {B}, {C}, {D})", vm.MEMCPY: "{A} = bi.f_memcpy(mem, {B}, {C}, {D})",
    vm.FFT: "{A} = bi.f_fft(mem, {B}, {C}, {d})", vm.FFTPERM: "{A} = bi.f_fft_permute(mem, {B}, {C}, {flag})",
    vm.MEMTOP: "{A} = float(mem.shape[0])", vm.CONVOLVE: "{A} = bi.f_convolve_c(mem, {B}, {C}, {D})",
    vm.CLEAN: "{A} = bi.clean({B})",
}
_D_IS_SLOT = (vm.MEMSET, vm.MEMCPY, vm.CONVOLVE)


def cache_dir() -> Path:
    """Where compiled effects are kept."""
    root = os.environ.get("REABRIDGE_CACHE")
    base = Path(root) if root else Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "reabridge"
    return base / "jsfx"


def mode() -> str:
    value = os.environ.get("REABRIDGE_JSFX_NATIVE", "background").lower()
    return value if value in ("background", "wait", "never") else "background"


def _leaders(code: np.ndarray, entries: list[int]) -> set[int]:
    """Where basic blocks start: entries, jump targets, after every transfer of control."""
    leaders = set(entries)
    for pc in range(len(code)):
        op, a = int(code[pc, 0]), int(code[pc, 1])
        if op in vm.JUMPS or op == vm.JSR:
            leaders.add(a)
        if op in vm.JUMPS or op in (vm.JSR, vm.RET, vm.HALT):
            leaders.add(pc + 1)
    return {p for p in leaders if 0 <= p < len(code)}


def _blocks_from(code: np.ndarray, start: int, leaders: set[int]) -> list[int]:
    """The blocks reachable from ``start``, following jumps, calls and returns' continuations."""
    seen: set[int] = set()
    stack = [start]
    while stack:
        pc = stack.pop()
        if pc in seen or not 0 <= pc < len(code):
            continue
        seen.add(pc)
        p = pc
        while True:
            op, a = int(code[p, 0]), int(code[p, 1])
            if op in vm.JUMPS or op == vm.JSR:
                stack.append(a)
            if op in (vm.JMP, vm.RET, vm.HALT):
                break
            p += 1
            if op in vm.JUMPS or op == vm.JSR or p in leaders:
                stack.append(p)
                break
    return sorted(seen)


class _Writer:
    """Python source for the state machines of one effect."""

    def __init__(self, linked: Linked) -> None:
        self.linked = linked
        code = linked.code
        dynamic_spl = bool(np.any((code[:, 0] == vm.SPLREAD) | (code[:, 0] == vm.SPLWRITE)))
        dynamic_slider = bool(np.any((code[:, 0] == vm.SLIDERREAD) | (code[:, 0] == vm.SLIDERWRITE)))
        used: set[int] = set()
        for op, a, b, c, d in code.tolist():
            used.update((a, b, c))
            if op in _D_IS_SLOT:
                used.add(d)
        spl0 = linked.slots["spl0"]
        self.spl0 = spl0
        self.spl_local = not dynamic_spl
        special = {linked.slots[n] for n in ("samplesblock", "play_position", "beat_position", "srate", "tempo")}
        excluded = set(linked.consts)
        if dynamic_spl:
            excluded |= set(range(spl0, spl0 + 64))
        if dynamic_slider:
            excluded |= {int(s) for s in linked.sliders if s >= 0}
        self.local = sorted(((used | special) & set(range(len(linked.values)))) - excluded)

    def ref(self, slot: int) -> str:
        return f"x{slot}" if slot in self._local_set else f"v[{slot}]"

    def operand(self, slot: int) -> str:
        if slot in self.linked.consts:
            value = float(self.linked.values[slot])
            return repr(value) if np.isfinite(value) else f"np.float64({str(value)!r})"
        return self.ref(slot)

    def machine(self, start: int, indent: str) -> list[str]:
        """A ``while`` loop over the blocks reachable from ``start``, left at HALT."""
        code = self.linked.code
        leaders = self._leaders
        out = [f"{indent}pc = {start}", f"{indent}sp = 0", f"{indent}while True:"]
        for n, block in enumerate(_blocks_from(code, start, leaders)):
            out.append(f"{indent}    {'if' if n == 0 else 'elif'} pc == {block}:")
            body = indent + "        "
            p = block
            while True:
                op, a, b, c, d = (int(x) for x in code[p])
                nxt = p + 1
                if op == vm.HALT:
                    out.append(f"{body}break")
                    break
                if op == vm.JMP:
                    out.append(f"{body}pc = {a}")
                    break
                if op in (vm.JZ, vm.JNZ):
                    cond = f"abs({self.operand(b)}) >= bi.CLOSE"
                    out.append(f"{body}pc = {a} if {'not ' if op == vm.JZ else ''}({cond}) else {nxt}")
                    break
                if op == vm.LOOPNEXT:  # every iteration looks at the stop flag, as the interpreter does
                    k = self.ref(b)
                    out += [f"{body}if {k} <= 0.0:", f"{body}    pc = {a}", f"{body}else:", f"{body}    {k} -= 1.0",
                            f"{body}    if vm.stop_requested(halt) != 0:", f"{body}        return vm.STOPPED",
                            f"{body}    pc = {nxt}"]
                    break
                if op == vm.WHILESTEP:
                    out += [f"{body}if {self.ref(b)} >= bi.LOOP_LIMIT:", f"{body}    {self.ref(c)} = {float(d)!r}",
                            f"{body}    pc = {a}", f"{body}elif vm.stop_requested(halt) != 0:",
                            f"{body}    return vm.STOPPED", f"{body}else:", f"{body}    pc = {nxt}"]
                    break
                if op == vm.JSR:
                    out += [f"{body}stack[sp] = {nxt}", f"{body}sp += 1", f"{body}pc = {a}"]
                    break
                if op == vm.RET:
                    out += [f"{body}sp -= 1", f"{body}pc = stack[sp]"]
                    break
                text = _TEMPLATES[op].format(A=self.ref(a), B=self.operand(b), C=self.operand(c),
                                             D=self.operand(d), c=c, d=d, flag="True" if d else "False")
                out += [body + line for line in text.split("|")]
                if nxt in leaders:
                    out.append(f"{body}pc = {nxt}")
                    break
                p = nxt
        out += [f"{indent}    else:", f"{indent}        break"]
        return out

    def source(self) -> str:
        linked = self.linked
        self._local_set = set(self.local)
        entries = [e for e in linked.entries.values() if e >= 0]
        self._leaders = _leaders(linked.code, entries)
        load = [f"    x{s} = v[{s}]" for s in self.local]
        store = [f"    v[{s}] = x{s}" for s in self.local]
        out = ["import math", "", "import numpy as np", "from numba import njit", "",
               "import bridge.jsfx.builtins as bi", "import bridge.jsfx.vm as vm", "", "",
               '@njit(cache=True, error_model="numpy", nogil=True)',
               "def run(entry, v, mem, gmem, rng, sliders, stack, halt):"]
        out += load or ["    pass"]
        for n, name in enumerate(("init", "slider")):
            start = linked.entries[name]
            out.append(f"    {'if' if n == 0 else 'elif'} entry == {start if start >= 0 else -99}:")
            out += self.machine(start, "        ") if start >= 0 else ["        pass"]
        out += store
        out += ["    return 0", "", "",
                '@njit(cache=True, error_model="numpy", nogil=True)',
                "def process(v, mem, gmem, rng, sliders, stack, buf, n, nch, block, reach, special, halt):"]
        out += load or ["    pass"]
        sb, pp, bp, sr, tp = (self.ref(linked.slots[x]) for x in ("samplesblock", "play_position", "beat_position",
                                                                   "srate", "tempo"))
        nodenorm = self.ref(linked.slots["ext_nodenorm"])
        out += ["    pos = 0", "    frame_channels = min(nch, 64)", "    while pos < n:",
                "        m = min(block, n - pos)", f"        {sb} = float(m)",
                "        if vm.stop_requested(halt) != 0:", "            return vm.STOPPED"]
        if linked.entries["block"] >= 0:
            out += self.machine(linked.entries["block"], "        ")
        if linked.entries["sample"] >= 0:
            out.append(f"        dc = 0.0 if {nodenorm} > 0.5 else {vm.DENORMAL_DC!r}")
            out += ["        for i in range(pos, pos + m):", "            if vm.stop_requested(halt) != 0:",
                    "                return vm.STOPPED"]
            if self.spl_local:
                for k in range(linked.reach):
                    x = f"x{self.spl0 + k}"
                    out += [f"            if {k} < frame_channels:", f"                {x} = buf[{k}, i] + dc",
                            f"            elif {k} < reach:", f"                {x} = dc"]
            else:
                base = self.spl0
                out += ["            for k in range(frame_channels):",
                        f"                v[{base} + k] = buf[k, i] + dc",
                        "            for k in range(frame_channels, reach):",
                        f"                v[{base} + k] = dc"]
            out += self.machine(linked.entries["sample"], "            ")
            if self.spl_local:
                for k in range(linked.reach):
                    out += [f"            if {k} < frame_channels:",
                            f"                buf[{k}, i] = x{self.spl0 + k}"]
                # channels the code never names come back with the input offset, as from the interpreter
                out += [f"            for k in range({linked.reach}, frame_channels):",
                        "                buf[k, i] = buf[k, i] + dc"]
            else:
                out += ["            for k in range(frame_channels):",
                        f"                buf[k, i] = v[{self.spl0} + k]"]
        out += [f"        {pp} += m / {sr}", f"        {bp} = {pp} * {tp} / 60.0", "        pos += m"]
        out += store
        out += ["    return 0", ""]
        return "\n".join(out)


def module_path(linked: Linked) -> Path | None:
    """Where the effect's module lives in the cache (None: too big for this tier)."""
    if len(linked.code) > MAX_ROWS:
        return None
    digest = hashlib.sha1()
    digest.update((VERSION + _fingerprint()).encode())
    digest.update(linked.code.tobytes())
    digest.update(linked.values.tobytes())
    digest.update(repr(sorted(linked.entries.items())).encode() + str(linked.reach).encode())
    return cache_dir() / f"jsfx_{digest.hexdigest()[:20]}.py"


def _fingerprint() -> str:
    from bridge.jsfx import builtins, interrupt

    return hashlib.sha1(Path(builtins.__file__).read_bytes() + Path(vm.__file__).read_bytes()
                        + Path(interrupt.__file__).read_bytes()
                        + Path(__file__).read_bytes()).hexdigest()


def write_module(linked: Linked, path: Path, effect: str = "") -> None:
    """The effect's module in the cache folder (its first line names the effect, for ``reabridge jsfx cache``)."""
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    name = " ".join(effect.split())[:200]
    tmp.write_text(f"{EFFECT_LINE}{name}\n" + _Writer(linked).source())
    tmp.replace(path)


def effect_name(path: Path) -> str:
    """The effect a module was made for (its first line)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            first = fh.readline()
    except OSError:
        return ""
    return first[len(EFFECT_LINE):].strip() if first.startswith(EFFECT_LINE) else ""


def load(path: Path) -> ModuleType:
    """Import the module (numba compiles it, or loads its cached machine code)."""
    name = f"reabridge_{path.stem}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # numba's cache finds the module again by name
    if str(path.parent) not in sys.path:
        sys.path.append(str(path.parent))
    spec.loader.exec_module(module)
    return module


def compile_module(module: ModuleType) -> None:
    """Compile both functions for the argument types the runtime passes (numba keeps the result)."""
    from numba import typeof, types

    f64, u32, i64 = typeof(np.zeros(1)), typeof(np.zeros(1, dtype=np.uint32)), typeof(np.zeros(1, dtype=np.int64))
    module.run.compile((types.int64, f64, f64, f64, u32, i64, i64, i64))
    module.process.compile((f64, f64, f64, u32, i64, i64, typeof(np.zeros((1, 1))), types.int64, types.int64,
                            types.int64, types.int64, i64, i64))


def eligible(program: Linked) -> Path | None:
    """Where the effect's module goes, when this tier can run it (not too big, no strings or files)."""
    path = module_path(program)
    if path is None or bool(np.any(program.code[:, 0] >= vm.STRING_OPS)) or program.entries["sample"] < 0:
        return None
    return path


def ready(path: Path) -> ModuleType:
    """The compiled module, loaded from the cache (call when :func:`background.is_compiled` says so)."""
    module = load(path)
    compile_module(module)  # finds numba's cached machine code: no compiling here
    return module


def available(program: Linked, effect: str = "") -> ModuleType | None:
    """The effect's machine code when the cache has it; in ``wait`` mode it is compiled first (bounded, see
    :mod:`bridge.jsfx.background`). In ``background`` mode the render decides later whether a compile pays
    off (:mod:`bridge.jsfx.promotion`)."""
    how = mode()
    path = eligible(program) if how != "never" else None
    if path is None:
        return None
    if not background.is_compiled(path) and how == "wait":
        write_module(program, path, effect)
        background.start(path, effect or path.stem, wait=True)
    return ready(path) if background.is_compiled(path) else None


def main(argv: list[str]) -> int:
    """``python -m bridge.jsfx.native MODULE.py``: compile a module into numba's cache, unbounded (benchmarks).

    Exit 3: out of memory (the supervisor's ceiling).
    """
    try:
        compile_module(load(Path(argv[0])))
    except MemoryError:
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
