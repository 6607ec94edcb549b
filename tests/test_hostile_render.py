"""Crafted projects must not exhaust the machine (issue 20): render, the item jobs, batch and the render job.

A project REAPER saved never plays a take at 1e9 times its speed, puts an item at 1e12 s
or gives a track 100,000 channels. Each crafted case ends with one line naming what is
wrong, a non-zero exit and no file left behind (no ``.tmp.wav``); its neighbours inside
REAPER's ranges still render. The cases run the real command line in one child process
under resource limits (address space 3 GB, files 256 MB, CPU time), so a regression fails
the test instead of eating the machine.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from daemon_helpers import SR, env, song
from hypothesis import given
from hypothesis import strategies as st

from bridge.changes import ChangeSet, SetTempo
from bridge.project.limits import ProjectLimitError
from bridge.render.prefetch import cores
from bridge.rpp import format_number
from bridge.session import RppFileSession

ITEM = "{00000000-0000-4000-8000-0000000000B1}"
AS_LIMIT = 3 << 30
#: Runs reabridge's command line once per case in this one process, under the limits; prints JSON results
DRIVER = textwrap.dedent("""
    import io, json, os, resource, signal, sys, threading
    resource.setrlimit(resource.RLIMIT_AS, ({limit}, {limit}))
    resource.setrlimit(resource.RLIMIT_FSIZE, (256 << 20, 256 << 20))
    resource.setrlimit(resource.RLIMIT_CPU, (240, 240))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a file past the limit fails to grow instead of killing us
    from bridge.cli.app import main
    from bridge.cli.common import state

    peak = [0]
    start = threading.Thread.start

    def counted(self):
        start(self)
        peak[0] = max(peak[0], threading.active_count())

    threading.Thread.start = counted
    results = []
    for args in json.loads(sys.argv[1]):
        out, err = io.StringIO(), io.StringIO()
        sys.stdout, sys.stderr = out, err
        peak[0] = threading.active_count()
        state.debug = False
        try:
            main(args)
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        except BaseException as exc:  # reported to the test as a crash
            code = "crash"
            err.write(f"{{type(exc).__name__}}: {{exc}}")
        finally:
            sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__
        results.append({{"code": code, "out": out.getvalue(), "err": err.getvalue(), "threads": peak[0],
                         "files": sorted(os.listdir("."))}})
    print(json.dumps(results))
