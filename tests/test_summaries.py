"""Every project job's one-line summary counts what its ChangeSet really adds (not its bookkeeping)."""

from __future__ import annotations

import re

import pytest
from conftest import REPO, run_job
from daemon_helpers import song

from bridge.changes.ops import AddAudioTake, AddMidiItem, AddTrack

ITEM = "{00000000-0000-4000-8000-0000000000B1}"


@pytest.mark.parametrize("job, options, kind, pattern", [
    ("master", {"preset": "podcast"}, AddAudioTake, r"added (\d+) take\(s\) 'Master \(podcast\)'"),
    ("amp_render", {"model": str(REPO / "models" / "captures" / "reabridge_Lead.nam")}, AddAudioTake,
     r"added (\d+) take\(s\) named"),
    ("transcribe", {}, AddMidiItem, r"added (?:\d+ MIDI track\(s\) with )?(\d+) (?:MIDI )?item\(s\)"),
])
def test_summary_counts_what_the_changeset_adds(tmp_path, engines, job, options, kind, pattern):
    project, _ = song(tmp_path / "song", seconds=2.0)
    for run in (1, 2):  # the second run replaces the first one's result: still one
        result = run_job(job, project, {"guids": [ITEM]}, engines, request_id=f"{job}-{run}".replace("_", "-"),
                         **options)
        added = sum(isinstance(op, kind) for op in result.changes.ops)
        match = re.search(pattern, result.summary)
        assert match and int(match.group(1)) == added == 1, (result.summary, result.changes.ops)
        assert " 1 item(s)" in result.changes.description
    assert sum(isinstance(op, AddTrack) for op in result.changes.ops) == 0
