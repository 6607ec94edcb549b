"""The two JSFX tiers -- the interpreter every effect starts on, and its own compiled code -- give the same samples."""

from __future__ import annotations

import numpy as np
import pytest

from bridge.jsfx.effect import load_effect
from bridge.jsfx.runtime import JsfxProcessor

FUNCTIONS = r"""desc: functions, namespaces, loops, memory, dynamic channels
slider1:0.3<0,1,0.01>Amount
@init
function lp(x, c) instance(y) (y += c * (x - y));
function sat(x) local(t) (t = x * (1 + slider1); t / (1 + abs(t)));
buf = 1000; n = 0;
loop(64, buf[n] = sin(n / 10); n += 1);
@slider
k = slider1 * 0.5;
@block
blk += 1;
@sample
i = 0;
while (i < num_ch) (
  s = spl(i);
  s = (i == 0 ? left.lp(s, k) : right.lp(s, k)) + buf[(blk + i) % 64] * 0.01;
  spl(i) = sat(s);
  i += 1;
);
peak = max(peak, abs(spl0));
"""


def _render(effect, tier: str, monkeypatch) -> tuple[np.ndarray, object]:
    monkeypatch.setenv("REABRIDGE_JSFX_NATIVE", tier)
    p = JsfxProcessor(effect, 44100, 2, block=256)
    x = np.random.default_rng(3).standard_normal((6000, 2)) * 0.3
    out = np.concatenate([p.process(x[i:i + 1024]).copy() for i in range(0, len(x), 1024)])
    return out, p


@pytest.mark.parametrize("name", ["functions", "left only"])  # (a shipped chain takes 1-2 min of CPU to compile)
def test_interpreter_and_compiled_code_agree_bit_for_bit(tmp_path, monkeypatch, name):
    monkeypatch.setenv("REABRIDGE_CACHE", str(tmp_path / "cache"))
    path = tmp_path / "f.jsfx"  # the right channel of 'left only' passes through with the input offset
    path.write_text(FUNCTIONS if name == "functions" else "desc: left\n@sample\nspl0 = -spl0;\n")
    effect = load_effect(path)
    slow, p1 = _render(effect, "never", monkeypatch)
    fast, p2 = _render(effect, "wait", monkeypatch)
    assert p1.native is None and p2.native is not None
    assert np.array_equal(slow, fast)
    spl0 = p1.slots["spl0"]
    unnamed = range(spl0 + p1.program.reach, spl0 + 64)  # channels the code never names: not kept in variables
    assert all(p1.vars[i] == p2.vars[i] or (np.isnan(p1.vars[i]) and np.isnan(p2.vars[i]))
               for i in range(len(p1.vars)) if i not in unnamed)
    # the next instance finds the compiled code in the cache
    monkeypatch.setenv("REABRIDGE_JSFX_NATIVE", "background")
    assert JsfxProcessor(effect, 44100, 2).native is not None


def test_big_programs_are_kept_and_a_broken_cache_file_is_ignored(tmp_path, monkeypatch):
    from bridge.jsfx import runtime
    from bridge.jsfx.effect import load_effect

    monkeypatch.setenv("REABRIDGE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(runtime, "CACHE_SECONDS", 0.0)  # keep every program, not just the slow ones
    path = tmp_path / "fx.jsfx"
    path.write_text("desc: kept\n@init\nfunction f(x) (x * 2);\ny = f(3);\n@sample\nspl0 = spl0 * y;\n")
    effect = load_effect(path)
    first = runtime.compile_effect(effect)
    kept = list((tmp_path / "cache" / "jsfx").glob("program_*.pickle"))
    assert len(kept) == 1

    def no_compile(_effect):
        raise AssertionError("compiled again instead of using the kept program")

    with monkeypatch.context() as m:
        m.setattr(runtime, "_compile", no_compile)
        again = runtime.compile_effect(load_effect(path))
    assert np.array_equal(again.code, first.code) and again.slots == first.slots
    kept[0].write_bytes(b"not a pickle")
    assert np.array_equal(runtime.compile_effect(load_effect(path)).code, first.code)
    path.write_text(path.read_text().replace("x * 2", "x * 3"))  # new code: a new program
    assert runtime.JsfxProcessor(load_effect(path), 44100, 2).var("y") == 9.0
