"""``reabridge mcp`` with REAPER running (the stand-in): the project is read from REAPER and results land there.

No daemon serves the spool here: the MCP server starts one, as the REAPER actions do, and
stops it when the client leaves.
"""

from __future__ import annotations

import time

from daemon_helpers import env, song
from mcp_client import data, with_client

from bridge.daemon.spool import Spool
from bridge.rpp import loads
from tests.standin.host import StandIn

FAST = 0.005
ITEM = "{00000000-0000-4000-8000-0000000000B1}"


def test_reading_and_a_job_go_through_reaper_as_one_undo_step(tmp_path):
    project, _ = song(tmp_path / "song", seconds=3.0)
    resource = tmp_path / "R"
    stand_in = StandIn(project, resource, FAST).start()
    with stand_in.lock:  # the item is selected in REAPER, not in the saved file
        stand_in.reaper.root = loads(stand_in.reaper.text().replace("      SEL 0", "      SEL 1"))
    before = project.read_bytes()
    spool = tmp_path / "spool"
    assert Spool(spool).daemon_pid() is None
    request = {"id": "mcp-live-1", "project": {"path": str(project)}, "items": {"selected": True}}

    async def body(session):
        selected = data(await session.call_tool("find_items", {"path": str(project), "selected": True}))
        first = data(await session.call_tool("transcribe", request))
        daemon = Spool(spool).daemon_pid()
        again = data(await session.call_tool("transcribe", request))
        info = data(await session.call_tool("project_info", {"path": str(project)}))
        return selected, first, daemon, again, info

    try:
        selected, first, daemon, again, info = with_client(["--spool", str(spool)],
                                                           env(REAPER_RESOURCE_PATH=str(resource)), body)
        undo, live_text = stand_in.reaper.undo_names, stand_in.reaper.text()
    finally:
        stand_in.stop(save=False)
    assert selected["read_from"] == "REAPER" and selected["items"] == {"guids": [ITEM]}
    assert first["applied"] is True and again == first and daemon is not None
    assert undo == ["reabridge: Transcribe to MIDI"]
    assert live_text.count("Keys (MIDI)") == 1
    assert info["read_from"] == "REAPER" and [t["name"] for t in info["tracks"]] == ["Keys", "Keys (MIDI)"]
    assert project.read_bytes() == before  # REAPER holds the result; the file is REAPER's to save
    deadline = time.monotonic() + 10
    while Spool(spool).daemon_pid() is not None:  # the daemon the server started went with it
        assert time.monotonic() < deadline, "the daemon the MCP server started is still running"
        time.sleep(0.1)
    log = (spool / "daemon.log").read_text()
    assert "applied in REAPER" in log and "mcp server stopped" in log
