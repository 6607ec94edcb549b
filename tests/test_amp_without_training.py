"""Without the ``train`` extra (PyTorch, neural-amp-modeler and what only they bring), everything but
``amp capture`` works, and ``amp capture`` and ``doctor`` say what to install.

The test environment has the extra (the fidelity tests compare with neural-amp-modeler), so
the subprocesses here hide it: a ``sitecustomize`` puts a finder first on ``sys.meta_path``
that refuses every top-level module of the distributions only the extra brings (worked out
from the installed metadata, as ``benchmarks/install_size.py`` does), exactly as if they were
not installed.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
import tomllib
from importlib import metadata
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from conftest import REPO
from packaging.markers import default_environment
from packaging.requirements import Requirement

HIDER = textwrap.dedent(
    """
    import importlib.abc, sys
    HIDDEN = frozenset({hidden!r})
    class _NotInstalled(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.partition(".")[0] in HIDDEN:
                raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
            return None
    sys.meta_path.insert(0, _NotInstalled())
    """
)


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _closure(requirements: list[str]) -> set[str]:
    installed = {_norm(d.metadata["Name"]): d for d in metadata.distributions()}
    env = {**default_environment(), "extra": ""}
    todo = [r for r in map(Requirement, requirements) if r.marker is None or r.marker.evaluate(env)]
    seen: set[str] = set()
    while todo:
        req = todo.pop()
        key = f"{_norm(req.name)}{sorted(req.extras)}"
        dist = installed.get(_norm(req.name))
        if dist is None or key in seen:
            continue
        seen.add(key)
        for spec in dist.requires or []:
            sub = Requirement(spec)
            if sub.marker is None or any(sub.marker.evaluate({**env, "extra": e}) for e in ("", *req.extras)):
                todo.append(sub)
    return {k.partition("[")[0] for k in seen}


def train_only_modules() -> set[str]:
    """Top-level import names of the distributions the train extra brings and the base does not need."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    only = _closure(project["optional-dependencies"]["train"]) - _closure(project["dependencies"])
    names: set[str] = set()
    for dist in metadata.distributions():
        if _norm(dist.metadata["Name"]) not in only:
            continue
        top = dist.read_text("top_level.txt")
        if top:
            names.update(top.split())
            continue
        for f in dist.files or []:
            head = str(f).split("/")[0]
            if not head.startswith(("..", "__")) and not head.endswith((".dist-info", ".data", ".pth")):
                names.add(head.removesuffix(".py"))
    return names


@pytest.fixture(scope="module")
def hidden(tmp_path_factory) -> tuple[Path, set[str]]:
    """A folder with the hiding ``sitecustomize``, and what it hides."""
    names = train_only_modules()
    assert {"torch", "nam", "pytorch_lightning", "transformers"} <= names
    folder = tmp_path_factory.mktemp("no-train")
    (folder / "sitecustomize.py").write_text(HIDER.format(hidden=sorted(names)))
    return folder, names


def run(folder: Path, code: str, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {"PYTHONPATH": f"{folder}:{REPO}", "PATH": "/usr/bin:/bin", "HOME": str(cwd or folder),
           "REABRIDGE_JSFX_NATIVE": "never"}
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env,
                          cwd=cwd or folder, timeout=600)


def test_the_hiding_works(hidden):
    folder, _ = hidden
    probe = run(folder, "try:\n import torch\nexcept ModuleNotFoundError as e: print('gone', e)\n"
                        "from bridge.amp.capture import missing_training; print(missing_training())")
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.splitlines() == ["gone No module named 'torch'",
                                         "['torch', 'neural-amp-modeler', 'pytorch-lightning']"]


def test_every_module_of_reabridge_imports_without_training(hidden):
    folder, _ = hidden
    walk = textwrap.dedent(
        """
        import importlib, json, pkgutil, sys, bridge
        failed = {}
        for info in pkgutil.walk_packages(bridge.__path__, "bridge."):
            if ".assets." in info.name:
                continue
            try:
                importlib.import_module(info.name)
            except Exception as exc:
                failed[info.name] = f"{type(exc).__name__}: {exc}"
        print(json.dumps({"failed": failed, "modules": len(sys.modules)}))
        """
    )
    out = run(folder, walk)
    assert out.returncode == 0, out.stderr[-3000:]
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report["failed"] == {}, report["failed"]


COMMANDS = textwrap.dedent(
    """
    import json, sys
    from bridge.cli.app import main
    codes = []
    for argv in json.loads(sys.argv[1]):
        try:
            main(argv)
            codes.append(0)
        except SystemExit as exc:
            codes.append(exc.code if isinstance(exc.code, int) else 1)
        print("<<end>>", flush=True)
        print("<<end>>", file=sys.stderr, flush=True)
    hidden = sorted(m for m in sys.modules if m.partition(".")[0] in {"torch", "nam", "pytorch_lightning"})
    print(json.dumps({"codes": codes, "hidden_loaded": hidden}))
    """
)


def test_commands_without_training_and_what_capture_says(hidden, tmp_path):
    folder, _ = hidden
    t = np.arange(48000) / 48000
    sf.write(tmp_path / "di.wav", (0.3 * np.sin(2 * np.pi * 110 * t)).astype(np.float32), 48000)
    resource = tmp_path / "R"
    resource.mkdir()
    (resource / "reaper.ini").write_text("[reaper]\n")
    argvs = [
        ["amp", "render", "di.wav", "--model", "reabridge Crunch", "-o", "crunch.wav"],
        ["amp", "info", "reabridge lead", "--json"],
        ["amp", "capture", "--di", "di.wav", "--reamp", "di.wav", "--epochs", "1", "-o", "new.nam"],
        ["doctor", "--resource-path", str(resource)],
        ["transcribe", "di.wav", "-o", "di.mid"],
    ]
    out = run(folder, COMMANDS, json.dumps(argvs), cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    stdout, stderr = out.stdout.split("<<end>>\n"), out.stderr.split("<<end>>\n")
    result = json.loads(stdout[-1])
    assert result["hidden_loaded"] == []
    render, info, capture, _, transcribe = result["codes"]
    assert render == 0, stderr[0]
    assert sf.info(tmp_path / "crunch.wav").frames == 48000
    assert info == 0 and json.loads(stdout[1])["name"] == "reabridge Lead"
    assert capture == 1 and not (tmp_path / "new.nam").exists()
    assert stderr[2] == ("error: creating a capture needs torch, neural-amp-modeler, pytorch-lightning (training "
                         "only; rendering does not): install them with pip install 'reabridge[train]' (in "
                         "reabridge's environment; about 1.1 GB)\n")
    assert "warn  training: torch, neural-amp-modeler, pytorch-lightning not installed" in stdout[3]
    assert "fix: pip install 'reabridge[train]'" in stdout[3]
    assert transcribe == 0 and (tmp_path / "di.mid").stat().st_size > 0, stderr[4]
