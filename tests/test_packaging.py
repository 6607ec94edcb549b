"""A wheel installed anywhere finds its assets (presets, captures, JSFX, Lua scripts) as package data, and works
without the ``train`` extra (everything but ``amp capture``), bundled captures by name included."""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import numpy as np
import soundfile as sf
from conftest import REPO
from test_amp_without_training import HIDER, train_only_modules


def _source_copy(target: Path) -> Path:
    """The checkout's files (tracked and new, not ignored) copied elsewhere: the build never writes into it."""
    listed = subprocess.check_output(["git", "-C", str(REPO), "ls-files", "-z", "--cached", "--others",
                                      "--exclude-standard"], text=True)
    for name in filter(None, listed.split("\0")):
        src = REPO / name
        if src.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, target / name)
    return target


def test_wheel_in_a_scratch_venv_runs_a_job_from_another_folder(tmp_path):
    wheels = tmp_path / "wheels"
    source = _source_copy(tmp_path / "source")
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                            "-w", str(wheels), str(source)], capture_output=True, text=True, timeout=600,
                           cwd=tmp_path)
    assert build.returncode == 0, build.stderr
    (wheel,) = wheels.glob("reabridge-*.whl")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    where = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    site = Path(subprocess.check_output([str(python), "-c", where], text=True).strip())
    # the dependencies come from the test environment's site-packages (a path entry: its .pth files,
    # among them the editable install of this checkout, are not processed)
    (site / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    install = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q",
                              str(wheel)], capture_output=True, text=True, timeout=600)
    assert install.returncode == 0, install.stderr
    # a plain install, without the train extra: what only PyTorch and neural-amp-modeler bring is not importable
    (site / "_no_train_extra.py").write_text(HIDER.format(hidden=sorted(train_only_modules())))
    (site / "_no_train_extra.pth").write_text("import _no_train_extra\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    probe = subprocess.run(
        [str(python), "-c", "import bridge, bridge.assets as a; print(bridge.__file__); "
         "print(a.presets_dir()); print(a.captures_dir()); print(a.jsfx_dir()); print(a.reaper_scripts_dir())"],
        capture_output=True, text=True, cwd=elsewhere, timeout=120)
    assert probe.returncode == 0, probe.stderr
    paths = [Path(p) for p in probe.stdout.split()]
    assert all(str(p).startswith(str(site)) for p in paths), paths  # the wheel's copies, not the checkout's
    assert (paths[1] / "streaming.toml").is_file() and list(paths[2].glob("*.nam"))
    assert (paths[3] / "reabridge_master_streaming.jsfx").is_file()
    assert (paths[4] / "request.schema.json").is_file()
    no_torch = subprocess.run([str(python), "-c", "import torch"], capture_output=True, text=True, cwd=elsewhere)
    assert no_torch.returncode == 1 and "No module named 'torch'" in no_torch.stderr
    # one whole job from an unrelated folder: the demo (bundled capture, presets, JSFX generator)
    demo = subprocess.run([str(venv / "bin" / "reabridge"), "demo", "--folder", "demo"], capture_output=True,
                          text=True, cwd=elsewhere, timeout=600)
    assert demo.returncode == 0, demo.stderr
    assert (elsewhere / "demo" / "out" / "demo-processed.RPP").is_file()
    assert "reabridge Crunch" in (elsewhere / "demo" / "out" / "demo-processed.RPP").read_text()
    (elsewhere / "R").mkdir()
    t = np.arange(24000) / 48000
    sf.write(elsewhere / "di.wav", (0.3 * np.sin(2 * np.pi * 110 * t)).astype(np.float32), 48000)
    amp = subprocess.run([str(venv / "bin" / "reabridge"), "amp", "render", "di.wav", "--model", "reabridge Crunch",
                          "-o", "crunch.wav"], capture_output=True, text=True, cwd=elsewhere, timeout=300)
    assert amp.returncode == 0, amp.stderr
    assert sf.info(elsewhere / "crunch.wav").frames == 24000
    train = subprocess.run([str(venv / "bin" / "reabridge"), "amp", "capture", "--di", "di.wav", "--reamp", "di.wav",
                            "-o", "new.nam"], capture_output=True, text=True, cwd=elsewhere, timeout=300)
    assert train.returncode == 1 and "install them with pip install 'reabridge[train]'" in train.stderr
    assert not (elsewhere / "new.nam").exists()
    install_fx = subprocess.run([str(venv / "bin" / "reabridge"), "jsfx", "install", "--resource-path", "R"],
                                capture_output=True, text=True, cwd=elsewhere, timeout=120)
    assert install_fx.returncode == 0, install_fx.stderr
    assert len(list((elsewhere / "R" / "Effects" / "reabridge").glob("*.jsfx"))) == 5
