"""The EEL2 language as REAPER documents it, construct by construct, with exact expected numbers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bridge.jsfx.effect import load_effect
from bridge.jsfx.errors import JsfxError
from bridge.jsfx.runtime import JsfxProcessor


def run_init(tmp_path, code: str, header: str = "") -> JsfxProcessor:
    path = tmp_path / "t.jsfx"
    path.write_text(f"desc: test\n{header}\n@init\n{code}\n")
    return JsfxProcessor(load_effect(path), 44100, 2)


CASES = [
    # arithmetic and REAPER's precedence
    ("x = 1 + 2 * 3;", "x", 7.0),
    ("x = 2 ^ 3 ^ 2;", "x", 64.0),  # ^ is left-associative
    ("x = -2 ^ 2;", "x", 4.0),  # unary minus binds tighter than ^
    ("x = 2 ^ -1;", "x", 0.5),
    ("a = 3; b = 0.1; c = 3; x = a * b / c;", "x", 3 * (0.1 / 3)),  # a * (b / c), as REAPER groups it
    ("a = 0.1; b = 0.2; c = 0.3; x = a + b - c;", "x", 0.1 + (0.2 - 0.3)),  # a + (b - c)
    ("x = 10 - 4 - 3;", "x", 3.0),
    ("x = 1 / 0;", "x", 0.0),  # EEL2 stores 0 for inf/NaN results a plain = can produce (ysfx)
    ("x = !0 + !5;", "x", 1.0),
    ("x = -(3);", "x", -3.0),
    ("x = +4;", "x", 4.0),
    # integer operators
    ("x = 7 % 3;", "x", 1.0),
    ("x = -7 % 3;", "x", 1.0),  # x64 EEL2: |a| % |b| (ysfx)
    ("x = 7.9 % 2.5;", "x", 1.0),
    ("x = 5 % 0;", "x", 0.0),
    ("x = 1 << 4;", "x", 16.0),
    ("x = -16 >> 2;", "x", -4.0),
    ("x = 1 << 31;", "x", -2147483648.0),  # 32-bit
    ("x = 5 | 2;", "x", 7.0),
    ("x = 6 & 3;", "x", 2.0),
    ("x = 6 ~ 3;", "x", 5.0),
    ("x = 5.7 | 0;", "x", 5.0),
    ("x = -5.7 | 0;", "x", -5.0),
    ("x = 4294967296 | 1;", "x", 4294967297.0),  # | and & are 64-bit
    ("x = 1 + 2 | 4;", "x", 7.0),  # | below +
    ("x = 6 % 4 * 2;", "x", 4.0),
    # comparisons: == and != use REAPER's 0.00001, === and !== are exact
    ("x = 1 == 1.000001;", "x", 1.0),
    ("x = 1 === 1.000001;", "x", 0.0),
    ("x = 1 != 1.000001;", "x", 0.0),
    ("x = 1 !== 1.000001;", "x", 1.0),
    ("x = 1 == 1.0001;", "x", 0.0),
    ("x = (2 < 3) + (3 <= 3) * 2 + (4 > 5) * 4 + (5 >= 5) * 8;", "x", 11.0),
    # logic and truth (|x| >= 0.00001 is true)
    ("a = 0; x = 0 && (a = 1);", "a", 0.0),
    ("a = 0; x = 2 || (a = 1);", "x", 1.0),
    ("a = 0; x = 2 || (a = 1);", "a", 0.0),
    ("x = 3 && 4;", "x", 1.0),
    ("x = 0.000001 ? 1 : 2;", "x", 2.0),
    ("x = -0.5 ? 1 : 2;", "x", 1.0),
    # ? : with blocks, missing branches, as an lvalue
    ("x = 1 ? (a = 2; a + 1) : 5;", "x", 3.0),
    ("x = 0 ? 5;", "x", 0.0),
    ("x = 0 ? : 6;", "x", 6.0),
    ("0 ? a = 5 : b = 6;", "b", 6.0),
    ("1 < 2 ? p = 1 : q = 1;", "q", 0.0),
    ("(1 < 2 ? p : q) = 8;", "p", 8.0),
    ("(0 ? p : q) += 3;", "q", 3.0),
    ("x = 1 ? 2 ? 3 : 4 : 5;", "x", 3.0),
    # assignment operators
    ("a = 10; a += 2; a -= 1; a *= 3; a /= 11; a %= 2;", "a", 1.0),
    ("b = 2; b ^= 3;", "b", 8.0),
    ("c = 5; c |= 2;", "c", 7.0),
    ("d = 6; d &= 3;", "d", 2.0),
    ("e = 6; e ~= 3;", "e", 5.0),
    ("x = y = 4;", "x", 4.0),
    ("x = -a = 3;", "x", -3.0),  # -(a = 3)
    ("x = (a = 5; b = 3; a + b);", "x", 8.0),
    ("x = ();", "x", 0.0),
    # loops
    ("s = 0; loop(5, s += 2);", "s", 10.0),
    ("s = 1; loop(-1, s = 99);", "s", 1.0),
    ("i = 0; loop(3.9, i += 1);", "i", 3.0),
    ("n = 4; i = 0; loop(n, n = 100; i += 1);", "i", 4.0),  # the count is read once
    ("a = 0; while(a += 1; a < 10);", "a", 10.0),
    ("b = 0; while(b < 5)(b += 2);", "b", 6.0),
    ("c = 0; while(c += 1; 1);", "c", 1048576.0),  # REAPER's iteration limit
    ("c = 0; loop(2000000, c += 1);", "c", 1048576.0),
    # numbers
    ("x = $pi;", "x", math.pi),
    ("x = $e;", "x", math.e),
    ("x = $phi;", "x", (1 + 5 ** 0.5) / 2),
    ("x = $x1F + 0x10;", "x", 47.0),
    ("x = $'A';", "x", 65.0),
    ("x = 'AB';", "x", 65.0 * 256 + 66),
    ("x = $~8;", "x", 255.0),
    ("x = .5 + 1000 + 0.25;", "x", 1000.75),
    # names are not case sensitive
    ("ABC = 3; x = abc;", "x", 3.0),
    # memory
    ("buf = 100; buf[3] = 7; x = buf[3];", "x", 7.0),
    ("buf = 100; buf[3] = 7; x = 103[0];", "x", 7.0),
    ("buf = 100; 100[0] = 9; x = buf[];", "x", 9.0),
    ("3[0] = 5; x = 2.999999[0];", "x", 5.0),  # index + 0.00001, truncated
    ("x = (-5)[0] + 1;", "x", 1.0),  # out of range reads 0
    ("8388608[0] = 3; x = 8388608[0];", "x", 0.0),
    ("x = __memtop();", "x", 8388608.0),
    ("a = 10; a[1] += 4; a[1] *= 2; x = 11[0];", "x", 8.0),
    ("gmem[5] = 2; x = gmem[5] + gmem[6];", "x", 2.0),
    ("memset(10, 1, 5); x = 10[0] + 14[0] + 15[0];", "x", 2.0),
    ("loop(4, i[0] = i + 1; i += 1); memcpy(1, 0, 4); x = 0[0] * 1000 + 1[0] * 100 + 2[0] * 10 + 4[0];", "x",
     1000 + 100 + 20 + 4),  # overlapping copy behaves like memmove
    # built-ins
    ("x = sqr(3) + sqrt(16) + sqrt(-4);", "x", 15.0),  # REAPER's sqrt takes |x|
    ("x = pow(2, 10);", "x", 1024.0),
    ("x = exp(0) + log(exp(2)) + log10(1000);", "x", 6.0),
    ("x = abs(-3) + min(3, 2) + max(3, 2) + sign(-2) + sign(0);", "x", 7.0),
    ("x = floor(-3.1) * 10 + ceil(-3.9);", "x", -43.0),
    ("x = floor(10^300) + ceil(-(10^300));", "x", 0.0),  # no integer overflow
    ("x = atan2(1, 1);", "x", math.pi / 4),
    ("x = sin(1) + cos(1) + tan(1) + asin(0.5) + acos(0.5) + atan(2);", "x",
     math.sin(1) + math.cos(1) + math.tan(1) + math.asin(0.5) + math.acos(0.5) + math.atan(2)),
    ("x = rand(5); y = x >= 0 && x < 5;", "y", 1.0),
    ("x = freembuf(0);", "x", 0.0),
]


@pytest.mark.parametrize(("code", "var", "expected"), CASES, ids=[c[0][:40] for c in CASES])
def test_language(tmp_path, code, var, expected):
    assert run_init(tmp_path, code).var(var) == expected


def test_invsqrt_is_the_fast_approximation(tmp_path):
    p = run_init(tmp_path, "x = invsqrt(4);")
    assert p.var("x") != 0.5 and p.var("x") == pytest.approx(0.5, rel=2e-3)


FUNCTIONS = [
    # overloads by parameter count; extra arguments ignored, missing ones 0 (as REAPER compiles them)
    ("function f(x) (x * 2); function f(x, y) (x + y); a = f(3); b = f(3, 4);", {"a": 6.0, "b": 7.0}),
    ("function r() (5); function g(x, y) (x + y + 1); c = r(1); d = g(2);", {"c": 5.0, "d": 3.0}),
    # a redefinition's body calls the definition before it (ysfx: y = 20)
    ("function f(x) (x + 1); function f(x) (f(x) * 10); y = f(1);", {"y": 20.0}),
    ("function f(x y) (x + y * 2); z = f(1, 3);", {"z": 7.0}),
    ("function f(x, y) (x - y); z = f(5, 3);", {"z": 2.0}),
    ("function cnt() local(n) (n += 1); cnt(); cnt(); z = cnt();", {"z": 3.0, "n": 0.0}),
    ("x = 5; function g(x) (x * 2); y = g(3);", {"y": 6.0, "x": 5.0}),
    ("function set_foo(v) instance(foo) (foo = v); whatever.set_foo(32); set_foo(7);",
     {"whatever.foo": 32.0, "set_foo.foo": 7.0, "foo": 0.0}),
    ("function setbar(v) (this.bar = v); obj.setbar(4);", {"obj.bar": 4.0}),
    ("function set_par(v) (this..foo = v); a.b.set_par(1); a.set_par(2);", {"a.foo": 1.0, "foo": 2.0}),
    ("function inc() instance(n) (n += 1); function twice() (this.inc(); this.inc()); k.twice();", {"k.n": 2.0}),
    ("function lp(x) instance(y) (y += 0.5 * (x - y)); l.lp(1); r.lp(3); l.lp(1);", {"l.y": 0.75, "r.y": 1.5}),
    ("function inner() instance(v) (v = 9); function outer() instance(sub) (sub.inner()); o.outer();",
     {"o.sub.v": 9.0}),
    ("g1 = 5; tmp = 1; function h() globals(g1) (g1 += 1; tmp = 3; srate); z = h();",
     {"g1": 6.0, "tmp": 1.0, "z": 44100.0}),
    ("function s() static(k) (k += 2); s(); z = s();", {"z": 4.0}),
    ("function none() (); z = none() + 1;", {"z": 1.0}),
    ("function sq(x) (x * x); z = sq(sq(2)) + sq(3);", {"z": 25.0}),
]


@pytest.mark.parametrize(("code", "expected"), FUNCTIONS, ids=[c[0][:40] for c in FUNCTIONS])
def test_functions_and_namespaces(tmp_path, code, expected):
    p = run_init(tmp_path, code)
    for var, value in expected.items():
        assert p.var(var) == value, var


def test_sections_sliders_and_samples(tmp_path):
    path = tmp_path / "fx.jsfx"
    path.write_text("""desc: sections
