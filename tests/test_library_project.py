"""reabridge library in projects: identify items into notes or markers (re-runs replace), index projects'
media (each source once), find the projects using a file; and hum and similar on small sets."""

from __future__ import annotations

import json

import library_signals as sig
import numpy as np
import pytest
from test_library import cli

from bridge.changes import AddAudioItem, AddTrack, ChangeSet
from bridge.changes.chunks import empty_project
from bridge.project import Project
from bridge.session import RppFileSession


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """Three songs indexed; a project whose item plays 8 s of song 1 from 12.5 s, and a copy of that song
    under another name inside the project's folder (same content)."""
    root = tmp_path_factory.mktemp("libproj")
    for i in range(3):
        sig.write(root / "songs" / f"song{i}.wav", sig.song(60 + i, 24.0))
    db = root / "lib.sqlite"
    with pytest.raises(SystemExit) as info:
        from bridge.cli.app import main

        main(["library", "index", str(root / "songs"), "--db", str(db)])
    assert info.value.code in (0, None)
    take = sig.write(root / "proj" / "take.wav", sig.song(61, 24.0))  # same bytes as songs/song1.wav
    project = root / "proj" / "song.RPP"
    project.write_text(empty_project(48000, 120.0))
    t = AddTrack("Gtr")
    item = AddAudioItem(t.guid, str(take), 4.0, 8.0, source_offset=12.5)
    RppFileSession(project).apply(ChangeSet("setup", (t, item)))
    return root, db, project, item.guid


def _item(project):
    return Project.load(project).items()[0][1]


def test_item_notes_get_the_answer_and_a_rerun_replaces_it(capsys, setup):
    root, db, project, guid = setup
    code, out, err = cli(capsys, "library", "find", "--project", str(project), "--item", guid, "--db", str(db))
    assert code == 0, err
    line = f"from {root / 'songs' / 'song1.wav'} at 0:12.5"
    assert _item(project).notes == line
    assert f"{line}" in out
    code, _, err = cli(capsys, "library", "find", "--project", str(project), "--item", guid, "--db", str(db),
                       "--json")
    assert code == 0, err
    assert _item(project).notes == line  # replaced, not added twice


def test_markers_mode_puts_one_marker_at_the_item_and_a_rerun_replaces_it(capsys, setup):
    root, db, project, guid = setup
    for _ in range(2):
        code, _, err = cli(capsys, "library", "find", "--project", str(project), "--item", guid, "--db", str(db),
                           "--as", "markers")
        assert code == 0, err
        found = [m for m in Project.load(project).markers if m.name.startswith("from ")]
        assert [(m.position, m.name) for m in found] == [(4.0, f"from {root / 'songs' / 'song1.wav'} at 0:12.5")]
    assert _item(project).notes == ""  # the notes line of the earlier run went when markers were asked for


def test_projects_are_indexed_by_their_media_and_found_from_a_file(capsys, setup, tmp_path):
    root, _, project, _ = setup
    db = tmp_path / "lib.sqlite"
    code, out, err = cli(capsys, "library", "index", str(root / "songs"), str(project), "--db", str(db))
    assert code == 0, err
    assert "1 with content already indexed" in out and "1 project(s)" in out  # take.wav is song1's bytes
    code, out, _ = cli(capsys, "library", "projects", str(root / "songs" / "song1.wav"), "--db", str(db), "--json")
    assert code == 0
    matches = json.loads(out)["matches"]
    assert matches[0] == {"project": str(project), "media": str(root / "proj" / "take.wav"), "how": "same file"}
    code, out, _ = cli(capsys, "library", "projects", str(root / "songs" / "song2.wav"), "--db", str(db), "--json")
    assert json.loads(out) == {"matches": []}


