"""The captures that come with reabridge, by name: on the command line, in requests (also confined ones,
from the daemon's spool), in the REAPER action's menu, and from an installed wheel (``test_packaging.py``)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from daemon_helpers import SR, env, song
from test_actions import ITEM, World, _heartbeat, _written, action

from bridge.amp.bundled import bundled_captures, find_bundled
from bridge.assets import captures_dir
from bridge.project import Project
from bridge.requests import parse_request
from bridge.requests.parse import RequestError
from bridge.requests.paths import PathPolicy
from bridge.requests.run import run_request

CRUNCH = captures_dir() / "reabridge_Crunch.nam"
TITLE = "Render selected items through amp capture..."


def request(model: str, project: Path | None = None, audio: str | None = "/tmp/di.wav"):
    data = {"id": "amp-1", "job": "amp_render", "options": {"model": model}}
    if project is not None:
        data["project"] = {"path": str(project)}
        data["items"] = {"guids": [ITEM]}
    else:
        data["options"]["audio"] = audio
    return parse_request(json.dumps(data).encode())


def test_the_bundled_captures_and_their_names():
    assert [p.name for p in bundled_captures()] == ["reabridge_Crunch.nam", "reabridge_Lead.nam"]
    for name in ("reabridge Crunch", "reabridge_crunch", "REABRIDGE_Crunch.nam", " reabridge crunch "):
        assert find_bundled(name) == CRUNCH, name
    for name in ("reabridge", "Crunch", "models/captures/reabridge_Crunch.nam", "../reabridge_Crunch", ""):
        assert find_bundled(name) is None, name


@pytest.mark.parametrize("confined", [False, True])
def test_a_request_may_name_a_bundled_capture(confined, tmp_path):
    checked, _ = PathPolicy(confined=confined).check(request("reabridge Crunch", audio=str(tmp_path / "di.wav")))
    assert checked.options.model == str(CRUNCH)


def test_a_file_of_that_name_wins_over_the_bundled_capture(tmp_path, monkeypatch):
    project, _ = song(tmp_path / "song")
    own = project.parent / "reabridge_Crunch.nam"
    own.write_bytes(CRUNCH.read_bytes())
    checked, _ = PathPolicy(confined=True).check(request("reabridge_Crunch.nam", project))
    assert checked.options.model == str(own)
    monkeypatch.chdir(project.parent)
    checked, _ = PathPolicy().check(request("reabridge_Crunch.nam"))
    assert checked.options.model == str(own)
    checked, _ = PathPolicy().check(request("reabridge Lead"))
    assert Path(checked.options.model).parent == captures_dir()


@pytest.mark.parametrize(("model", "words"), [
    ("reabridge Clean", "capture file {cwd}/reabridge Clean does not exist, and no bundled capture is called "
                        "'reabridge Clean' (bundled: reabridge Crunch, reabridge Lead)"),
    ("amps/reabridge Crunch", "capture file {cwd}/amps/reabridge Crunch does not exist"),
])
def test_neither_a_file_nor_a_bundled_name_is_one_clear_line(model, words, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(RequestError) as info:
        PathPolicy().check(request(model))
    assert str(info.value) == "options.model: " + words.format(cwd=tmp_path)


def test_a_confined_request_without_a_project_names_a_bundled_capture_or_an_absolute_path():
    with pytest.raises(RequestError, match=r"'my amp\.nam' must be an absolute path, and no bundled capture is called"):
        PathPolicy(confined=True).check(request("my amp.nam"))


def test_the_daemons_rules_render_a_project_through_a_bundled_capture_by_name(tmp_path):
    project, _ = song(tmp_path / "song", seconds=1.0)
    result = run_request(request("reabridge Lead", project), paths=PathPolicy(confined=True))
    assert result.applied and len(result.files) == 1
    item = Project.load(project).items()[0][1]
    assert item.active_take.name == "reabridge Lead"
    audio, rate = sf.read(item.active_take.source.resolve().path)
    assert rate == SR and len(audio) == SR and np.abs(audio).max() > 0.01  # the item's 1 s, at its rate


def test_cli_renders_lists_and_submits_by_name(tmp_path):
    t = np.arange(24000) / 48000
    sf.write(tmp_path / "di.wav", (0.3 * np.sin(2 * np.pi * 110 * t)).astype(np.float32), 48000)

    def reabridge(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "bridge", *args], capture_output=True, text=True, env=env(),
                              cwd=tmp_path, timeout=300)

    out = reabridge("amp", "render", "di.wav", "--model", "reabridge Crunch")
    assert out.returncode == 0, out.stderr
    assert sf.info(tmp_path / "di-reabridge_Crunch.wav").frames == 24000
    listed = json.loads(reabridge("amp", "list", "--json").stdout)["captures"]
    assert [(c["name"], c["architecture"]) for c in listed] == [("reabridge Crunch", "WaveNet"),
                                                                ("reabridge Lead", "WaveNet")]
    out = reabridge("submit", "amp_render", "di.wav", "--model", "reabridge Lead", "--spool", "spool", "--json")
    assert out.returncode == 0, out.stderr
    sent = json.loads(next((tmp_path / "spool" / "requests").glob("*.json")).read_text())
    assert sent["options"]["model"] == "reabridge Lead"  # the daemon resolves it with its own install
    bad = reabridge("amp", "render", "di.wav", "--model", "reabridge Clean")
    assert bad.returncode == 1 and bad.stderr.count("\n") == 1
    assert "no bundled capture is called 'reabridge Clean' (bundled: reabridge Crunch, reabridge Lead)" in bad.stderr


# -- the REAPER action's menu -------------------------------------------------------------------------
def press(w: World, *menu: int, files: tuple = ()) -> dict | None:
    w.lua.answers["showmenu"] = list(menu)
    w.lua.answers["GetUserFileNameForRead"] = list(files)
    w.lua.run_file(action(TITLE))
    assert not any(w.lua.answers.values()), "the action did not ask everything the test expected"
    sent = list((w.spool / "requests").glob("*.json")) if (w.spool / "requests").is_dir() else []
    return _written(w.spool) if sent else None


def test_the_action_offers_the_bundled_captures_and_the_last_one_used(world):
    w = world(live=False)
    _heartbeat(w.spool)
    data = press(w, 1)
    assert w.lua.drawn[-1] == "reabridge Crunch|reabridge Lead|Choose a .nam file..."
    checked, _ = PathPolicy(confined=True).check(parse_request(json.dumps(data).encode()))
    assert data["options"]["model"] == "reabridge Crunch" and checked.options.model == str(CRUNCH)
    assert data["items"]["guids"] == [ITEM]
    data = press(w, 1)  # pressed again: the last one first, not twice
    assert w.lua.drawn[-1] == "Last used: reabridge Crunch|reabridge Lead|Choose a .nam file..."
    assert data["options"]["model"] == "reabridge Crunch"
    mine = w.project.parent / "My|Amp.nam"
    data = press(w, 3, files=(str(mine),))
    assert data["options"]["model"] == str(mine)
    data = press(w, 1)
    assert w.lua.drawn[-1] == "Last used: My/Amp.nam|reabridge Crunch|reabridge Lead|Choose a .nam file..."
    assert data["options"]["model"] == str(mine)
    assert w.lua.messages == []


def test_an_install_without_the_captures_list_goes_straight_to_the_file_dialog(world):
    w = world(live=False)
    _heartbeat(w.spool)
    config = w.resource / "reabridge" / "config.json"
    config.write_text(json.dumps({k: v for k, v in json.loads(config.read_text()).items() if k != "captures"}))
    data = press(w, files=(str(CRUNCH),))
    assert data["options"]["model"] == str(CRUNCH) and "gfx.showmenu" not in w.lua.calls


def test_install_lists_the_bundled_captures_for_the_action(world):
    w = world(live=False)
    config = json.loads((w.resource / "reabridge" / "config.json").read_text())
    assert config["captures"] == [{"name": "reabridge Crunch", "file": str(CRUNCH)},
                                  {"name": "reabridge Lead", "file": str(captures_dir() / "reabridge_Lead.nam")}]
