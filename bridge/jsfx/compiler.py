"""EEL2 to Python for numba: every section becomes straight-line code over local variables.

User functions are expanded where they are called (EEL2 forbids recursion,
so this ends), with REAPER's scoping: parameters and ``local()``/``static()``
variables belong to the function and keep their values between calls;
``instance()`` variables and ``this.`` names live in the namespace the call
was made through (``a.f()`` works on ``a.x``; a plain ``f()`` on ``f.x``);
``this..x`` is one namespace up; with a ``globals()`` list only the listed
names are global. Every EEL2 variable is one slot of a float64 array that the
compiled function loads into locals on entry and stores on exit, so numba keeps
the hot ones in registers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bridge.jsfx.errors import JsfxError, where
from bridge.jsfx.parser import Function, Node, Program

MATH1 = {"sin": "math.sin", "cos": "math.cos", "tan": "math.tan", "atan": "math.atan", "exp": "math.exp",
         "abs": "abs", "floor": "np.floor", "ceil": "np.ceil", "sqrt": "B.f_sqrt", "log": "B.f_log",
         "log10": "B.f_log10", "asin": "B.f_asin", "acos": "B.f_acos", "sign": "B.f_sign",
         "invsqrt": "B.f_invsqrt"}
BINARY = {"+": "({a} + {b})", "-": "({a} - {b})", "*": "({a} * {b})", "/": "({a} / {b})",
          "^": "B.op_pow({a}, {b})", "%": "B.op_mod({a}, {b})", "<<": "B.op_shl({a}, {b})",
          ">>": "B.op_shr({a}, {b})", "&": "B.op_and({a}, {b})", "|": "B.op_or({a}, {b})",
          "~": "B.op_xor({a}, {b})",
          "<": "(1.0 if {a} < {b} else 0.0)", ">": "(1.0 if {a} > {b} else 0.0)",
          "<=": "(1.0 if {a} <= {b} else 0.0)", ">=": "(1.0 if {a} >= {b} else 0.0)",
          "==": "(1.0 if abs({a} - {b}) < B.CLOSE else 0.0)", "!=": "(1.0 if abs({a} - {b}) >= B.CLOSE else 0.0)",
          "===": "(1.0 if {a} == {b} else 0.0)", "!==": "(1.0 if {a} != {b} else 0.0)"}
NO_MIDI = {"midirecv", "midisend", "midisyx", "midirecv_buf", "midisend_buf", "midirecv_str", "midisend_str"}
UI_ONLY = {"sliderchange", "slider_automate", "slider_show"}
UNSUPPORTED_PREFIXES = ("gfx_", "file_", "str", "mdct", "imdct", "convolve_c", "fft", "ifft", "atomic_",
                        "stack_", "export_buffer", "get_", "set_", "sprintf", "printf", "match", "matchi",
                        "time", "mem_", "__denormal", "ext_", "slider_next", "tolower", "toupper")
SPL_CHANNELS = 64
SLIDERS = 256
_SPL = re.compile(r"^spl(\d+)$")
_SLIDER = re.compile(r"^slider(\d+)$")
RUNTIME_VARS = ("srate", "num_ch", "samplesblock", "tempo", "play_state", "play_position", "beat_position", "ts_num",
                "ts_denom", "pdc_delay", "pdc_bot_ch", "pdc_top_ch", "__loop_limit_line")


@dataclass
class Frame:
    """Where code is being compiled: top level, or inside a function called through a namespace."""

    function: Function | None = None
    namespace: str = ""


class Compiler:
    """Turns parsed sections into the body of one numba function.

    Parameters
    ----------
    file : str
        For messages.
    slider_vars : dict
        Slider number to the variable holding its value (``slider3``, or the
        name a new-style slider line gives).
    """

    def __init__(self, file: str, slider_vars: dict[int, str]) -> None:
        self.file = file
        self.slots: dict[str, int] = {}
        self.lines: list[str] = []
        self.indent = 2
        self.temp = 0
        self.functions: dict[str, Function] = {}
        self.calling: list[str] = []
        self.notices: set[str] = set()
        self.slider_vars = slider_vars
        for name in RUNTIME_VARS:
            self.slot(name)
        for number in range(1, SLIDERS + 1):
            self.slot(slider_vars.get(number, f"slider{number}"))

    # -- names and slots -------------------------------------------------
    def slot(self, name: str) -> str:
        """The Python variable holding EEL2 variable ``name`` (created on first use).

        ``spl0``..``spl63`` are the elements of the sample frame array ``S``.
        """
        match = _SPL.match(name)
        if match and int(match.group(1)) < SPL_CHANNELS:
            return f"S[{int(match.group(1))}]"
        if name not in self.slots:
            self.slots[name] = len(self.slots)
        return f"v{self.slots[name]}"

    def error(self, node: Node, message: str) -> JsfxError:
        return JsfxError(f"{where(self.file, node.line, node.col)}: {message}")

    def emit(self, line: str) -> None:
        self.lines.append("    " * self.indent + line)

    def new_temp(self) -> str:
        self.temp += 1
        return f"t{self.temp}"

    def resolve(self, name: str, frame: Frame) -> str:
        """The global name an EEL2 variable refers to, under REAPER's scoping rules."""
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
        head = name.split(".", 1)[0]
        if name in fn.params or name in fn.locals:
            return f"{fn.name}\x00{name}"
        if head in fn.instances:
            return f"{frame.namespace}.{name}"
        if (fn.globals is not None and name not in fn.globals and head not in fn.globals
                and name not in RUNTIME_VARS and not _SPL.match(name) and not _SLIDER.match(name)):
            return f"{fn.name}\x00{name}"
        return name

    # -- sections ---------------------------------------------------------
    def define(self, program: Program) -> None:
        """Make a section's functions callable (REAPER: @init's everywhere, others in their section)."""
        for fn in program.functions:
            if fn.name in BUILTIN_NAMES:
                raise JsfxError(f"{where(self.file, fn.line)}: '{fn.name}' is a built-in function and cannot be "
                                "redefined")
            self.functions[fn.name] = fn

    def statements(self, program: Program) -> None:
        """Compile a section's top-level code at the current indentation."""
        self.expr(program.body, Frame())

    # -- expressions ------------------------------------------------------
    def expr(self, node: Node, frame: Frame) -> str:
        """Emit what ``node`` needs and return a side-effect-free Python expression of its value."""
        kind = node.kind
        if kind == "num":
            return repr(float(node.args[0])) if node.args[0] == node.args[0] else "math.nan"
        if kind == "var":
            return self.slot(self.resolve(node.args[0], frame))
        if kind == "seq":
            value = "0.0"
            for item in node.args[0]:
                value = self.expr(item, frame)
            return value
        if kind == "neg":
            return f"(-{self.expr(node.args[0], frame)})"
        if kind == "pos":
            return self.expr(node.args[0], frame)
        if kind == "not":
            return f"(0.0 if B.truth({self.expr(node.args[0], frame)}) else 1.0)"
        if kind == "bin":
            op, left, right = node.args
            if op in ("&&", "||"):
                return self.logical(op, left, right, frame)
            a, b = self.ordered(left, right, frame)
            return BINARY[op].format(a=a, b=b)
        if kind == "cond":
            return self.conditional(node, frame)
        if kind == "index":
            return f"B.mem_read({self.memory(node, frame)})"
        if kind == "assign":
            return self.assign(node, frame)
        if kind == "call":
            return self.call(node, frame)
        raise self.error(node, f"cannot compile {kind}")

    def ordered(self, left: Node, right: Node, frame: Frame) -> tuple[str, str]:
        """Both operands, the left one kept as it was if the right one has side effects."""
        a = self.expr(left, frame)
        mark = len(self.lines)
        b = self.expr(right, frame)
        if len(self.lines) > mark and not _is_constant(a):
            t = self.new_temp()
            self.lines.insert(mark, "    " * self.indent + f"{t} = {a}")
            a = t
        return a, b

    def snapshot(self, value: str) -> str:
        if _is_constant(value):
            return value
        t = self.new_temp()
        self.emit(f"{t} = {value}")
        return t

    def logical(self, op: str, left: Node, right: Node, frame: Frame) -> str:
        t = self.new_temp()
        a = self.expr(left, frame)
        if op == "&&":
            self.emit(f"{t} = 0.0")
            self.emit(f"if B.truth({a}):")
        else:
            self.emit(f"{t} = 1.0")
            self.emit(f"if not B.truth({a}):")
        self.indent += 1
        b = self.expr(right, frame)
        self.emit(f"{t} = 1.0 if B.truth({b}) else 0.0")
        self.indent -= 1
        return t

    def conditional(self, node: Node, frame: Frame) -> str:
        test, then, other = node.args
        c = self.expr(test, frame)
        t = self.new_temp()
        self.emit(f"{t} = 0.0")
        self.emit(f"if B.truth({c}):")
        self.indent += 1
        self.emit(f"{t} = {self.expr(then, frame)}" if then is not None else "pass")
        self.indent -= 1
        if other is not None:
            self.emit("else:")
            self.indent += 1
            self.emit(f"{t} = {self.expr(other, frame)}")
            self.indent -= 1
        return t

    def memory(self, node: Node, frame: Frame) -> str:
        """``"M, index"`` or ``"G, index"`` for a memory access node."""
        base, index = node.args
        if base.kind == "var" and base.args[0] == "gmem":
            return f"G, {self.expr(index, frame) if index is not None else '0.0'}"
        if index is None:
            return f"M, {self.expr(base, frame)}"
        a, b = self.ordered(base, index, frame)
        return f"M, ({a} + {b})"

    # -- assignment -------------------------------------------------------
    def assign(self, node: Node, frame: Frame) -> str:
        op, target, value_node = node.args
        if target.kind == "index":  # the address first, then the value
            array, index = self.memory(target, frame).split(", ", 1)
            index = self.snapshot(index)
            return self.store(op, array, index, self.expr(value_node, frame))
        return self.assign_to(op, target, self.expr(value_node, frame), frame)

    def store(self, op: str, array: str, index: str, value: str) -> str:
        value = self.snapshot(value)
        if op != "=":
            value = self.snapshot(self.combine(op, f"B.mem_read({array}, {index})", value))
        self.emit(f"B.mem_write({array}, {index}, {value})")
        return value

    def assign_to(self, op: str, target: Node, value: str, frame: Frame) -> str:
        """Assign the computed ``value`` to ``target``; returns the assigned value."""
        if target.kind == "var":
            slot = self.slot(self.resolve(target.args[0], frame))
            self.emit(f"{slot} = {self.combine(op, slot, value)}")
            return slot
        if target.kind == "index":
            value = self.snapshot(value)
            array, index = self.memory(target, frame).split(", ", 1)
            return self.store(op, array, self.snapshot(index), value)
        if target.kind == "seq" and target.args[0]:
            value = self.snapshot(value)
            for item in target.args[0][:-1]:
                self.expr(item, frame)
            return self.assign_to(op, target.args[0][-1], value, frame)
        if target.kind == "cond":
            test, then, other = target.args
            value = self.snapshot(value)
            c = self.expr(test, frame)
            t = self.new_temp()
            self.emit(f"{t} = 0.0")
            for branch, header in ((then, f"if B.truth({c}):"), (other, "else:")):
                self.emit(header)
                self.indent += 1
                self.emit("pass" if branch is None else f"{t} = {self.assign_to(op, branch, value, frame)}")
                self.indent -= 1
            return t
        if target.kind == "call" and target.args[0] in ("spl", "slider") and len(target.args[1]) == 1:
            return self.dynamic(target, frame, op, self.snapshot(value))
        raise self.error(target, "this cannot be assigned to")

    @staticmethod
    def combine(op: str, old: str, value: str) -> str:
        if op == "=":
            return value
        return BINARY[op[:-1]].format(a=old, b=value)

    # -- calls -------------------------------------------------------------
    def call(self, node: Node, frame: Frame) -> str:
        name, _, extra = node.args
        if name == "loop":
            return self.loop(node, frame)
        if name == "while":
            return self.while_loop(node, frame)
        fn, namespace = self.find_function(name, frame)
        if fn is not None:
            return self.inline(fn, namespace, node, frame)
        if extra is not None:
            raise self.error(node, f"{name}(...)(...) is only valid for while()")
        return self.builtin(node, frame)

    def find_function(self, name: str, frame: Frame) -> tuple[Function | None, str]:
        if name in self.functions:
            return self.functions[name], name
        if "." in name:
            prefix, short = name.rsplit(".", 1)
            if short in self.functions:
                return self.functions[short], self.resolve(prefix, frame)
        return None, ""

    def inline(self, fn: Function, namespace: str, node: Node, frame: Frame) -> str:
        args = node.args[1]
        if not args and len(fn.params) == 1:  # EEL2 reads f() as f(0)
            args = [Node("num", (0.0,), node.line, node.col)]
        if len(args) != len(fn.params):
            raise self.error(node, f"{fn.name}() takes {len(fn.params)} parameter(s), got {len(args)}")
        if fn.name in self.calling:
            raise self.error(node, f"{fn.name}() calls itself; EEL2 functions cannot be recursive")
        values = [self.snapshot(self.expr(arg, frame)) for arg in args]
        for param, value in zip(fn.params, values, strict=True):
            self.emit(f"{self.slot(f'{fn.name}{chr(0)}{param}')} = {value}")
        self.calling.append(fn.name)
        try:
            result = self.expr(fn.body, Frame(fn, namespace))
        finally:
            self.calling.pop()
        return self.snapshot(result)

    def loop(self, node: Node, frame: Frame) -> str:
        args = node.args[1]
        if len(args) != 2:
            raise self.error(node, "loop() takes a count and the code to repeat")
        count = self.expr(args[0], frame)
        i = self.new_temp()
        self.emit(f"for {i} in range(B.loop_count({count})):")
        self.indent += 1
        self.emit("pass")
        self.expr(args[1], frame)
        self.indent -= 1
        return "0.0"

    def while_loop(self, node: Node, frame: Frame) -> str:
        _, args, extra = node.args
        if len(args) != 1:
            raise self.error(node, "while() takes one block of code")
        k = self.new_temp()
        limit = self.slot("__loop_limit_line")
        self.emit(f"{k} = 0")
        self.emit("while True:")
        self.indent += 1
        if extra is None:
            value = self.expr(args[0], frame)
            self.emit(f"{k} += 1")
            self.emit(f"if not B.truth({value}):")
            self.emit("    break")
            self.emit(f"if {k} >= B.LOOP_LIMIT:")
            self.emit(f"    {limit} = {float(node.line)}")
            self.emit("    break")
        else:
            value = self.expr(args[0], frame)
            self.emit(f"if not B.truth({value}):")
            self.emit("    break")
            self.emit(f"if {k} >= B.LOOP_LIMIT:")
            self.emit(f"    {limit} = {float(node.line)}")
            self.emit("    break")
            self.expr(extra, frame)
            self.emit(f"{k} += 1")
        self.indent -= 1
        return "0.0"

    def builtin(self, node: Node, frame: Frame) -> str:
        name, args, _ = node.args
        if not args and name in ONE_PARAMETER:  # EEL2 reads f() as f(0)
            args = [Node("num", (0.0,), node.line, node.col)]

        def arity(n: int) -> None:
            if len(args) != n:
                raise self.error(node, f"{name}() takes {n} parameter(s), got {len(args)}")

        if name in MATH1:
            arity(1)
            return f"{MATH1[name]}({self.expr(args[0], frame)})"
        if name == "sqr":
            arity(1)
            v = self.snapshot(self.expr(args[0], frame))
            return f"({v} * {v})"
        if name in ("min", "max", "atan2", "pow"):
            arity(2)
            a, b = self.ordered(args[0], args[1], frame)
            if name == "pow":
                return f"B.op_pow({a}, {b})"
            if name == "atan2":
                return f"math.atan2({a}, {b})"
            return f"({a} if {a} {'<=' if name == 'min' else '>='} {b} else {b})"
        if name == "rand":
            arity(1)
            return self.snapshot(f"B.f_rand(R, {self.expr(args[0], frame)})")
        if name in ("memset", "memcpy"):
            arity(3)
            values = [self.snapshot(self.expr(a, frame)) for a in args]
            return self.snapshot(f"B.f_{name}(M, {', '.join(values)})")
        if name == "freembuf":
            arity(1)
            return self.expr(args[0], frame)
        if name == "__memtop":
            arity(0)
            return "float(M.shape[0])"
        if name in UI_ONLY or name in NO_MIDI:
            # no window and no MIDI offline: the calls do nothing (midirecv() finds no events)
            for a in args:
                self.expr(a, frame)
            if name in NO_MIDI:
                self.notices.add("MIDI functions find no events offline (midirecv returns 0; midisend drops)")
            return "0.0"
        if name in ("fft", "ifft", "fft_permute", "fft_ipermute"):
            arity(2)
            a, b = (self.snapshot(self.expr(x, frame)) for x in args)
            inverse = "True" if name in ("ifft", "fft_ipermute") else "False"
            kind = "f_fft" if name in ("fft", "ifft") else "f_fft_permute"
            return self.snapshot(f"B.{kind}(M, {a}, {b}, {inverse})")
        if name == "get_host_numchan":
            arity(0)
            return self.slot("num_ch")
        if name in ("spl", "slider"):
            arity(1)
            return self.dynamic(node, frame)
        if name.startswith(UNSUPPORTED_PREFIXES) or name in UNSUPPORTED:
            raise self.error(node, f"{name}() is not supported by reabridge's JSFX runner")
        raise self.error(node, f"unknown function '{name}'")

    def dynamic(self, node: Node, frame: Frame, op: str | None = None, value: str | None = None) -> str:
        """``spl(n)`` (the frame array) and ``slider(n)`` (a test per defined slider)."""
        name, args, _ = node.args
        index = args[0]
        if name == "spl":
            i = self.snapshot(self.expr(index, frame))
            if op is None:
                return self.snapshot(f"B.spl_read(S, {i})")
            new = self.snapshot(self.combine(op, f"B.spl_read(S, {i})", value or "0.0"))
            self.emit(f"B.spl_write(S, {i}, {new})")
            return new
        numbers = sorted(self.slider_vars)
        if index.kind == "num":
            k = int(index.args[0] + 1e-5)
            if k not in self.slider_vars:
                return "0.0" if op is None else value or "0.0"
            var = Node("var", (self.slider_vars[k],), node.line, node.col)
            if op is None:
                return self.expr(var, Frame())
            return self.assign_to(op, var, value or "0.0", Frame())
        i = self.snapshot(f"float(B.to_int32({self.expr(index, frame)}))")
        t = self.new_temp()
        self.emit(f"{t} = 0.0")
        for position, number in enumerate(numbers):
            self.emit(f"{'if' if position == 0 else 'elif'} {i} == {float(number)}:")
            self.indent += 1
            slot = self.slot(self.slider_vars[number])
            if op is not None:
                self.emit(f"{slot} = {self.combine(op, slot, value)}")
            self.emit(f"{t} = {slot}")
            self.indent -= 1
        return t


UNSUPPORTED = {"sliderchange_show", "fft_real", "ifft_real", "rand_seed",
               "mdct", "eval", "loop_break", "printf", "on_slider_change"}
BUILTIN_NAMES = set(MATH1) | {"sqr", "min", "max", "atan2", "pow", "rand", "memset", "memcpy", "freembuf",
                              "__memtop", "spl", "slider", "loop", "while", "get_host_numchan", "fft", "ifft",
                              "fft_permute", "fft_ipermute"} | UI_ONLY | NO_MIDI
ONE_PARAMETER = set(MATH1) | {"sqr", "rand", "freembuf", "spl", "slider"}


def _is_constant(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return value == "math.nan"
    return True
