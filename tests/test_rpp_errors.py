"""Broken input raises RppError with a line number, never another exception."""

from __future__ import annotations

import pytest
from conftest import RPP_FILES
from hypothesis import given
from hypothesis import strategies as st

from bridge import rpp
from bridge.project import Project
from bridge.rpp import RppError


def _parse_bytes(data: bytes):
    return rpp.loads(rpp.decode(data))


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("", 1, "empty"),
        ("   \n\n", 1, "empty"),
        ("<REAPER_PROJECT\n  <TRACK\n    NAME x\n", 4, "truncated"),
        ("<REAPER_PROJECT\n>\n>\n", 3, "never opened"),
        ("<REAPER_PROJECT\n  A 1\n>\nTAIL\n", 4, "after the end"),
        ("hello\n<REAPER_PROJECT\n>\n", 1, "expected a block"),
        ("<REAPER_PROJECT\n  A \x00\x01\n>\n", 2, "control character"),
        ("<REAPER_PROJECT\n< \n>\n", 2, "no name"),
    ],
)
def test_broken_text_names_the_line(text, line, words):
    with pytest.raises(RppError) as info:
        rpp.loads(text)
    assert info.value.line == line
    assert words in str(info.value)
    assert str(info.value).startswith(f"line {line}:")


def test_wrong_encoding_names_the_line(tmp_path):
    path = tmp_path / "latin1.RPP"
    path.write_bytes('<REAPER_PROJECT\n  NAME "Café"\n>\n'.encode("latin-1"))
    with pytest.raises(RppError) as info:
        rpp.load(path)
    assert info.value.line == 2 and "UTF-8" in str(info.value)


def test_missing_file_is_an_rpp_error(tmp_path):
    with pytest.raises(RppError, match="cannot read"):
        rpp.load(tmp_path / "nope.RPP")


def test_a_track_chunk_is_not_a_project():
    with pytest.raises(RppError, match="not a REAPER project"):
        Project.loads("<TRACK {X}\n>\n")


@pytest.mark.parametrize("path", RPP_FILES, ids=lambda p: p.name)
def test_every_truncation_of_a_project_is_an_rpp_error(path):
    data = path.read_bytes()
    # cut inside the file at many places: all must fail cleanly (a cut is never a full project)
    step = max(1, len(data) // 97)
    for cut in range(0, len(data) - 3, step):
        with pytest.raises(RppError):
            _parse_bytes(data[:cut])


@st.composite
def mutated_project(draw):
    data = draw(st.sampled_from(RPP_FILES)).read_bytes()
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["insert", "delete", "replace", "truncate", "dup_line"]))
        at = draw(st.integers(0, len(data)))
        if kind == "insert":
            data = data[:at] + draw(st.binary(min_size=1, max_size=8)) + data[at:]
        elif kind == "delete":
            data = data[:at] + data[at + draw(st.integers(1, 200)):]
        elif kind == "replace" and at < len(data):
            byte = draw(st.sampled_from([b"<", b">", b"\n", b"\"", b"\x00", b"\xff", b"\r"]))
            data = data[:at] + byte + data[at + 1:]
        elif kind == "truncate":
            data = data[:at]
        elif kind == "dup_line":
            lines = data.split(b"\n")
            i = at % max(1, len(lines))
            lines.insert(i, lines[i] if lines else b"")
            data = b"\n".join(lines)
    return data


@given(mutated_project())
def test_mutated_corpus_projects_parse_or_raise_rpp_error(data):
    try:
        root = _parse_bytes(data)
    except RppError as exc:
        assert exc.line is None or exc.line >= 1
        return
    # what parses must round-trip and its model must be readable without crashing
    assert rpp.dumps(root).encode("utf-8") == data
    if root.tag == "REAPER_PROJECT":
        Project(root).summary()


@given(st.binary(max_size=300))
def test_random_bytes_never_raise_anything_but_rpp_error(data):
    try:
        root = _parse_bytes(data)
    except RppError:
        return
    assert rpp.dumps(root).encode("utf-8") == data
