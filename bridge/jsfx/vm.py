"""The machine EEL2 code runs on: three-address instructions over one array of values.

An effect compiles (in Python, milliseconds) to rows of ``(op, a, b, c, d)``: ``v`` holds
every variable, constant and temporary, so an instruction reads ``v[b]``, ``v[c]`` and
writes ``v[a]``. The interpreter loop is one numba function compiled once for all effects
and cached on disk -- no effect waits for its own compilation -- and runs the same
floating-point operations in the same order as REAPER's compiler emits them. A user
function is compiled once per namespace it is called through and reached with ``JSR``/``RET``.

Sections that use strings run on the Python twin of the interpreter (:func:`execute_py`),
which adds the string operations; both share the arrays, so they can take turns.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from bridge.jsfx import builtins as bi
from bridge.jsfx.interrupt import STOPPED, stop_requested

# -- the instruction set ----------------------------------------------------------------------
(HALT, MOV, ADD, SUB, MUL, DIV, POW, MOD, SHL, SHR, BAND, BOR, BXOR, LT, GT, LE, GE, EQ, NE, EQX, NEX, NEG, NOT, BOOL,
 JMP, JZ, JNZ, MREAD, MWRITE, GREAD, GWRITE, MATH1, MIN, MAX, ATAN2, RAND, LOOPINIT, LOOPNEXT, SPLGET, SPLSET,
 SPLREAD, SPLWRITE, SLIDERREAD, SLIDERWRITE, JSR, RET, MEMSET, MEMCPY, FFT, FFTPERM, MEMTOP, CONST, WHILESTEP,
 CONVOLVE, MEMSUM, MEMSETLEN, CLEAN) = range(57)
#: string operations: the Python interpreter only (a section using them runs there)
STRING_OPS = 100
(STRLEN, STRCPY, STRCAT, STRCMP, STRICMP, STRNCMP, STRNICMP, STRGETCHAR, STRSETCHAR, STRSETLEN, STRCPYFROM,
 STRCPYSUBSTR, SPRINTF, MATCH, MATCHI, STRNCPY, STRNCAT, STRINSERT, STRDELSUB, PRINTF) = range(100, 120)
#: file operations (also on the Python interpreter only)
FILE_OPS = 120
(FILEOPEN, FILECLOSE, FILEREWIND, FILEVAR, FILEMEM, FILEAVAIL, FILERIFF, FILETEXT, FILESTRING) = range(120, 129)
JUMPS = (JMP, JZ, JNZ, LOOPNEXT, WHILESTEP)  # their ``a`` is a code position (relocated when code is linked)

#: MATH1's ``c``: which one-parameter function
MATH_FUNCTIONS = ("sin", "cos", "tan", "atan", "exp", "abs", "floor", "ceil", "sqrt", "log", "log10", "asin", "acos",
                  "sign", "invsqrt", "sqr")
STACK = 256  # call depth (EEL2 has no recursion: nested calls only)
DENORMAL_DC = 1e-16  # added to every input sample unless ext_nodenorm (ysfx_process: denorm_value)


@njit(cache=True, inline="always")
def _math1(which: int, x: float) -> float:
    if which == 0:
        return math.sin(x)
    if which == 1:
        return math.cos(x)
    if which == 2:
        return math.tan(x)
    if which == 3:
        return math.atan(x)
    if which == 4:
        return math.exp(x)
    if which == 5:
        return abs(x)
    if which == 6:
        return np.floor(x)
    if which == 7:
        return np.ceil(x)
    if which == 8:
        return bi.f_sqrt(x)
    if which == 9:
        return bi.f_log(x)
    if which == 10:
        return bi.f_log10(x)
    if which == 11:
        return bi.f_asin(x)
    if which == 12:
        return bi.f_acos(x)
    if which == 13:
        return bi.f_sign(x)
    if which == 14:
        return bi.f_invsqrt(x)
    return x * x


@njit(cache=True, error_model="numpy", nogil=True)
def execute(code: np.ndarray, pc: int, v: np.ndarray, mem: np.ndarray, gmem: np.ndarray, rng: np.ndarray,
            sliders: np.ndarray, stack: np.ndarray, halt: np.ndarray) -> int:
    """Run from ``pc`` to the next ``HALT``; returns 0 (or, for a string operation, minus its position + 1).

    Every loop iteration looks at ``halt`` (:mod:`bridge.jsfx.interrupt`): when it is set,
    the code stops where it is and :data:`STOPPED` is returned.
    """
    sp = 0
    while True:
        op = code[pc, 0]
        a = code[pc, 1]
        b = code[pc, 2]
        c = code[pc, 3]
        pc += 1
        if op == MOV:
            v[a] = v[b]
        elif op == ADD:
            v[a] = v[b] + v[c]
        elif op == MUL:
            v[a] = v[b] * v[c]
        elif op == SUB:
            v[a] = v[b] - v[c]
        elif op == JZ:
            if not abs(v[b]) >= bi.CLOSE:
                pc = a
        elif op == JMP:
            pc = a
        elif op == DIV:
            v[a] = v[b] / v[c]
        elif op == MREAD:
            v[a] = bi.mem_read(mem, v[b])
        elif op == MWRITE:
            bi.mem_write(mem, v[b], v[c])
        elif op == JNZ:
            if abs(v[b]) >= bi.CLOSE:
                pc = a
        elif op == LT:
            v[a] = 1.0 if v[b] < v[c] else 0.0
        elif op == GT:
            v[a] = 1.0 if v[b] > v[c] else 0.0
        elif op == LE:
            v[a] = 1.0 if v[b] <= v[c] else 0.0
        elif op == GE:
            v[a] = 1.0 if v[b] >= v[c] else 0.0
        elif op == EQ:
            v[a] = 1.0 if abs(v[b] - v[c]) < bi.CLOSE else 0.0
        elif op == NE:
            v[a] = 1.0 if abs(v[b] - v[c]) >= bi.CLOSE else 0.0
        elif op == EQX:
            v[a] = 1.0 if v[b] == v[c] else 0.0
        elif op == NEX:
            v[a] = 1.0 if v[b] != v[c] else 0.0
        elif op == NEG:
            v[a] = -v[b]
        elif op == NOT:
            v[a] = 0.0 if abs(v[b]) >= bi.CLOSE else 1.0
        elif op == BOOL:
            v[a] = 1.0 if abs(v[b]) >= bi.CLOSE else 0.0
        elif op == MATH1:
            v[a] = _math1(c, v[b])
        elif op == POW:
            v[a] = bi.op_pow(v[b], v[c])
        elif op == MOD:
            v[a] = bi.op_mod(v[b], v[c])
        elif op == SHL:
            v[a] = bi.op_shl(v[b], v[c])
        elif op == SHR:
            v[a] = bi.op_shr(v[b], v[c])
        elif op == BAND:
            v[a] = bi.op_and(v[b], v[c])
        elif op == BOR:
            v[a] = bi.op_or(v[b], v[c])
        elif op == BXOR:
            v[a] = bi.op_xor(v[b], v[c])
        elif op == MIN:  # EEL2: the first argument unless the second is smaller (a NaN second loses)
            v[a] = v[c] if v[c] < v[b] else v[b]
        elif op == MAX:
            v[a] = v[c] if v[c] > v[b] else v[b]
        elif op == ATAN2:
            v[a] = math.atan2(v[b], v[c])
        elif op == GREAD:
            v[a] = bi.mem_read(gmem, v[b])
        elif op == GWRITE:
            bi.mem_write(gmem, v[b], v[c])
        elif op == LOOPINIT:
            v[a] = float(bi.loop_count(v[b]))
        elif op == LOOPNEXT:
            if v[b] <= 0.0:
                pc = a
            else:
                v[b] -= 1.0
                if stop_requested(halt) != 0:
                    return STOPPED
        elif op == WHILESTEP:  # REAPER's iteration limit reached: note the line and leave the loop
            if v[b] >= bi.LOOP_LIMIT:
                v[c] = float(code[pc - 1, 4])
                pc = a
            elif stop_requested(halt) != 0:
                return STOPPED
        elif op == SPLREAD:  # spl(n): the 64 channel slots start at c
            k = bi.to_int32(v[b])
            v[a] = v[c + k] if 0 <= k < 64 else 0.0
        elif op == SPLWRITE:
            k = bi.to_int32(v[b])
            if 0 <= k < 64:
                v[code[pc - 1, 4] + k] = v[c]
        elif op == SLIDERREAD:
            k = bi.to_int32(v[b])
            v[a] = v[sliders[k]] if 0 <= k < sliders.shape[0] and sliders[k] >= 0 else 0.0
        elif op == SLIDERWRITE:
            k = bi.to_int32(v[b])
            if 0 <= k < sliders.shape[0] and sliders[k] >= 0:
                v[sliders[k]] = v[c]
        elif op == JSR:
            stack[sp] = pc
            sp += 1
            pc = a
        elif op == RET:
            sp -= 1
            pc = stack[sp]
        elif op == RAND:
            v[a] = bi.f_rand(rng, v[b])
        elif op == MEMSET:
            v[a] = bi.f_memset(mem, v[b], v[c], v[code[pc - 1, 4]])
        elif op == MEMCPY:
            v[a] = bi.f_memcpy(mem, v[b], v[c], v[code[pc - 1, 4]])
        elif op == FFT:
            v[a] = bi.f_fft(mem, v[b], v[c], code[pc - 1, 4])
        elif op == FFTPERM:
            v[a] = bi.f_fft_permute(mem, v[b], v[c], code[pc - 1, 4] != 0)
        elif op == MEMTOP:
            v[a] = float(mem.shape[0])
        elif op == CONVOLVE:
            v[a] = bi.f_convolve_c(mem, v[b], v[c], v[code[pc - 1, 4]])
        elif op == CLEAN:
            v[a] = bi.clean(v[b])
        elif op == HALT:
            return 0
        else:  # a string operation: never reached (sections with strings run on the Python interpreter)
            return -pc


@njit(cache=True, error_model="numpy", nogil=True)
def process(code: np.ndarray, block_pc: int, sample_pc: int, v: np.ndarray, mem: np.ndarray,
            gmem: np.ndarray, rng: np.ndarray, sliders: np.ndarray, stack: np.ndarray,
            buf: np.ndarray, n: int, nch: int, block: int, reach: int, special: np.ndarray, halt: np.ndarray) -> int:
    """``@block`` every ``block`` frames and ``@sample`` per frame over ``buf`` (channels x frames), in place.

    ``special``: the slots of samplesblock, play_position, beat_position, srate, tempo, spl0 and ext_nodenorm.
    Inputs get REAPER's anti-denormal DC offset (DENORMAL_DC) unless the effect sets ``ext_nodenorm``.
    ``halt`` is looked at before every block and sample frame (and in every loop): set, it stops the
    code and :data:`STOPPED` is returned.
    """
    pos = 0
    spl = special[5]
    frame_channels = min(nch, 64)
    while pos < n:
        m = min(block, n - pos)
        v[special[0]] = float(m)
        if stop_requested(halt) != 0:
            return STOPPED
        if block_pc >= 0:
            got = execute(code, block_pc, v, mem, gmem, rng, sliders, stack, halt)
            if got != 0:
                return got
        if sample_pc >= 0:
            dc = 0.0 if v[special[6]] > 0.5 else DENORMAL_DC
            for i in range(pos, pos + m):
                for k in range(frame_channels):
                    v[spl + k] = buf[k, i] + dc
                for k in range(frame_channels, reach):  # input pins the host has no channel for
                    v[spl + k] = dc
                if stop_requested(halt) != 0:
                    return STOPPED
                got = execute(code, sample_pc, v, mem, gmem, rng, sliders, stack, halt)
                if got != 0:
                    return got
                for k in range(frame_channels):
                    buf[k, i] = v[spl + k]
        v[special[1]] += m / v[special[3]]
        v[special[2]] = v[special[1]] * v[special[4]] / 60.0
        pos += m
    return 0
