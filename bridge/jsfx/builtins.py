"""EEL2's built-in operations as numba functions, with REAPER's conversion rules.

- Truth: ``|x| >= 0.00001`` (the "close factor"); ``==`` and ``!=`` use it too.
- Memory indices: ``(unsigned)(x + 0.00001)``; reads out of range give 0 and
  writes out of range are dropped.
- ``%``, ``<<``, ``>>`` and ``~`` work on 32-bit integers, ``|`` and ``&`` on
  64-bit ones (truncating toward zero); ``x % 0`` is 0.
- ``sqrt`` takes the absolute value first; ``invsqrt`` is the fast
  approximation REAPER documents (one Newton step on the float32 bit trick).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

CLOSE = 0.00001
LOOP_LIMIT = 1048576  # REAPER's iteration limit for loop() and while()


@njit(cache=True, inline="always")
def truth(x: float) -> bool:
    return abs(x) >= CLOSE


@njit(cache=True, inline="always")
def mem_read(mem: np.ndarray, index: float) -> float:
    if not index + CLOSE >= 0.0:
        return 0.0
    i = int(index + CLOSE)
    if i >= mem.shape[0]:
        return 0.0
    return mem[i]


@njit(cache=True, inline="always")
def mem_write(mem: np.ndarray, index: float, value: float) -> None:
    if index + CLOSE >= 0.0:
        i = int(index + CLOSE)
        if i < mem.shape[0]:
            mem[i] = value


@njit(cache=True, inline="always")
def to_int32(x: float) -> int:
    if not (x > -2147483649.0 and x < 2147483648.0):
        return -2147483648
    return int(x)


@njit(cache=True, inline="always")
def to_int64(x: float) -> int:
    if not (x >= -9223372036854775808.0 and x < 9223372036854775808.0):  # cvttsd2si: out of range or NaN
        return -9223372036854775807 - 1
    return int(x)


@njit(cache=True, inline="always")
def wrap32(v: int) -> float:
    v &= 0xFFFFFFFF
    return float(v - 0x100000000 if v >= 0x80000000 else v)


@njit(cache=True, inline="always")
def op_mod(a: float, b: float) -> float:
    """x64 EEL2 (nseel_asm_mod): |a| % |b| as unsigned 64-bit integers; 0 when |b| truncates to 0."""
    d = np.uint64(to_int64(abs(b)))
    if d == 0:
        return 0.0
    return float(np.uint64(to_int64(abs(a))) % d)


@njit(cache=True, inline="always")
def op_shl(a: float, b: float) -> float:
    """x64 EEL2 (nseel_asm_shl): the low 32 bits of a, shifted by b & 63 in 64 bits, read back as an int32."""
    return wrap32((to_int64(a) & 0xFFFFFFFF) << (to_int64(b) & 63))


@njit(cache=True, inline="always")
def op_shr(a: float, b: float) -> float:
    """x64 EEL2 (nseel_asm_shr): the low 32 bits of a as unsigned, shifted right by b & 63, read as an int32."""
    return wrap32((to_int64(a) & 0xFFFFFFFF) >> (to_int64(b) & 63))


@njit(cache=True, inline="always")
def op_and(a: float, b: float) -> float:
    return float(to_int64(a) & to_int64(b))


@njit(cache=True, inline="always")
def op_or(a: float, b: float) -> float:
    return float(to_int64(a) | to_int64(b))


@njit(cache=True, inline="always")
def op_xor(a: float, b: float) -> float:
    return float(to_int64(a) ^ to_int64(b))  # 64-bit, as | and & (nseel_asm_xor)


@njit(cache=True, inline="always")
def clean(x: float) -> float:
    """EEL2's checked assignment (nseel_asm_assign): 0 for NaN, +-inf, zero, denormals and |x| < 2**-1021."""
    return x if 2.0 ** -1021 <= abs(x) < math.inf else 0.0


