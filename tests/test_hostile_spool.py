"""Hostile input for the daemon's spool: one bad file never stops the queue, nothing leaks, every job is bounded.

The examples of issue 20 and their neighbours: deeply nested JSON, files that are not projects, projects
outside the folders the daemon reads, reused request ids, huge refused files; and jobs stopped for their
time or memory limit.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from audio_signals import melody, write
from daemon_helpers import drop, insert_request, serve_once, song, start, status, stop, wait_status

from bridge.requests.parse import RequestError, parse_request


@pytest.mark.parametrize("body", [b"[" * 200_000, b'{"a":' * 200_000, b"[" * 33 + b"]" * 33])
def test_deep_nesting_is_refused_before_it_is_parsed(body):
    with pytest.raises(RequestError, match=r"nests \d+ levels deep; at most 32"):
        parse_request(body)


def test_one_bad_file_does_not_stop_the_others(tmp_path):
    project, _ = song(tmp_path / "song", seconds=1.0)
    spool = tmp_path / "spool"
    drop(spool, b"[" * 200_000, "deep-list")
    drop(spool, b'{"x":' * 200_000, "deep-object")
    drop(spool, b"\xff\xfe not text", "binary")
    drop(spool, b"[" * 1000 + b"1" + b"]" * 1000, "deep-but-closed")
    good = [insert_request(f"good-{n}", project) for n in range(6)]
    for data in good:
        drop(spool, data)
    out = serve_once(spool)
    assert out.returncode == 0, out.stderr
    for data in good:
        assert status(spool, data["id"])["state"] == "done"
    for stem, words in (("deep-list", "nests 200000 levels"), ("deep-object", "nests 200000 levels"),
                        ("binary", "not UTF-8"), ("deep-but-closed", "nests 1000 levels")):
        doc = status(spool, stem)
        assert doc["state"] == "error" and words in doc["message"], doc
        kept = json.loads((spool / "rejected" / f"{stem}.json").read_text())
        assert kept["reason"] == doc["message"] and kept["kept"] <= 4096
    assert list((spool / "requests").iterdir()) == []
    log = (spool / "daemon.log").read_text()
    assert "Traceback" not in log and len(log) < 20_000


def test_a_huge_refused_file_is_kept_as_a_bounded_prefix(tmp_path):
    spool = tmp_path / "spool"
    drop(spool, b'{"id": "huge", "job": "transcribe", "pad": "' + b"x" * (20 << 20) + b'"}', "huge")
    assert serve_once(spool).returncode == 0
    doc = status(spool, "huge")
    assert doc["state"] == "error" and "larger than 8388608 bytes" in doc["message"]
    kept = spool / "rejected" / "huge.json"
    assert kept.stat().st_size < 10_000
    assert json.loads(kept.read_text())["size"] > 20 << 20


@pytest.mark.parametrize("path, words", [
    ("/etc/passwd", "is not a REAPER project (.RPP)"),
    ("/opt/reabridge-nowhere/song.RPP", "outside the folders the daemon reads projects from"),
    ("PASSWD", "is not a REAPER project (it does not start with <REAPER_PROJECT)"),
    ("DEVICE", "not a REAPER project (.RPP)"),
])
def test_a_project_must_be_a_reaper_project_where_allowed(tmp_path, path, words):
    fake = tmp_path / "passwd.RPP"
    fake.write_text("root:x:0:0:root:/root:/bin/bash\n<REAPER_PROJECT 0.1\n>\n")
    path = {"PASSWD": str(fake), "DEVICE": "/dev/zero"}.get(path, path)
    spool = tmp_path / "spool"
    drop(spool, insert_request("p", Path(path)))
    assert serve_once(spool).returncode == 0
    doc = status(spool, "p")
    assert doc["state"] == "error" and words in doc["message"], doc
    assert "root:x" not in json.dumps(doc) and "root:x" not in (spool / "daemon.log").read_text()


def test_allow_lets_the_daemon_read_projects_elsewhere(tmp_path):
    project, _ = song(tmp_path / "song", seconds=1.0)
    spool = tmp_path / "spool"
    drop(spool, insert_request("elsewhere", Path("/opt/reabridge-nowhere/song.RPP")))
    drop(spool, insert_request("here", project))
    assert serve_once(spool, "--warm", "none", "--allow", "/opt/reabridge-nowhere").returncode == 0
    assert "does not exist" in status(spool, "elsewhere")["message"]  # allowed: it was looked for
    assert status(spool, "here")["state"] == "done"


def test_a_reused_id_with_another_body_is_refused_not_silently_dropped(tmp_path):
    project, _ = song(tmp_path / "song", seconds=1.0)
    spool = tmp_path / "spool"
    first = insert_request("same-id", project)
    drop(spool, first)
    assert serve_once(spool).returncode == 0
    assert status(spool, "same-id")["state"] == "done"
    drop(spool, {**first, "created": "2026-12-01T00:00:00Z"})  # the same request again: done once, no error
    assert serve_once(spool).returncode == 0
    assert status(spool, "same-id")["state"] == "done"
    drop(spool, {**first, "options": {**first["options"], "track": "Keys"}})  # a different request, same id
    assert serve_once(spool).returncode == 0
    doc = status(spool, "same-id")
    assert doc["state"] == "error" and "already used by a different request" in doc["message"]
    assert doc["previous"]["state"] == "done"
    assert project.read_text().count("<JS ") == 1  # the second one never ran


def test_a_reused_id_arriving_while_the_first_runs_is_refused_after_it(tmp_path):
    audio = tmp_path / "take.wav"
    write(audio, melody(22050, 30.0), 22050)
    spool = tmp_path / "spool"
    daemon = start(spool)
    try:
        first = {"id": "twice", "job": "transcribe", "options": {"audio": str(audio)}}
        drop(spool, first)
        wait_status(spool, "twice", ("running",))
        drop(spool, {**first, "options": {**first["options"], "onset_threshold": 0.6}})
        doc = wait_status(spool, "twice", ("error",), timeout=300)
    finally:
        stop(daemon)
    assert "already used by a different request" in doc["message"] and doc["previous"]["state"] == "done"
    assert (tmp_path / "take.mid").exists()  # the first one ran, once


def test_a_job_past_its_time_limit_is_stopped_with_one_line(tmp_path):
    audio = tmp_path / "long.wav"
    write(audio, np.tile(melody(22050, 30.0), 30), 22050)  # 15 minutes: seconds of transcription on any machine
    spool = tmp_path / "spool"
    drop(spool, {"id": "slow", "job": "transcribe", "options": {"audio": str(audio)}})
    out = serve_once(spool, "--warm", "none", "--job-timeout", "1")
    assert out.returncode == 0, out.stderr
    doc = status(spool, "slow")
    assert doc["state"] == "error" and "longer than its time limit (1 s)" in doc["message"], doc
    assert not (tmp_path / "long.mid").exists() and sorted(p.name for p in tmp_path.iterdir()) == ["long.wav", "spool"]


def test_a_job_over_the_memory_limit_is_stopped(tmp_path):
    audio = tmp_path / "take.wav"
    write(audio, melody(22050, 90.0), 22050)
    spool = tmp_path / "spool"
    drop(spool, {"id": "big", "job": "transcribe", "options": {"audio": str(audio)}})
    out = serve_once(spool, "--warm", "none", "--memory-limit", "0.05")
    assert out.returncode == 0, out.stderr
    doc = status(spool, "big")
    assert doc["state"] == "error" and "over the daemon's limit of 0.05 GB" in doc["message"], doc
    assert not (tmp_path / "take.mid").exists()


@pytest.mark.parametrize(("options", "words"), [
    ({"paths": ["/etc"]}, "options.paths: /etc is outside the folders the daemon reads from"),
    ({"paths": ["music"]}, "options.paths: 'music' must be an absolute path"),
    ({"paths": ["{tmp}"], "db": "/etc/library.sqlite"}, "options.db: /etc/library.sqlite is outside the folders"),
    ({"paths": ["{tmp}"], "db": "{tmp}/notes.txt"}, "options.db: notes.txt is not a library database"),
])
def test_a_library_request_reads_and_writes_only_where_projects_may_be(tmp_path, options, words):
    from bridge.requests.paths import PathPolicy

    filled = json.loads(json.dumps(options).replace("{tmp}", str(tmp_path)))
    request = parse_request({"version": 1, "id": "lib", "job": "library_index", "options": filled})
    assert PathPolicy(confined=False).check(request)[0].options.paths == request.options.paths  # as given
    with pytest.raises(RequestError) as refused:
        PathPolicy(confined=True).check(request)
    assert words in str(refused.value)
    fine = parse_request({"version": 1, "id": "ok", "job": "library_index",
                          "options": {"paths": [str(tmp_path)], "db": str(tmp_path / "lib.sqlite")}})
    assert PathPolicy(confined=True).check(fine)[0].options.paths == [str(tmp_path)]
