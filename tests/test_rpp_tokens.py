"""Tokens are read and written the way REAPER does."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bridge.rpp import format_number, quote, tokenize


def test_tokenize_handles_all_quote_styles():
    line = """NAME "a b" 'say "hi"' `it's "x"` bare "" 1<ABC>"""
    assert tokenize(line) == ["NAME", "a b", 'say "hi"', """it's "x\"""", "bare", "", "1<ABC>"]


def test_unterminated_quote_runs_to_end_of_line():
    assert tokenize('NAME "no end here') == ["NAME", "no end here"]


def test_quote_prefers_double_then_single_then_backtick():
    assert quote("plain") == "plain"
    assert quote("") == '""'
    assert quote("two words") == '"two words"'
    assert quote('say "hi"') == "'say \"hi\"'"
    assert quote("""it's "x\"""") == """`it's "x"`"""
    assert quote("""`all' "three\"""") == """`'all' "three"`"""


_no_newlines = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"), max_size=30)


@given(_no_newlines)
def test_quote_then_tokenize_gives_the_value_back(value):
    expected = value.replace("`", "'") if all(q in value for q in "\"'`") else value
    assert tokenize("KEY " + quote(value)) == ["KEY", expected]


def test_numbers_are_written_as_reaper_does():
    assert format_number(120.0) == "120"
    assert format_number(21.431770833333333) == "21.43177083333333"
    assert format_number(0.0025) == "0.0025"
    assert format_number(-0.0) == "0"
    assert format_number(7) == "7"
