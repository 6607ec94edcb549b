"""JSFX that never finish: Ctrl-C, SIGTERM, a daemon's cancel and the time-out stop them and leave nothing behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from daemon_helpers import cli, drop, start, stop, wait_status
from daemon_helpers import env as clean_env

from bridge.jsfx.interrupt import RenderTimeoutError
from bridge.requests import parse_request
from bridge.requests.run import run_request

FOREVER = "desc: never ends\n@sample\nloop(1000000, loop(1000000, x += 1));\nspl0 = x;\n"
STUCK = {  # 10^12 iterations wherever the effect can be stuck
    "init": "desc: stuck in @init\n@init\nloop(1000000, loop(1000000, x += 1));\n@sample\nspl0 *= 0.5;\n",
    "slider": "desc: stuck in @slider\nslider1:1<0,2,1>Go\n@slider\nloop(1000000, loop(1000000, x += slider1));\n"
              "@sample\nspl0 *= 0.5;\n",
    "block": "desc: stuck in @block\n@block\nloop(1000000, loop(1000000, x += 1));\n@sample\nspl0 *= 0.5;\n",
    "while": "desc: nested whiles in @sample\n@sample\ni = 0; while (i < 1000000) (j = 0; while (j < 1000000) "
             "(j += 1); i += 1);\n",
    "strings": "desc: strings (the Python interpreter)\n@sample\ns = #a; loop(1000000, loop(1000000, "
               "strcpy(s, \"x\")));\n",
    "preprocessor": "desc: stuck before the code is read\n<? loop(1000000, loop(1000000, x += 1)); ?>\n@sample\n"
                    "spl0 *= 0.5;\n",
}


def _input(folder: Path, seconds: float = 1.0) -> Path:
    path = folder / "in.wav"
    sf.write(path, np.random.default_rng(0).normal(0, 0.1, (int(44100 * seconds), 2)), 44100, subtype="FLOAT")
    return path


def _left(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.mark.parametrize("where", sorted(STUCK))
def test_the_time_out_stops_an_effect_stuck_anywhere_and_nothing_is_written(tmp_path, monkeypatch, where):
    monkeypatch.setenv("REABRIDGE_JSFX_NATIVE", "never")
    effect = tmp_path / "stuck.jsfx"
    effect.write_text(STUCK[where])
    source = _input(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    request = parse_request({"id": f"stuck-{where}", "job": "jsfx_render",
                             "options": {"effect": str(effect), "audio": str(source), "output": str(out / "o.wav"),
                                         "timeout": 0.5}})
    with pytest.raises(RenderTimeoutError, match=r"^stopped after 0.5 s: the render ran past its time-out"):
        run_request(request)
    assert _left(out) == []


def test_a_render_within_its_time_out_is_untouched(tmp_path, monkeypatch):
    monkeypatch.setenv("REABRIDGE_JSFX_NATIVE", "never")
    effect = tmp_path / "gain.jsfx"
    effect.write_text("desc: gain\n@sample\nspl0 *= 0.5; spl1 *= 0.25;\n")
    source = _input(tmp_path)
    request = parse_request({"id": "quick", "job": "jsfx_render", "options": {
        "effect": str(effect), "audio": str(source), "output": str(tmp_path / "o.wav"), "timeout": 600}})
    run_request(request)
    x, y = sf.read(source)[0], sf.read(tmp_path / "o.wav")[0]
    assert np.array_equal(y, ((x + 1e-16) * [0.5, 0.25]).astype(np.float32))  # REAPER's anti-denormal offset


def _interrupt(tmp_path: Path, sig: int, tier: str, effect_text: str = FOREVER) -> tuple[subprocess.CompletedProcess,
                                                                                      list[str]]:
    """``reabridge jsfx render`` of an endless effect, signalled once it is inside the effect's code."""
    effect = tmp_path / "forever.jsfx"
    effect.write_text(effect_text)
    source = _input(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    env = clean_env(REABRIDGE_JSFX_NATIVE=tier, REABRIDGE_CACHE=str(tmp_path / "cache"))
    proc = subprocess.Popen([sys.executable, "-m", "bridge", "jsfx", "render", str(effect), str(source), "-o",
                             str(out / "o_int.wav")], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    deadline = time.monotonic() + 240
    while not any(n.endswith(".tmp.wav") for n in os.listdir(out)) and proc.poll() is None:
        assert time.monotonic() < deadline, "the render never started"
        time.sleep(0.05)
    time.sleep(0.5)  # well inside the loop
    assert proc.poll() is None, proc.communicate()
    proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=60)  # before: only SIGKILL ended it
    return subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr), _left(out)


@pytest.mark.parametrize(("sig", "tier"), [(signal.SIGINT, "never"), (signal.SIGTERM, "never"),
                                           (signal.SIGTERM, "wait")])
def test_ctrl_c_and_sigterm_stop_a_render_that_never_ends(tmp_path, sig, tier):
    done, left = _interrupt(tmp_path, sig, tier)
    assert done.returncode == 130, done.stderr
    assert done.stderr.strip().splitlines()[-1] == "interrupted; nothing half-done was written"
    assert left == []


def test_a_daemon_cancel_stops_the_effect_and_leaves_no_temporary_file(tmp_path):
    effect = tmp_path / "forever.jsfx"
    effect.write_text(FOREVER)
    source = _input(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    spool = tmp_path / "spool"
    daemon = start(spool)
    try:
        drop(spool, {"id": "endless", "job": "jsfx_render",
                     "options": {"effect": str(effect), "audio": str(source), "output": str(out / "o_d.wav")}})
        wait_status(spool, "endless", ("running",))
        deadline = time.monotonic() + 240
        while not any(n.endswith(".tmp.wav") for n in os.listdir(out)):
            assert time.monotonic() < deadline, "the render never started"
            time.sleep(0.05)
        time.sleep(0.5)
        assert cli("cancel", "endless", "--spool", str(spool)).returncode == 0
        assert wait_status(spool, "endless")["state"] == "cancelled"
        assert _left(out) == []
        drop(spool, {"id": "limited", "job": "jsfx_render",
                     "options": {"effect": str(effect), "audio": str(source), "output": str(out / "o_t.wav"),
                                 "timeout": 1}})
        doc = wait_status(spool, "limited")
        assert doc["state"] == "error" and "time" in doc["message"], doc
        assert _left(out) == []
    finally:
        stop(daemon)
    log = (spool / "daemon.log").read_text()
    assert "endless: cancelled" in log and "killing worker" not in log, log
