"""The daemon against a hostile or clumsy spool: it keeps serving, and nothing is applied twice or half."""

from __future__ import annotations

import json
import os
import threading
import time

from daemon_helpers import (
    EFFECT,
    cli,
    drop,
    env,
    fx_count,
    insert_request,
    serve_once,
    song,
    start,
    status,
    stop,
    transcribe_request,
    wait_status,
)

from bridge import rpp

ITEM = "{00000000-0000-4000-8000-0000000000B1}"


def _master_chain(rid: str, project) -> dict:
    return {"id": rid, "job": "master_jsfx", "project": {"path": str(project)}, "items": {"guids": [ITEM]},
            "options": {"preset": "gentle", "install": False}}


def test_strange_things_in_the_spool_never_stop_it(tmp_path):
    project, _ = song(tmp_path / "song")
    spool = tmp_path / "spool"
    for folder in ("requests", "cancel"):
        (spool / folder).mkdir(parents=True)
    (spool / "cancel" / "a-folder").mkdir()
    (spool / "cancel" / "full-folder").mkdir()
    (spool / "cancel" / "full-folder" / "x").write_text("")
    (spool / "requests" / "folder.json").mkdir()
    (spool / "requests" / "folder.json" / "inside").write_text("")
    os.mkfifo(spool / "requests" / "pipe.json")
    (spool / "requests" / "zeros.json").symlink_to("/dev/zero")
    (spool / "requests" / "link.json").symlink_to(tmp_path / "elsewhere.json")
    (tmp_path / "elsewhere.json").write_text(json.dumps(insert_request("link", project)))
    (spool / "requests" / "we ird$name.json").write_text("{")
    daemon = start(spool)
    stop_churn = threading.Event()

    def churn() -> None:  # request files appearing and vanishing under the daemon's feet
        n = 0
        while not stop_churn.is_set():
            path = spool / "requests" / f"gone-{n % 5}.json"
            path.write_text("{}")
            path.unlink(missing_ok=True)  # the daemon may have taken it (and rejected it) already
            n += 1

    worker = threading.Thread(target=churn)
    worker.start()
    try:
        drop(spool, insert_request("fine", project))
        assert wait_status(spool, "fine")["state"] == "done"
        for stem, words in (("pipe", "is a pipe"), ("zeros", "symbolic link"), ("link", "symbolic link"),
                            ("we ird$name", "not valid JSON")):
            doc = wait_status(spool, stem)
            assert doc["state"] == "error" and words in doc["message"], (stem, doc)
            assert doc["queued_at"] and doc["updated"]
        assert daemon.poll() is None
    finally:
        stop_churn.set()
        worker.join()
        stop(daemon)
    assert daemon.returncode == 0, daemon.stderr.read()
    assert not (spool / "cancel" / "a-folder").exists() and (spool / "requests" / "folder.json").is_dir()
    assert fx_count(project, "link") == 0


def test_a_cancelled_job_leaves_a_fresh_worker_behind(tmp_path):
    """A cancel lands anywhere (even half-way through an import): the next job must not inherit that."""
    project, _ = song(tmp_path / "song", seconds=30.0)
    spool = tmp_path / "spool"
    daemon = start(spool)
    try:
        for n, delay in enumerate((0.0, 0.05, 0.15)):
            drop(spool, transcribe_request(f"cut-{n}", project))
            wait_status(spool, f"cut-{n}", ("running", "done", "error"))
            time.sleep(delay)
            cli("cancel", f"cut-{n}", "--spool", str(spool))
            assert wait_status(spool, f"cut-{n}")["state"] in ("cancelled", "done")
            drop(spool, transcribe_request(f"after-{n}", project))
            doc = wait_status(spool, f"after-{n}", timeout=180)
            assert doc["state"] == "done", doc
    finally:
        stop(daemon)
    assert "Keys (MIDI)" in project.read_text()


