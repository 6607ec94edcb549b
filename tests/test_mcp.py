"""``reabridge mcp`` through the official SDK's stdio client: the tools, project reading, jobs, confinement, JSFX.

One daemon (engines loaded on first use) serves the module's spool; each test starts the
MCP server as a client does. The server runs with its own temporary folder, so the test's
``outside/`` folder is outside every folder requests may use; ``allowed/`` is ``--allow``.
"""

from __future__ import annotations

import json
import shutil
import time
from typing import Any

import anyio
import pytest
from conftest import corpus_rpp
from daemon_helpers import EFFECT, env, midi_tracks, song, start, stop
from mcp_client import data, files_under, text, with_client

from bridge.mcp.tools import CODE_JOB, FIXED_TOOLS
from bridge.project import Project
from bridge.requests.models import REQUEST_TYPES
from bridge.requests.parse import request_schema

GAIN = """desc: Half gain (test)
slider1:gain_db=-6<-24,24,0.1>Gain (dB)
@slider
g = 10^(gain_db/20);
@sample
spl0 *= g;
spl1 *= g;
"""
BROKEN = """desc: Broken (test)
@init
x = 1;
@sample
spl0 = spl0 * ;
"""


@pytest.fixture(scope="module")
def place(tmp_path_factory):
    """Folders, a song in the allowed folder, REAPER's resource path, and the daemon serving the spool."""
    base = tmp_path_factory.mktemp("mcp")
    for name in ("allowed", "outside", "tmpdir", "REAPER"):
        (base / name).mkdir()
    project, keys = song(base / "allowed" / "song", seconds=3.0)
    spool = base / "spool"
    daemon = start(spool, "--warm", "none", "--allow", str(base / "allowed"), "--resource-path", str(base / "REAPER"))
    yield {"base": base, "spool": spool, "project": project, "keys": keys, "daemon": daemon}
    stop(daemon)


def client(place: dict[str, Any], body: Any) -> Any:
    args = ["--spool", str(place["spool"]), "--allow", str(place["base"] / "allowed")]
    server_env = env(REAPER_RESOURCE_PATH=str(place["base"] / "REAPER"), TMPDIR=str(place["base"] / "tmpdir"))
    return with_client(args, server_env, body)


def _resolve(schema: dict[str, Any], defs: dict[str, Any]) -> Any:
    if isinstance(schema, dict):
        if "$ref" in schema:
            return _resolve(defs[schema["$ref"].removeprefix("#/$defs/")], defs)
        return {k: _resolve(v, defs) for k, v in schema.items()}
    if isinstance(schema, list):
        return [_resolve(v, defs) for v in schema]
    return schema


def test_the_tools_are_the_request_schema_one_to_one(place):
    async def body(session):
        return (await session.list_tools()).tools

    tools = {t.name: t for t in client(place, body)}
    schema = request_schema()
    jobs = schema["discriminator"]["mapping"]
    assert set(jobs) == set(REQUEST_TYPES)
    assert sorted(tools) == sorted([*jobs, *FIXED_TOOLS])
    for job, ref in jobs.items():
        model = schema["$defs"][ref.removeprefix("#/$defs/")]
        tool = tools[job].input_schema
        assert set(tool["properties"]) == {"id", "project", "items", "options", "wait"}
        assert "id" not in tool.get("required", []) and tool["additionalProperties"] is False
        for field in ("id", "project", "items", "options"):
            ours = _resolve(tool["properties"][field], tool.get("$defs", {}))
            theirs = _resolve(model["properties"][field], schema["$defs"])
            if job == CODE_JOB and field == "options":  # the one addition: checked code in place of a file
                assert ours["properties"].pop("code")["type"] == "string"
                assert "effect" in theirs["required"] and "effect" not in ours["required"]
                ours["required"], theirs["required"] = [], []
            assert ours == theirs, (job, field)
        assert tools[job].description and "lands" in tools[job].description


