"""Running a job again replaces its own earlier result instead of stacking a second one."""

from __future__ import annotations

from conftest import run_job
from daemon_helpers import song

from bridge import rpp
from bridge.amp.bundled import bundled_capture
from bridge.project import Project
from bridge.project.made import made_records
from bridge.session import RppFileSession

ITEM = "{00000000-0000-4000-8000-0000000000B1}"


def test_transcribing_again_replaces_the_midi_item_on_the_same_track(tmp_path, engines):
    project, _ = song(tmp_path / "song", seconds=3.0)
    first = run_job("transcribe", project, {"guids": [ITEM]}, engines, request_id="tr-1")
    assert "added 1 MIDI track" in first.summary
    second = run_job("transcribe", project, {"guids": [ITEM]}, engines, request_id="tr-2")
    assert "replacing 1 earlier" in second.summary and "existing MIDI track" in second.summary
    p = Project.load(project)
    assert [t.name for t in p.tracks] == ["Keys", "Keys (MIDI)"]
    (midi,) = p.find_track("Keys (MIDI)").items
    assert midi.guid != first.changes.ops[2].guid  # the second run's item
    assert len([m for m in made_records(p) if m.job == "transcribe"]) == 1
    # the user deletes the MIDI track: the next run makes a new one
    root = rpp.load(project)
    root.children.remove(next(c for c in root.chunks("TRACK") if c.values("NAME") == ["Keys (MIDI)"]))
    rpp.dump(root, project)
    run_job("transcribe", project, {"guids": [ITEM]}, engines, request_id="tr-3")
    assert [t.name for t in Project.load(project).tracks] == ["Keys", "Keys (MIDI)"]


def test_bar_markers_again_replace_the_earlier_ones(tmp_path, engines):
    project, _ = song(tmp_path / "song", seconds=6.0)
    run_job("tempo", project, {"guids": [ITEM]}, engines, request_id="t-1", markers="beats")
    count = sum(m.name.startswith("Beat ") for m in Project.load(project).markers)
    run_job("tempo", project, {"guids": [ITEM]}, engines, request_id="t-2", markers="beats")
    markers = Project.load(project).markers
    assert count > 3 and sum(m.name.startswith("Beat ") for m in markers) == count
    run_job("tempo", project, {"guids": [ITEM]}, engines, request_id="t-3", markers="bars")
    names = [m.name for m in Project.load(project).markers]
    assert sum(n.startswith("Beat ") for n in names) == count and any(n.startswith("Bar ") for n in names)


def test_amp_again_renders_from_the_di_and_replaces_its_take(tmp_path, engines):
    project, _ = song(tmp_path / "song", seconds=2.0)
    crunch, lead = bundled_capture("reabridge Crunch"), bundled_capture("reabridge Lead")
    run_job("amp_render", project, {"guids": [ITEM]}, engines, request_id="a-1", model=crunch)
    again = run_job("amp_render", project, {"guids": [ITEM]}, engines, request_id="a-2", model=crunch)
    (render,) = again.files
    assert render.name == "keys-reabridge_Crunch-2.wav"  # from keys.wav, not from the first render
    item = Project.load(project).find_item(ITEM)[1]
    assert [t.name for t in item.takes] == ["keys.wav", "reabridge Crunch"]
    assert item.active_take.source.resolve().path == render
    run_job("amp_render", project, {"guids": [ITEM]}, engines, request_id="a-3", model=lead)
    item = Project.load(project).find_item(ITEM)[1]
    assert [t.name for t in item.takes] == ["keys.wav", "reabridge Crunch", "reabridge Lead"]
    assert item.active_take.name == "reabridge Lead"
    assert "Crunch" not in item.active_take.source.file  # the DI went through Lead, not Crunch then Lead


def test_master_again_and_chain_again_replace(tmp_path, engines):
    project, _ = song(tmp_path / "song", seconds=4.0)
    for n in (1, 2):
        run_job("master", project, {"guids": [ITEM]}, engines, request_id=f"m-{n}", preset="podcast")
        run_job("master_jsfx", project, {"guids": [ITEM]}, engines, request_id=f"c-{n}", preset="podcast",
                install=False)
    item = Project.load(project).find_item(ITEM)[1]
    assert [t.name for t in item.takes] == ["keys.wav", "Master (podcast)"]
    chain = rpp.load(project).chunk("MASTERFXLIST")
    assert len(list(chain.chunks("JS"))) == 1
    # the backup holds the version before the last run
    assert RppFileSession(project).path.with_name("song.RPP-bak").exists()