""").format(limit=AS_LIMIT)


def run_cases(folder: Path, cases: list[list[str]]) -> list[dict]:
    """Each command line in ``cases`` run in ``folder`` by one child process under the limits."""
    run = subprocess.run([sys.executable, "-c", DRIVER, json.dumps(cases)], cwd=folder, env=env(),
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads(run.stdout.strip().splitlines()[-1])


def crafted(folder: Path, name: str, *edits: tuple[str, str], tracks: int = 1) -> str:
    """``song.RPP`` with lines replaced (each ``old`` must be there), its track repeated ``tracks`` times."""
    text = (folder / "song.RPP").read_text()
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new)
    if tracks > 1:
        head, rest = text.split("  <TRACK", 1)
        track, tail = rest.split("  <EXTSTATE", 1)
        text = head + ("  <TRACK" + track) * tracks + "  <EXTSTATE" + tail
    (folder / f"{name}.RPP").write_text(text)
    return f"{name}.RPP"


RATE = "PLAYRATE 1 1 0 -1 0 0.0025"
POS, LEN, NCHAN, SEND = "POSITION 0\n", "LENGTH 2\n", "NCHAN 2\n", "MAINSEND 1 0\n"
# (name, edits, words in the one line): each a crafted project the render refuses before writing anything
REFUSED = [
    ("rate-1e9", [(RATE, "PLAYRATE 1e9 1 0 -1 0 0.0025")], "PLAYRATE 1e+09 is outside the range REAPER allows"),
    ("rate-1e9-varispeed", [(RATE, "PLAYRATE 1e9 0 0 -1 0 0.0025")], "PLAYRATE 1e+09"),
    ("rate-above", [(RATE, "PLAYRATE 100.5 0 0 -1 0 0.0025")], "PLAYRATE 100.5 is outside"),
    ("rate-zero", [(RATE, "PLAYRATE 0 0 0 -1 0 0.0025")], "PLAYRATE 0 is outside the range REAPER allows: 0.01 to 100"),
    ("rate-negative", [(RATE, "PLAYRATE -2 0 0 -1 0 0.0025")], "PLAYRATE -2 is outside"),
    ("rate-tiny", [(RATE, "PLAYRATE 1e-9 0 0 -1 0 0.0025")], "PLAYRATE 1e-09 is outside"),
    ("rate-inf", [(RATE, "PLAYRATE inf 0 0 -1 0 0.0025")], "PLAYRATE inf is outside"),
    ("position-1e12", [(POS, "POSITION 1e12\n")], "POSITION 1e+12 s is outside the range reabridge reads"),
    ("position-negative", [(POS, "POSITION -1e12\n")], "POSITION -1e+12 s"),
    ("position-nan", [(POS, "POSITION nan\n")], "POSITION nan s"),
    ("length-1e12", [(LEN, "LENGTH 1e12\n")], "LENGTH 1e+12 s"),
    ("length-negative", [(LEN, "LENGTH -3\n")], "LENGTH -3 s is outside"),
    ("offset-1e300", [("SOFFS 0 0", "SOFFS 1e300 0")], "SOFFS (take start offset) 1e+300 s"),
    ("nchan-100000", [(NCHAN, "NCHAN 100000\n")], "track 'Keys': NCHAN 100000 is outside the range REAPER allows: 2 "
                                                  "to 128"),
    ("nchan-129", [(NCHAN, "NCHAN 129\n")], "NCHAN 129 is outside"),
    ("nchan-zero", [(NCHAN, "NCHAN 0\n")], "NCHAN 0 is outside"),
    ("master-nchan", [("MASTER_NCH 2 2", "MASTER_NCH 100000 2")], "the master: MASTER_NCH 100000 is outside"),
    ("send-offset", [(SEND, "MAINSEND 1 -4\n")], "MAINSEND channel offset -4 is outside"),
    ("samplerate", [("SAMPLERATE 22050 1 0", "SAMPLERATE 1e9 1 0")], "SAMPLERATE 1e+09 Hz is outside"),
    ("far", [(POS, "POSITION 900000\n")], "would last 250.0 hours (0 s to 900002 s); reabridge stops at 24 hours"),
    ("stretch", [(LEN, "LENGTH 3100\n"), ("LOOP 0", "LOOP 1"), (RATE, "PLAYRATE 1.5 1 0 -1 0 0.0025")],
     "playrate with preserved pitch over 77.5 minutes of 1-channel source (reabridge stretches a take whole"),
]


@pytest.fixture(scope="module")
def kit(tmp_path_factory):
    """A 2-second song (one track playing keys.wav) and its plain render, the anchor of the neighbours."""
    folder = tmp_path_factory.mktemp("hostile")
    song(folder, seconds=2.0)
    base = run_cases(folder, [["render", "song.RPP", "-o", "base.wav"]])[0]
    assert base["code"] == 0, base
    return folder


def test_crafted_projects_end_with_one_line_and_leave_nothing(kit):
    folder = kit
    names = [crafted(folder, name, *edits) for name, edits, _ in REFUSED]
    before = sorted(os.listdir(folder))
    cases = [["render", name, "-o", "out.wav"] for name in names]
    cases.append(["render", "far.RPP", "-o", "out.wav", "--force"])  # past a day: a WAV cannot hold it
    cases.append(["render", "far.RPP", "-o", "out.w64", "--force", "--sample-rate", "384000"])  # nor the disk
    results = run_cases(folder, cases)
    words = [w for _, _, w in REFUSED]
    words += ["would be 158.8 GB, more than a WAV file can hold (4 GB); write a .w64 or .caf file",
              "would need 2764.8 GB and"]
    for args, result, expected in zip(cases, results, words, strict=True):
        lines = result["err"].strip().splitlines()
        assert result["code"] == 1 and len(lines) == 1 and expected in lines[0], (args, result)
        assert "Traceback" not in result["err"] + result["out"]
        assert result["files"] == before, (args, result["files"])  # no output, no .tmp.wav


def test_item_jobs_refuse_a_crafted_item_too(kit):
    """transcribe, tempo and master read items through the same checks."""
    name = crafted(kit, "rate-jobs", (RATE, "PLAYRATE 1e9 0 0 -1 0 0.0025"))
    before = sorted(os.listdir(kit))
    cases = [["transcribe", "--project", name, "--item", ITEM], ["tempo", "--project", name, "--item", ITEM],
             ["master", "--project", name, "--item", ITEM]]
    for args, result in zip(cases, run_cases(kit, cases), strict=True):
        lines = result["err"].strip().splitlines()
        assert result["code"] == 1 and len(lines) == 1, (args, result)
        assert "item 'keys.wav' at 0.00 s on track 'Keys': PLAYRATE 1e+09 is outside" in lines[0]
        assert result["files"] == before


def test_neighbours_inside_reapers_ranges_render(kit):
    folder = kit
    base, _ = sf.read(folder / "base.wav", dtype="float32")
    projects = {
        "rate-100": crafted(folder, "rate-100", (RATE, "PLAYRATE 100 0 0 -1 0 0.0025")),
        "rate-001": crafted(folder, "rate-001", (RATE, "PLAYRATE 0.01 0 0 -1 0 0.0025")),
        "nchan-128": crafted(folder, "nchan-128", (NCHAN, "NCHAN 128\n"), ("MASTER_NCH 2 2", "MASTER_NCH 128 2")),
        "tracks-1000": crafted(folder, "tracks-1000", tracks=1000),
        "far-range": crafted(folder, "far-range", (POS, "POSITION 900000\n")),
    }
    args = [["render", path, "-o", f"{name}.wav", "-y"] for name, path in projects.items()]
    args[-1] += ["--start", "899999"]
    results = dict(zip(projects, run_cases(folder, args), strict=True))
    for name, r in results.items():
        assert r["code"] == 0, (name, r)
    fast, _ = sf.read(folder / "rate-100.wav", dtype="float32")  # the 2 s source over in 0.02 s, then silence
    assert fast.shape == base.shape and np.max(np.abs(fast[:int(0.02 * SR)])) > 1e-3
    assert np.max(np.abs(fast[int(0.03 * SR):])) < 1e-6 and not fast[int(0.05 * SR):].any()
    slow, _ = sf.read(folder / "rate-001.wav", dtype="float32")
    assert slow.shape == base.shape and np.max(np.abs(slow)) > 0
    wide, _ = sf.read(folder / "nchan-128.wav", dtype="float32")  # a mono take lands on channels 1 and 2
    assert wide.shape == (len(base), 128)
    np.testing.assert_array_equal(wide[:, :2], base)
    assert not wide[:, 2:].any()
    many, _ = sf.read(folder / "tracks-1000.wav", dtype="float32")
    np.testing.assert_allclose(many, 1000 * base, rtol=1e-4, atol=1e-3)
    # the main thread and one decoder per core (there were 1,001 threads)
    assert results["tracks-1000"]["threads"] <= 2 + cores(), results["tracks-1000"]
    far, _ = sf.read(folder / "far-range.wav", dtype="float32")  # a late item still renders when asked for a range
    np.testing.assert_array_equal(far[SR:], base[: len(far) - SR])


def test_the_render_job_refuses_the_same_way(kit):
    """The daemon's render job is the same run_request path."""
    from conftest import run_job

    name = crafted(kit, "job-nchan", (NCHAN, "NCHAN 100000\n"))
    with pytest.raises(ProjectLimitError, match="NCHAN 100000 is outside"):
        run_job("render", project_file=kit / name, output=kit / "job.wav")
    assert not (kit / "job.wav").exists()


