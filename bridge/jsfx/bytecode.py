"""EEL2 to the instructions of :mod:`bridge.jsfx.vm`, with REAPER's scoping and evaluation order.

User functions are compiled once per namespace they are called through (REAPER's
``a.f()`` works on ``a.x``, a plain ``f()`` on ``f.x``): parameters and
``local()``/``static()`` variables belong to the function and keep their values between
calls; ``instance()`` variables and ``this.`` names live in the namespace; ``this..x``
is one namespace up; with a ``globals()`` list only the listed names are global.
Operands are evaluated left to right; a variable read on the left of an operator whose
right side can change it is copied first, as REAPER's compiler does.
"""

from __future__ import annotations

import math
import re
import struct
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from bridge.jsfx import builtins as bi
from bridge.jsfx import vm
from bridge.jsfx.errors import JsfxError, where
from bridge.jsfx.parser import Function, Node, Program

SPL_CHANNELS = 64
SLIDERS = 256
_SPL = re.compile(r"^spl(\d+)$")
_SLIDER = re.compile(r"^slider(\d+)$")
RUNTIME_VARS = ("srate", "num_ch", "samplesblock", "tempo", "play_state", "play_position", "beat_position", "ts_num",
                "ts_denom", "pdc_delay", "pdc_bot_ch", "pdc_top_ch", "__loop_limit_line", "ext_nodenorm")
BINARY = {"+": vm.ADD, "-": vm.SUB, "*": vm.MUL, "/": vm.DIV, "^": vm.POW, "%": vm.MOD, "<<": vm.SHL, ">>": vm.SHR,
          "&": vm.BAND, "|": vm.BOR, "~": vm.BXOR, "<": vm.LT, ">": vm.GT, "<=": vm.LE, ">=": vm.GE, "==": vm.EQ,
          "!=": vm.NE, "===": vm.EQX, "!==": vm.NEX}
MATH1 = {name: i for i, name in enumerate(vm.MATH_FUNCTIONS)}
#: instructions whose only effect is writing ``a`` from their operands (a following move can take their place)
PRODUCERS = {*BINARY.values(), vm.NEG, vm.NOT, vm.MATH1, vm.MREAD, vm.GREAD, vm.MIN, vm.MAX, vm.ATAN2, vm.CLEAN}
NO_MIDI = {"midirecv", "midisend", "midisyx", "midirecv_buf", "midisend_buf", "midirecv_str", "midisend_str"}
UI_ONLY = {"sliderchange", "slider_automate", "slider_show", "export_buffer_to_project", "gfx_setcursor"}
ZERO_OFFLINE = {"get_host_placement": 0}  # what these return offline
STRING_FUNCTIONS = {"strlen": (vm.STRLEN, 1), "strcpy": (vm.STRCPY, 2), "strcat": (vm.STRCAT, 2),
                    "strcmp": (vm.STRCMP, 2), "stricmp": (vm.STRICMP, 2), "strncmp": (vm.STRNCMP, 3),
                    "strnicmp": (vm.STRNICMP, 3), "str_getchar": (vm.STRGETCHAR, -2),
                    "str_setchar": (vm.STRSETCHAR, -3),
                    "str_setlen": (vm.STRSETLEN, 2), "strcpy_from": (vm.STRCPYFROM, 3),
                    "strcpy_substr": (vm.STRCPYSUBSTR, -3), "strncpy": (vm.STRNCPY, 3), "strncat": (vm.STRNCAT, 3),
                    "str_insert": (vm.STRINSERT, 3), "str_delsub": (vm.STRDELSUB, 3)}
VARIADIC_STRINGS = {"sprintf": vm.SPRINTF, "match": vm.MATCH, "matchi": vm.MATCHI, "printf": vm.PRINTF}
FILE_FUNCTIONS = {"file_open": (vm.FILEOPEN, 1), "file_close": (vm.FILECLOSE, 1), "file_rewind": (vm.FILEREWIND, 1),
                  "file_var": (vm.FILEVAR, 2), "file_mem": (vm.FILEMEM, 3), "file_avail": (vm.FILEAVAIL, 1),
                  "file_riff": (vm.FILERIFF, 3), "file_text": (vm.FILETEXT, 1), "file_string": (vm.FILESTRING, 2)}
FILE_WRITES = {"file_var": (1,), "file_riff": (1, 2)}  # arguments that are variables the function writes
UNSUPPORTED_PREFIXES = ("file_", "mdct", "imdct", "atomic_", "stack_", "mem_")
FFT_MODES = {"fft": 0, "ifft": 1, "fft_real": 2, "ifft_real": 3, "fft_permute": 0, "fft_ipermute": 1}
#: EEL2's denormal analysis (nseel-compiler.c, nseel_getBuiltinFunctionAddress/fnTable1): results that are never
#: denormal, inf or NaN ("clear"), functions whose result can only be so if an argument is ("keep"); others "make"
CLEAR_OPS = {"%", "<<", ">>", "&", "|", "~", "<", ">", "<=", ">=", "==", "!=", "===", "!=="}
CLEAR_MATH = {"cos", "floor", "ceil", "sign"}
KEEP_MATH = {"sin", "sqrt", "abs"}
UNSUPPORTED = {"eval", "loop_break", "on_slider_change", "tolower", "toupper",
               "midi_getsysex"}