@njit(cache=True, inline="always")
def op_pow(a: float, b: float) -> float:
    return np.power(a, b)


@njit(cache=True, inline="always")
def f_sign(x: float) -> float:
    return 1.0 if x > 0.0 else (-1.0 if x < 0.0 else 0.0)


@njit(cache=True, inline="always")
def f_sqrt(x: float) -> float:
    return math.sqrt(abs(x))


@njit(cache=True, inline="always")
def f_log(x: float) -> float:
    return np.log(x)


@njit(cache=True, inline="always")
def f_log10(x: float) -> float:
    return np.log10(x)


@njit(cache=True, inline="always")
def f_asin(x: float) -> float:
    return np.arcsin(x)


@njit(cache=True, inline="always")
def f_acos(x: float) -> float:
    return np.arccos(x)


@njit(cache=True)
def f_invsqrt(x: float) -> float:
    y = np.array([x], dtype=np.float32)
    i = y.view(np.int32)
    i[0] = 0x5F3759DF - (i[0] >> 1)
    r = float(y[0])
    return r * (1.5 - (x * 0.5) * r * r)


@njit(cache=True)
def genrand_int32(state: np.ndarray) -> int:
    """EEL2's generator: MT19937 seeded with 0x4141f00d on first use (WDL ``nseel-cfunc.c``).

    ``state`` holds the 624 words and, in ``state[624]``, the position (0: not seeded yet).
    """
    mti = state[624]
    if mti == 0:
        state[0] = 0x4141F00D
        for k in range(1, 624):
            prev = state[k - 1]
            state[k] = (np.uint32(1812433253) * (prev ^ (prev >> np.uint32(30))) + np.uint32(k)) & np.uint32(0xFFFFFFFF)
        mti = np.uint32(624)
    if mti >= 624:
        for kk in range(624):
            y = (state[kk] & np.uint32(0x80000000)) | (state[(kk + 1) % 624] & np.uint32(0x7FFFFFFF))
            mag = np.uint32(0x9908B0DF) if y & np.uint32(1) else np.uint32(0)
            state[kk] = state[(kk + 397) % 624] ^ (y >> np.uint32(1)) ^ mag
        state[624] = 1
        mti = np.uint32(0)
    else:
        state[624] = mti + np.uint32(1)
    y = state[mti]
    y ^= y >> np.uint32(11)
    y ^= (y << np.uint32(7)) & np.uint32(0x9D2C5680)
    y ^= (y << np.uint32(15)) & np.uint32(0xEFC60000)
    y ^= y >> np.uint32(18)
    return int(y)


@njit(cache=True)
def f_rand(state: np.ndarray, x: float) -> float:
    """``rand(x)``: [0, x) with x floored and at least 1, as EEL2 computes it."""
    top = math.floor(x)
    if top < 1.0:
        top = 1.0
    return genrand_int32(state) * (1.0 / 4294967295.0) * top


@njit(cache=True)
def f_memset(mem: np.ndarray, dest: float, value: float, length: float) -> float:
    start = int(dest + CLOSE) if dest + CLOSE >= 0 else 0
    count = int(length + CLOSE) if length > 0 else 0
    stop = min(mem.shape[0], start + count)
    for i in range(start, stop):
        mem[i] = value
    return dest


@njit(cache=True)
def f_memcpy(mem: np.ndarray, dest: float, src: float, length: float) -> float:
    d = int(dest + CLOSE) if dest + CLOSE >= 0 else 0
    s = int(src + CLOSE) if src + CLOSE >= 0 else 0
    count = int(length + CLOSE) if length > 0 else 0
    count = max(0, min(count, mem.shape[0] - d, mem.shape[0] - s))
    if count:
        mem[d:d + count] = mem[s:s + count].copy()  # overlapping ranges copy as memmove does
    return dest


