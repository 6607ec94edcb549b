"""JSFX strings, and the Python twin of the interpreter that runs sections using them.

A string is a number: 0-1023 name REAPER's string slots, string literals and ``#named``
strings get numbers of their own (:data:`bridge.jsfx.bytecode.LITERAL_BASE`,
``NAMED_BASE``). The functions follow REAPER's JSFX documentation: ``strlen``,
``strcpy``/``strcat`` (and their ``n`` forms), ``strcmp``/``stricmp``/``strncmp``/
``strnicmp``, ``str_getchar``/``str_setchar`` (negative offsets count from the end),
``str_setlen``, ``strcpy_from``, ``strcpy_substr``, ``str_insert``, ``str_delsub``,
``sprintf`` with C's conversions (``%s`` takes a string), ``match``/``matchi`` with ``*``,
``?``, ``+`` and ``%``-captures, and ``printf`` (nothing to print to offline).
"""

from __future__ import annotations

import math
import re

import numpy as np

from bridge.jsfx import builtins as bi
from bridge.jsfx import vm
from bridge.jsfx.files import Files, file_op
from bridge.jsfx.interrupt import STOPPED

_SPEC = re.compile(rb"%([-+ #0]*)(\d+|\*)?(?:\.(\d+|\*))?([diuxXocsSfFeEgG%])")


class Strings:
    """Every string an effect has, by number."""

    def __init__(self, literals: dict[int, bytes]) -> None:
        self.table: dict[int, bytearray] = {k: bytearray(v) for k, v in literals.items()}
        self.printed: bytearray | None = None  # where printf() writes (the preprocessor); None: nowhere
        self.files: Files | None = None  # what file_open() can open; None: nothing

    def get(self, value: float) -> bytes:
        return bytes(self.table.get(_id(value), b""))

    def set(self, value: float, data: bytes) -> None:
        self.table[_id(value)] = bytearray(data)


def _id(value: float) -> int:
    return int(value + bi.CLOSE) if value + bi.CLOSE >= 0 else -1


def _int(value: float) -> int:
    return bi.to_int32(value) if math.isfinite(value) else 0


def sprintf(strings: Strings, fmt: bytes, args: list[float]) -> bytes:
    """C's printf conversions over EEL2 values (``%s`` takes a string number, ``%c`` a character code)."""
    out, position, k = bytearray(), 0, 0

    def take() -> float:
        nonlocal k
        value = args[k] if k < len(args) else 0.0
        k += 1
        return value

    for m in _SPEC.finditer(fmt):
        out += fmt[position:m.start()]
        position = m.end()
        flags, width, precision, conv = m.group(1), m.group(2), m.group(3), m.group(4)
        if conv == b"%":
            out += b"%"
            continue
        if width == b"*":
            width = str(_int(take())).encode()
        if precision == b"*":
            precision = str(_int(take())).encode()
        spec = "%" + flags.decode() + (width.decode() if width else "") + ("." + precision.decode() if precision
                                                                           else "")
        value = take()
        if conv in b"di":
            out += ((spec + "d") % _int(value)).encode()
        elif conv == b"u":
            out += ((spec + "d") % (_int(value) & 0xFFFFFFFF)).encode()
        elif conv in b"xXo":
            out += ((spec + conv.decode()) % (_int(value) & 0xFFFFFFFF)).encode()
        elif conv == b"c":
            out += bytes([_int(value) & 0xFF])
        elif conv in b"sS":
            text = strings.get(value)
            out += ((spec + "s") % text.decode("latin-1")).encode("latin-1")
        else:
            out += ((spec + conv.decode()) % value).encode()
    out += fmt[position:]
    return bytes(out)


