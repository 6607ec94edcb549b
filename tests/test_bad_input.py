"""Bad input, every command: exit code non-zero, one line on stderr, no traceback, inputs unchanged, no new files.

Each case runs the real command line (in this process, for speed) in a folder
holding a musician's files: recordings, a project, captures, effects, presets.
Before and after, every file in the folder is hashed: a refused command must
leave all of them, and nothing else, behind.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from audio_signals import melody
from conftest import corpus_files
from daemon_helpers import env, song

from bridge.assets import jsfx_dir, presets_dir

ITEM = "{00000000-0000-4000-8000-0000000000B1}"
MISSING = "{00000000-1111-4000-8000-000000000000}"
LONG = "x" * 300 + ".mid"


def make_kit(folder: Path) -> Path:
    """A folder as a musician has one."""
    song(folder, seconds=3.0)  # song.RPP + Media/keys.wav
    sf.write(folder / "a.wav", melody(22050, 3.0), 22050, subtype="PCM_16")
    sf.write(folder / "b.wav", melody(22050, 1.0), 22050, subtype="PCM_16")
    stereo = np.stack([melody(44100, 3.0), melody(44100, 3.0) * 0.8], axis=1)
    sf.write(folder / "mix.wav", stereo, 44100, subtype="PCM_24")
    sf.write(folder / "ref.wav", stereo * 0.5, 44100, subtype="PCM_24")
    sf.write(folder / "di.wav", melody(48000, 6.0), 48000)
    sf.write(folder / "re.wav", np.tanh(3 * melody(48000, 6.0)), 48000)
    sf.write(folder / "onehz.wav", np.zeros(10), 1)
    nano = next(p for p in corpus_files("nam", ".nam") if p.name.endswith("BossWN-nano.nam"))
    shutil.copy(nano, folder / "amp.nam")
    data = json.loads(nano.read_text())
    data["weights"][3] = float("nan")
    (folder / "nan.nam").write_text(json.dumps(data))
    for name, rate in (("rate0.nam", 0), ("ratetext.nam", "fast"), ("rateneg.nam", -48000)):
        data = json.loads(nano.read_text())
        data["sample_rate"] = rate
        (folder / name).write_text(json.dumps(data))
    shutil.copy(jsfx_dir() / "reabridge_master_gentle.jsfx", folder / "fx.jsfx")
    (folder / "empty.jsfx").write_text("")
    (folder / "binary.jsfx").write_bytes(b"RIFF\x00\x01\x02binary\x00" * 20)
    shutil.copy(presets_dir() / "streaming.toml", folder / "preset.toml")
    (folder / "existing.mid").write_bytes(b"MThd\x00\x00\x00\x06\x00\x00\x00\x01\x01\xe0")
    (folder / "adir.mid").mkdir()
    os.mkfifo(folder / "fifo.mid")
    os.mkfifo(folder / "fifo.wav")
    (folder / "R").mkdir()
    (folder / "changes.json").write_text(json.dumps(
        {"id": "c1", "ops": [{"op": "add_track", "name": "x", "guid": "not-a-guid"}]}))
    return folder


def snapshot(folder: Path) -> dict[str, str]:
    """Every entry under ``folder``: a hash for files, the kind for anything else (a pipe is never read)."""
    out = {}
    for path in sorted(folder.rglob("*")):
        mode = path.lstat().st_mode
        key = str(path.relative_to(folder))
        out[key] = hashlib.sha256(path.read_bytes()).hexdigest() if stat.S_ISREG(mode) else oct(stat.S_IFMT(mode))
    return out


def run_cli(args: list[str], capsys) -> tuple[int, str, str]:
    from bridge.cli.app import main
    from bridge.cli.common import state

    state.debug = False
    with pytest.raises(SystemExit) as info:
        main(list(args))
    out = capsys.readouterr()
    return int(info.value.code or 0), out.out, out.err


ST = ("--project", "song.RPP")
CASES = [
    # outputs never destroy anything
    (["transcribe", "a.wav", "-o", "a.wav"], "would hold a MIDI file"),
    (["transcribe", "a.wav", "-o", "b.wav"], "would hold a MIDI file"),
    (["transcribe", "a.wav", "-o", "existing.mid"], "already exists; use --overwrite (-y)"),
    (["transcribe", "a.wav", "-o", "fifo.mid", "-y"], "is a pipe"),
    (["transcribe", "a.wav", "-o", "adir.mid", "-y"], "is a folder"),
    (["transcribe", "a.wav", "-o", "/dev/full"], "--output: /dev/full is a device"),
    (["transcribe", "a.wav", "-o", "nodir/x.mid"], "does not exist"),
    (["transcribe", "a.wav", "-o", LONG], "bytes long"),
    (["amp", "render", "a.wav", "-m", "amp.nam", "-o", "a.wav"], "one of this command's inputs"),
    (["amp", "render", "a.wav", "-m", "amp.nam", "-o", "amp.nam"], "would hold audio"),
    (["amp", "render", "a.wav", "-m", "amp.nam", "-o", "fifo.wav", "-y"], "is a pipe"),
    (["amp", "render", "a.wav", "-m", "amp.nam", "-o", "/dev/full"], "--output: /dev/full is a device"),
    (["amp", "capture", "--di", "di.wav", "--reamp", "re.wav", "-o", "di.wav"], "would hold an amp capture"),
    (["amp", "capture", "--di", "di.wav", "--reamp", "re.wav", "-o", "amp.nam"], "already exists"),
    (["master", "mix.wav", "-o", "mix.wav"], "one of this command's inputs"),
    (["master", "mix.wav", "--reference", "ref.wav", "-o", "ref.wav"], "one of this command's inputs"),
    (["master", "mix.wav", "--report", "b.wav"], "is a file, not a folder"),
    (["master", "mix.wav", "-o", "nodir/m.wav"], "does not exist"),
    (["master", *ST, "--item", ITEM, "--report", "song.RPP"], "one of this command's inputs"),
    (["master", *ST, "--item", ITEM, "--insert-jsfx", "--resource-path", "missing"], "does not exist"),
    (["jsfx", "render", "fx.jsfx", "a.wav", "-o", "a.wav"], "one of this command's inputs"),
    (["jsfx", "render", "fx.jsfx", "a.wav", "-o", "nodir/o.wav"], "does not exist"),
    (["jsfx", "generate", "-o", "mix.wav"], "would hold a JSFX effect"),
    (["jsfx", "generate", "-o", "fx.jsfx"], "already exists"),
    (["jsfx", "generate", "-o", "/dev/null"], "is a device"),
    (["jsfx", "install", "a.wav", "--resource-path", "R"], "not a JSFX effect"),
    (["requests", "schema", "-o", "a.wav"], "would hold JSON"),
    # no NaN, Inf or garbage
    (["amp", "render", "a.wav", "-m", "amp.nam", "--gain", "nan"], "--gain: must be a finite number"),
    (["amp", "render", "a.wav", "-m", "amp.nam", "--gain", "1000"], "--gain: must be at most 60"),
    (["amp", "render", "a.wav", "-m", "amp.nam", "--input-level", "nan"], "--input-level: must be a finite"),
    (["amp", "render", "a.wav", "-m", "amp.nam", "--size", "2"], "--size: must be at most 1"),
    (["amp", "render", "a.wav", "-m", "nan.nam"], "is nan, not a number"),
    (["amp", "info", "nan.nam"], "is nan, not a number"),
    (["amp", "render", "a.wav", "-m", "rate0.nam"], "sample_rate 0 is not a usable rate"),
    (["amp", "render", "a.wav", "-m", "ratetext.nam"], "sample_rate 'fast' is not a usable rate"),
    (["amp", "render", "a.wav", "-m", "rateneg.nam"], "sample_rate -48000"),
    (["jsfx", "render", "fx.jsfx", "a.wav", "-o", "o.wav", "--slider", "1=nan"], "--sliders.1: must be a finite"),
    (["jsfx", "render", "fx.jsfx", "a.wav", "-o", "o.wav", "--slider", "1=inf"], "--sliders.1: must be a finite"),
    # one clear line, never a traceback
    (["transcribe", "a.wav", "--midi-tempo", "0"], "--midi-tempo: must be at least 1"),
    (["transcribe", "a.wav", "--midi-tempo", "-120"], "--midi-tempo: must be at least 1"),
    (["transcribe", "a.wav", "--midi-tempo", "nan"], "--midi-tempo: must be a finite number"),
    (["transcribe", "a.wav", "--midi-tempo", "inf"], "--midi-tempo: must be a finite number"),
    (["transcribe", "a.wav", "--minimum-note-length", "-100"], "--minimum-note-length: must be at least 0"),
    (["transcribe", "a.wav", "--minimum-frequency", "-50"], "--minimum-frequency: must be above 0"),
    (["transcribe", "a.wav", "--onset-threshold", "1.5"], "--onset-threshold: must be at most 1"),
    (["transcribe", "a.wav", "--frame-threshold", "-0.2"], "--frame-threshold: must be at least 0"),
    (["transcribe", "onehz.wav"], "sample rate is 1 Hz"),
    (["tempo", "onehz.wav"], "sample rate is 1 Hz"),
    (["master", "onehz.wav"], "sample rate is 1 Hz"),
    (["master", "mix.wav", "--sample-rate", "-44100"], "--sample-rate: must be at least 8000"),
    (["master", "mix.wav", "--sample-rate", "1"], "--sample-rate: must be at least 8000"),
    (["master", "mix.wav", "--sample-rate", "0"], "--sample-rate: must be at least 8000"),
    (["master", "mix.wav", "--sample-rate", "10000000"], "--sample-rate: must be at most 384000"),
    (["master", "mix.wav", "--target-lufs", "nan"], "--target-lufs: must be a finite"),
    (["master", "mix.wav", "--preset-file", "a.wav"], "not a text (TOML) file"),
    (["master", "mix.wav", "--preset", "loud"], "no preset named 'loud'"),
    (["tempo", *ST, "--item", MISSING], f"no item with GUID {MISSING}"),
    (["tempo", *ST, "--item", ITEM, "--map"], "--map: a tempo map is only written with apply"),
    (["transcribe", *ST, "--item", "BADGUID"], "--item.0: must be a GUID"),
    (["jsfx", "render", "empty.jsfx", "a.wav", "-o", "o.wav"], "empty.jsfx is not a JSFX effect"),
    (["jsfx", "render", "binary.jsfx", "a.wav", "-o", "o.wav"], "binary.jsfx is not a JSFX effect"),
    (["jsfx", "info", "binary.jsfx"], "binary.jsfx is not a JSFX effect"),
    (["jsfx", "insert", "empty.jsfx", *ST], "empty.jsfx is not a JSFX effect"),
    (["project", "apply", "song.RPP", "changes.json"], "must be a GUID"),
    (["project", "info", "missing.RPP"], "cannot read"),
    (["requests", "run", "a.wav"], "not UTF-8"),
    (["submit", "transcribe", "a.wav", "--onset-threshold", "2", "--spool", "sp"], "--onset-threshold"),
    (["transcribe", "a.wav", "--bogus"], "No such option: --bogus"),
    (["transcribe"], "give an audio file to transcribe"),
    # user text is never read as markup
    (["transcribe", "Mix [v2].wav"], "Mix [v2].wav does not exist"),
    (["transcribe", *ST, "--track", "[/Drums]"], "no track named '[/Drums]'"),
    (["transcribe", *ST, "--track", "Drums [live]"], "no track named 'Drums [live]'"),
    (["master", "mix.wav", "--preset-file", "[bold]x.toml"], "[bold]x.toml does not exist"),
]


@pytest.mark.parametrize(("args", "words"), CASES, ids=[" ".join(a)[:70] for a, _ in CASES])
def test_bad_input_is_one_line_and_changes_nothing(args, words, tmp_path, monkeypatch, capsys):
    kit = make_kit(tmp_path)
    monkeypatch.chdir(kit)
    before = snapshot(kit)
    code, out, err = run_cli(args, capsys)
    assert code != 0, out + err
    assert "Traceback" not in err + out
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert words in err, err
    assert snapshot(kit) == before


def test_the_same_inputs_work_when_asked_properly(tmp_path, monkeypatch, capsys):
    """The kit itself is fine: replacing an existing output with -y works, and only that file changes."""
    kit = make_kit(tmp_path)
    monkeypatch.chdir(kit)
    before = snapshot(kit)
    code, _, err = run_cli(["transcribe", "a.wav", "-o", "existing.mid", "-y"], capsys)
    assert code == 0, err
    after = snapshot(kit)
    assert {k for k in after if after[k] != before.get(k)} == {"existing.mid"}
    assert os.stat(kit / "existing.mid").st_mode & 0o777 == 0o644  # it keeps its permissions


def test_a_read_only_project_is_refused_before_any_work(tmp_path, monkeypatch, capsys):
    kit = make_kit(tmp_path)
    monkeypatch.chdir(kit)
    project = kit / "song.RPP"
    locked = subprocess.run(["chattr", "+i", str(project)], capture_output=True) if os.geteuid() == 0 else None
    if locked is None or locked.returncode != 0:
        project.chmod(0o444)
    try:
        before = snapshot(kit)
        code, _, err = run_cli(["amp", "render", *ST, "--item", ITEM, "-m", "amp.nam"], capsys)
        assert code == 1 and "song.RPP is read-only or locked; nothing was done" in err, err
        assert snapshot(kit) == before  # no render in Media/, no -bak
    finally:
        if locked is not None and locked.returncode == 0:
            subprocess.run(["chattr", "-i", str(project)], check=True)
        project.chmod(0o644)


def test_a_symlinked_project_is_written_where_it_points(tmp_path, monkeypatch, capsys):
    kit = make_kit(tmp_path)
    monkeypatch.chdir(kit)
    (kit / "link.RPP").symlink_to(kit / "song.RPP")
    code, _, err = run_cli(["jsfx", "insert", "fx.jsfx", "--project", "link.RPP", "--no-install"], capsys)
    assert code == 0, err
    assert (kit / "link.RPP").is_symlink() and "<JS reabridge/fx.jsfx" in (kit / "song.RPP").read_text()
    assert (kit / "song.RPP-bak").is_file() and not (kit / "link.RPP-bak").exists()


def test_outputs_get_normal_permissions(tmp_path, monkeypatch, capsys):
    kit = make_kit(tmp_path)
    monkeypatch.chdir(kit)
    old = os.umask(0o022)
    try:
        code, _, err = run_cli(["amp", "render", "a.wav", "-m", "amp.nam", "-o", "amp.wav"], capsys)
    finally:
        os.umask(old)
    assert code == 0, err
    assert os.stat(kit / "amp.wav").st_mode & 0o777 == 0o644


def test_sigterm_during_master_leaves_nothing(tmp_path):
    kit = tmp_path
    long = np.tile(np.stack([melody(44100, 6.0), melody(44100, 6.0)], axis=1), (40, 1))  # 4 minutes
    sf.write(kit / "long.wav", long, 44100, subtype="PCM_24")
    before = snapshot(kit)
    proc = subprocess.Popen([sys.executable, "-m", "bridge", "master", "long.wav", "--report", "rep"], cwd=kit,
                            env={**env(), "REABRIDGE_PROGRESS": "lines"}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    first = proc.stderr.readline()  # the job's first progress line: it has started, and is far from done
    assert first.startswith("progress: "), (first, proc.communicate())
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "interrupted; nothing half-done was written" in err
    assert snapshot(kit) == before


def test_a_truncated_file_is_used_with_a_warning(tmp_path, monkeypatch, capsys):
    kit = make_kit(tmp_path)
    monkeypatch.chdir(kit)
    data = (kit / "mix.wav").read_bytes()
    (kit / "cut.wav").write_bytes(data[: len(data) // 2])
    code, out, err = run_cli(["transcribe", "cut.wav"], capsys)
    assert code == 0, err
    assert "warning: cut.wav is shorter than its header says" in out and "was cut off" in out


def test_version_and_debug_after_the_command(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    code, out, _ = run_cli(["--version"], capsys)
    assert code == 0 and out.startswith("reabridge ")
    from bridge.cli.app import main

    with pytest.raises(Exception, match="cannot read"):  # --debug anywhere: the real exception, with its traceback
        main(["project", "info", "missing.RPP", "--debug"])
    capsys.readouterr()
    with pytest.raises(SystemExit) as info:  # the next call (same process, as the MCP server and tests make) is plain
        main(["project", "info", "missing.RPP"])
    err = capsys.readouterr().err
    assert info.value.code == 1 and err.count("\n") == 1 and "cannot read" in err


def test_lstm_renders_use_one_blas_thread(tmp_path):
    from threadpoolctl import threadpool_info

    from bridge.amp.nam_file import load_nam
    from bridge.amp.render import AmpRenderer

    def blas_threads() -> int:  # the BLAS NumPy's matrix products run on (the wheel's own, in numpy.libs)
        return max(i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas" and "numpy" in i["filepath"])

    lstm = next(p for p in corpus_files("nam", ".nam") if p.name.endswith("BossLSTM-1x16.nam"))
    sf.write(tmp_path / "di.wav", melody(48000, 1.0), 48000)
    before, seen = blas_threads(), []
    AmpRenderer(load_nam(lstm)).render_file(tmp_path / "di.wav", tmp_path / "out.wav",
                                            progress=lambda done, total: seen.append(blas_threads()))
    assert seen and set(seen) == {1} and blas_threads() == before  # one thread while rendering, then as it was
