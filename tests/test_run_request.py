"""``run_request`` for every job on real projects: selection, the job, the apply, errors a musician can act on."""

from __future__ import annotations

import shutil

import pytest
import soundfile as sf
from conftest import CORPUS, RPP_FILES, run_job

from bridge import rpp
from bridge.amp.bundled import bundled_capture
from bridge.assets import jsfx_dir
from bridge.changes import AddAudioItem, AddMidiItem, AddTrack, ChangeSet, Note, derived_guid
from bridge.errors import ReabridgeError
from bridge.project import Project
from bridge.session import RppFileSession

VOICE = "{00000000-0000-4000-8000-0000000000C1}"
VOICE_ITEM = "{00000000-0000-4000-8000-0000000000C2}"
SYNTH_ITEM = "{00000000-0000-4000-8000-0000000000C3}"
EFFECT = jsfx_dir() / "reabridge_master_gentle.jsfx"


@pytest.fixture
def corpus_song(tmp_path):
    """A real project (exvertus test_track, REAPER 6.69) with a 'Voice' track playing the corpus C major scale."""
    src = next(p for p in RPP_FILES if p.name.endswith("test_track.rpp"))
    path = tmp_path / "test_track.rpp"
    shutil.copyfile(src, path)
    path.chmod(0o644)
    media = tmp_path / "C_major.mp3"
    shutil.copy(CORPUS / "audio" / "basic-pitch-ts__C_major.mp3", media)
    synth = AddTrack("Synth")
    RppFileSession(path).apply(ChangeSet("setup", (
        AddTrack("Voice", guid=VOICE), AddAudioItem(VOICE, str(media), 2.0, 10.0, guid=VOICE_ITEM),
        synth, AddMidiItem(synth.guid, 0.0, 2.0, notes=(Note(0, 1, 60),), guid=SYNTH_ITEM))))
    return path


def test_transcribe_adds_one_midi_track_and_is_idempotent(corpus_song, engines):
    before = Project.load(corpus_song)
    result = run_job("transcribe", corpus_song, {"guids": [VOICE_ITEM]}, engines, request_id="tr-a")
    assert result.applied is True and result.project == str(corpus_song)
    after = Project.load(corpus_song)
    assert len(after.tracks) == len(before.tracks) + 1
    midi = after.find_track(derived_guid("tr-a", "track", VOICE))
    assert midi.name == "Voice (MIDI)" and midi.items[0].position == 2.0
    pitches = {n.pitch for n in midi.items[0].active_take.source.notes()}
    assert {60, 62, 64, 65, 67} <= pitches
    again = run_job("transcribe", corpus_song, {"guids": [VOICE_ITEM]}, engines, request_id="tr-a")
    assert again.applied is False and len(Project.load(corpus_song).tracks) == len(after.tracks)


def test_tempo_markers_without_apply_keep_the_tempo(corpus_song, engines):
    bpm = Project.load(corpus_song).tempo_map.bpm
    result = run_job("tempo", corpus_song, {"guids": [VOICE_ITEM]}, engines, markers="beats")
    assert result.applied and result.data["bpm"] > 0
    after = Project.load(corpus_song)
    assert after.tempo_map.bpm == bpm
    assert sum(m.name.startswith("Beat ") for m in after.markers) == len(result.data["beats"])


def test_amp_and_master_add_takes_in_the_recording_folder(corpus_song, engines):
    lead = bundled_capture("reabridge Lead")
    amp = run_job("amp_render", corpus_song, {"guids": [VOICE_ITEM]}, engines, model=lead)
    (render,) = amp.files
    assert Project.load(corpus_song).record_paths == ("audio",)  # the project's recording folder
    assert render.parent == corpus_song.parent / "audio" and sf.info(render).frames == 10 * 44100
    item = Project.load(corpus_song).find_item(VOICE_ITEM)[1]
    assert item.active_take.name == "reabridge Lead"
    master = run_job("master", corpus_song, {"guids": [VOICE_ITEM]}, engines, preset="podcast")
    assert master.applied and Project.load(corpus_song).find_item(VOICE_ITEM)[1].active_take.name == \
        "Master (podcast)"
    figures = master.data["items"][VOICE_ITEM]
    assert abs(figures["after_lufs"] - figures["target_lufs"]) <= 0.1