// old and new slider syntax, an enum, a hidden slider, a shape
slider1:0.5<0,1,0.01>Amount
slider2:gain_db=-6<-24,24,0.1:log=0>Gain (dB)
slider3:1<0,2,1{Off,Left,Both}>Mode
slider4:7<0,10,1>-Hidden
in_pin:left
in_pin:right
out_pin:left
out_pin:right
options:maxmem=65536

@init
blocks = 0; inited = srate + num_ch;
ext_nodenorm = 1;  // no anti-denormal offset on the inputs: exact samples below

@slider
g = 10 ^ (gain_db / 20) * slider(1);

@block
blocks += 1; last = samplesblock;

@sample
spl0 = spl0 * g;
spl(1) = mode_calls += 1;
slider3 == 2 ? spl1 = spl(0);
""")
    effect = load_effect(path)
    s = effect.sliders
    assert (s[1].var, s[1].default, s[1].maximum, s[1].step, s[1].label) == ("slider1", 0.5, 1.0, 0.01, "Amount")
    assert (s[2].var, s[2].minimum, s[2].shape, s[2].label) == ("gain_db", -24.0, "log=0", "Gain (dB)")
    assert s[3].labels == ["Off", "Left", "Both"] and s[4].hidden and s[4].label == "Hidden"
    assert effect.in_pins == ["left", "right"] and effect.options == {"maxmem": "65536"}
    assert effect.slider_value(3, "both") == 2.0
    p = JsfxProcessor(effect, 48000, 2, {2: 0.0, 3: 1.0}, block=256)
    assert p.var("inited") == 48002.0 and p.memory.shape == (65536,)
    x = np.stack([np.linspace(-1, 1, 1000), np.zeros(1000)], axis=1)
    y = p.process(x)
    np.testing.assert_array_equal(y[:, 0], x[:, 0] * 0.5)
    np.testing.assert_array_equal(y[:, 1], np.arange(1, 1001))
    assert p.var("blocks") == 4 and p.var("last") == 1000 - 3 * 256
    both = JsfxProcessor(effect, 48000, 2, {3: 2.0}).process(x)
    np.testing.assert_array_equal(both[:, 1], both[:, 0])


def test_untouched_channels_pass_through(tmp_path):
    path = tmp_path / "fx.jsfx"
    path.write_text("desc: left only\n@sample\nspl0 = -spl0;\n")
    x = np.random.default_rng(1).normal(size=(100, 3))
    y = JsfxProcessor(load_effect(path), 44100, 3).process(x)
    # REAPER adds 1e-16 to every input sample (anti-denormal), unless the effect sets ext_nodenorm
    np.testing.assert_allclose(y[:, 0], -x[:, 0] - 1e-16, rtol=0, atol=1e-18)
    np.testing.assert_allclose(y[:, 1:], x[:, 1:] + 1e-16, rtol=0, atol=1e-18)


def test_imports_are_found_beside_the_effect_and_in_effects_folders(tmp_path):
    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / "util.jsfx-inc").write_text("@init\nfunction twice(x) (x * 2);\nimported = 1;\n")
    (tmp_path / "fx").mkdir()
    (tmp_path / "fx" / "local.jsfx-inc").write_text("import util.jsfx-inc\n@init\nlocal_seen = imported + 1;\n")
    path = tmp_path / "fx" / "fx.jsfx"
    path.write_text("desc: imports\nimport local.jsfx-inc\n@init\nz = twice(local_seen);\n")
    with pytest.raises(JsfxError, match=r"import util\.jsfx-inc: not found"):
        load_effect(path)
    p = JsfxProcessor(load_effect(path, [lib]), 44100, 2)
    assert p.var("z") == 4.0


def test_imports_are_found_as_reaper_finds_them(tmp_path):
    """Beside the importer, then the Effects root, then every subfolder of each; names in any case."""
    effects = tmp_path / "REAPER" / "Effects"
    (effects / "Tale").mkdir(parents=True)
    (effects / "Tale" / "RC_Filter.jsfx-inc").write_text("@init\nfrom_tale = 1;\n")
    (effects / "tilr" / "Delay" / "qdelay").mkdir(parents=True)
    (effects / "tilr" / "Delay" / "qdelay" / "qd.delay.jsfx-inc").write_text("@init\nfrom_sub = 2;\n")
    (effects / "tilr" / "lib").mkdir()
    (effects / "tilr" / "lib" / "deep.jsfx-inc").write_text("@init\nfrom_root_sub = 3;\n")
    path = effects / "tilr" / "Delay" / "QuickDelay.jsfx"
    path.write_text("desc: finds\nimport Tale/rc_filter.jsfx-inc\nimport qd.delay.jsfx-inc\nimport deep.jsfx-inc\n"
                    "@init\nx = from_tale + from_sub + from_root_sub;\n")
    effect = load_effect(path)  # the enclosing Effects folder is the root: nothing to pass
    assert [p.name for p in effect.imports] == ["RC_Filter.jsfx-inc", "qd.delay.jsfx-inc", "deep.jsfx-inc"]
    assert JsfxProcessor(effect, 44100, 2).var("x") == 6.0


def test_slider_lines_are_read_as_leniently_as_reaper_reads_them(tmp_path):
    path = tmp_path / "fx.jsfx"
    path.write_text("desc: sliders\n"
                    "slider1:ToneStack=2<0,7,{Marshall,Fender,Vox}>Type\n"
                    "slider2:Model=1:<0,2,1{A,B,C}>Model\n"
                    "slider3:0<0,1,1{AC1,AC101>Mode\n"
                    "slider4:-6<-30,0,0.1}>Thresh\n"
                    "slider5: 5 < 0 , 10 , 1 > Spaced\n"
                    "slider62:advanced<0,1,1>-Advanced\n"
                    "slider7:/amp_models:0:Model file\n"
                    "slider8:1<0,1,1>\n"
                    "@init\nx = tonestack + model * 10 + slider3 * 100 + slider4 * 1000 + slider5 * 10000;\n")
    effect = load_effect(path)
    s = effect.sliders
    assert (s[1].var, s[1].default, s[1].labels) == ("tonestack", 2.0, ["Marshall", "Fender", "Vox"])
    assert (s[2].var, s[2].default, s[2].labels) == ("model", 1.0, ["A", "B", "C"])
    assert s[3].labels == ["AC1", "AC101"] and (s[4].minimum, s[4].maximum, s[4].default) == (-30.0, 0.0, -6.0)
    assert (s[62].var, s[62].hidden, s[62].label) == ("slider62", True, "Advanced")
    assert s[7].shape == "file" and 8 not in s  # a line without a label is not a slider (REAPER ignores it)
    assert any("slider8 is not a slider line" in n for n in effect.notices)
    assert JsfxProcessor(effect, 44100, 2).var("x") == 2 + 10 - 6000 + 50000


def test_gfx_and_serialize_are_skipped_with_a_notice(tmp_path):
    path = tmp_path / "fx.jsfx"
    path.write_text("desc: ui\n@init\nx = 1;\n@gfx 400 300\ngfx_rect(0, 0, 10, 10);\n@serialize\nfile_var(0, x);\n")
    effect = load_effect(path)
    assert any("@gfx is skipped" in n for n in effect.notices)
    assert any("@serialize is skipped" in n for n in effect.notices)
    assert JsfxProcessor(effect, 44100, 2).var("x") == 1.0


def test_graphics_calls_outside_gfx_do_nothing(tmp_path):
    path = tmp_path / "fx.jsfx"
    path.write_text("desc: ui\n@init\ngfx_r = 1; x = gfx_rect(0, 0, 10, 10) + 3;\n"
                    "@sample\ngfx_drawchar(65); spl0 *= 0.5;\n")
    effect = load_effect(path)
    proc = JsfxProcessor(effect, 44100, 2)
    assert any("graphics calls outside @gfx do nothing offline" in n for n in effect.notices)
    assert proc.var("x") == 3.0
    out = proc.process(np.ones((4, 2), dtype=np.float32))
    assert out[:, 0].tolist() == [0.5] * 4 and out[:, 1].tolist() == [1.0] * 4


@pytest.mark.parametrize(
    ("code", "message"),
    [("x = (1 + ;", r"t\.jsfx:4:10: unexpected ';'"),
     ("x = 1;\ny = 2 +\n", r"t\.jsfx:6:1: the code ends where a value is expected"),
     ("x = foo(1);", r"t\.jsfx:4:5: unknown function 'foo'"),
     ("x = \"text;", r"t\.jsfx:4:5: a string \(\"...\"\) is never closed"),
     ("#s -= 1;", r"t\.jsfx:4:1: a #string cannot be combined with -=; use strcpy\(\) or strcat\(\)"),
     ("x = sin(1, 2);", r"sin\(\) takes 1 parameter"),
     ("x = 1 @ 2;", r"unexpected character '@'"),
     ("3 = x;", r"cannot assign to a number"),
     ("/* never closed", r"a /\* comment is never closed"),
     ("function sin(x) (x);", r"'sin' is a built-in function"),
     ("x = 1e8;", r"t\.jsfx:4:5: '1e8' is not a number REAPER reads \(EEL2 has no exponent notation"),
     ("x = 2.5E-1;", r"'2\.5E' is not a number REAPER reads"),
     ("x = 2x;", r"'2x' is not a number REAPER reads$")],
)
def test_errors_name_the_line_and_column(tmp_path, code, message):
    with pytest.raises(JsfxError, match=message):
        run_init(tmp_path, code)


def test_what_offline_cannot_do_is_quietly_neutral(tmp_path):
    """MIDI finds no events, slider UI calls do nothing, f() means f(0): effects that use them still run."""
    path = tmp_path / "fx.jsfx"
    path.write_text("""desc: midi passthrough and ui calls
