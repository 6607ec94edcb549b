"""The command line: help, project info, clear one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import RPP_FILES, corpus_rpp

from bridge.changes import AddTrack, ChangeSet


def run(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bridge", *args], capture_output=True, text=True, cwd=cwd,
                          env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"}, timeout=120)


def test_help_lists_every_command_with_one_line():
    out = run("--help")
    assert out.returncode == 0
    for command in ("demo", "project"):
        assert any(line.strip("│ ").startswith(command + " ") for line in out.stdout.splitlines()), command


@pytest.mark.parametrize("command", [("project", "info"), ("project", "apply"), ("demo",)])
def test_every_command_has_help_with_an_example(command):
    out = run(*command, "--help")
    assert out.returncode == 0
    assert "Example: reabridge " + " ".join(command) in " ".join(out.stdout.split())


def test_project_info_json_has_one_track_entry_per_track():
    path = corpus_rpp("gman-testspace.rpp")
    out = run("project", "info", str(path), "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert len(data["tracks"]) == 30
    assert data["tracks"][2]["name"] == "keys-center-wall" and data["tracks"][2]["depth"] == 2
    assert data["tempo"]["bpm"] == 120.0
    assert len(data["missing_media"]) == 9


def test_project_info_table_flags_missing_media():
    out = run("project", "info", str(corpus_rpp("Journeys_Juxtaposed.rpp")))
    assert out.returncode == 0
    assert "7/8" in out.stdout
    assert "2 media files not found" in out.stdout


@pytest.mark.parametrize("path", RPP_FILES[:6], ids=lambda p: p.name)
def test_project_info_runs_on_corpus(path):
    assert run("project", "info", str(path)).returncode == 0


def test_broken_project_gives_one_clear_line(tmp_path):
    bad = tmp_path / "cut.RPP"
    bad.write_bytes(corpus_rpp("Perlence__rpp__vst.RPP").read_bytes()[:3000])
    out = run("project", "info", str(bad))
    assert out.returncode == 1
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert lines[0].startswith("error: line ") and "truncated" in lines[0]
    assert "Traceback" not in out.stderr


def test_debug_shows_the_traceback(tmp_path):
    bad = tmp_path / "empty.RPP"
    bad.write_text("")
    out = run("--debug", "project", "info", str(bad))
    assert out.returncode != 0 and "Traceback" in out.stderr and "RppError" in out.stderr


def test_missing_file_is_one_line(tmp_path):
    out = run("project", "info", str(tmp_path / "nope.RPP"))
    assert out.returncode == 1 and out.stderr.count("\n") == 1 and "cannot read" in out.stderr


def test_project_apply_is_idempotent(project_copy, tmp_path):
    target = project_copy("ZoeB__midi-tools__test.RPP")
    cs = tmp_path / "cs.json"
    cs.write_text(ChangeSet("cli-1", (AddTrack("From CLI"),)).to_json())
    first = run("project", "apply", str(target), str(cs))
    assert first.returncode == 0 and "applied cli-1" in first.stdout
    second = run("project", "apply", str(target), str(cs))
    assert second.returncode == 0 and "already applied" in second.stdout
    assert target.read_bytes().count(b"NAME \"From CLI\"") == 1


@pytest.mark.parametrize("columns", [80, 60])
def test_project_info_tables_fit_the_terminal(columns):
    path = corpus_rpp("permaRED.rpp")
    out = subprocess.run([sys.executable, "-m", "bridge", "project", "info", str(path), "--items"],
                         capture_output=True, text=True, env={"COLUMNS": str(columns), "PATH": "/usr/bin:/bin"},
                         timeout=120)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    tables = [line for line in lines if not line.startswith(str(path))]  # the title line is the path itself
    assert max(len(line.rstrip()) for line in tables) <= columns
    assert any("{29E6A51D-C6CC-47E2-91A0-471F67902D4E}" in line for line in lines)  # GUIDs whole, on one line
    assert any(line.split()[:2] == ["track", "position"] for line in lines)  # headers never broken mid-word