def test_project_info_is_the_project_info_json_of_a_corpus_project(place):
    project = place["base"] / "allowed" / "vst.RPP"
    shutil.copyfile(corpus_rpp("Perlence__rpp__vst.RPP"), project)

    async def body(session):
        info = data(await session.call_tool("project_info", {"path": str(project)}))
        templates = (await session.list_resource_templates()).resource_templates
        listed = (await session.list_resources()).resources
        read = await session.read_resource(listed[0].uri)
        found = data(await session.call_tool("find_items", {"path": str(project), "start": 0.0}))
        return info, templates, listed, read, found

    info, templates, listed, read, found = client(place, body)
    summary = Project.load(project).summary()
    assert info == {**summary, "read_from": "file"}
    assert len(info["tracks"]) == 10 and [m["end"] is not None for m in info["markers"]] == [False, True]
    assert templates[0].uri_template == "reaper://project/{path}"
    assert [r.name for r in listed] == ["vst.RPP"]
    assert json.loads(read.contents[0].text) == info
    guids = [item["guid"] for track in summary["tracks"] for item in track["items"]]
    assert found["items"] == {"guids": guids} and found["count"] == len(guids) >= 1


def test_find_items_by_track_name_and_time(place):
    async def body(session):
        keys = data(await session.call_tool("find_items", {"path": str(place["project"]), "track": "keys"}))
        later = data(await session.call_tool("find_items", {"path": str(place["project"]), "start": 10.0}))
        wrong = await session.call_tool("find_items", {"path": str(place["project"]), "start": "soon"})
        return keys, later, wrong

    keys, later, wrong = client(place, body)
    assert keys["items"] == {"guids": ["{00000000-0000-4000-8000-0000000000B1}"]}
    assert keys["matches"][0]["track"] == "Keys" and keys["matches"][0]["length"] == pytest.approx(3.0)
    assert later["count"] == 0
    assert wrong.is_error and text(wrong) == "start: 'soon' is not of type 'number'"


def test_the_same_id_twice_is_one_midi_track_and_progress_is_reported(place):
    project, keys = place["project"], place["keys"]
    request = {"id": "mcp-transcribe-1", "project": {"path": str(project)}, "items": {"tracks": ["Keys"]}}
    seen: list[tuple[float, str | None]] = []

    async def body(session):
        async def progress(value, total, message):
            seen.append((value, message))

        first = data(await session.call_tool("transcribe", request, progress_callback=progress))
        after_first = project.read_bytes()
        second = data(await session.call_tool("transcribe", request))
        changed = await session.call_tool("transcribe", {**request, "options": {"onset_threshold": 0.7}})
        return first, after_first, second, changed

    first, after_first, second, changed = client(place, body)
    assert first["state"] == "done" and first["applied"] is True
    assert "track 'Keys (MIDI)'" in first["added"] and any("notes" in a for a in first["added"])
    assert second == first  # the same request: its outcome, not a second run
    assert project.read_bytes() == after_first and midi_tracks(project, "mcp-transcribe-1", keys) == 1
    assert Project.load(project).summary()["tracks"][1]["name"] == "Keys (MIDI)"
    assert changed.is_error and "already used by a different request" in text(changed) and "\n" not in text(changed)
    assert seen and any(message and "transcrib" in message for _, message in seen)
    assert [v for v, _ in seen] == sorted(v for v, _ in seen)
    log = (place["spool"] / "daemon.log").read_text()
    assert 'mcp call transcribe {"id": "mcp-transcribe-1", "items": {"tracks": ["Keys"]}' in log
    assert log.count("mcp-transcribe-1: queued") == 1


def test_paths_outside_the_allowed_folders_are_refused_and_nothing_is_written(place):
    base = place["base"]
    outside, _ = song(base / "outside" / "song", seconds=1.0)
    audio = base / "allowed" / "song" / "Media" / "keys.wav"
    before_outside, before_spool = files_under(base / "outside"), files_under(place["spool"] / "requests")
    before_allowed = files_under(base / "allowed")

    async def body(session):
        return [
            await session.call_tool("transcribe", {"project": {"path": str(outside)}, "items": {"selected": True}}),
            await session.call_tool("project_info", {"path": str(outside)}),
            await session.call_tool("transcribe", {"options": {"audio": str(audio),
                                                               "output": str(base / "outside" / "keys.mid")}}),
            await session.call_tool("transcribe", {"options": {"audio": str(audio), "output": "/etc/keys.mid"}}),
        ]

    results = client(place, body)
    assert all(r.is_error for r in results)
    lines = [text(r) for r in results]
    assert "outside the folders the daemon reads projects from" in lines[0]
    assert lines[1].startswith("path: ") and "outside the folders" in lines[1]
    assert "options.output" in lines[2] and "outside the folders this request may write to" in lines[2]
    assert "options.output" in lines[3]
    assert all("\n" not in line and "Traceback" not in line for line in lines)
    assert files_under(base / "outside") == before_outside
    assert files_under(place["spool"] / "requests") == before_spool
    assert files_under(base / "allowed") == before_allowed
    assert not (place["spool"] / "status" / "keys.json").exists()