slider1:0<0,1,1{Off,On}>Switch
@init
function add1(a) (a + 1);
y = add1(); r = rand(); ch = get_host_numchan();
@slider
slider_show(slider1, 0); sliderchange(slider1); slider_automate(slider1);
@block
n = 0;
while (midirecv(offset, msg1, msg23)) (midisend(offset, msg1, msg23); n += 1);
@sample
spl0 = spl0 * 2;
""")
    effect = load_effect(path)
    p = JsfxProcessor(effect, 44100, 2)
    # rand(0) draws from [0, 1) (EEL2 raises the range to 1): the engine's first number, seeded as REAPER's
    assert (p.var("y"), p.var("r"), p.var("ch")) == (1.0, 978073627 / 4294967295, 2.0)
    assert np.array_equal(p.process(np.ones((64, 2)))[:, 0], np.full(64, 2.0)) and p.var("n") == 0
    assert any("MIDI" in n for n in effect.notices)


def test_a_delay_with_a_ring_buffer_in_memory(tmp_path):
    """A typical third-party idiom: a ring buffer in local memory, sized in @init from srate."""
    path = tmp_path / "delay.jsfx"
    path.write_text("""desc:Simple delay
slider1:250<1,1000,1>Delay (ms)
slider2:-6<-60,0,0.1>Feedback (dB)
slider3:0.5<0,1,0.01>Mix