def test_free_disk_space_is_checked_before_the_render(kit, monkeypatch, capsys):
    """A render larger than the free space less 1 GB is refused; --force tries a FLAC (its size is an upper bound)."""
    from types import SimpleNamespace

    from bridge.cli.app import main

    monkeypatch.chdir(kit)
    monkeypatch.setattr("bridge.render.budget.shutil.disk_usage", lambda path: SimpleNamespace(free=1_000_100_000))
    for args, code, words in [(["render", "song.RPP", "-o", "disk.wav"], 1,
                               f"would need 353 kB and {kit} has 1.0 GB free (reabridge leaves 1.0 GB spare)"),
                              (["render", "song.RPP", "-o", "disk.wav", "--force"], 1, "would need 353 kB"),
                              (["render", "song.RPP", "-o", "disk.flac"], 1, "would need at most 265 kB"),
                              (["render", "song.RPP", "-o", "disk.flac", "--force"], 0, "rendered song.RPP")]:
        with pytest.raises(SystemExit) as info:
            main(args)
        out = capsys.readouterr()
        assert info.value.code == code and words in out.out + out.err, (args, out)
    assert sorted(p.name for p in kit.glob("disk.*")) == ["disk.flac"]


def _children(pid: int) -> list[int]:
    found = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            if ppid == pid:
                found.append(int(d.name))
    return found


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_text(errors="replace")
    except OSError:
        return ""