def test_jsfx_check_reports_errors_with_lines_and_a_working_effect_cleanly(place):
    async def body(session):
        broken = data(await session.call_tool("jsfx_check", {"code": BROKEN}))
        working = data(await session.call_tool("jsfx_check", {"code": GAIN}))
        return broken, working

    broken, working = client(place, body)
    assert broken["ok"] is False and broken["signals"] == []
    assert broken["errors"] == [{"line": 5, "column": 15, "message": "unexpected ';' where a value is expected",
                                 "reaper": "5: syntax error: 'spl0 = spl0 *  <!> ;'"}]  # EEL2 keeps that space
    assert working["ok"] is True and working["errors"] == [] and working["warnings"] == []
    assert working["sliders"][0]["variable"] == "gain_db" and working["sliders"][0]["default"] == -6
    assert working["latency"] == {"reported": 0, "impulse_peak_after": 0}
    noise = next(s for s in working["signals"] if s["signal"] == "noise")
    assert noise["gain_db"] == pytest.approx(-6.0, abs=0.01) and noise["clipped"] == 0 and noise["nan"] == 0
    assert {s["signal"] for s in working["signals"]} == {"silence", "impulse", "sweep", "noise"}


def test_jsfx_insert_takes_only_checked_code(place):
    project, resource = place["project"], place["base"] / "REAPER"
    code = GAIN.replace("Half gain", "Quarter gain").replace("=-6<", "=-12<")
    insert = {"id": "mcp-insert-1", "project": {"path": str(project)}, "options": {"code": code, "track": "Keys"}}

    async def body(session):
        refused = await session.call_tool("jsfx_insert", insert)
        untouched = project.read_bytes()
        check = data(await session.call_tool("jsfx_check", {"code": code}))
        edited = await session.call_tool("jsfx_insert", {**insert, "options": {"code": code + "\n// edited",
                                                                             "track": "Keys"}})
        done = data(await session.call_tool("jsfx_insert", insert))
        return refused, untouched, check, edited, done

    before = project.read_bytes()
    refused, untouched, check, edited, done = client(place, body)
    assert refused.is_error and "has not passed jsfx_check" in text(refused) and untouched == before
    assert check["ok"] and edited.is_error and "has not passed jsfx_check" in text(edited)
    installed = resource / "Effects" / "reabridge" / f"quarter-gain-test-{check['sha256'][:16]}.jsfx"
    assert installed.read_text() == code
    assert done["added"] == [f"JS effect reabridge/{installed.name}"]
    assert f"reabridge/{installed.name}" in project.read_text()


def test_wait_false_returns_the_id_and_job_status_and_cancel_follow_it(place):
    project = place["project"]

    async def body(session):
        queued = data(await session.call_tool("jsfx_insert", {"project": {"path": str(project)}, "wait": False,
                                                              "options": {"effect": str(EFFECT), "install": False}}))
        deadline = time.monotonic() + 120
        while True:
            status = data(await session.call_tool("job_status", {"id": queued["id"]}))
            if status["state"] in ("done", "error", "cancelled") or time.monotonic() > deadline:
                break
            await anyio.sleep(0.05)
        cancel = data(await session.call_tool("cancel", {"id": queued["id"]}))
        unknown = await session.call_tool("job_status", {"id": "no-such-request"})
        return queued, status, cancel, unknown

    queued, status, cancel, unknown = client(place, body)
    assert queued["state"] == "queued" and queued["id"].startswith("jsfx_insert-")
    assert status["state"] == "done" and status["id"] == queued["id"]
    assert status["added"] == [f"JS effect reabridge/{EFFECT.name}"]
    assert EFFECT.name in project.read_text()
    assert cancel["state"] == "done"  # it had ended: left as it is
    assert unknown.is_error and text(unknown).startswith("no request with id no-such-request")
