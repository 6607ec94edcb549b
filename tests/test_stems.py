"""``reabridge stems``: files (rate, channels, length, alignment, separation), project items, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from bridge.changes import AddAudioItem, AddTrack, ChangeSet
from bridge.changes.chunks import empty_project
from bridge.project.project import Project
from bridge.session import RppFileSession
from tests.stems_signals import RATE, song


def cli(capsys, *args: str) -> tuple[int, str, str]:
    from bridge.cli.app import main
    from bridge.cli.common import state

    state.debug = False
    with pytest.raises(SystemExit) as info:
        main(list(args))
    out = capsys.readouterr()
    return int(info.value.code or 0), out.out, out.err


def sdr(reference: np.ndarray, estimate: np.ndarray) -> float:
    """Plain SDR in dB: 10 log10(|s|^2 / |s - s_hat|^2)."""
    return float(10 * np.log10(np.sum(reference.astype(np.float64) ** 2) /
                                np.sum((reference.astype(np.float64) - estimate) ** 2)))


def below(x: np.ndarray, rate: int, hz: float) -> np.ndarray:
    """``x`` with everything above ``hz`` removed (a brick wall over the whole file)."""
    spectrum = np.fft.rfft(x, axis=0)
    spectrum[np.fft.rfftfreq(len(x), 1 / rate) > hz] = 0
    return np.fft.irfft(spectrum, n=len(x), axis=0)


@pytest.fixture(scope="module")
def parts(tmp_path_factory):
    mix, voice, accompaniment = song(2.5)
    folder = tmp_path_factory.mktemp("song")
    sf.write(folder / "song.wav", mix, RATE, subtype="FLOAT")
    return folder / "song.wav", mix, voice, accompaniment


def test_a_song_splits_into_vocals_and_accompaniment_of_its_rate_and_length(parts, tmp_path, capsys):
    path, mix, voice, accompaniment = parts
    code, out, err = cli(capsys, "stems", str(path), "--out", str(tmp_path / "stems"), "--json")
    assert code == 0, err
    data = json.loads(out)
    vocals, rate = sf.read(tmp_path / "stems" / "vocals.wav", dtype="float32")
    backing, _ = sf.read(tmp_path / "stems" / "accompaniment.wav", dtype="float32")
    assert rate == RATE and vocals.shape == backing.shape == mix.shape
    assert sf.info(str(tmp_path / "stems" / "vocals.wav")).subtype == "FLOAT"
    assert data["vocals"] == str(tmp_path / "stems" / "vocals.wav") and data["segments"] == 1
    # the "voice" comes out of the vocal stem, the drums and bass out of the other: each >= 10 dB better than
    # the mixture itself (measured 14.4 and 12.6 dB against 0.2 and -0.2)
    assert sdr(voice, vocals) > sdr(voice, mix) + 10
    assert sdr(accompaniment, backing) > sdr(accompaniment, mix) + 10


def test_mono_48_khz_gives_mono_stems_sample_aligned_with_the_input(parts, tmp_path, capsys):
    import soxr

    _, mix, _, _ = parts
    mono = soxr.resample(mix.mean(axis=1), RATE, 48000).astype(np.float32)[:48000 * 2 + 1]
    path = tmp_path / "mono.wav"
    sf.write(path, mono, 48000, subtype="PCM_16")
    code, _, err = cli(capsys, "stems", str(path), "--format", "24")
    assert code == 0, err
    folder = tmp_path / "mono-stems"
    vocals, rate = sf.read(folder / "vocals.wav", dtype="float64")
    backing, _ = sf.read(folder / "accompaniment.wav", dtype="float64")
    assert rate == 48000 and vocals.ndim == 1 and len(vocals) == len(backing) == len(mono)
    assert sf.info(str(folder / "vocals.wav")).subtype == "PCM_24"
    # the two masks add up to one below 11 kHz, so the stems add up to the input there: only when they are
    # aligned with it to the sample (one sample of offset would cost ~20 dB at 8 kHz)
    original, _ = sf.read(path, dtype="float64")
    assert sdr(below(original, 48000, 9000), below(vocals + backing, 48000, 9000)) > 40


def _bad(folder: Path, kind: str) -> Path:
    path = folder / f"{kind}.wav"
    if kind == "silence":
        sf.write(path, np.zeros((RATE, 2), np.float32), RATE)
    elif kind == "surround":
        sf.write(path, np.random.default_rng(0).standard_normal((RATE, 3)).astype(np.float32) * 0.1, RATE)
    return path


@pytest.mark.parametrize(("kind", "extra", "words"), [
    ("silence", [], "silence.wav is silent: there is nothing to separate"),
    ("surround", [], "surround.wav has 3 channels; stems splits mono or stereo audio"),
    ("missing", [], "missing.wav"),
    ("silence", ["--project", "x.RPP"], "give either an audio file or --project, not both"),
])
def test_bad_input_is_one_line_and_leaves_nothing(tmp_path, capsys, kind, extra, words):
    path = _bad(tmp_path, kind)
    before = sorted(p.name for p in tmp_path.iterdir())
    code, out, err = cli(capsys, "stems", str(path), *extra)
    assert code != 0 and out == ""
    assert err.count("\n") == 1 and "Traceback" not in err and words in err
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no stems folder, no file


def test_existing_stems_are_kept_without_overwrite(parts, tmp_path, capsys):
    path, _, _, _ = parts
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "vocals.wav").write_bytes(b"mine")
    code, _, err = cli(capsys, "stems", str(path), "--out", str(tmp_path / "out"))
    assert code == 1 and "already exists; use --overwrite" in err and err.count("\n") == 1
    assert (tmp_path / "out" / "vocals.wav").read_bytes() == b"mine"
    assert not (tmp_path / "out" / "accompaniment.wav").exists()


def _project(folder: Path, media: Path) -> Path:
    path = folder / "song.RPP"
    path.write_text(empty_project(44100, 120.0))
    track = AddTrack("Song")
    RppFileSession(path).apply(ChangeSet("setup", (track, AddAudioItem(track.guid, str(media), 2.0, 2.5))))
    path.with_name(path.name + "-bak").unlink()
    return path


def test_project_item_gets_two_tracks_of_stems_and_is_muted_and_reruns_replace(parts, tmp_path, capsys):
    media, _, _, _ = parts
    path = _project(tmp_path, media)
    (_, original), = Project.load(path).items()
    code, _, err = cli(capsys, "stems", "--project", str(path), "--item", original.guid)
    assert code == 0, err
    project = Project.load(path)
    assert [t.name for t in project.tracks] == ["Song", "Vocals (split)", "Accompaniment (split)"]
    (_, muted), = [(t, i) for t, i in project.items() if i.guid == original.guid]
    assert muted.mute
    files = []
    for track, stem in zip(project.tracks[1:], ("vocals", "accompaniment"), strict=True):
        (item,) = track.items
        assert (item.position, item.length, item.name) == (2.0, 2.5, f"song.wav ({stem})")
        file = item.active_take.source.resolve().path
        assert file.name == f"song-{stem}.wav" and sf.info(str(file)).frames == int(2.5 * RATE)
        files.append(file)
    # again: the stem items are replaced on the same tracks (new files; the old ones stay on disk, as REAPER's do)
    code, _, err = cli(capsys, "stems", "--project", str(path), "--item", original.guid)
    assert code == 0, err
    again = Project.load(path)
    assert [t.name for t in again.tracks] == ["Song", "Vocals (split)", "Accompaniment (split)"]
    assert [len(t.items) for t in again.tracks] == [1, 1, 1]
    assert again.tracks[1].items[0].active_take.source.resolve().path.name == "song-vocals-2.wav"
    assert all(f.exists() for f in files)
    # a stem is not split again
    code, _, err = cli(capsys, "stems", "--project", str(path), "--item", again.tracks[1].items[0].guid)
    assert code == 1 and "select the original (muted) item" in err and err.count("\n") == 1


def test_a_daemon_warmed_with_stems_keeps_the_network_its_jobs_use():
    from bridge.jobs.engines import WARMABLE, Engines
    from bridge.stems.split import shared_net

    engines = Engines()
    seconds = engines.warm(["stems"])
    assert "stems" in WARMABLE and set(seconds) == {"stems"} and seconds["stems"] > 0
    assert shared_net() is shared_net()  # the jobs' network is the one warmed, not a second load
    with pytest.raises(ValueError, match="unknown engine 'stem'; known: transcribe, tempo, jsfx, speakers, speech"):
        engines.warm(["stem"])