def _alive(pid: int) -> bool:
    try:
        return (Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]) != "Z"
    except OSError:
        return False


@pytest.mark.parametrize("executor", ["local", "dask"])
def test_batch_workers_die_with_the_batch(tmp_path, executor):
    songs = tmp_path / "songs"
    for n in range(3):
        song(songs / f"s{n}", seconds=2.0)
    batch = subprocess.Popen([sys.executable, "-m", "bridge", "batch", str(songs), "--out", str(tmp_path / "out"),
                              "--jobs", "2", "--executor", executor], env=env(), stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    workers: list[int] = []
    while time.monotonic() < deadline and batch.poll() is None:
        workers = [w for k in _children(batch.pid) for w in [k, *_children(k)]]
        if sum("spawn_main" in _cmdline(w) for w in workers) >= 2:
            break
        time.sleep(0.1)
    assert batch.poll() is None and len(workers) >= 2, workers
    batch.send_signal(signal.SIGKILL)
    batch.wait()
    gone_by = time.monotonic() + 5
    while any(_alive(w) for w in workers) and time.monotonic() < gone_by:
        time.sleep(0.1)
    left = [w for w in workers if _alive(w)]
    for w in left:
        os.kill(w, signal.SIGKILL)
    assert not left, f"{len(left)} of {len(workers)} worker processes outlived the batch"


def test_batch_settings_are_checked_once_before_it_starts(tmp_path):
    songs = tmp_path / "songs"
    for n in range(2):
        song(songs / f"s{n}", seconds=1.0)
    for args, words in [(["--preset", "loud"], "no preset named 'loud'; bundled presets: apple"),
                        (["--target-lufs", "100"], "--target-lufs: must be at most -3.0"),
                        (["--executor", "dask", "--scheduler", "not a url"],
                         "--scheduler 'not a url' is not a Dask scheduler address such as tcp://HOST:8786 (missing "
                         "port number")]:
        run = subprocess.run([sys.executable, "-m", "bridge", "batch", str(songs), "--out", str(tmp_path / "out"),
                              *args], env=env(), capture_output=True, text=True, timeout=120)
        lines = run.stderr.strip().splitlines()
        assert run.returncode == 1 and len(lines) == 1 and lines[0].startswith(f"error: {words}"), run.stderr
        assert not (tmp_path / "out").exists()  # nothing started


@pytest.mark.parametrize(("value", "text"), [(138.031821, "138.031821"), (138.03182100000001, "138.031821"),
                                             (12.5, "12.5"), (1 / 3, "0.33333333333333"), (0.1 + 0.2, "0.3"),
                                             (396.55764583333337, "396.55764583333337"), (2.0, "2"), (-0.0, "0"),
                                             (1e16, "10000000000000000"), (1e-20, "0")])
def test_numbers_are_written_as_reaper_writes_them(value, text):
    assert format_number(value) == text


@given(st.floats(min_value=-1e9, max_value=1e9, allow_nan=False))
def test_a_written_number_reads_back_within_reapers_14_decimals(value):
    text = format_number(value)
    assert "e" not in text and len(text.partition(".")[2]) <= 14
    assert abs(float(text) - value) <= 5e-15 * max(1.0, abs(value))
    if len(repr(value).partition(".")[2]) <= 14 and "e" not in repr(value):
        assert float(text) == value  # nothing lost when the value fits


def test_a_tempo_is_written_without_float_noise(tmp_path):
    path, _ = song(tmp_path, seconds=1.0)
    RppFileSession(path).apply(ChangeSet("tempo", (SetTempo(bpm=round(138.0318214, 6)),),
                                         created="2026-01-01T00:00:00Z"))
    assert "  TEMPO 138.031821 4 4 0\n" in path.read_text()
