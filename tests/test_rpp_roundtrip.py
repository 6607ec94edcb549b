"""The RPP layer is lossless: parse + write gives the same bytes."""

from __future__ import annotations

import pytest
from conftest import RPP_FILES

from bridge import rpp


@pytest.mark.parametrize("path", RPP_FILES, ids=lambda p: p.name)
def test_corpus_project_round_trips_byte_for_byte(path):
    data = path.read_bytes()
    root = rpp.load(path)
    assert root.tag == "REAPER_PROJECT"
    assert rpp.dumps(root).encode("utf-8") == data


def test_corpus_has_both_line_ending_styles():
    endings = {b"\r\n" in p.read_bytes() for p in RPP_FILES}
    assert endings == {True, False}


@pytest.mark.parametrize(
    "text",
    [
        '<REAPER_PROJECT 0.1 "7.0" 1\n  NAME `it\'s "quoted"`\n>\n',
        "<REAPER_PROJECT 0.1\r\n  TEMPO 120 4 4 \r\n  <NOTES 0 2\r\n    |<b>bold</b> > not a close\r\n  >\r\n>",
        "\ufeff<REAPER_PROJECT\n  X 1\n>\n\n  \n",
        "\n\n<REAPER_PROJECT\n\t<TRACK {A}\n\t\tNAME\tx\n\t>\n>\r\n",
        "<REAPER_PROJECT\n  <VST \"VST: X (Y)\" x.dll 0 \"\" 1<56535458> \"\"\n    AAAA==\n  >\n"
        "  <UNKNOWN_BLOCK weird \"stuff\n    ~~~ whatever 123\n  >\n>",
        "<TRACK {1}\n>",
    ],
)
def test_edge_cases_round_trip(text):
    assert rpp.dumps(rpp.loads(text)) == text


def test_deeply_nested_blocks_round_trip_without_recursion():
    depth = 5000
    text = "".join(f"<B{i}\n" for i in range(depth)) + ">\n" * depth
    root = rpp.loads(text)
    assert rpp.dumps(root) == text
    assert sum(1 for _ in root.walk()) == depth


def test_tree_gives_tokens_and_values():
    root = rpp.loads('<REAPER_PROJECT 0.1 "6.0/x64" 5\n  <TRACK {G}\n    NAME "Gtr DI"\n  >\n>\n')
    assert root.params == ["0.1", "6.0/x64", "5"]
    track = root.chunk("TRACK")
    assert track is not None and track.params == ["{G}"]
    assert track.values("NAME") == ["Gtr DI"]


def test_editing_one_line_changes_only_that_line():
    path = next(p for p in RPP_FILES if "soothesayer" in p.name)
    text = path.read_bytes().decode()
    root = rpp.loads(text)
    root.line("TEMPO").set(99, 3, 4)
    out = rpp.dumps(root)
    old_lines, new_lines = text.split("\n"), out.split("\n")
    changed = [i for i, (a, b) in enumerate(zip(old_lines, new_lines, strict=True)) if a != b]
    assert len(changed) == 1
    assert new_lines[changed[0]] == "  TEMPO 99 3 4\r"


def test_dump_writes_atomically(tmp_path):
    target = tmp_path / "x.RPP"
    target.write_text("old")
    rpp.dump(rpp.loads("<REAPER_PROJECT\n>\n"), target)
    assert target.read_text() == "<REAPER_PROJECT\n>\n"
    assert [p.name for p in tmp_path.iterdir()] == ["x.RPP"]