def test_an_apply_that_failed_is_never_replayed(tmp_path):
    """The apply fails, the daemon dies before it answers the worker: the restart runs the job again, cleanly."""
    project, _ = song(tmp_path / "song", seconds=4.0)
    spool = tmp_path / "spool"
    daemon = start(spool, failpoint="apply_fails,refused")
    drop(spool, _master_chain("chain", project))
    assert daemon.wait(120) == -9
    assert "reabridge_master" not in project.read_text()
    out = serve_once(spool)
    assert out.returncode == 0, out.stderr
    doc = status(spool, "chain")
    assert doc["state"] == "done" and doc["attempts"] == 1, doc  # a daemon that died does not use up an attempt
    chain = rpp.load(project).chunk("MASTERFXLIST")
    (js,) = list(chain.chunks("JS"))
    assert (project.parent / "reabridge-jsfx" / js.params[0].split("/")[-1]).is_file()


def test_a_status_file_that_lagged_a_kill_is_put_right(tmp_path):
    project, _ = song(tmp_path / "song")
    spool = tmp_path / "spool"
    daemon = start(spool, failpoint="finished")
    drop(spool, insert_request("lagged", project))
    assert daemon.wait(120) == -9
    assert status(spool, "lagged")["state"] == "running"
    assert json.loads(cli("jobs", "--spool", str(spool), "--json").stdout)[0]["state"] == "done"
    assert serve_once(spool).returncode == 0
    assert status(spool, "lagged")["state"] == "done" and fx_count(project, "lagged") == 1


def test_writes_computed_by_jobs_are_confined_too(tmp_path):
    project, _ = song(tmp_path / "song", seconds=4.0)
    outside = tmp_path / "outside"
    outside.mkdir()
    (project.parent / "reabridge-jsfx").symlink_to(outside)
    spool = tmp_path / "spool"
    drop(spool, _master_chain("escape", project))
    drop(spool, {"id": "passwd", "job": "master", "project": {"path": str(project)}, "items": {"guids": [ITEM]},
                 "options": {"preset_file": "/etc/passwd"}})
    assert serve_once(spool).returncode == 0
    doc = status(spool, "escape")
    assert doc["state"] == "error" and "outside the folders this request may write to" in doc["message"], doc
    assert list(outside.iterdir()) == []
    doc = status(spool, "passwd")
    assert doc["state"] == "error" and "options.preset_file: /etc/passwd is not a file this option reads" in \
        doc["message"], doc


def test_workers_that_cannot_start_fail_the_queue_instead_of_looping(tmp_path):
    project, _ = song(tmp_path / "song")
    spool = tmp_path / "spool"
    drop(spool, insert_request("stuck", project))
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "bridge", "serve", "--spool", str(spool), "--once", "--warm", "none"],
                         env=env(REABRIDGE_FAILPOINT="worker_start"), capture_output=True, text=True, timeout=300)
    assert out.returncode == 1, out.stderr
    doc = status(spool, "stuck")
    assert doc["state"] == "error" and "workers cannot start" in doc["message"], doc
    log = (spool / "daemon.log").read_text()
    assert 1 <= log.count("died while starting") <= 8


def test_command_line_side_refuses_bad_ids_and_a_damaged_queue(tmp_path):
    spool = tmp_path / "spool"
    (spool / "requests").mkdir(parents=True)
    bad = cli("cancel", "../escape", "--spool", str(spool))
    assert bad.returncode == 1 and "is not a request id" in bad.stderr and bad.stderr.count("\n") == 1
    assert not (tmp_path / "escape").exists()
    (spool / "queue.db").write_bytes(b"this is not a database" * 100)
    jobs = cli("jobs", "--spool", str(spool))
    assert jobs.returncode == 1 and "cannot be read" in jobs.stderr and jobs.stderr.count("\n") == 1
    served = cli("serve", "--spool", str(spool), "--once", "--warm", "none")
    assert served.returncode == 1 and "is damaged" in served.stderr and "Traceback" not in served.stderr
    assert served.stderr.count("\n") == 1
    # the effect named in a request must be a JSFX
    assert EFFECT.suffix == ".jsfx"
