"""jsfx_check's report on effects with one known fault each, and the store of code that passed."""

from __future__ import annotations

import pytest

from bridge.mcp.jsfx_check import PassedStore, check_code, code_hash


def _check(body: str, header: str = "desc: test\n", **kw):
    return check_code(header + body, **kw)


def _signal(report, name):
    return next(s for s in report["signals"] if s["signal"] == name)


def test_dc_offset_is_reported():
    report = _check("@sample\nspl0 += 0.1;\nspl1 += 0.1;\n")
    assert report["ok"] and _signal(report, "silence")["dc_offset"] == pytest.approx(0.1)
    assert "silence: a DC offset of 0.1000 on the output" in report["warnings"]


def test_clipping_and_level_are_reported():
    report = _check("@sample\nspl0 *= 4;\nspl1 *= 4;\n")
    sweep, noise = _signal(report, "sweep"), _signal(report, "noise")
    assert sweep["clipped"] > 0 and sweep["peak_db"] == pytest.approx(6.02, abs=0.01)
    assert noise["gain_db"] == pytest.approx(12.04, abs=0.01)
    assert any(w.startswith("sweep: ") and "past full scale (peak +6.0 dBFS)" in w for w in report["warnings"])
    assert "noise: the level changes by +12.0 dB" in report["warnings"]


def test_a_silent_effect_and_one_that_does_nothing():
    silent = _check("@sample\nspl0 = 0;\nspl1 = 0;\n")
    assert all(s["silent"] for s in silent["signals"])
    assert "the output is silent for every test signal" in silent["warnings"]
    nothing = _check("@sample\nx = spl0;\n")
    assert all(s["unchanged"] for s in nothing["signals"])
    assert any("passes unchanged" in w for w in nothing["warnings"]) and nothing["ok"]


def test_reported_latency_is_compensated_and_measured_on_the_impulse():
    report = _check("@init\npdc_delay = 64;\npdc_bot_ch = 0;\npdc_top_ch = 2;\n@sample\n"
                    "d0 = buf[pos * 2]; d1 = buf[pos * 2 + 1];\nbuf[pos * 2] = spl0; buf[pos * 2 + 1] = spl1;\n"
                    "pos = (pos + 1) % 64;\nspl0 = d0; spl1 = d1;\n")
    assert report["latency"] == {"reported": 64, "impulse_peak_after": 0}
    assert _signal(report, "impulse")["unchanged"]


def test_code_that_never_finishes_is_stopped():
    report = _check("@init\nloop(100000, loop(100000, x += 1));\n", timeout=1.0)
    assert not report["ok"] and report["errors"][0]["line"] is None
    assert report["errors"][0]["message"].startswith("stopped after 1 s: the code did not finish")


@pytest.mark.parametrize(("body", "line", "column", "reaper"), [
    ("@sample\nspl0 = foo(spl0);\n", 3, 8, "3: 'foo' undefined: 'spl0 =  <!> foo(spl0);'"),
    ("@sample\nspl0 = (spl0 * 2;\n", 3, 9, "3: syntax error: missing ) or ]"),
    ("@sample\nspl0 = sin(1, 2);\n", 3, 8, "3: 'sin' needs 1 parms: 'spl0 =  <!> sin(1, 2);'"),
])
def test_errors_carry_line_column_and_eel2s_wording(body, line, column, reaper):
    report = _check(body)
    assert not report["ok"] and report["signals"] == []
    error = report["errors"][0]
    assert (error["line"], error["column"], error["reaper"]) == (line, column, reaper)


def test_every_sections_first_error_is_listed():
    report = _check("@init\nx = ;\n@sample\ny = 1 +;\n")
    assert [(e["line"], e["column"]) for e in report["errors"]] == [(3, 5), (5, 8)]


def test_effects_that_read_files_are_not_run():
    reads = _check('@init\nh = file_open("/etc/passwd");\n')
    assert not reads["ok"] and reads["signals"] == []
    assert reads["errors"][0]["line"] == 3 and reads["errors"][0]["column"] == 5
    assert reads["errors"][0]["message"].startswith("file_open(): jsfx_check does not run effects that read files")
    imports = check_code("desc: test\nimport ../../../etc/passwd\n@sample\nspl0 = 0;\n")
    assert not imports["ok"] and imports["errors"][0]["line"] == 2
    assert imports["errors"][0]["message"].startswith("import: ")


def test_sliders_and_pins_are_parsed():
    report = check_code("desc: Mode (test)\nslider1:mode=1<0,2,1{Soft,Medium,Hard}>Mode\nin_pin:left\nin_pin:right\n"
                        "out_pin:left\nout_pin:right\n@sample\nspl0 *= 1 - mode * 0.1;\nspl1 *= 1 - mode * 0.1;\n")
    assert report["ok"] and report["desc"] == "Mode (test)"
    assert report["pins"] == {"in": ["left", "right"], "out": ["left", "right"]}
    assert report["sliders"] == [{"number": 1, "variable": "mode", "label": "Mode", "default": 1.0, "min": 0.0,
                                  "max": 2.0, "step": 1.0, "labels": ["Soft", "Medium", "Hard"], "shape": "",
                                  "hidden": False}]


def test_the_store_finds_exactly_the_text_that_passed(tmp_path):
    store = PassedStore(tmp_path / "spool" / "mcp" / "jsfx")
    code = "desc: Kept (test)\n@sample\nspl0 *= 0.5;\n"
    assert store.find(code) is None
    path = store.record(code, "Kept (test)")
    assert path.name == f"kept-test-{code_hash(code)[:16]}.jsfx" and path.read_text() == code
    assert store.record(code, "Kept (test)") == path
    assert PassedStore(tmp_path / "spool" / "mcp" / "jsfx").find(code) == path  # a restart keeps it
    assert store.find(code + " ") is None
    path.write_text(code.replace("0.5", "5"))  # the file no longer holds the text that passed
    assert store.find(code) is None