def _match(pattern: bytes, text: bytes, fold: bool) -> list[tuple[bytes, bytes]] | None:
    """REAPER's wildcard match: ``*`` any run, ``?`` one character, ``+`` one or more, ``%d``/``%f``/``%x``/``%s``
    capture (each returned with its conversion); None when it does not match."""
    regex, kinds, i = b"", [], 0
    while i < len(pattern):
        ch = pattern[i:i + 1]
        if ch == b"*":
            regex += b".*?"
        elif ch == b"?":
            regex += b"."
        elif ch == b"+":
            regex += b".+?"
        elif ch == b"%" and i + 1 < len(pattern):
            m = re.match(rb"%(\d*)([dixXfegsc%])", pattern[i:])
            if m is None:
                regex += re.escape(ch)
            else:
                conv = m.group(2)
                i += len(m.group(0)) - 1
                if conv == b"%":
                    regex += b"%"
                else:
                    kinds.append(conv)
                    regex += {b"d": rb"([-+]?\d+)", b"i": rb"([-+]?\d+)", b"x": rb"([0-9a-fA-F]+)",
                              b"X": rb"([0-9a-fA-F]+)", b"f": rb"([-+]?\d*\.?\d+(?:[eE][-+]?\d+)?)",
                              b"e": rb"([-+]?\d*\.?\d+(?:[eE][-+]?\d+)?)", b"g": rb"([-+]?\d*\.?\d+(?:[eE][-+]?\d+)?)",
                              b"c": rb"(.)", b"s": rb"(.*?)"}[conv]
        else:
            regex += re.escape(ch)
        i += 1
    m = re.fullmatch(regex, text, re.DOTALL | (re.IGNORECASE if fold else 0))
    return None if m is None else list(zip(kinds, m.groups(), strict=True))


def string_op(op: int, args: list[float], strings: Strings, v: np.ndarray, capture_slots: list[int]) -> float:
    """One string function; returns its value."""
    g = strings.get
    if op == vm.STRLEN:
        return float(len(g(args[0])))
    if op in (vm.STRCPY, vm.STRNCPY):
        data = g(args[1])
        if op == vm.STRNCPY and args[2] >= 0:
            data = data[:_int(args[2])]
        strings.set(args[0], data)
        return args[0]
    if op in (vm.STRCAT, vm.STRNCAT):
        data = g(args[1])
        if op == vm.STRNCAT and args[2] >= 0:
            data = data[:_int(args[2])]
        strings.set(args[0], g(args[0]) + data)
        return args[0]
    if op in (vm.STRCMP, vm.STRICMP, vm.STRNCMP, vm.STRNICMP):
        a, b = g(args[0]), g(args[1])
        if op in (vm.STRNCMP, vm.STRNICMP):
            a, b = a[:max(0, _int(args[2]))], b[:max(0, _int(args[2]))]
        if op in (vm.STRICMP, vm.STRNICMP):
            a, b = a.lower(), b.lower()
        for x, y in zip(a, b, strict=False):
            if x != y:
                return float(x - y)
        return float(len(a) - len(b)) and (1.0 if len(a) > len(b) else -1.0)
    if op == vm.STRGETCHAR:
        data, k = g(args[0]), _int(args[1])
        if k < 0:
            k += len(data)
        return float(data[k]) if 0 <= k < len(data) else 0.0
    if op == vm.STRSETCHAR:
        data, k = bytearray(g(args[0])), _int(args[1])
        if k < 0:
            k += len(data)
        if 0 <= k < len(data):
            data[k] = _int(args[2]) & 0xFF
        elif k == len(data):
            data.append(_int(args[2]) & 0xFF)
        strings.set(args[0], bytes(data))
        return args[0]
    if op == vm.STRSETLEN:
        data, n = g(args[0]), max(0, _int(args[1]))
        strings.set(args[0], data[:n] + b" " * max(0, n - len(data)))
        return args[0]
    if op == vm.STRCPYFROM:
        data, k = g(args[1]), max(0, _int(args[2]))
        strings.set(args[0], data[k:])
        return args[0]
    if op == vm.STRCPYSUBSTR:
        data, k = g(args[1]), _int(args[2])
        if k < 0:
            k = max(0, k + len(data))
        n = _int(args[3]) if len(args) > 3 else len(data)
        end = len(data) + n if n < 0 else k + n
        strings.set(args[0], data[k:max(k, end)])
        return args[0]
    if op == vm.STRINSERT:
        data, k = g(args[0]), _int(args[2])
        k = max(0, min(len(data), k + len(data) if k < 0 else k))
        strings.set(args[0], data[:k] + g(args[1]) + data[k:])
        return args[0]
    if op == vm.STRDELSUB:
        data, k, n = g(args[0]), _int(args[1]), max(0, _int(args[2]))
        k = max(0, k + len(data) if k < 0 else k)
        strings.set(args[0], data[:k] + data[k + n:])
        return args[0]
    if op == vm.SPRINTF:
        strings.set(args[0], sprintf(strings, g(args[1]), args[2:]))
        return args[0]
    if op == vm.PRINTF:
        if strings.printed is None:
            return 0.0
        strings.printed += sprintf(strings, g(args[0]), args[1:])
        return 1.0
    if op in (vm.MATCH, vm.MATCHI):
        found = _match(g(args[0]), g(args[1]), op == vm.MATCHI)
        if found is None:
            return 0.0
        for (conv, text), slot in zip(found, capture_slots, strict=False):
            if slot < 0:
                continue
            if conv == b"s":
                strings.set(v[slot], text)
            elif conv in b"xX":
                v[slot] = float(int(text, 16))
            elif conv == b"c":
                v[slot] = float(text[0]) if text else 0.0
            else:
                v[slot] = float(text) if text not in (b"", b"+", b"-") else 0.0
        return 1.0
    raise ValueError(f"string operation {op}")


