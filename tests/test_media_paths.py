"""Media files are found the way REAPER finds them."""

from __future__ import annotations

from pathlib import Path

from bridge.project.media import relative_media_path, resolve_media


def test_relative_path_with_windows_separators(tmp_path):
    (tmp_path / "Audio Files").mkdir()
    f = tmp_path / "Audio Files" / "gtr.wav"
    f.write_bytes(b"x")
    found = resolve_media("Audio Files\\gtr.wav", tmp_path)
    assert found.exists and found.path == f


def test_missing_absolute_windows_path_falls_back_to_project_folder(tmp_path):
    f = tmp_path / "Bass - 23.mp3"
    f.write_bytes(b"x")
    found = resolve_media("D:\\Projects\\song\\Audio Files\\Bass - 23.mp3", tmp_path)
    assert found.exists and found.path == f


def test_fallback_to_record_path(tmp_path):
    (tmp_path / "audio").mkdir()
    f = tmp_path / "audio" / "take.flac"
    f.write_bytes(b"x")
    found = resolve_media("C:\\elsewhere\\take.flac", tmp_path, ("audio",))
    assert found.exists and found.path == f


def test_missing_media_is_reported_not_raised(tmp_path):
    found = resolve_media("nothing.wav", tmp_path)
    assert not found.exists and found.path == tmp_path / "nothing.wav"


def test_relative_media_path(tmp_path):
    assert relative_media_path(tmp_path / "Media" / "a.wav", tmp_path) == "Media/a.wav"
    outside = Path("/somewhere/else/a.wav")
    assert relative_media_path(outside, tmp_path) == str(outside)