@init
bufl = 0; bufr = 96000 * 2;
ext_nodenorm = 1;

@slider
len = floor(slider1 * srate / 1000);
fb = 2 ^ (slider2 / 6);
pos >= len ? pos = 0;

@sample
dl = bufl[pos]; dr = bufr[pos];
bufl[pos] = spl0 + dl * fb;
bufr[pos] = spl1 + dr * fb;
(pos += 1) >= len ? pos = 0;
spl0 = spl0 * (1 - slider3) + dl * slider3;
spl1 = spl1 * (1 - slider3) + dr * slider3;
""")
    rate = 8000
    x = np.zeros((rate, 2))
    x[0] = [1.0, 0.5]
    y = JsfxProcessor(load_effect(path), rate, 2, {1: 100}).process(x)
    delay = rate // 10
    fb = 2 ** (-1)
    assert y[0, 0] == 0.5 and y[delay, 0] == 0.5 and y[2 * delay, 0] == pytest.approx(0.5 * fb)
    assert y[delay, 1] == 0.25 and np.count_nonzero(y[:, 0]) == 10


def test_fft_follows_reapers_conventions(tmp_path):
    """fft + fft_permute gives the usual DFT bins; ifft(fft(x)) is size * x; the unpermuted order is WDL's."""
    n = 64
    p = run_init(tmp_path, f"""
buf = 0; i = 0;
loop({n}, buf[2 * i] = sin(i * 0.37) + 0.2 * cos(i * 1.3); buf[2 * i + 1] = 0.1 * i; i += 1);
raw = 1000; memcpy(raw, buf, {2 * n});
fft(raw, {n}); memcpy(2000, raw, {2 * n});
fft_permute(2000, {n});
back = 4000; memcpy(back, raw, {2 * n}); ifft(back, {n});
again = 6000; memcpy(again, 2000, {2 * n}); fft_ipermute(again, {n});
""")
    m = p.memory
    k = np.arange(n)
    x = np.sin(k * 0.37) + 0.2 * np.cos(k * 1.3) + 1j * 0.1 * k
    spectrum = np.fft.fft(x)
    np.testing.assert_allclose(m[2000:2000 + 2 * n:2] + 1j * m[2001:2001 + 2 * n:2], spectrum, atol=1e-9)
    np.testing.assert_allclose(m[4000:4000 + 2 * n:2] + 1j * m[4001:4001 + 2 * n:2], n * x, atol=1e-9)
    np.testing.assert_array_equal(m[6000:6000 + 2 * n], m[1000:1000 + 2 * n])
    # WDL's split-radix order: position 1 holds bin n/2, position 2 holds bin n/4 (for n = 64: 32, 16 ... )
    raw = m[1000:1000 + 2 * n:2] + 1j * m[1001:1001 + 2 * n:2]
    assert raw[0] == pytest.approx(spectrum[0]) and raw[1] == pytest.approx(spectrum[n // 2])


def test_a_chorus_with_fractional_delay_reads(tmp_path):
    """Written the way third-party effects are: an LFO, a ring buffer and interpolated reads."""
    path = tmp_path / "chorus.jsfx"
    path.write_text("""desc:Chorus (test)
slider1:rate=0.5<0.05,5,0.01>Rate (Hz)
slider2:depth=3<0,10,0.1>Depth (ms)
slider3:mix=0.5<0,1,0.01>Mix
@init
bufsize = srate; buf0 = 0; buf1 = bufsize; pos = 0; phase = 0;
@slider
dinc = 2*$pi*rate/srate; dsamp = depth*0.001*srate;
@sample
buf0[pos] = spl0; buf1[pos] = spl1;
d = dsamp * (1 + sin(phase)) * 0.5 + 1;
rp = pos - d; rp < 0 ? rp += bufsize;
i0 = floor(rp); fr = rp - i0; i1 = i0 + 1; i1 >= bufsize ? i1 = 0;
w0 = buf0[i0] * (1 - fr) + buf0[i1] * fr;
w1 = buf1[i0] * (1 - fr) + buf1[i1] * fr;
spl0 = spl0 * (1 - mix) + w0 * mix;
spl1 = spl1 * (1 - mix) + w1 * mix;
(phase += dinc) >= 2*$pi ? phase -= 2*$pi;
(pos += 1) >= bufsize ? pos = 0;
""")
    rate = 8000
    x = np.random.default_rng(3).normal(0, 0.3, (rate * 2, 2))
    y = JsfxProcessor(load_effect(path), rate, 2, {1: 2.0, 2: 5.0}).process(x)
    size, mix = rate, 0.5
    buf = np.zeros((size, 2))
    dinc, dsamp = 2 * np.pi * 2.0 / rate, 5.0 * 0.001 * rate
    pos, phase = 0, 0.0
    expected = np.empty_like(x)
    for n in range(len(x)):
        buf[pos] = x[n]
        d = dsamp * (1 + np.sin(phase)) * 0.5 + 1
        rp = pos - d
        rp = rp + size if rp < 0 else rp
        i0 = int(np.floor(rp))
        fr = rp - i0
        i1 = i0 + 1 if i0 + 1 < size else 0
        wet = buf[i0] * (1 - fr) + buf[i1] * fr
        expected[n] = x[n] * (1 - mix) + wet * mix
        phase += dinc
        phase = phase - 2 * np.pi if phase >= 2 * np.pi else phase
        pos = pos + 1 if pos + 1 < size else 0
    np.testing.assert_allclose(y, expected, atol=1e-12)


def test_spl_by_index_over_all_channels(tmp_path):
    path = tmp_path / "fx.jsfx"
    path.write_text("desc: per channel\n@sample\ni = 0; loop(num_ch, spl(i) *= i + 1; i += 1);\n"
                    "last = spl(num_ch - 1); outside = spl(64) + spl(-1);\n")
    x = np.ones((8, 3))
    p = JsfxProcessor(load_effect(path), 44100, 3)
    np.testing.assert_array_equal(p.process(x), np.tile([1.0, 2.0, 3.0], (8, 1)))
    assert p.var("last") == 3.0 and p.var("outside") == 0.0


def test_channels_beyond_the_input_read_zero_on_every_sample(tmp_path):
    path = tmp_path / "fx.jsfx"
    path.write_text("desc: mono\n@sample\nseen = spl1; spl1 = spl0 + 1; spl0 = spl0 + seen;\n")
    y = JsfxProcessor(load_effect(path), 44100, 1).process(np.ones((5, 1)))
    np.testing.assert_array_equal(y[:, 0], np.ones(5))  # spl1 written on one sample is not read on the next


STRINGS = r"""
strcpy(#a, "Gain");
strcat(#a, ": ");
sprintf(#b, "%s%.2f dB (%d%%) %5s|%-4d|%x|%c", #a, -3.14159, 42.7, "ab", 7, 255, 65);
len = strlen(#b);
sprintf(0, "%03d", 5);          // string slot 0
same = strcmp(#a, "Gain: ") == 0;
less = strcmp("abc", "abd") < 0;
icase = stricmp("ABC", "abc") == 0;
first = str_getchar(#b, 0);
last = str_getchar(#b, -1);
strcpy(#c, "hello world");
str_setchar(#c, 0, 'H');
strcpy_from(#d, #c, 6);
strcpy_substr(#e, #c, 0, 5);
str_delsub(#c, 5, 6);
str_insert(#c, "!", 5);
ok = match("gain=%d db=%f", "gain=12 db=-3.5", g, db);
wild = match("*.jsfx", "eq.jsfx") && !match("*.wav", "eq.jsfx");
nope = matchi("HELLO*", "hello there");
function label(n) local(s) (sprintf(#lbl, "Band %d", n); strlen(#lbl));
w = label(3);
#f = "one"; #f += ", two";       // = and += on a #string copy and append
empty = '';                     // an empty character constant is 0
"""


NAMESPACES = """
function setv(v*, a, b) ( v.x = a; v.y = b; v = a + b; );
function len2(v*) ( sqrt(v.x * v.x + v.y * v.y) );
function obj.init() ( setv(this.pos, 3, 4); );
setv(p, 1, 2);
q.x = 6; q.y = 8;
l = len2(q);
obj.init();
m = len2(obj.pos);
"""


def test_namespace_parameters_and_dotted_function_names(tmp_path):
    """Values dumped by ysfx (WDL's EEL2 compiler) for the same code."""
    p = run_init(tmp_path, NAMESPACES)
    got = {n: p.var(n) for n in ("p.x", "p.y", "p", "l", "obj.pos.x", "obj.pos.y", "obj.pos", "m")}
    assert got == {"p.x": 1, "p.y": 2, "p": 3, "l": 10, "obj.pos.x": 3, "obj.pos.y": 4, "obj.pos": 7, "m": 5}
    with pytest.raises(JsfxError, match=r"parameter 1 of len2\(\) is a namespace: give it a variable name"):
        run_init(tmp_path, "function len2(v*) ( v.x ); x = len2(1 + 2);")


def test_real_fft_is_laid_out_as_wdl_lays_it_out(tmp_path):
    """fft_real: size/2 pairs, twice the DFT, bin 0 holding DC and Nyquist; ifft_real inverts it times 2*size.

    The layout was read from WDL's fft.c and checked against ysfx on a 16-point probe.
    """
    x = np.random.default_rng(1).uniform(-1, 1, 64).round(6)
    fill = " ".join(f"buf[{i}] = {v};" for i, v in enumerate(x))
    p = run_init(tmp_path, f"buf = 0; {fill} fft_real(buf, 64); "
                           "i = 0; loop(64, buf[1000 + i] = buf[i]; i += 1); fft_permute(buf, 32); "
                           "ifft_real(1000, 64); "
                           "buf[2000] = 1; fft_real(2000, 8); small = buf[2000]; "  # below 16 points: nothing
                           "buf[3000] = 1; fft_real(3000, 20);")  # 20 is taken as 16
    spectrum = 2 * np.fft.rfft(x)
    got = p.memory[:64:2] + 1j * p.memory[1:64:2]
    np.testing.assert_allclose(got[1:], spectrum[1:32], atol=1e-12)
    assert (got[0].real, got[0].imag) == pytest.approx((spectrum[0].real, spectrum[32].real), abs=1e-12)
    np.testing.assert_allclose(p.memory[1000:1064], 128 * x, atol=1e-9)
    assert p.var("small") == 1.0 and p.memory[2001] == 0.0
    impulse = [2.0, 2.0] + [2.0, 0.0] * 7  # flat spectrum; the first pair is DC and Nyquist
    assert p.memory[3000:3016].tolist() == impulse and p.memory[3016] == 0.0


def test_empty_entries_in_name_lists_and_filename_lines(tmp_path):
    """EEL2 skips empty entries in instance()/local() lists (a trailing comma too); filename: lines only
    name files for file_open(), so an effect that has them for its graphics still runs."""
    p = run_init(tmp_path, "function f() instance(a,, b,) local(t,) (a = 1; b = 2; t = 3; a + b + t); x = f();",
                 header="filename:0,img/knob.png\nfilename:1,themes/dark.png")
    assert p.var("x") == 6.0
    assert p.effect.filenames == {0: "img/knob.png", 1: "themes/dark.png"}


EEL2_X64 = [
    # a plain = of a result that can be inf, NaN or denormal stores 0 (nseel_asm_assign); copies and compound
    # operators do not check; values dumped by ysfx for the same code
    ("z = 0; one = 1; two = 2; inf = 0.5 / z; a = log(z); b = inf * two; c = inf; d = inf * 2;"
     "e = max(inf * two, 1); f = z ? 1 : inf * two; g = (one; inf * two); h = 1 + inf; k = 0; k += inf * two;"
     "mem = 100; mem[0] = inf * two; m = mem[0]; ratio = exp(0.85 * 0.85); knee = 0;"
     "quadf = ((1 / ratio) - 1) / (2 * knee);",
     {"a": 0, "b": 0, "c": math.inf, "d": math.inf, "e": 0, "f": 0, "g": 0, "h": math.inf, "k": math.inf, "m": 0,
      "quadf": 0}),
    # min/max keep the first argument unless the second is strictly smaller/greater (a NaN loses either way)
    ("z = 0; inf = 0.5 / z; nan = z; nan *= inf; m1 = max(0, nan); m2 = max(nan, 0); m3 = min(1, nan);"
     "m4 = min(nan, 1);", {"m1": 0, "m2": math.nan, "m3": 1, "m4": math.nan}),
    # integer operators as the x64 code does them at run time
    ("m8 = -8; m7 = -7; three = 3; one = 1; n32 = 32; big = 4294967295; huge = 2^40; p63 = 2^63;"
     "x1 = big ~ one; x2 = huge ~ one; s1 = one << n32; s2 = big << 0*one; s3 = (huge + 5) << 2*one;"
     "r1 = m8 >> one; r2 = big >> one; r3 = (huge + 256) >> 4*one; d1 = m7 % three; d2 = huge % 7*one;"
     "d3 = p63 % 7*one;",
     {"x1": 4294967294, "x2": 1099511627777, "s1": 0, "s2": -1, "s3": 20, "r1": 2147483644, "r2": 2147483647,
      "r3": 16, "d1": 1, "d2": 2, "d3": 1}),
    # instance() names with a dot cover that name and everything under it
    ("function f() instance(os.y) ( os.y = 5; os.y.z = 6; ); left.f();",
     {"left.os.y": 5, "os.y": 0, "left.os.y.z": 6}),
]


@pytest.mark.parametrize(("code", "expected"), EEL2_X64, ids=["assign", "minmax", "integers", "instance"])
def test_eel2_as_the_x64_engine_computes(tmp_path, code, expected):
    p = run_init(tmp_path, code)
    got = {k: p.var(k) for k in expected}
    for k, v in expected.items():
        assert (math.isnan(got[k]) if math.isnan(v) else got[k] == v), (k, got[k], v)


def test_inputs_get_reapers_anti_denormal_offset_and_spl_beyond_the_pins_keep_their_values(tmp_path):
    path = tmp_path / "fx.jsfx"
    path.write_text("desc: dc\n@sample\ns2 = spl2; spl2 = 1;\nfirst == 0 ? (first = 1; dc0 = spl0;);\n")
    p = JsfxProcessor(load_effect(path), 44100, 2)
    p.process(np.zeros((4, 2)))
    assert p.var("dc0") == 1e-16 and p.var("s2") == 1.0  # ysfx: dc0 1e-16, s2 1
    path.write_text("desc: no dc\n@init\next_nodenorm = 1;\n@sample\nfirst == 0 ? (first = 1; dc0 = spl0;);\n")
    q = JsfxProcessor(load_effect(path), 44100, 2)
    q.process(np.zeros((4, 2)))
    assert q.var("dc0") == 0.0


def test_channels_without_an_output_pin_pass_through(tmp_path):
    path = tmp_path / "fx.jsfx"
    path.write_text("desc: scope\nin_pin:left\nin_pin:right\nout_pin:none\n@sample\nspl0 = 0.25; spl1 = -0.25;\n")
    x = np.random.default_rng(2).normal(size=(64, 2))
    np.testing.assert_array_equal(JsfxProcessor(load_effect(path), 44100, 2).process(x), x)


def test_strings_as_reaper_defines_them(tmp_path):
    p = run_init(tmp_path, STRINGS)
    s = p.string
    assert s(p.program.named["a"]) == "Gain: "
    assert p.string(p.program.named["b"]) == "Gain: -3.14 dB (42%)    ab|7   |ff|A"
    assert p.var("len") == len("Gain: -3.14 dB (42%)    ab|7   |ff|A")
    assert s(0) == "005"
    assert (p.var("same"), p.var("less"), p.var("icase")) == (1.0, 1.0, 1.0)
    assert (p.var("first"), p.var("last")) == (ord("G"), ord("A"))
    named = p.program.named
    assert (s(named["c"]), s(named["d"]), s(named["e"])) == ("Hello!", "world", "Hello")
    assert (p.var("ok"), p.var("g"), p.var("db")) == (1.0, 12.0, -3.5)
    assert (p.var("wild"), p.var("nope")) == (1.0, 1.0)
    assert p.var("w") == len("Band 3") and s(named["lbl"]) == "Band 3"
    assert s(named["f"]) == "one, two" and p.var("empty") == 0.0


def test_strings_in_sample_code_run_too(tmp_path):
    path = tmp_path / "fx.jsfx"
    path.write_text('desc: strings per sample\n@init\nstrcpy(#t, "x");\n@sample\nstrcat(#t, "y");\n'
                    "spl0 = strlen(#t);\n")
    p = JsfxProcessor(load_effect(path), 44100, 2)
    out = p.process(np.zeros((4, 2)))
    assert out[:, 0].tolist() == [2.0, 3.0, 4.0, 5.0]


def test_any_text_either_compiles_or_gets_a_jsfx_error():
    """Random fragments of EEL2 (3000 of them): the reader and compiler only ever raise JsfxError."""
    import random

    from bridge.jsfx.bytecode import BytecodeCompiler
    from bridge.jsfx.lexer import Code
    from bridge.jsfx.parser import parse

    rng = random.Random(2)
    alphabet = [*"abc xy()[];,?:=+-*/%^|&~<>!$'0123456789.\n\t_\"#", "function ", "loop(", "while(", "local(",
                "this.", "//", "/*", "*/", "==", "!==", "spl(", "slider(", "gmem[", "strcpy(", "sprintf("]
    compiled = 0
    for _ in range(3000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
        try:
            program = parse(Code(text, "f.jsfx", 1))
            compiler = BytecodeCompiler("f.jsfx", {})
            compiler.define(program)
            compiler.link({"init": compiler.section([program])})
            compiled += 1
        except JsfxError:
            pass
    assert compiled > 100  # plenty of the fragments are valid EEL2


TUBE_AMP_OVERSAMPLER = """desc: dotted instance names (the structure of Tale's tube_amp)
@init
function up(x) instance(x1, y1, y0) ( y1 = 0.5 * (x + x1); y0 = x; x1 = x; );
function down() instance(y1, y0) ( 0.5 * (y1 + y0); );
function shape(x) ( x - x * x * x / 3; );
function amp2(x) instance(os2.y1, os2.y0) ( this.os2.up(x); os2.y1 = shape(os2.y1); os2.y0 = shape(os2.y0);
  this.os2.down(); );
function amp4(x) instance(os4.y1, os4.y0) ( this.os4.up(x); os4.y1 = this.amp2(os4.y1);
  os4.y0 = this.amp2(os4.y0); this.os4.down(); );
@sample
spl0 = left.amp4(spl0);
spl1 = left.os2.y1 + 10 * os2.y1;
"""


def test_a_dotted_instance_name_is_the_variable_a_call_through_that_namespace_writes(tmp_path):
    """Tale's tube_amp: ``instance(os2.y1)`` in ``amp2`` is ``<this>.os2.y1``, which ``this.os2.up()`` wrote as its
    ``y1``; read as a global ``os2.y1`` the oversampled values never reach the shaper (max diff 0.088 on tube_amp
    before this rule). Expected samples rendered by ysfx (JoepVanlier/ysfx, WDL's x64 EEL2) for the same code."""
    path = tmp_path / "t.jsfx"
    path.write_text(TUBE_AMP_OVERSAMPLER)
    p = JsfxProcessor(load_effect(path), 44100, 2)
    out = p.process(np.array([[0.5, 0.0], [-0.25, 0.0], [0.75, 0.0], [0.1, 0.0]]))
    assert out[:, 0].tolist() == [0.29622395833333337, 0.029866536458333426, 0.3281250000000001, 0.31886393229166676]
    assert out[:, 1].tolist() == [0.3574218750000001, -0.06241861979166655, 0.4583333333333334, 0.2564707031250001]
    assert p.var("os2.y1") == 0.0  # the global of that name is never touched