BUILTIN_NAMES = (set(MATH1) | {"min", "max", "atan2", "pow", "rand", "memset", "memcpy", "freembuf", "__memtop", "spl",
                               "slider", "loop", "while", "get_host_numchan", *FFT_MODES, "slider_next_chg", "time",
                               "time_precise", "convolve_c"}
                 | UI_ONLY | NO_MIDI | set(ZERO_OFFLINE) | set(STRING_FUNCTIONS) | set(VARIADIC_STRINGS)
                 | set(FILE_FUNCTIONS))
ONE_PARAMETER = set(MATH1) | {"rand", "freembuf", "spl", "slider"}
#: string ids, as REAPER hands them out: 0-1023 are the string slots; literals and #named strings above
LITERAL_BASE = 10000
NAMED_BASE = 90000


@dataclass
class Frame:
    """Where code is being compiled: top level, or inside a function called through a namespace."""

    function: Function | None = None
    namespace: str = ""
    bound: tuple[tuple[str, str], ...] = ()  # namespace parameters (name*) and the names they were called with
    names: dict[str, str] = field(default_factory=dict, compare=False, repr=False)  # resolve()'s answers here


@dataclass
class Unit:
    """One piece of code: a section's top level, or a function instance (ends in HALT or RET)."""

    rows: list[list[int]] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)  # label -> row
    strings: bool = False  # uses a string operation (directly)
    calls: set[int] = field(default_factory=set)  # instances it calls
    ret: int = -1  # the slot holding a function's result


@dataclass
class Linked:
    """A whole effect, ready to run."""

    code: np.ndarray
    values: np.ndarray
    slots: dict[str, int]
    entries: dict[str, int]
    strings_in: dict[str, bool]
    sliders: np.ndarray
    reach: int
    literals: dict[int, bytes]
    named: dict[str, int]
    notices: set[str]
    consts: frozenset[int] = frozenset()


def _key(fn: Function) -> str:
    """A function's own name among overloads (``f/2``: f with two parameters)."""
    return f"{fn.name}/{len(fn.params)}"


def _overload(overloads: dict[int, Function], count: int) -> Function:
    """The overload a call with ``count`` arguments reaches: the same count; f() for f(x); else the widest one
    taking no more than ``count`` (extra arguments ignored), else the narrowest (missing ones are 0)."""
    if count in overloads:
        return overloads[count]
    if count == 0 and 1 in overloads:
        return overloads[1]
    fewer = [n for n in overloads if n < count]
    return overloads[max(fewer)] if fewer else overloads[min(overloads)]


def _fold(node: Node, memo: dict[int, float | None] | None = None) -> float | None:
    """The value EEL2's optimizer gives an operation on numbers (nseel-compiler.c, optimizeOpcodes), else None.

    ``memo`` (by node id, for one compilation) keeps long chains linear.
    """
    if memo is not None and id(node) in memo:
        return memo[id(node)]
    value: float | None = None
    if node.kind == "num":
        value = float(node.args[0])
    elif node.kind in ("neg", "pos"):
        inner = _fold(node.args[0], memo)
        value = None if inner is None else (-inner if node.kind == "neg" else inner)
    elif node.kind == "bin" and node.args[0] in FOLDED:
        a = _fold(node.args[1], memo)
        b = _fold(node.args[2], memo) if a is not None else None
        value = None if a is None or b is None else FOLDED[node.args[0]](a, b)
    if memo is not None:
        memo[id(node)] = value
    return value


def _number_filter(value: float) -> float:
    """A number as EEL2 stores it in code (denormal_filter_double2): denormals, inf and NaN are 0."""
    return value if 2.0 ** -1022 <= abs(value) < math.inf else 0.0


def _fold_mod(a: float, b: float) -> float:
    """``%`` as the compiler folds it: C's int32 divisor, the magnitude of the remainder."""
    d = bi.to_int32(abs(b))
    return float(abs(bi.to_int64(abs(a))) % abs(d)) if d else 0.0


#: operations on two numbers as the compiler folds them (its C rules: << >> on int32, unlike the x64 run-time code)
FOLDED = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b,
          "/": lambda a, b: a / b if b else (math.copysign(math.inf, a) * math.copysign(1.0, b) if a else math.nan),
          "^": bi.op_pow, "%": _fold_mod,
          "<<": lambda a, b: bi.wrap32(bi.to_int32(a) << (bi.to_int32(b) & 31)),
          ">>": lambda a, b: float(bi.to_int32(a) >> (bi.to_int32(b) & 31)),
          "&": bi.op_and, "|": bi.op_or, "~": bi.op_xor}


def _number(node: Node) -> float | None:
    """The value of a number literal, or of a negated one (EEL2 folds ``-1`` to a number)."""
    if node.kind == "num":
        return float(node.args[0])
    if node.kind == "neg" and node.args[0].kind == "num":
        return -float(node.args[0].args[0])
    return None