def execute_py(code: np.ndarray, pc: int, v: np.ndarray, mem: np.ndarray, gmem: np.ndarray, rng: np.ndarray,
               sliders: np.ndarray, strings: Strings, halt: np.ndarray) -> int:
    """The interpreter in Python, string operations included (same operations as :func:`vm.execute`).

    Returns 0, or :data:`~bridge.jsfx.interrupt.STOPPED` when ``halt`` was set during a loop.
    """
    stack: list[int] = []
    rows = code.tolist()
    close = bi.CLOSE
    while True:
        op, a, b, c, d = rows[pc]
        pc += 1
        if op == vm.HALT:
            return 0
        if op == vm.MOV:
            v[a] = v[b]
        elif op in _BINARY:
            v[a] = _BINARY[op](v[b], v[c])
        elif op == vm.JMP:
            pc = a
        elif op == vm.JZ:
            if not abs(v[b]) >= close:
                pc = a
        elif op == vm.JNZ:
            if abs(v[b]) >= close:
                pc = a
        elif op == vm.NEG:
            v[a] = -v[b]
        elif op == vm.NOT:
            v[a] = 0.0 if abs(v[b]) >= close else 1.0
        elif op == vm.BOOL:
            v[a] = 1.0 if abs(v[b]) >= close else 0.0
        elif op == vm.MREAD:
            v[a] = bi.mem_read(mem, v[b])
        elif op == vm.MWRITE:
            bi.mem_write(mem, v[b], v[c])
        elif op == vm.GREAD:
            v[a] = bi.mem_read(gmem, v[b])
        elif op == vm.GWRITE:
            bi.mem_write(gmem, v[b], v[c])
        elif op == vm.MATH1:
            v[a] = vm._math1(c, v[b])
        elif op == vm.RAND:
            v[a] = bi.f_rand(rng, v[b])
        elif op == vm.LOOPINIT:
            v[a] = float(bi.loop_count(v[b]))
        elif op == vm.LOOPNEXT:
            if v[b] <= 0.0:
                pc = a
            else:
                v[b] -= 1.0
                if halt[0]:
                    return STOPPED
        elif op == vm.WHILESTEP:
            if v[b] >= bi.LOOP_LIMIT:
                v[c] = float(d)
                pc = a
            elif halt[0]:
                return STOPPED
        elif op == vm.SPLREAD:
            k = bi.to_int32(v[b])
            v[a] = v[c + k] if 0 <= k < 64 else 0.0
        elif op == vm.SPLWRITE:
            k = bi.to_int32(v[b])
            if 0 <= k < 64:
                v[d + k] = v[c]
        elif op == vm.SLIDERREAD:
            k = bi.to_int32(v[b])
            v[a] = v[sliders[k]] if 0 <= k < len(sliders) and sliders[k] >= 0 else 0.0
        elif op == vm.SLIDERWRITE:
            k = bi.to_int32(v[b])
            if 0 <= k < len(sliders) and sliders[k] >= 0:
                v[sliders[k]] = v[c]
        elif op == vm.JSR:
            stack.append(pc)
            pc = a
        elif op == vm.RET:
            pc = stack.pop()
        elif op == vm.MEMSET:
            v[a] = bi.f_memset(mem, v[b], v[c], v[d])
        elif op == vm.MEMCPY:
            v[a] = bi.f_memcpy(mem, v[b], v[c], v[d])
        elif op == vm.FFT:
            v[a] = bi.f_fft(mem, v[b], v[c], d)
        elif op == vm.FFTPERM:
            v[a] = bi.f_fft_permute(mem, v[b], v[c], d != 0)
        elif op == vm.MEMTOP:
            v[a] = float(mem.shape[0])
        elif op == vm.CONVOLVE:
            v[a] = bi.f_convolve_c(mem, v[b], v[c], v[d])
        elif op == vm.CLEAN:
            v[a] = bi.clean(v[b])
        elif op >= vm.FILE_OPS:
            args = [float(v[b + k]) for k in range(c)]
            v[a] = file_op(op, args, strings.files, v, mem, strings.get(args[0]) if op == vm.FILEOPEN else b"",
                           strings.set)
        elif op >= vm.STRING_OPS:
            args = [float(v[b + k]) for k in range(c)]
            captures = [int(x) for x in args[2:]] if op in (vm.MATCH, vm.MATCHI) else []
            if op in (vm.MATCH, vm.MATCHI):  # captures name variables: their slots were passed
                args = args[:2] + [0.0] * (len(args) - 2)
            v[a] = string_op(op, args, strings, v, captures)
        else:
            raise ValueError(f"unknown operation {op}")