def test_master_jsfx_and_jsfx_insert(corpus_song, engines, tmp_path):
    resource = tmp_path / "REAPER"
    resource.mkdir()
    chain = run_job("master_jsfx", corpus_song, {"guids": [VOICE_ITEM]}, engines, resource_path=resource)
    assert chain.applied and (resource / "Effects" / "reabridge").is_dir()
    fx = run_job("jsfx_insert", corpus_song, None, engines, effect=EFFECT, track="Voice",
                 sliders={"1": -3}, resource_path=resource)
    assert fx.notices == ["slider 1 (High-pass frequency (Hz)) goes from 10 to 500; -3 became 10"]
    root = rpp.load(corpus_song)
    voice = next(t for t in root.chunks("TRACK") if t.values("NAME") == ["Voice"])
    js = voice.chunk("FXCHAIN").chunk("JS")
    assert js.params[0] == "reabridge/reabridge_master_gentle.jsfx"
    assert js.children[0].raw.split()[0] == "10"  # brought into the slider's range, as REAPER's slider does
    assert fx.files == [resource / "Effects" / "reabridge" / EFFECT.name]


@pytest.mark.parametrize("path", RPP_FILES, ids=lambda p: p.name)
def test_jsfx_insert_on_every_corpus_project(path, tmp_path, engines):
    target = tmp_path / path.name
    shutil.copyfile(path, target)
    target.chmod(0o644)
    result = run_job("jsfx_insert", target, None, engines, effect=EFFECT, install=False)
    assert result.applied
    chain = rpp.load(target).chunk("MASTERFXLIST")
    assert chain.chunk("JS") is not None or any(c.tag == "JS" for c in chain.chunks())
    assert target.read_text(errors="replace").count(derived_guid("jsfx-insert-test", "fx", "master")) == 1


@pytest.mark.parametrize(("job", "items", "options", "words"), [
    ("transcribe", {"guids": ["{12345678-1234-4234-8234-123456789ABC}"]}, {}, "no item with GUID {12345678"),
    ("tempo", {"guids": ["{12345678-1234-4234-8234-123456789ABC}"]}, {}, "no item with GUID"),
    ("transcribe", {"tracks": ["Nope"]}, {}, "no track named 'Nope'"),
    ("transcribe", {"selected": True}, {}, "'ReaSamplOmatic5000 untitled MIDI item-glued' at 0.00 s on track 'Kick' "
                                           "is a MIDI item"),
    ("transcribe", {"guids": [SYNTH_ITEM]}, {}, "is a MIDI item"),
    ("tempo", {"guids": [SYNTH_ITEM]}, {}, "is a MIDI item"),
    ("tempo", {"guids": [VOICE_ITEM, SYNTH_ITEM]}, {}, "one item; 2 were chosen"),
    ("amp_render", {"guids": [SYNTH_ITEM]}, {"model": str(bundled_capture("reabridge Lead"))}, "is a MIDI item"),
    ("master", {"guids": [SYNTH_ITEM]}, {}, "is a MIDI item"),
])
def test_errors_a_musician_can_act_on(corpus_song, engines, job, items, options, words):
    before = corpus_song.read_bytes()
    with pytest.raises(ReabridgeError) as info:
        run_job(job, corpus_song, items, engines, **options)
    assert words in str(info.value) and "\n" not in str(info.value)
    assert corpus_song.read_bytes() == before


def test_vanished_media_is_named(corpus_song, engines):
    (corpus_song.parent / "C_major.mp3").unlink()
    with pytest.raises(ReabridgeError, match=r"no item could be transcribed: .*C_major\.mp3, which is missing"):
        run_job("transcribe", corpus_song, {"guids": [VOICE_ITEM]}, engines)


def test_a_failed_apply_leaves_no_render(corpus_song, engines):
    from bridge.requests import parse_request
    from bridge.requests.run import run_request

    class Unwritable(RppFileSession):
        def apply(self, changes):
            raise ReabridgeError("the project could not be written")

    original = corpus_song.read_bytes()
    request = parse_request({"id": "amp-x", "job": "amp_render", "project": {"path": str(corpus_song)},
                             "items": {"guids": [VOICE_ITEM]},
                             "options": {"model": str(bundled_capture("reabridge Lead"))}})
    with pytest.raises(ReabridgeError, match="could not be written"):
        run_request(request, Unwritable(corpus_song), engines=engines)
    assert corpus_song.read_bytes() == original
    assert not list(corpus_song.parent.glob("C_major-reabridge*"))
