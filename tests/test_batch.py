"""``reabridge batch``: folders of projects rendered and mastered, resumed, on a process pool or Dask."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from conftest import REPO
from daemon_helpers import env, song

from bridge.batch.runner import BatchError, find_projects


def batch(*args: str, extra_env: dict[str, str] | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bridge", "batch", *args], capture_output=True, text=True,
                          env=env(**(extra_env or {})), timeout=timeout)


@pytest.fixture(scope="module")
def songs(tmp_path_factory):
    """Three small projects (one of them with its media gone) in nested folders."""
    root = tmp_path_factory.mktemp("songs")
    for name in ("alpha", "beta", "gamma"):
        song(root / "album" / name, seconds=3.0)
    (root / "album" / "gamma" / "Media" / "keys.wav").unlink()
    return root


def _csv(out: Path) -> dict[str, dict[str, str]]:
    with open(out / "batch.csv", newline="") as fh:
        return {row["name"]: row for row in csv.DictReader(fh)}


def test_local_batch_masters_reports_and_resumes(songs, tmp_path):
    out = tmp_path / "out"
    run = batch(str(songs), "--out", str(out), "--jobs", "2", "--preset", "streaming", "--keep-mix")
    assert run.returncode == 1, run.stderr  # one project failed: the exit code says so
    assert "2 mastered, 0 up to date, 1 failed" in run.stdout
    rows = _csv(out)
    assert set(rows) == {"alpha_song", "beta_song", "gamma_song"}
    assert rows["gamma_song"]["status"] == "failed" and "keys.wav, which is missing" in rows["gamma_song"]["reason"]
    for name in ("alpha_song", "beta_song"):
        row = rows[name]
        assert row["status"] == "done" and abs(float(row["master_lufs"]) + 14.0) <= 0.1
        assert float(row["master_true_peak_dbtp"]) <= -1.0
        summary = json.loads((out / f"{name}.json").read_text())
        assert summary["status"] == "done" and summary["render"]["renderer"] == "offline"
        assert (out / f"{name}.master.wav").is_file() and (out / f"{name}.mix.wav").is_file()
    assert (out / "batch.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "failed gamma_song:" in run.stderr
    assert not list(out.glob(".*"))  # no temporaries left
    stamps = {p.name: p.stat().st_mtime_ns for p in out.glob("*.master.wav")}

    again = batch(str(songs), "--out", str(out), "--jobs", "2", "--preset", "streaming", "--keep-mix")
    assert "0 mastered, 2 up to date, 1 failed" in again.stdout
    assert {p.name: p.stat().st_mtime_ns for p in out.glob("*.master.wav")} == stamps  # untouched

    # a changed recording makes its project run again; another setting makes all run again
    keys = songs / "album" / "beta" / "Media" / "keys.wav"
    data, rate = sf.read(keys)
    sf.write(keys, data * 0.5, rate)
    third = batch(str(songs), "--out", str(out), "--jobs", "2", "--preset", "streaming", "--keep-mix")
    assert "1 mastered, 1 up to date, 1 failed" in third.stdout
    assert _csv(out)["beta_song"]["status"] == "done"


def test_dask_gives_the_same_bytes_as_the_local_pool(songs, tmp_path):
    local, dask = tmp_path / "local", tmp_path / "dask"
    projects = [str(songs / "album" / n / "song.RPP") for n in ("alpha", "beta")]
    a = batch(*projects, "--out", str(local), "--jobs", "1", "--target-lufs", "-16", "--ceiling", "-1.5")
    b = batch(*projects, "--out", str(dask), "--jobs", "2", "--executor", "dask", "--target-lufs", "-16",
              "--ceiling", "-1.5")
    assert a.returncode == 0 and b.returncode == 0, (a.stderr, b.stderr)
    for name in ("alpha_song", "beta_song"):
        assert (local / f"{name}.master.wav").read_bytes() == (dask / f"{name}.master.wav").read_bytes()
        assert abs(float(_csv(dask)[name]["master_lufs"]) + 16.0) <= 0.1


def _standin_reaper(tmp_path: Path) -> Path:
    exe = tmp_path / "reaper"
    exe.write_text(f"#!{sys.executable}\nimport sys\nsys.path.insert(0, {str(REPO)!r})\n"
                   "from tests.standin.reaper_cli import main\nsys.exit(main(sys.argv[1:]))\n")
    exe.chmod(0o755)
    return exe


def test_reaper_renderer_works_on_a_copy_and_handles_failures(songs, tmp_path):
    exe = _standin_reaper(tmp_path)
    log = tmp_path / "calls.jsonl"
    project = songs / "album" / "alpha" / "song.RPP"
    before = project.read_bytes()
    out = tmp_path / "out"
    run = batch(str(project), "--out", str(out), "--renderer", "reaper", "--reaper", str(exe), "--keep-mix",
                extra_env={"STANDIN_REAPER_LOG": str(log)})
    assert run.returncode == 0, run.stdout + run.stderr
    [argv] = [json.loads(line) for line in log.read_text().splitlines()]
    assert argv[:2] == ["-nosplash", "-renderproject"]
    copy = Path(argv[2])
    assert copy.parent == project.parent and copy.name.startswith(".song.reabridge-render-") and not copy.exists()
    assert project.read_bytes() == before  # the user's file is never edited
    mix, _ = sf.read(out / "song.mix.wav")
    assert np.max(np.abs(mix)) > 0.05 and json.loads((out / "song.json").read_text())["render"]["renderer"] == "reaper"

    for mode, reason in [("fail", "REAPER did not render song.RPP (exit code 3: stand-in: could not open the audio "
                                  "device)"),
                         ("nothing", "REAPER did not render song.RPP (exit code 0: no output)"),
                         ("hang", "REAPER did not finish rendering song.RPP within 3 s")]:
        bad = tmp_path / f"out-{mode}"
        run = batch(str(project), "--out", str(bad), "--renderer", "reaper", "--reaper", str(exe), "--timeout", "3",
                    extra_env={"STANDIN_REAPER_MODE": mode})
        assert run.returncode == 1
        assert _csv(bad)["song"]["reason"] == reason
        assert sorted(p.name for p in project.parent.iterdir() if p.name.startswith(".")) == []
    run = batch(str(project), "--out", str(tmp_path / "x"), "--renderer", "reaper", "--reaper",
                str(tmp_path / "no-reaper"))
    assert run.returncode == 1 and "REAPER's executable" in _csv(tmp_path / "x")["song"]["reason"]


def test_bad_input_is_one_line(songs, tmp_path):
    (tmp_path / "notes.txt").write_text("hi")
    (tmp_path / "empty").mkdir()
    (tmp_path / "file").write_text("")
    for args, message in [
        ([str(tmp_path / "nowhere")], "does not exist"),
        ([str(tmp_path / "notes.txt")], "is not a REAPER project (.RPP)"),
        ([str(tmp_path / "empty")], "no REAPER projects (.RPP) found in"),
        ([str(songs), "--executor", "spark"], "--executor must be one of local, dask, not 'spark'"),
        ([str(songs), "--scheduler", "tcp://x:8786"], "--scheduler works with --executor dask"),
        ([str(songs), "--out", str(tmp_path / "file")], "is a file, not a folder"),
    ]:
        run = batch(*args, "--out", str(tmp_path / "o")) if "--out" not in args else batch(*args)
        assert run.returncode != 0 and message in run.stderr, (args, run.stderr)
        assert len(run.stderr.strip().splitlines()) == 1, run.stderr


def test_project_names_are_unique(tmp_path):
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "song.RPP").write_text("<REAPER_PROJECT\n>\n")
    (tmp_path / "a" / "other.rpp").write_text("<REAPER_PROJECT\n>\n")
    assert sorted(find_projects([tmp_path])) == ["a_song", "b_song", "other"]
    with pytest.raises(BatchError):
        find_projects([tmp_path / "missing"])
    assert os.path.isdir(tmp_path)
