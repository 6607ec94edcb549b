"""The REAPER actions (``reaper_scripts/*.lua``) under a real Lua 5.4, against the stand-in's ReaScript functions.

What a REAPER user does -- select items, run an action, answer its dialogs -- and what
must come of it: the request the daemon gets, the result in the project as one undo
step, the same project whether REAPER's Python server applied it (live) or the action
did (handoff), and one clear message for every mistake.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import REPO
from daemon_helpers import env, song

from bridge import rpp
from bridge.assets import captures_dir, reaper_scripts_dir
from bridge.changes import AddAudioItem, AddTrack, ChangeSet
from bridge.project.project import Project
from bridge.reaper.actions import ACTIONS, LIBRARY, SERVER
from bridge.reaper.install import install
from bridge.requests import parse_request
from bridge.session import RppFileSession
from tests.standin.host import StandIn
from tests.standin.lua import LuaReaper
from tests.standin.reaper import FakeReaper

SCRIPTS = reaper_scripts_dir()
LUA_FILES = sorted(SCRIPTS.glob("*.lua"))
API = {line.strip() for line in (Path(__file__).parent / "data" / "reascript_api.txt").read_text().splitlines()
       if line.strip() and not line.startswith("#")}
ITEM = "{00000000-0000-4000-8000-0000000000B1}"
ITEM2 = "{00000000-0000-4000-8000-0000000000B2}"
FAST = 0.005


def action(title: str) -> Path:
    return SCRIPTS / next(a.file for a in ACTIONS if a.title == title)


def select(project: Path, *guids: str) -> None:
    """Select exactly these items in the project file (as the user clicked them)."""
    root = rpp.load(project)
    for chunk in root.walk():
        if chunk.tag == "ITEM":
            chunk.set("SEL", 1 if (chunk.values("IGUID") or [""])[0] in guids else 0)
    project.write_bytes(rpp.dumps(root).encode())


def two_items(folder: Path) -> Path:
    """The song, plus a second item (a 're-amp' of the first) on its own track."""
    project, _ = song(folder)
    track = AddTrack("Amp", guid="{00000000-0000-4000-8000-00000000000C}")
    item = AddAudioItem(track.guid, str(folder / "Media" / "keys.wav"), 0.0, 3.0, guid=ITEM2)
    RppFileSession(project).apply(ChangeSet("setup2", (track, item), created="2026-01-01T00:00:00Z"))
    project.with_name(project.name + "-bak").unlink()
    return project


class World:
    """A REAPER with a project open: the stand-in, its Lua, reabridge installed in its resource path."""

    def __init__(self, tmp: Path, *, live: bool, project: Path | None = None, selected: tuple[str, ...] = (ITEM,)
                 ) -> None:
        self.project = project or song(tmp / "song")[0]
        select(self.project, *selected)
        self.resource = tmp / "REAPER"
        self.resource.mkdir(parents=True, exist_ok=True)
        (self.resource / "reaper.ini").write_text("[reaper]\n")
        install(self.resource)
        self.spool = self.resource / "reabridge" / "spool"
        self.stand_in: StandIn | None = None
        if live:
            self.stand_in = StandIn(self.project, self.resource, FAST).start()
            self.fake, lock = self.stand_in.reaper, self.stand_in.lock
        else:
            self.fake, lock = FakeReaper(self.project, self.resource), None
        self.lua = LuaReaper(self.fake, lock)
        self.daemons: list[subprocess.Popen] = []
        self.lua.on_exec = self._exec

    def _exec(self, argv: list[str]) -> None:
        self.daemons.append(subprocess.Popen(argv, env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                             text=True))

    def press(self, title: str, rid: str, timeout: float = 300) -> None:
        """Run an action to its end (its deferred polling included)."""
        self.lua.pin(rid)
        self.lua.run_file(action(title))
        self.lua.run(timeout=timeout)

    def close(self) -> None:
        for p in self.daemons:
            p.terminate()
            p.wait(30)
        if self.stand_in is not None:
            self.stand_in.stop(save=False)



# -- the files ----------------------------------------------------------------------------------
def test_every_script_parses_in_lua_5_4():
    luac = shutil.which("luac5.4")
    assert luac is not None, "luac5.4 is missing: apt-get install lua5.4 (make install does it as root)"
    assert len(LUA_FILES) == len(ACTIONS) + 1
    for path in LUA_FILES:
        out = subprocess.run([luac, "-p", str(path)], capture_output=True, text=True)
        assert out.returncode == 0, out.stderr


def test_scripts_call_only_functions_reaper_has():
    used = set()
    for path in LUA_FILES:
        text = path.read_text(encoding="utf-8")
        used |= set(re.findall(r"\breaper\.([A-Za-z_][A-Za-z0-9_]*)", text))
        used |= {"gfx." + g for g in re.findall(r"\bgfx\.([A-Za-z_][A-Za-z0-9_]*)", text)}
    assert used - API == set()
    assert {"defer", "ExecProcess", "GetSetProjectInfo_String", "gfx.showmenu"} <= used  # the list is the real one


def test_headers_index_and_action_table_agree():
    from bridge.reaper.reapack import DEFAULT_URL_BASE, index_xml, read_header

    for path in LUA_FILES:
        tags = read_header(path).tags
        for tag in ("description", "version", "author", "about", "changelog"):
            assert tags.get(tag), f"{path.name}: no @{tag}"
    titles = {read_header(SCRIPTS / a.file).tags["description"]: a for a in ACTIONS}
    assert set(titles) == {a.description for a in ACTIONS}
    package = read_header(SCRIPTS / LIBRARY)
    assert package.indexed and all(not read_header(SCRIPTS / a.file).indexed for a in ACTIONS)
    assert [f for opt, f in package.provides() if opt == "main"] == [a.file for a in ACTIONS] + [SERVER]
    assert (REPO / "index.xml").read_text() == index_xml(SCRIPTS, REPO, DEFAULT_URL_BASE), \
        "index.xml is stale: run 'reabridge reapack-index -o index.xml'"
    out = subprocess.run([sys.executable, "-m", "bridge", "reapack-index", "--check", "-o", str(REPO / "index.xml")],
                         capture_output=True, text=True, env=env())
    assert out.returncode == 0, out.stderr


# -- the project as the actions see it ----------------------------------------------------------------
def test_lua_reads_the_project_as_the_server_does(tmp_path):
    from bridge.changes import AddMarker, SetTempo, TempoChange

    project, _ = song(tmp_path / "song")
    RppFileSession(project).apply(ChangeSet("more", (
        AddMarker(1.5, "Verse \"A\"", guid="{00000000-0000-4000-8000-0000000000D1}"),
        AddMarker(0.5, "Intro", end=1.0, guid="{00000000-0000-4000-8000-0000000000D2}"),
        SetTempo(100.0, 3, 4, points=(TempoChange(0.0, 100.0, 3, 4), TempoChange(2.0, 140.0, linear=True))),
    ), created="2026-01-01T00:00:00Z"))
    stand_in = StandIn(project, tmp_path / "R", FAST)
    stand_in.load_script()
    try:
        lua = LuaReaper(stand_in.reaper)
        rb = lua.lua.globals().dofile(str(SCRIPTS / LIBRARY))
        proj, _ = rb.project()
        ours = rb.project_state(proj)
        theirs = stand_in.namespace["project_state"]({"path": str(project), "id": None})["text"]
    finally:
        stand_in.stop(save=False)
    assert ours == theirs
    state = Project.loads(ours, project)
    assert sorted(m.name for m in state.markers) == ["Intro", "Verse 'A'"]


# -- requests ---------------------------------------------------------------------------------------
def _heartbeat(spool: Path) -> None:
    """A daemon seems to serve the spool (so the action does not start one)."""
    spool.mkdir(parents=True, exist_ok=True)
    (spool / "daemon.json").write_text(json.dumps({"pid": 1, "updated": int(time.time())}))


def _written(spool: Path) -> dict:
    files = sorted((spool / "requests").glob("*.json"))
    assert len(files) == 1, files
    data = json.loads(files[0].read_text())
    files[0].unlink()
    return data


@pytest.mark.parametrize("title, answers, job, options, items", [
    ("Transcribe selected items to MIDI", {}, "transcribe", {}, [ITEM]),
    ("Render selected items through amp capture...", {"showmenu": [3], "GetUserFileNameForRead": ["CAPTURE"]},
     "amp_render", {"model": "CAPTURE"}, [ITEM]),  # the menu: the two bundled captures, then "Choose a .nam file..."
    ("Master selected item...", {"showmenu": [5], "GetUserInputs": ["-13.5,-1.2"]}, "master",
     {"preset": "streaming", "target_lufs": -13.5, "ceiling": -1.2}, [ITEM]),
    ("Insert mastering chain JSFX on master", {"showmenu": [2]}, "master_jsfx", {"preset": "club"}, [ITEM]),
    ("Detect tempo from selected item and write tempo map", {"showmenu": [3]}, "tempo", {}, [ITEM]),  # analysis first
    ("Create amp capture from selected DI and re-amp items", {"GetUserInputs": ["My amp,5"]}, "amp_capture",
     {"di_item": ITEM, "reamp_item": ITEM2, "epochs": 5, "name": "My amp", "output": "My amp.nam"}, None),
])
def test_actions_write_requests_the_daemon_accepts(world, tmp_path, title, answers, job, options, items):
    project = two_items(tmp_path / "two")
    w = world(live=False, project=project, selected=(ITEM, ITEM2) if job == "amp_capture" else (ITEM,))
    _heartbeat(w.spool)
    capture = str(next(captures_dir().glob("*.nam")))
    for kind, queue in answers.items():
        w.lua.answers[kind] = [capture if a == "CAPTURE" else a for a in queue]
    options = {k: capture if v == "CAPTURE" else v for k, v in options.items()}
    w.lua.run_file(action(title))
    data = _written(w.spool)
    request = parse_request(json.dumps(data).encode())  # exactly the daemon's schema
    assert request.job == job and request.handoff
    assert request.project.path == str(project)
    got = request.options.model_dump(exclude_defaults=True)
    got.pop("resource_path", None)
    assert got == options
    assert (request.items.guids if request.items else None) == items
    snapshot = Path(request.project.snapshot)
    assert snapshot.parent == w.spool / "snapshots"
    assert [t.name for t in Project.loads(snapshot.read_text(), project).tracks] == ["Keys", "Amp"]
    assert not any(w.lua.answers.values()), "the action did not ask everything the test expected"
    assert w.lua.messages == []


@pytest.mark.parametrize(("close", "pick", "prefer"), [(True, 2, 141.0), (True, 1, 70.5), (False, None, None)])
def test_tempo_action_asks_between_close_tempi_before_writing(world, tmp_path, close, pick, prefer):
    """The analysis comes back; a close call is put to the user, whose pick goes into the request that writes."""
    w = world(live=False, project=two_items(tmp_path / "two"), selected=(ITEM,))
    _heartbeat(w.spool)
    w.lua.pin("tempo-a")
    w.lua.answers["showmenu"] = [3] + ([pick] if pick else [])
    w.lua.run_file(action("Detect tempo from selected item and write tempo map"))
    first = parse_request(json.dumps(_written(w.spool)).encode())
    assert first.id == "tempo-a" and first.options.model_dump(exclude_defaults=True) == {}
    data = {"bpm": 35.25, "bpm_in_project": 70.5, "confidence": 0.45, "close_call": close,  # item at playrate 2
            "alternatives": [{"bpm": 70.5, "relation": "double", "confidence": 0.41}]}
    (w.spool / "status").mkdir(parents=True, exist_ok=True)
    (w.spool / "status" / "tempo-a.json").write_text(json.dumps(
        {"id": "tempo-a", "job": "tempo", "state": "done", "result": {"summary": "70.5 BPM", "data": data}}))
    w.lua.run(timeout=60, until=lambda: any((w.spool / "requests").glob("*.json")))  # the second request is out
    second = parse_request(json.dumps(_written(w.spool)).encode())
    assert second.id == "tempo-a-2" and second.handoff
    assert second.options.model_dump(exclude_defaults=True) == {
        "apply": True, "map": True, "markers": "bars", **({"prefer_bpm": prefer} if prefer else {})}
    assert not any(w.lua.answers.values()) and w.lua.messages == []


# -- end to end: the daemon, live or handed off ----------------------------------------------------------
def _text(w: World) -> str:
    if w.stand_in is not None:
        with w.stand_in.lock:
            return w.fake.text()
    return w.fake.text()


def _normal(text: str) -> str:
    """The project without the times results were made at (each run makes its own)."""
    return re.sub(r"(applied\.\S+) \S+", r"\1 T", text)


def test_same_project_whether_reapers_python_or_the_action_applies(world):
    """Server running: the daemon applies live. Server stopped: the action applies the handed-off chunks."""
    runs = {}
    for live in (True, False):
        w = world(live=live)
        before = _text(w)
        w.press("Transcribe selected items to MIDI", "transcribe-e2e")
        assert len(w.lua.commands) == 1 and "serve" in w.lua.commands[0]  # no daemon ran: the action started one
        assert any("started the reabridge daemon" in d for d in w.lua.drawn)  # and said so
        w.lua.answers["showmenu"] = [1]  # set the project tempo
        w.press("Detect tempo from selected item and write tempo map", "tempo-e2e")
        w.lua.answers["showmenu"] = [5]  # streaming
        w.press("Insert mastering chain JSFX on master", "jsfx-e2e")
        assert len(w.lua.commands) == 1  # the daemon was running for the later ones
        statuses = {rid: json.loads((w.spool / "status" / f"{rid}.json").read_text())
                    for rid in ("transcribe-e2e", "tempo-e2e", "tempo-e2e-2", "jsfx-e2e")}
        assert {s["state"] for s in statuses.values()} == {"done"}, statuses
        writers = {rid: s for rid, s in statuses.items() if rid != "tempo-e2e"}  # the tempo analysis writes nothing
        assert all(("apply" in s) is (not live) for s in writers.values())  # handed off only without the server
        assert "apply" not in statuses["tempo-e2e"]
        assert w.lua.messages == []
        assert w.fake.undo_names == ["reabridge: Transcribe to MIDI", "reabridge: Detect tempo",
                                     "reabridge: Insert mastering chain JSFX"]
        runs[live] = (before, _text(w), w)
    (before_live, after_live, _), (before_off, after_off, off) = runs[True], runs[False]
    assert _normal(before_live) == _normal(before_off)
    assert "<SOURCE MIDI" in after_off and "reabridge_master_song_streaming.jsfx" in after_off
    assert Project.loads(after_off).tempo_map.bpm_at(0.0) != Project.loads(before_off).tempo_map.bpm_at(0.0)
    assert _normal(after_off) == _normal(after_live)
    # Ctrl+Z three times takes back exactly the three results
    for _ in range(3):
        off.fake.module().RPR_Undo_DoUndo2(0)
    undone = off.fake.text()
    assert "project_id {00C0FFEE-" in undone  # the project's reabridge identity stays (it is not a result)
    assert re.sub(r"\n\s*project_id \S+", "", undone) == before_off  # nothing else was touched
    assert not list((off.spool / "snapshots").glob("*")), "snapshots are removed once their request ended"


def test_handed_off_result_applies_once(world):
    """Pressing 'Show reabridge jobs' and choosing a finished job applies it only if it did not land yet."""
    w = world(live=False)
    w.press("Transcribe selected items to MIDI", "transcribe-once")
    after = _text(w)
    w.lua.answers["showmenu"] = [2]  # the first job under the daemon line
    w.lua.run_file(action("Show reabridge jobs"))
    assert w.lua.messages[-1] == "transcribe-once was applied before; nothing changed"
    assert _text(w) == after and len(w.fake.undo_names) == 1


# -- mistakes get one clear message, and nothing is sent ------------------------------------------------
def _nothing_sent(w: World) -> bool:
    return not list((w.spool / "requests").glob("*.json")) if (w.spool / "requests").is_dir() else True


def test_unsaved_project_says_save_first(world):
    w = world(live=False)
    _heartbeat(w.spool)
    w.lua.override("EnumProjects", lambda idx: (w.fake.module().RPR_EnumProjects(idx, "", 10)[0], ""))
    w.lua.run_file(action("Transcribe selected items to MIDI"))
    assert w.lua.messages == ["save the project first: reabridge puts new media beside it"]
    assert _nothing_sent(w)


@pytest.mark.parametrize("title, selected, answers, message", [
    ("Transcribe selected items to MIDI", (), {}, "select an item first"),
    ("Master selected item...", (ITEM, ITEM2), {}, "select just one item"),
    ("Create amp capture from selected DI and re-amp items", (ITEM,), {},
     "select the DI item and its re-amped item (two items)"),
    ("Master selected item...", (ITEM,), {"showmenu": [1], "GetUserInputs": ["loud,-1"]},
     "loudness target: 'loud' is not a number"),
    ("Master selected item...", (ITEM,), {"showmenu": [1], "GetUserInputs": ["-50,-1"]},
     "loudness target: -50 is outside -40 to -3"),
    ("Create amp capture from selected DI and re-amp items", (ITEM, ITEM2), {"GetUserInputs": ["x,0"]},
     "training epochs: 0 is outside 1 to 10000"),
    ("Render selected items through amp capture...", (ITEM,),
     {"showmenu": [3], "GetUserFileNameForRead": ["/tmp/song.wav"]}, "/tmp/song.wav is not an amp capture (.nam)"),
])
def test_mistakes_get_one_message_and_send_nothing(world, tmp_path, title, selected, answers, message):
    w = world(live=False, project=two_items(tmp_path / "two"), selected=selected)
    _heartbeat(w.spool)
    w.lua.answers.update({k: list(v) for k, v in answers.items()})
    w.lua.run_file(action(title))
    assert w.lua.messages == [message]
    assert _nothing_sent(w)


@pytest.mark.parametrize("title, answers", [
    ("Master selected item...", {"showmenu": [0]}),  # the menu dismissed
    ("Master selected item...", {"showmenu": [1], "GetUserInputs": [None]}),  # the dialog cancelled
    ("Render selected items through amp capture...", {"showmenu": [3], "GetUserFileNameForRead": [None]}),
    ("Render selected items through amp capture...", {"showmenu": [0]}),  # the menu dismissed
    ("Detect tempo from selected item and write tempo map", {"showmenu": [0]}),
])
def test_cancelling_a_dialog_does_nothing(world, title, answers):
    w = world(live=False)
    _heartbeat(w.spool)
    w.lua.answers.update({k: list(v) for k, v in answers.items()})
    w.lua.run_file(action(title))
    assert w.lua.messages == [] and _nothing_sent(w)


def test_no_daemon_command_says_how_to_fix_it(world):
    w = world(live=False)
    (w.resource / "reabridge" / "config.json").unlink()
    w.lua.run_file(action("Transcribe selected items to MIDI"))
    assert len(w.lua.messages) == 1
    assert "run 'reabridge install'" in w.lua.messages[0] and "reabridge doctor" in w.lua.messages[0]
    assert _nothing_sent(w) and w.lua.commands == []


def test_a_daemon_that_never_comes_up_is_reported(world):
    w = world(live=False)  # the daemon command is recorded, not run
    w.lua.on_exec = None
    w.lua.pin("transcribe-lost")
    w.lua.run_file(action("Transcribe selected items to MIDI"))
    assert len(w.lua.commands) == 1 and w.lua.deferred
    w.lua.run(timeout=1, until=lambda: True)
    w.lua.skew = 31.0  # half a minute without a heartbeat
    w.lua.run(timeout=5)
    assert w.lua.messages == ["the reabridge daemon did not start; run 'reabridge doctor' in a terminal to see why"]


def test_a_failed_job_shows_its_error(world):
    w = world(live=False)
    (w.project.parent / "Media" / "keys.wav").unlink()  # the recording went missing
    w.press("Transcribe selected items to MIDI", "transcribe-missing")
    assert len(w.lua.messages) == 1 and "keys.wav" in w.lua.messages[0]
    assert w.fake.undo_names == []


def test_jobs_list_cancels_a_waiting_job_and_start_stop_asks_the_daemon_to_stop(world):
    w = world(live=False)
    _heartbeat(w.spool)
    (w.spool / "status").mkdir(parents=True, exist_ok=True)
    (w.spool / "status" / "tempo-waiting.json").write_text(json.dumps(
        {"id": "tempo-waiting", "job": "tempo", "state": "queued", "queued_at": "2026-01-01T00:00:00Z",
         "message": "", "percent": None}))
    w.lua.answers["showmenu"] = [2]
    w.lua.answers["ShowMessageBox"] = [6]  # yes, cancel it
    w.lua.run_file(action("Show reabridge jobs"))
    assert "tempo-waiting -- waiting" in w.lua.drawn[-1]
    assert (w.spool / "cancel" / "tempo-waiting").is_file()
    w.lua.answers["ShowMessageBox"] = [6]  # yes, stop it
    w.lua.run_file(action("Start/stop reabridge daemon"))
    assert (w.spool / "stop").is_file()
    assert w.lua.messages[-1] == "asked the reabridge daemon to stop"


def test_a_result_for_a_project_that_is_not_open_is_kept_for_later(world):
    w = world(live=False)
    _heartbeat(w.spool)
    (w.spool / "status").mkdir(parents=True, exist_ok=True)
    other = {"change_id": "transcribe-other", "created": "2026-01-01T00:00:00Z", "undo_name": "reabridge: x",
             "project": {"path": "/songs/other.RPP", "id": "{00000000-0000-4000-8000-00000000FFFF}"},
             "ops": [{"kind": "add_track", "target": None, "text": "<TRACK\n>\n", "op": {"op": "add_track"}}]}
    (w.spool / "status" / "transcribe-other.json").write_text(json.dumps(
        {"id": "transcribe-other", "job": "transcribe", "state": "done", "queued_at": "2026-01-01T00:00:00Z",
         "message": "", "result": {"summary": "1 MIDI item"}, "apply": other}))
    before = _text(w)
    w.lua.answers["showmenu"] = [2]
    w.lua.run_file(action("Show reabridge jobs"))
    assert w.lua.messages == ["open /songs/other.RPP to receive this result, then choose it in 'reabridge: Show "
                              "reabridge jobs'"]
    assert _text(w) == before and w.fake.undo_names == []