_BINARY = {vm.ADD: lambda x, y: x + y, vm.SUB: lambda x, y: x - y, vm.MUL: lambda x, y: x * y,
           vm.DIV: lambda x, y: _div(x, y), vm.POW: bi.op_pow, vm.MOD: bi.op_mod, vm.SHL: bi.op_shl, vm.SHR: bi.op_shr,
           vm.BAND: bi.op_and, vm.BOR: bi.op_or, vm.BXOR: bi.op_xor,
           vm.LT: lambda x, y: 1.0 if x < y else 0.0, vm.GT: lambda x, y: 1.0 if x > y else 0.0,
           vm.LE: lambda x, y: 1.0 if x <= y else 0.0, vm.GE: lambda x, y: 1.0 if x >= y else 0.0,
           vm.EQ: lambda x, y: 1.0 if abs(x - y) < bi.CLOSE else 0.0,
           vm.NE: lambda x, y: 1.0 if abs(x - y) >= bi.CLOSE else 0.0,
           vm.EQX: lambda x, y: 1.0 if x == y else 0.0, vm.NEX: lambda x, y: 1.0 if x != y else 0.0,
           vm.MIN: lambda x, y: y if y < x else x, vm.MAX: lambda x, y: y if y > x else x,
           vm.ATAN2: math.atan2}


def _div(x: float, y: float) -> float:
    """IEEE division, as numba's ``error_model="numpy"`` does it (x/0 is inf or nan, never an exception)."""
    with np.errstate(all="ignore"):
        return float(np.float64(x) / np.float64(y))


def process_py(code: np.ndarray, block_pc: int, sample_pc: int, v: np.ndarray, mem: np.ndarray, gmem: np.ndarray,
               rng: np.ndarray, sliders: np.ndarray, strings: Strings, buf: np.ndarray, n: int, nch: int, block: int,
               reach: int, special: np.ndarray, halt: np.ndarray) -> int:
    """:func:`vm.process` in Python, for effects whose @block or @sample uses strings (0, or STOPPED)."""
    pos = 0
    spl = int(special[5])
    frame_channels = min(nch, 64)
    while pos < n:
        m = min(block, n - pos)
        v[special[0]] = float(m)
        if halt[0]:
            return STOPPED
        if block_pc >= 0 and execute_py(code, block_pc, v, mem, gmem, rng, sliders, strings, halt):
            return STOPPED
        if sample_pc >= 0:
            dc = 0.0 if v[special[6]] > 0.5 else vm.DENORMAL_DC
            for i in range(pos, pos + m):
                v[spl:spl + frame_channels] = buf[:frame_channels, i] + dc
                v[spl + frame_channels:spl + max(frame_channels, reach)] = dc
                if halt[0] or execute_py(code, sample_pc, v, mem, gmem, rng, sliders, strings, halt):
                    return STOPPED
                buf[:frame_channels, i] = v[spl:spl + frame_channels]
        v[special[1]] += m / v[special[3]]
        v[special[2]] = v[special[1]] * v[special[4]] / 60.0
        pos += m
    return 0