@njit(cache=True)
def f_convolve_c(mem: np.ndarray, dest: float, src: float, size: float) -> float:
    """``convolve_c(dest, src, size)``: dest[k] *= src[k] for ``size`` complex pairs (re, im), in place."""
    d = int(dest + CLOSE) if dest + CLOSE >= 0 else 0
    s = int(src + CLOSE) if src + CLOSE >= 0 else 0
    n = int(size + CLOSE) if size > 0 else 0
    n = max(0, min(n, (mem.shape[0] - d) // 2, (mem.shape[0] - s) // 2))
    for k in range(n):
        ar, ai = mem[d + 2 * k], mem[d + 2 * k + 1]
        br, bi_ = mem[s + 2 * k], mem[s + 2 * k + 1]
        mem[d + 2 * k] = ar * br - ai * bi_
        mem[d + 2 * k + 1] = ar * bi_ + ai * br
    return dest


@njit(cache=True, inline="always")
def loop_count(x: float) -> int:
    n = to_int32(x)
    if n < 1:
        return 0
    return min(n, LOOP_LIMIT)


def rng_state() -> np.ndarray:
    """A fresh generator state (seeded on first use, as a freshly started effect's)."""
    return np.zeros(625, dtype=np.uint32)


def _split_radix_order(n: int) -> np.ndarray:
    """Which frequency each position of REAPER's unpermuted FFT output holds (WDL's split-radix order)."""
    if n <= 2:
        return np.arange(n)
    half, quarter = n >> 1, n >> 2
    inner, outer = _split_radix_order(half), _split_radix_order(quarter)
    order = np.empty(n, dtype=np.int64)
    order[:half] = inner << 1
    order[half:half + quarter] = (outer << 2) + 1
    order[half + quarter:] = ((outer << 2) - 1) & (n - 1)
    return order


def _permutation_tables() -> np.ndarray:
    """REAPER's fft_permute tables for sizes 2..32768, size ``n`` at offset ``n - 2``."""
    tables = []
    n = 2
    while n <= 32768:
        order = _split_radix_order(n)
        perm = np.zeros(n, dtype=np.int64)
        perm[n - order[1:]] = np.arange(1, n)
        tables.append(perm)
        n *= 2
    return np.concatenate(tables)


PERMUTATION = _permutation_tables()


@njit(cache=True)
def _fft_size(mem: np.ndarray, start: float, size: float, items: int, min_bits: int) -> tuple[int, int]:
    """Offset and size as EEL2 takes them, else (0, 0) for "do nothing".

    The size is rounded down to a power of two (at most 32768; below ``2**min_bits``
    nothing happens); the ``items * size`` values must lie in one 65536-value block of
    memory, as WDL's block allocator requires.
    """
    length = int(size + CLOSE) if size + CLOSE >= 1.0 else 0
    bits = 0
    while length > 1 and bits < 15:
        bits += 1
        length >>= 1
    if bits < min_bits or not start + CLOSE >= 0.0:
        return 0, 0
    n = 1 << bits
    s = int(start + CLOSE)
    if s // 65536 != (s + items * n - 1) // 65536 or s + items * n > mem.shape[0]:
        return 0, 0
    return s, n


@njit(cache=True)
def _transform(z: np.ndarray, inverse: bool) -> None:
    """In-place radix-2 DFT: forward e^{-i...}, inverse e^{+i...} without scaling (as REAPER's)."""
    n = z.shape[0]
    j = 0
    for i in range(1, n):
        bit = n >> 1
        while j & bit:
            j ^= bit
            bit >>= 1
        j |= bit
        if i < j:
            z[i], z[j] = z[j], z[i]
    sign = 1.0 if inverse else -1.0
    twiddle = np.empty(n // 2, dtype=np.complex128)
    for k in range(n // 2):
        angle = sign * 2.0 * math.pi * k / n
        twiddle[k] = complex(math.cos(angle), math.sin(angle))
    length = 2
    while length <= n:
        step = n // length
        half = length // 2
        for first in range(0, n, length):
            for k in range(half):
                u = z[first + k]
                v = z[first + k + half] * twiddle[k * step]
                z[first + k] = u + v
                z[first + k + half] = u - v
        length <<= 1


@njit(cache=True)
def f_fft(mem: np.ndarray, start: float, size: float, mode: int) -> float:
    """fft (mode 0), ifft (1), fft_real (2) and ifft_real (3) as REAPER's EEL2 does them.

    The spectrum is in REAPER's permuted order (``fft_permute`` gives the usual bin
    order); nothing is scaled. ``fft_real`` takes ``size`` samples and gives ``size/2``
    pairs: twice the DFT of bins 0..size/2-1, with bin 0's pair holding the DC and
    Nyquist values (as WDL's real FFT lays them out); ``ifft_real`` is its inverse
    times ``2 * size``.
    """
    real = mode >= 2
    s, n = _fft_size(mem, start, size, 1 if real else 2, 4)
    if n == 0:
        return start
    inverse = mode & 1 == 1
    if real:
        n //= 2
    perm = PERMUTATION[n - 2:2 * n - 2]
    z = np.empty(n, dtype=np.complex128)
    if not real:
        if inverse:
            for k in range(n):
                z[k] = complex(mem[s + 2 * perm[k]], mem[s + 2 * perm[k] + 1])
        else:
            for k in range(n):
                z[k] = complex(mem[s + 2 * k], mem[s + 2 * k + 1])
        _transform(z, inverse)
        for k in range(n):
            j = k if inverse else perm[k]
            mem[s + 2 * j] = z[k].real
            mem[s + 2 * j + 1] = z[k].imag
        return start
    if inverse:
        full = np.empty(2 * n, dtype=np.complex128)  # the Hermitian spectrum the pairs describe
        full[0] = mem[s + 2 * perm[0]]
        full[n] = mem[s + 2 * perm[0] + 1]
        for k in range(1, n):
            value = complex(mem[s + 2 * perm[k]], mem[s + 2 * perm[k] + 1])
            full[k] = value
            full[2 * n - k] = value.conjugate()
        _transform(full, True)
        for k in range(2 * n):
            mem[s + k] = full[k].real
        return start
    full = np.empty(2 * n, dtype=np.complex128)
    for k in range(2 * n):
        full[k] = mem[s + k]
    _transform(full, False)
    mem[s + 2 * perm[0]] = 2.0 * full[0].real
    mem[s + 2 * perm[0] + 1] = 2.0 * full[n].real
    for k in range(1, n):
        mem[s + 2 * perm[k]] = 2.0 * full[k].real
        mem[s + 2 * perm[k] + 1] = 2.0 * full[k].imag
    return start


@njit(cache=True)
def f_fft_permute(mem: np.ndarray, start: float, size: float, inverse: bool) -> float:
    """fft_permute (REAPER order to bin order) or fft_ipermute (back)."""
    s, n = _fft_size(mem, start, size, 2, 3)
    if n == 0:
        return start
    perm = PERMUTATION[n - 2:2 * n - 2]
    copy = mem[s:s + 2 * n].copy()
    for k in range(n):
        src, dst = (k, perm[k]) if inverse else (perm[k], k)
        mem[s + 2 * dst] = copy[2 * src]
        mem[s + 2 * dst + 1] = copy[2 * src + 1]
    return start


@njit(cache=True, inline="always")
def spl_read(frame: np.ndarray, index: float) -> float:
    """``spl(n)``: channel ``n`` of the current sample frame (0 outside 0..63)."""
    i = to_int32(index)
    return frame[i] if 0 <= i < frame.shape[0] else 0.0


@njit(cache=True, inline="always")
def spl_write(frame: np.ndarray, index: float, value: float) -> None:
    i = to_int32(index)
    if 0 <= i < frame.shape[0]:
        frame[i] = value
