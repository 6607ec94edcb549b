"""Background compiles of JSFX native code: one at a time per user, bounded, paid for by interpreter time, listed."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from bridge.cli.app import app
from bridge.jsfx import background, native, promotion
from bridge.jsfx.cache import clear, contents
from bridge.jsfx.effect import load_effect
from bridge.jsfx.runtime import JsfxProcessor

X = np.random.default_rng(5).normal(0, 0.1, (2048, 2))
NICE: set[int] = set()  # nice values seen on compile processes


def _effect(folder: Path, k: int = 0, *, chain: int = 0) -> Path:
    """A gain effect; ``chain`` > 0 adds that many dependent lines to @sample (numba takes seconds over them)."""
    path = folder / f"fx{k}.jsfx"
    body = "".join(f"a{i} = a{i - 1} * 0.5 + spl0 * {i % 7 + 1};\n" for i in range(1, chain))
    tail = f"a0 = spl0;\n{body}spl0 = a{chain - 1} * g;\n" if chain else "spl0 *= g;\n"
    path.write_text(f"desc: gain {k}\nslider1:-3<-24,24,0.1>Gain\n@slider\ng = 10^(slider1/20) + {k};\n"
                    f"@sample\n{tail}")
    return path


def _compiles(marker: str) -> tuple[int, int]:
    """Supervisors and compile processes now running whose command line names ``marker`` (the test's cache).

    A supervisor counts once detached: not the first process (our child, which only forks it off), nor a
    supervisor's own child between its fork and its exec of the compile.
    """
    found: dict[int, tuple[int, str]] = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
            parent = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if marker in cmd:
            found[int(pid)] = (parent, cmd)
    supervisors = [pid for pid, (parent, cmd) in found.items() if "--compile" not in cmd
                   and parent != os.getpid() and "bridge.jsfx.background" not in found.get(parent, (0, ""))[1]]
    compilers = [pid for pid, (_, cmd) in found.items() if "--compile" in cmd]
    for pid in compilers:  # background compiles run at nice 19
        with contextlib.suppress(OSError, ValueError, IndexError):
            NICE.add(int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[16]))
    return len(supervisors), len(compilers)


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("REABRIDGE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("REABRIDGE_JSFX_NATIVE", "background")
    monkeypatch.setattr(promotion, "LOOK_EVERY", 0.0)
    return tmp_path / "cache" / "jsfx"


def test_a_short_render_starts_no_compile_and_its_time_counts_for_the_next(tmp_path, cache):
    effect = load_effect(_effect(tmp_path))
    p = JsfxProcessor(effect, 44100, 2)
    assert p.native is None and p.promotion is not None and p.promotion.cost > 2
    p.process(X)
    p.promotion.save()
    assert not list(cache.glob("*.py")) and _compiles(str(cache)) == (0, 0)
    first = promotion.read_spent(p.promotion.path)
    assert 0 < first[0] < first[1] and first[2] == "gain 0"
    again = JsfxProcessor(effect, 44100, 2)
    again.process(X)
    again.promotion.save()
    assert promotion.read_spent(p.promotion.path)[0] > first[0]  # the rent adds up over renders


def test_once_paid_for_the_compile_runs_beside_the_render_which_switches_without_a_seam(tmp_path, cache,
                                                                                         monkeypatch):
    monkeypatch.setattr(promotion, "compile_cost", lambda rows: 0.0)
    effect = load_effect(_effect(tmp_path))
    p = JsfxProcessor(effect, 44100, 2)
    monkeypatch.setenv("REABRIDGE_JSFX_NATIVE", "never")
    reference = JsfxProcessor(effect, 44100, 2)
    got, want = [], []
    deadline = time.monotonic() + 240
    while p.native is None:
        assert time.monotonic() < deadline, "the compile never became ready"
        got.append(p.process(X).copy())
        want.append(reference.process(X).copy())
        time.sleep(0.05)
    for _ in range(3):  # now on the compiled code
        got.append(p.process(X).copy())
        want.append(reference.process(X).copy())
    assert np.array_equal(np.concatenate(got), np.concatenate(want))
    while _compiles(str(cache)) != (0, 0):  # the supervisor tidies up after publishing, then ends
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert not (cache / background.STAGING).exists() and not (cache / background.STATUS).exists()
    info = json.loads(Path(p.native.__file__).with_suffix(".json").read_text())
    assert info["effect"] == "gain 0" and info["peak_mb"] > 0


def test_ten_renders_of_distinct_effects_run_one_compile_at_a_time_and_none_outlives_its_limit(tmp_path, cache,
                                                                                              monkeypatch):
    monkeypatch.setattr(promotion, "compile_cost", lambda rows: 0.0)
    monkeypatch.setattr(background, "WALL_LIMIT", 1.0)  # passed to each supervisor
    # the last one takes numba several seconds on any machine (30 such lines: 3 s here), so the limit is met
    paths = [_effect(tmp_path, k, chain=60 if k == 9 else 0) for k in range(10)]
    processors = [JsfxProcessor(load_effect(path), 44100, 2) for path in paths]
    modules = [p.promotion.path for p in processors]
    peak = [0, 0]
    running: list[str] = []
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            supervisors, compilers = _compiles(str(cache))
            peak[0], peak[1] = max(peak[0], supervisors), max(peak[1], compilers)
            now = background.under_way(cache)
            if now and now.get("effect") not in running:
                running.append(str(now.get("effect")))
            time.sleep(0.01)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        deadline = time.monotonic() + 300
        while not all(background.failed(m) or background.is_compiled(m) for m in modules):
            assert time.monotonic() < deadline, [m.name for m in modules if not background.failed(m)]
            for p in processors:
                if p.native is None:
                    p.process(X)
            time.sleep(0.02)
        while _compiles(str(cache)) != (0, 0):  # the last supervisor writes its verdict, then ends
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        stop.set()
        watcher.join()
    assert peak == [1, 1], peak
    assert {19} == NICE, NICE
    assert len(running) >= 2  # they took turns
    for m in modules:  # each finished inside its second, or was stopped there and remembered
        failure = background.failed(m)
        assert background.is_compiled(m) or failure["reason"] == ("the compile took longer than 1 s; tried again "
                                                                   "after 1 h")
        assert not list((cache / "__pycache__").glob(f"{m.stem}.*")) or background.is_compiled(m)
    assert not (cache / background.STAGING).exists()
    failed = [m for m in modules if background.failed(m)]
    assert modules[9] in failed, "the long compile finished within 1 s: the limit was not exercised"
    again = JsfxProcessor(load_effect(paths[modules.index(failed[0])]), 44100, 2)
    assert again.promotion is not None and not again.promotion.active  # remembered: not tried again
    assert background.start(failed[0], "again") is False


def test_a_compile_past_its_memory_ceiling_gives_up_cleanly(tmp_path, cache, monkeypatch):
    monkeypatch.setattr(background, "memory_ceiling", lambda: 200 << 20)  # numba alone needs more
    effect = load_effect(_effect(tmp_path))
    monkeypatch.setenv("REABRIDGE_JSFX_NATIVE", "wait")
    p = JsfxProcessor(effect, 44100, 2)
    assert p.native is None  # the render goes on, on the interpreter
    module = native.eligible(p.program)
    assert background.failed(module)["reason"] == "the compile needed more than its 0.2 GB memory ceiling"
    assert not (cache / "__pycache__").exists() and not (cache / background.STAGING).exists()


def test_a_library_the_ceiling_refused_to_map_is_out_of_memory():
    """Under the address-space ceiling the loader fails to map llvmlite; llvmlite words it as "could not find"."""
    try:
        try:
            raise OSError("libllvmlite.so: failed to map segment from shared object")
        except OSError as inner:
            raise OSError("Could not find/load shared object file 'libllvmlite.so'") from inner
    except OSError as outer:
        assert background._out_of_memory(outer)
    assert not background._out_of_memory(OSError("Could not find/load shared object file 'libllvmlite.so'"))
    assert _compiles(str(cache)) == (0, 0)


def test_the_cache_command_lists_and_clears_but_keeps_a_running_compile(tmp_path, cache):
    compiled = JsfxProcessor(load_effect(_effect(tmp_path, 1)), 44100, 2)
    module = compiled.promotion.path  # as a finished compile leaves it (its machine code faked: listing only)
    native.write_module(compiled.program, module, "gain 1")
    (cache / "__pycache__").mkdir()
    for name in ("run-11", "process-32"):
        (cache / "__pycache__" / f"{module.stem}.{name}.py311.nbi").write_bytes(b"index")
        (cache / "__pycache__" / f"{module.stem}.{name}.py311.1.nbc").write_bytes(b"machine code")
    module.with_suffix(".json").write_text(json.dumps({"effect": "gain 1", "seconds": 12.5, "peak_mb": 321}))
    busy = JsfxProcessor(load_effect(_effect(tmp_path, 2)), 44100, 2)
    busy.process(X)
    busy.promotion.save()
    native.write_module(busy.program, busy.promotion.path, "gain 2")
    runner = CliRunner()
    shown = runner.invoke(app, ["jsfx", "cache"], env={"COLUMNS": "200"})
    assert shown.exit_code == 0, shown.output
    lines = shown.output.splitlines()
    assert any("native" in line and "gain 1" in line and "compiled in 12.5 s, peak 321 MB" in line
               for line in lines), shown.output
    assert any("interpreted" in line and "gain 2" in line for line in lines), shown.output
    # a compile of 'gain 2' under way (its lock held, its status written): --clear leaves its files whole
    fd = os.open(cache / background.LOCK, os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)
    (cache / background.STATUS).write_text(json.dumps({"pid": 4242, "effect": "gain 2", "started": time.time() - 75,
                                                       "module": busy.promotion.path.name}))
    try:
        listed = contents(cache)
        assert [e.kind for e in listed.entries if e.effect == "gain 2"] == ["compiling"]
        shown = runner.invoke(app, ["jsfx", "cache"], env={"COLUMNS": "200"})
        assert "compiling now: gain 2 (pid 4242, running for 75 s)" in shown.output, shown.output
        cleared = runner.invoke(app, ["jsfx", "cache", "--clear"], env={"COLUMNS": "200"})
        assert cleared.exit_code == 0
        assert "kept the compile under way (pid 4242, gain 2); run again when it has ended" in cleared.output
        assert busy.promotion.path.exists() and not list(cache.glob("jsfx_*.json"))
        assert not background.is_compiled(module) and not module.exists()
    finally:
        os.close(fd)
    done = clear(cache)
    assert done.kept is None and done.removed >= 2
    assert sorted(p.name for p in cache.iterdir()) == ["__pycache__", background.LOCK]
    assert runner.invoke(app, ["jsfx", "cache"]).output.startswith("nothing cached in")