def _reach_from(nodes: list[Node]) -> bool:
    """Whether code can change a variable or memory: assignments and calls (conservative)."""
    stack = list(nodes)
    while stack:
        node = stack.pop()
        if node is None:
            continue
        if node.kind in ("assign", "call"):
            return True
        for arg in node.args:
            if isinstance(arg, Node):
                stack.append(arg)
            elif isinstance(arg, (list, tuple)):
                stack.extend(a for a in arg if isinstance(a, Node))
    return False


class BytecodeCompiler:
    """Compiles an effect's sections into one program.

    Parameters
    ----------
    file : str
        For messages.
    slider_vars : dict
        Slider number to the variable holding its value.
    """

    def __init__(self, file: str, slider_vars: dict[int, str]) -> None:
        self.file = file
        self.slider_vars = slider_vars
        self.slots: dict[str, int] = {}
        self.values: list[float] = []
        self.consts: dict[bytes, int] = {}
        self.const_slots: set[int] = set()
        self.temps: set[int] = set()
        self.written: set[int] = set()  # temporaries written so far, and those written more than once
        self.rewritten: set[int] = set()
        self.units: list[Unit] = []
        self.unit: Unit = Unit()
        self.instances: dict[tuple[int, str, tuple[tuple[str, str], ...]], int] = {}
        self.functions: dict[str, dict[int, Function]] = {}  # name -> parameter count -> function (overloads)
        self.calling: list[int] = []  # the functions being compiled (by id)
        self.folds: dict[int, float | None] = {}  # constant values of expression nodes, by node id
        self.unclean_bodies: dict[int, bool] = {}  # whether a function's value can be inf/NaN/denormal, by id
        self.reach_memo: dict[int, bool] = {}  # whether an expression node can change variables, by node id
        self.notices: set[str] = set()
        self.literals: dict[int, bytes] = {}
        self.literal_ids: dict[bytes, int] = {}
        self.named: dict[str, int] = {}
        self.dynamic_spl = False
        self.max_spl = -1
        self.spl_base = len(self.values)  # spl0..spl63 are 64 slots in a row (the host fills them per frame)
        for k in range(SPL_CHANNELS):
            self.slot(f"spl{k}")
        for name in RUNTIME_VARS:
            self.slot(name)
        for number in range(1, SLIDERS + 1):
            self.slot(slider_vars.get(number, f"slider{number}"))
        self.zero, self.one = self.const(0.0), self.const(1.0)

    # -- slots -------------------------------------------------------------------------------
    def slot(self, name: str) -> int:
        """The slot of EEL2 variable ``name`` (created on first use)."""
        if name not in self.slots:
            self.slots[name] = len(self.values)
            self.values.append(0.0)
        return self.slots[name]

    def const(self, value: float) -> int:
        key = struct.pack("<d", value)
        if key not in self.consts:
            self.consts[key] = len(self.values)
            self.const_slots.add(len(self.values))
            self.values.append(value)
        return self.consts[key]

    def temp(self) -> int:
        t = len(self.values)
        self.values.append(0.0)
        self.temps.add(t)
        return t

    def is_stable(self, slot: int) -> bool:
        """A temporary or a constant: nothing but its own instruction writes it."""
        return slot in self.temps or slot in self.const_slots

    def error(self, node: Node, message: str) -> JsfxError:
        return JsfxError(f"{where(self.file, node.line, node.col)}: {message}")

    # -- emitting ------------------------------------------------------------------------------
    def emit(self, op: int, a: int = 0, b: int = 0, c: int = 0, d: int = 0) -> None:
        rows = self.unit.rows
        if op == vm.MOV and b in self.temps and rows and rows[-1][1] == b and rows[-1][0] in PRODUCERS \
                and b not in self.rewritten and len(rows) not in self.unit.labels:
            rows[-1][1] = a  # the temporary was made for this move only: the producer writes the target
            return
        if op in PRODUCERS or op == vm.MOV:
            if a in self.written:
                self.rewritten.add(a)
            self.written.add(a)
        rows.append([op, a, b, c, d])
        if op >= vm.STRING_OPS:
            self.unit.strings = True

    def label(self) -> int:
        self.unit.labels.append(-1)
        return len(self.unit.labels) - 1

    def place(self, label: int) -> None:
        self.unit.labels[label] = len(self.unit.rows)

    def snapshot(self, slot: int) -> int:
        if self.is_stable(slot):
            return slot
        t = self.temp()
        self.emit(vm.MOV, t, slot)
        return t

    # -- names ----------------------------------------------------------------------------------
    def resolve(self, name: str, frame: Frame) -> str:
        """The global name an EEL2 variable refers to, under REAPER's scoping rules."""
        known = frame.names.get(name)
        if known is None:
            known = frame.names[name] = self._resolve(name, frame)
        return known

    def _resolve(self, name: str, frame: Frame) -> str:
        fn = frame.function
        if name.startswith("this.."):
            parent = frame.namespace.rsplit(".", 1)[0] if "." in frame.namespace else ""
            return f"{parent}.{name[6:]}" if parent else name[6:]
        if name.startswith("this."):
            return f"{frame.namespace}.{name[5:]}" if frame.namespace else name[5:]
        if name == "this":
            return frame.namespace
        if fn is None:
            return name
        head, dot, rest = name.partition(".")
        for param, target in frame.bound:
            if head == param:
                return f"{target}.{rest}" if dot else target
        if name in fn.params or name in fn.locals:
            return f"{_key(fn)}\x00{name}"
        if fn.instances:  # instance(a.b) covers a.b and a.b.*
            parts = name.split(".")
            if any(".".join(parts[:k]) in fn.instances for k in range(1, len(parts) + 1)):
                return f"{frame.namespace}.{name}"
        if (fn.globals is not None and name not in fn.globals and head not in fn.globals
                and name not in RUNTIME_VARS and not _SPL.match(name) and not _SLIDER.match(name)):
            return f"{_key(fn)}\x00{name}"
        return name

    def spl_index(self, name: str) -> int | None:
        m = _SPL.match(name)
        if m and int(m.group(1)) < SPL_CHANNELS:
            self.max_spl = max(self.max_spl, int(m.group(1)))
            return int(m.group(1))
        return None

    # -- sections ---------------------------------------------------------------------------------
    def define(self, program: Program) -> None:
        """Make a section's functions callable (REAPER: @init's everywhere, others in their section)."""
        for fn in program.functions:
            if fn.name in BUILTIN_NAMES:
                raise JsfxError(f"{where(self.file, fn.line)}: '{fn.name}' is a built-in function and cannot be "
                                "redefined")
            overloads = self.functions.setdefault(fn.name, {})
            fn.shadows = overloads.get(len(fn.params))
            overloads[len(fn.params)] = fn

    def section(self, programs: list[Program]) -> int:
        """Compile a section's top-level code into a new unit; returns its index."""
        self.unit = Unit()
        for program in programs:
            self.expr(program.body, Frame())
        self.emit(vm.HALT)
        self.units.append(self.unit)
        return len(self.units) - 1

    # -- expressions -----------------------------------------------------------------------------
    def expr(self, node: Node, frame: Frame) -> int:
        """Emit what ``node`` needs; returns the slot holding its value."""
        kind = node.kind
        if kind == "num":
            return self.const(float(node.args[0]))
        if kind == "var":
            name = self.resolve(node.args[0], frame)
            self.spl_index(name)
            return self.slot(name)
        if kind == "str":
            return self.const(float(self.literal(node.args[0])))
        if kind == "named":
            return self.const(float(self.named_string(self.resolve(node.args[0], frame))))
        if kind == "seq":
            value = self.zero
            for item in node.args[0]:
                value = self.expr(item, frame)
            return value
        if kind == "neg":
            t = self.temp()
            self.emit(vm.NEG, t, self.expr(node.args[0], frame))
            return t
        if kind == "pos":
            return self.expr(node.args[0], frame)
        if kind == "not":
            t = self.temp()
            self.emit(vm.NOT, t, self.expr(node.args[0], frame))
            return t
        if kind == "bin":
            op, left, right = node.args
            if op in ("&&", "||"):
                return self.logical(op, left, right, frame)
            folded = _fold(node, self.folds)
            if folded is not None:  # EEL2 computes it while compiling (other rules for << >>, inf/NaN become 0)
                return self.const(_number_filter(folded))
            a, b = self.ordered(left, right, frame)
            t = self.temp()
            self.emit(BINARY[op], t, a, b)
            return t
        if kind == "cond":
            return self.conditional(node, frame)
        if kind == "index":
            array, index = self.memory(node, frame)
            t = self.temp()
            self.emit(vm.GREAD if array == "G" else vm.MREAD, t, index)
            return t
        if kind == "assign":
            return self.assign(node, frame)
        if kind == "call":
            return self.call(node, frame)
        raise self.error(node, f"cannot compile {kind}")

    def ordered(self, left: Node, right: Node, frame: Frame) -> tuple[int, int]:
        """Both operands, the left one kept as it was if the right one can change it."""
        a = self.expr(left, frame)
        if self.reaches(right):
            a = self.snapshot(a)
        return a, self.expr(right, frame)

    def reaches(self, node: Node) -> bool:
        """:func:`_reach_from` for one node, remembered (long chains ask it of every sub-expression)."""
        key = id(node)
        if key not in self.reach_memo:
            self.reach_memo[key] = _reach_from([node])
        return self.reach_memo[key]

    def logical(self, op: str, left: Node, right: Node, frame: Frame) -> int:
        t = self.temp()
        end = self.label()
        a = self.expr(left, frame)
        self.emit(vm.MOV, t, self.zero if op == "&&" else self.one)
        self.emit(vm.JZ if op == "&&" else vm.JNZ, end, a)
        self.emit(vm.BOOL, t, self.expr(right, frame))
        self.place(end)
        return t

    def conditional(self, node: Node, frame: Frame) -> int:
        test, then, other = node.args
        return self.branch(test, frame, None if then is None else lambda: self.expr(then, frame),
                           None if other is None else lambda: self.expr(other, frame))

    def branch(self, test: Node, frame: Frame, then: Callable[[], int] | None,
               other: Callable[[], int] | None) -> int:
        """``test ? then : other`` where each side emits its own code and returns its slot (0 when missing)."""
        c = self.expr(test, frame)
        t = self.temp()
        otherwise, end = self.label(), self.label()
        self.emit(vm.MOV, t, self.zero)
        self.emit(vm.JZ, otherwise, c)
        if then is not None:
            self.emit(vm.MOV, t, then())
        self.emit(vm.JMP, end)
        self.place(otherwise)
        if other is not None:
            self.emit(vm.MOV, t, other())
        self.place(end)
        return t

    def memory(self, node: Node, frame: Frame) -> tuple[str, int]:
        """``("M" or "G", index slot)`` for a memory access node."""
        base, index = node.args
        if base.kind == "var" and base.args[0] == "gmem":
            return "G", (self.expr(index, frame) if index is not None else self.zero)
        if index is None:
            return "M", self.expr(base, frame)
        a, b = self.ordered(base, index, frame)
        t = self.temp()
        self.emit(vm.ADD, t, a, b)
        return "M", t

    # -- assignment ------------------------------------------------------------------------------
    def assign(self, node: Node, frame: Frame) -> int:
        op, target, value_node = node.args
        if target.kind == "index":  # the address first, then the value
            array, index = self.memory(target, frame)
            index = self.snapshot(index)
            return self.store(op, array, index, self.checked(op, value_node, frame))
        return self.assign_to(op, target, self.checked(op, value_node, frame), frame)

    def checked(self, op: str, node: Node, frame: Frame) -> int:
        """The value of ``node`` for ``op``; a plain ``=`` of a result that can be denormal, inf or NaN stores 0
        instead of those, as EEL2's nseel_asm_assign does (a variable or a number is copied as it is)."""
        value = self.expr(node, frame)
        if op != "=" or not self.unclean(node, frame):
            return value
        t = self.temp()
        self.emit(vm.CLEAN, t, value)
        return t

    def unclean(self, node: Node | None, frame: Frame) -> bool:
        """EEL2's canHaveDenormalOutput for ``node`` (nseel-compiler.c): whether assigning it is checked."""
        if node is None:
            return False
        kind = node.kind
        if kind in ("num", "var", "str", "named", "not", "index", "assign") or _fold(node, self.folds) is not None:
            return False
        if kind in ("neg", "pos"):
            return self.unclean(node.args[0], frame)
        if kind == "seq":
            return bool(node.args[0]) and self.unclean(node.args[0][-1], frame)
        if kind == "cond":
            return self.unclean(node.args[1], frame) or self.unclean(node.args[2], frame)
        if kind == "bin":
            op, left, right = node.args
            if op in ("&&", "||") or op in CLEAR_OPS:
                return False
            consts = [n for n in (left, right) if _number(n) is not None]
            keep = self.unclean(left, frame) or self.unclean(right, frame)
            c = abs(_number(consts[0])) if consts else None
            if c == 0.0:
                return keep  # x+0, x-0: EEL2's optimizer drops the operation
            if op in ("+", "-"):
                return c is None or c <= 1.0e-50
            if op == "*":
                return keep if c is not None and c >= 1.0 else True
            if op == "/":
                return keep if c is not None and c <= 1.0 else True
            return True  # ^
        if kind == "call":
            name, args, _ = node.args
            fn, _ns = self.find_function(name, frame, len(args))
            if fn is not None:
                while id(fn) in self.calling and fn.shadows is not None:
                    fn = fn.shadows
                if fn.body is None or id(fn) in self.calling:
                    return False
                if id(fn) not in self.unclean_bodies:  # once per function (its body's last value decides)
                    self.calling.append(id(fn))
                    try:
                        self.unclean_bodies[id(fn)] = self.unclean(fn.body, Frame(fn, frame.namespace, frame.bound))
                    finally:
                        self.calling.pop()
                return self.unclean_bodies[id(fn)]
            if name in CLEAR_MATH or name in ("rand", "loop", "while"):
                return False
            if name in KEEP_MATH or name in ("min", "max"):
                return any(self.unclean(a, frame) for a in args)
            return True
        return True

    def combine(self, op: str, old: int, value: int) -> int:
        if op == "=":
            return value
        t = self.temp()
        self.emit(BINARY[op[:-1]], t, old, value)
        return t

    def store(self, op: str, array: str, index: int, value: int) -> int:
        value = self.snapshot(value)
        if op != "=":
            old = self.temp()
            self.emit(vm.GREAD if array == "G" else vm.MREAD, old, index)
            value = self.combine(op, old, value)
        self.emit(vm.GWRITE if array == "G" else vm.MWRITE, 0, index, value)
        return value

    def assign_to(self, op: str, target: Node, value: int, frame: Frame) -> int:
        """Assign the computed ``value`` to ``target``; returns the slot of the assigned value."""
        if target.kind == "var":
            name = self.resolve(target.args[0], frame)
            self.spl_index(name)
            slot = self.slot(name)
            if op == "=":
                self.emit(vm.MOV, slot, value)
            else:
                self.emit(BINARY[op[:-1]], slot, slot, value)
            return slot
        if target.kind == "named":  # #s = "a" is strcpy(#s, "a") and #s += "b" strcat(#s, "b"), as in EEL2
            if op not in ("=", "+="):
                raise self.error(target, f"a #string cannot be combined with {op}; use strcpy() or strcat()")
            dest = self.const(float(self.named_string(self.resolve(target.args[0], frame))))
            first = len(self.values)
            self.temp()
            self.temp()
            self.emit(vm.MOV, first, dest)
            self.emit(vm.MOV, first + 1, value)
            t = self.temp()
            self.emit(vm.STRCPY if op == "=" else vm.STRCAT, t, first, 2)
            return t
        if target.kind == "index":
            value = self.snapshot(value)
            array, index = self.memory(target, frame)
            return self.store(op, array, self.snapshot(index), value)
        if target.kind == "seq" and target.args[0]:
            value = self.snapshot(value)
            for item in target.args[0][:-1]:
                self.expr(item, frame)
            return self.assign_to(op, target.args[0][-1], value, frame)
        if target.kind == "cond":
            test, then, other = target.args
            value = self.snapshot(value)
            return self.branch(test, frame, None if then is None else lambda: self.assign_to(op, then, value, frame),
                               None if other is None else lambda: self.assign_to(op, other, value, frame))
        if target.kind == "call" and target.args[0] in ("spl", "slider") and len(target.args[1]) == 1:
            return self.dynamic(target, frame, op, self.snapshot(value))
        raise self.error(target, "this cannot be assigned to")

    # -- calls -------------------------------------------------------------------------------------
    def call(self, node: Node, frame: Frame) -> int:
        name, _, extra = node.args
        if name == "loop":
            return self.loop(node, frame)
        if name == "while":
            return self.while_loop(node, frame)
        fn, namespace = self.find_function(name, frame, len(node.args[1]))
        if fn is not None:
            return self.invoke(fn, namespace, node, frame)
        if extra is not None:
            raise self.error(node, f"{name}(...)(...) is only valid for while()")
        return self.builtin(node, frame)

    def find_function(self, name: str, frame: Frame, count: int = 0) -> tuple[Function | None, str]:
        """The user function a call names, and the namespace ``this`` is in it.

        As EEL2 resolves ``a.b.f()``: the whole name if a function has it, else the
        longest ending after a dot that one has (``b.f``, then ``f``); overloads are
        told apart by their parameter count; ``this`` is the called path without its last
        part (``a.b``), or the function's own name for a plain ``f()``.
        """
        if "." not in name:
            return (_overload(self.functions[name], count), name) if name in self.functions else (None, "")
        parts = name.split(".")
        for i in range(len(parts)):
            short = ".".join(parts[i:])
            if short in self.functions:
                path = self.resolve(name, frame)
                return _overload(self.functions[short], count), path.rsplit(".", 1)[0] if "." in path else path
        return None, ""

    def invoke(self, fn: Function, namespace: str, node: Node, frame: Frame) -> int:
        args = list(node.args[1])
        if not args and len(fn.params) == 1:  # EEL2 reads f() as f(0)
            args = [Node("num", (0.0,), node.line, node.col)]
        if len(args) != len(fn.params):
            what = "the extra ones are ignored" if len(args) > len(fn.params) else "the missing ones are 0"
            self.notices.add(f"{where(self.file, node.line)}: {fn.name}() takes {len(fn.params)} parameter(s) and "
                             f"got {len(args)}: {what}")
        while id(fn) in self.calling and fn.shadows is not None:
            fn = fn.shadows  # in EEL2 a function's body sees the definitions made before it, not itself
        if id(fn) in self.calling:
            raise self.error(node, f"{fn.name}() calls itself; EEL2 functions cannot be recursive")
        bound = []
        values: list[int] = []
        for k, arg in enumerate(args):
            if k < len(fn.params) and fn.params[k] in fn.namespaces:
                if arg.kind != "var":
                    raise self.error(arg, f"parameter {k + 1} of {fn.name}() is a namespace: give it a variable name")
                bound.append((fn.params[k], self.resolve(arg.args[0], frame)))
                values.append(self.zero)
            else:
                values.append(self.snapshot(self.expr(arg, frame)))
        bound.extend((p, f"{_key(fn)}\x00{p}") for p in fn.params[len(args):] if p in fn.namespaces)
        for k, param in enumerate(fn.params):
            if param not in fn.namespaces:
                self.emit(vm.MOV, self.slot(f"{_key(fn)}\x00{param}"), values[k] if k < len(values) else self.zero)
        index = self.instance(fn, namespace, tuple(bound))
        self.unit.calls.add(index)
        self.emit(vm.JSR, index)
        return self.snapshot(self.units[index].ret)

    def instance(self, fn: Function, namespace: str, bound: tuple[tuple[str, str], ...] = ()) -> int:
        """The unit of ``fn`` called through ``namespace`` with ``bound`` namespaces (compiled on first use)."""
        key = (id(fn), namespace, bound)
        if key in self.instances:
            return self.instances[key]
        outer = self.unit
        self.unit = Unit(ret=len(self.values))  # written by every call: never taken for a stable temporary
        self.values.append(0.0)
        self.units.append(self.unit)
        index = len(self.units) - 1
        self.instances[key] = index
        self.calling.append(id(fn))
        try:
            result = self.expr(fn.body, Frame(fn, namespace, bound)) if fn.body is not None else self.zero
            self.emit(vm.MOV, self.unit.ret, result)
            self.emit(vm.RET)
        finally:
            self.calling.pop()
            self.unit = outer
        return index

    def loop(self, node: Node, frame: Frame) -> int:
        args = node.args[1]
        if len(args) != 2:
            raise self.error(node, "loop() takes a count and the code to repeat")
        k = self.temp()
        self.emit(vm.LOOPINIT, k, self.expr(args[0], frame))
        top, end = self.label(), self.label()
        self.place(top)
        self.emit(vm.LOOPNEXT, end, k)
        self.expr(args[1], frame)
        self.emit(vm.JMP, top)
        self.place(end)
        return self.zero

    def while_loop(self, node: Node, frame: Frame) -> int:
        _, args, extra = node.args
        if len(args) != 1:
            raise self.error(node, "while() takes one block of code")
        k = self.temp()
        limit = self.slot("__loop_limit_line")
        top, end = self.label(), self.label()
        self.emit(vm.MOV, k, self.zero)
        self.place(top)
        value = self.expr(args[0], frame)
        if extra is None:  # while (code): repeat while its value is true
            self.emit(vm.ADD, k, k, self.one)
            self.emit(vm.JZ, end, value)
            self.emit(vm.WHILESTEP, end, k, limit, node.line)
        else:  # while (condition) (code)
            self.emit(vm.JZ, end, value)
            self.emit(vm.WHILESTEP, end, k, limit, node.line)
            self.expr(extra, frame)
            self.emit(vm.ADD, k, k, self.one)
        self.emit(vm.JMP, top)
        self.place(end)
        return self.zero

    def builtin(self, node: Node, frame: Frame) -> int:
        name, args, _ = node.args
        if not args and name in ONE_PARAMETER:  # EEL2 reads f() as f(0)
            args = [Node("num", (0.0,), node.line, node.col)]

        def arity(n: int) -> None:
            if len(args) != n:
                raise self.error(node, f"{name}() takes {n} parameter(s), got {len(args)}")

        if name in MATH1:
            arity(1)
            t = self.temp()
            self.emit(vm.MATH1, t, self.expr(args[0], frame), MATH1[name])
            return t
        if name in ("min", "max", "atan2", "pow"):
            arity(2)
            a, b = self.ordered(args[0], args[1], frame)
            t = self.temp()
            self.emit({"min": vm.MIN, "max": vm.MAX, "atan2": vm.ATAN2, "pow": vm.POW}[name], t, a, b)
            return t
        if name == "rand":
            arity(1)
            t = self.temp()
            self.emit(vm.RAND, t, self.expr(args[0], frame))
            return t
        if name in ("memset", "memcpy"):
            arity(3)
            values = [self.snapshot(self.expr(a, frame)) for a in args]
            t = self.temp()
            self.emit(vm.MEMSET if name == "memset" else vm.MEMCPY, t, values[0], values[1], values[2])
            return t
        if name == "freembuf":
            arity(1)
            return self.expr(args[0], frame)
        if name == "__memtop":
            arity(0)
            t = self.temp()
            self.emit(vm.MEMTOP, t)
            return t
        if name in UI_ONLY or name in NO_MIDI or name in ZERO_OFFLINE or name == "slider_next_chg" \
                or name.startswith("gfx_"):
            # no window, no automation and no MIDI offline: the calls do nothing (midirecv() finds no events,
            # slider_next_chg() finds no more changes)
            for a in args:
                self.expr(a, frame)
            if name in NO_MIDI:
                self.notices.add("MIDI functions find no events offline (midirecv returns 0; midisend drops)")
            if name.startswith("gfx_"):
                self.notices.add("graphics calls outside @gfx do nothing offline")
            return self.const(-1.0) if name == "slider_next_chg" else self.zero
        if name in ("time", "time_precise"):
            for a in args:
                self.expr(a, frame)
            self.notices.add(f"{name}() counts the time rendered so far (offline there is no wall clock)")
            return self.slot("play_position")
        if name == "convolve_c":
            arity(3)
            a, b, c = (self.snapshot(self.expr(x, frame)) for x in args)
            t = self.temp()
            self.emit(vm.CONVOLVE, t, a, b, c)
            return t
        if name in FFT_MODES:
            arity(2)
            a, b = (self.snapshot(self.expr(x, frame)) for x in args)
            t = self.temp()
            self.emit(vm.FFTPERM if "permute" in name else vm.FFT, t, a, b, FFT_MODES[name])
            return t
        if name == "get_host_numchan":
            arity(0)
            return self.slot("num_ch")
        if name in ("spl", "slider"):
            arity(1)
            return self.dynamic(node, frame)
        if name in STRING_FUNCTIONS:
            op, count = STRING_FUNCTIONS[name]
            if (count > 0 and len(args) != count) or (count < 0 and len(args) not in (-count, -count + 1)):
                expected = count if count > 0 else f"{-count} or {-count + 1}"
                raise self.error(node, f"{name}() takes {expected} parameter(s), got {len(args)}")
            return self.string_call(op, args, frame)
        if name in VARIADIC_STRINGS:
            if len(args) < (1 if name == "printf" else 2):
                raise self.error(node, f"{name}() needs a format and a string")
            return self.string_call(VARIADIC_STRINGS[name], args, frame)
        if name in FILE_FUNCTIONS:
            op, count = FILE_FUNCTIONS[name]
            arity(count)
            if name == "file_open":  # the variable it names matters too: a file slider's opens the slider's file
                source = self.resolve(args[0].args[0], frame) if args[0].kind == "var" else None
                slot = self.slot(source) if source is not None else -1
                return self.string_call(op, [args[0], Node("num", (float(slot),), node.line, node.col)], frame)
            return self.string_call(op, args, frame, writes=FILE_WRITES.get(name, ()))
        if name.startswith(UNSUPPORTED_PREFIXES) or name in UNSUPPORTED:
            raise self.error(node, f"{name}() is not supported by reabridge's JSFX runner")
        raise self.error(node, f"unknown function '{name}'")

    def string_call(self, op: int, args: list[Node], frame: Frame, writes: tuple[int, ...] = ()) -> int:
        """A string or file function: its arguments go to a run of consecutive temporaries (b = first, c = count).

        ``match``'s captures and the ``writes`` arguments are passed as the slots of their
        variables (the function writes to them).
        """
        values = []
        for k, a in enumerate(args):
            if (op in (vm.MATCH, vm.MATCHI) and k >= 2) or k in writes:
                name = self.resolve(a.args[0], frame) if a.kind == "var" else None
                target = self.slot(name) if name is not None and self.spl_index(name) is None else \
                    self.snapshot(self.expr(a, frame))
                values.append(self.const(float(target)))
            else:
                values.append(self.snapshot(self.expr(a, frame)))
        first = len(self.values)
        for _ in values:
            self.temp()
        for k, v in enumerate(values):
            self.emit(vm.MOV, first + k, v)
        t = self.temp()
        self.emit(op, t, first, len(values))
        return t

    def literal(self, text: bytes) -> int:
        if text not in self.literal_ids:
            self.literal_ids[text] = LITERAL_BASE + len(self.literal_ids)
            self.literals[self.literal_ids[text]] = text
        return self.literal_ids[text]

    def named_string(self, name: str) -> int:
        if name not in self.named:
            self.named[name] = NAMED_BASE + len(self.named)
        return self.named[name]

    def dynamic(self, node: Node, frame: Frame, op: str | None = None, value: int | None = None) -> int:
        """``spl(n)`` (any channel) and ``slider(n)`` (the variable of slider n)."""
        name, args, _ = node.args
        index = self.snapshot(self.expr(args[0], frame))
        if name == "spl":
            self.dynamic_spl = True
            old = self.temp()
            self.emit(vm.SPLREAD, old, index, self.spl_base)
            if op is None:
                return old
            new = self.snapshot(self.combine(op, old, value if value is not None else self.zero))
            self.emit(vm.SPLWRITE, 0, index, new, self.spl_base)
            return new
        old = self.temp()
        self.emit(vm.SLIDERREAD, old, index)
        if op is None:
            return old
        new = self.snapshot(self.combine(op, old, value if value is not None else self.zero))
        self.emit(vm.SLIDERWRITE, 0, index, new)
        return new

    # -- linking -------------------------------------------------------------------------------------
    def link(self, entries: dict[str, int]) -> Linked:
        """One code array: units one after another, jumps and calls made absolute."""
        bases, total = [], 0
        for unit in self.units:
            bases.append(total)
            total += len(unit.rows)
        code = np.zeros((max(1, total), 5), dtype=np.int64)
        row = 0
        for unit, base in zip(self.units, bases, strict=True):
            for op, a, b, c, d in unit.rows:
                if op in vm.JUMPS:
                    a = base + unit.labels[a]
                elif op == vm.JSR:
                    a = bases[a]
                code[row] = (op, a, b, c, d)
                row += 1
        sliders = np.full(SLIDERS + 1, -1, dtype=np.int64)
        for number in range(1, SLIDERS + 1):
            sliders[number] = self.slots[self.slider_vars.get(number, f"slider{number}")]
        strings_in = {name: self._uses_strings(unit) for name, unit in entries.items()}
        reach = SPL_CHANNELS if self.dynamic_spl else self.max_spl + 1
        return Linked(code, np.array(self.values, dtype=np.float64), dict(self.slots),
                      {name: (bases[unit] if unit >= 0 else -1) for name, unit in entries.items()}, strings_in,
                      sliders, reach, dict(self.literals), dict(self.named), set(self.notices),
                      frozenset(self.const_slots))

    def _uses_strings(self, unit: int) -> bool:
        if unit < 0:
            return False
        seen, stack = set(), [unit]
        while stack:
            u = stack.pop()
            if u in seen:
                continue
            seen.add(u)
            if self.units[u].strings:
                return True
            stack.extend(self.units[u].calls)
        return False