def test_hum_finds_the_tune_in_another_key_tempo_and_instrument(capsys, tmp_path):
    for i in range(6):
        sig.write(tmp_path / "tunes" / f"tune{i}.wav", sig.render_melody(sig.melody_notes(i, 40), 100))
    db = str(tmp_path / "lib.sqlite")
    assert cli(capsys, "library", "index", str(tmp_path / "tunes"), "--db", db)[0] == 0
    top = []
    for i, (shift, bpm) in enumerate([(3, 115), (-4, 85), (5, 120), (-2, 80), (1, 100), (7, 110)]):
        hummed = sig.render_melody(sig.melody_notes(i, 40)[8:22], bpm, transpose=shift, harmonics=1, vibrato=0.01)
        clip = sig.write(tmp_path / f"hum{i}.wav", hummed)
        code, out, err = cli(capsys, "library", "hum", str(clip), "--db", db, "--json")
        assert code == 0, err
        top.append(json.loads(out)["matches"][0]["file"])
    assert top == [str(tmp_path / "tunes" / f"tune{i}.wav") for i in range(6)]


def test_similar_ranks_sounds_of_the_same_kind_first(capsys, tmp_path):
    rng = np.random.default_rng(5)
    for i in range(3):
        sig.write(tmp_path / "kit" / f"kick{i}.wav", sig.kick_sound(0.8 + 0.2 * i))
        sig.write(tmp_path / "kit" / f"snare{i}.wav", sig.snare_sound(rng))
        sig.write(tmp_path / "kit" / f"pad{i}.wav", sig.pad_sound(55 + 3 * i))
    db = str(tmp_path / "lib.sqlite")
    assert cli(capsys, "library", "index", str(tmp_path / "kit"), "--db", db)[0] == 0
    for kind, y in (("kick", sig.kick_sound(1.05)), ("snare", sig.snare_sound(np.random.default_rng(9))),
                    ("pad", sig.pad_sound(60))):
        clip = sig.write(tmp_path / f"new_{kind}.wav", y)
        code, out, err = cli(capsys, "library", "similar", str(clip), "--db", db, "--top", "3", "--json")
        assert code == 0, err
        names = [m["file"].rsplit("/", 1)[1] for m in json.loads(out)["matches"]]
        assert len(names) == 3 and all(n.startswith(kind) for n in names), (kind, names)
    code, out, _ = cli(capsys, "library", "similar", str(tmp_path / "kit" / "kick0.wav"), "--db", db, "--top", "2")
    assert code == 0 and "kick0.wav" not in out  # the clip itself is not its own neighbour
    assert out.splitlines()[0].startswith("1. ") and "kick" in out.splitlines()[0]


def test_the_daemon_indexes_and_writes_the_answer_into_a_project(tmp_path):
    from daemon_helpers import drop, serve_once, status

    for i in range(6):  # enough for the analysis pool, which the daemon's (daemonic) workers must not start
        sig.write(tmp_path / "lib" / f"s{i}.wav", sig.song(70 + i, 14.0))
    db = tmp_path / "lib.sqlite"
    spool = tmp_path / "spool"
    drop(spool, {"id": "lib-index-1", "job": "library_index",
                 "options": {"paths": [str(tmp_path / "lib")], "db": str(db)}})
    project = tmp_path / "proj" / "song.RPP"
    project.parent.mkdir()
    project.write_text(empty_project(48000, 120.0))
    t = AddTrack("Take")
    item = AddAudioItem(t.guid, str(tmp_path / "lib" / "s3.wav"), 1.0, 10.0, source_offset=2.5)
    RppFileSession(project).apply(ChangeSet("setup", (t, item)))
    drop(spool, {"id": "lib-find-1", "job": "library_find", "project": {"path": str(project)},
                 "items": {"guids": [item.guid]}, "options": {"db": str(db)}})
    out = serve_once(spool)
    assert out.returncode == 0, out.stderr
    done = status(spool, "lib-index-1")
    assert done["state"] == "done" and done["result"]["summary"].startswith("6 file(s) indexed"), done
    assert status(spool, "lib-find-1")["state"] == "done", status(spool, "lib-find-1")["error"]
    assert _item(project).notes == f"from {tmp_path / 'lib' / 's3.wav'} at 0:02.5"
