"""The JSFX preprocessor (<? ?> blocks), checked against ysfx (WDL's eel_pproc.h) on the same text."""

from __future__ import annotations

import pytest

from bridge.jsfx.effect import load_effect
from bridge.jsfx.errors import JsfxError
from bridge.jsfx.preprocess import config_defaults
from bridge.jsfx.runtime import JsfxProcessor

EFFECT = """desc: preprocessed
config: nv "Voices" 3 1 2 3 4
<? label = "Gain"; ?>
slider1:0<-12,12,0.1><?printf("%s (dB)", label)?>

@init
<?
  loop(i = 0; nv,
    printf("v%d = %d;\\n", i, i * 10);
    i += 1;
  );
?>
<? _suppress = 1; ?>
this is not code
<? _suppress = 0; ?>
after = 7;
"""


def test_blocks_print_code_and_labels_and_suppress_text(tmp_path):
    path = tmp_path / "pp.jsfx"
    path.write_text(EFFECT)
    effect = load_effect(path)
    assert effect.sliders[1].label == "Gain (dB)" and effect.config == {"nv": 3.0}
    p = JsfxProcessor(effect, 44100, 2)
    # ysfx dumps v0=0 v1=10 v2=20 after=7 (and no v3) for this file
    assert [p.var(n) for n in ("v0", "v1", "v2", "after")] == [0.0, 10.0, 20.0, 7.0]
    assert "v3" not in p.slots


def test_lines_after_a_block_keep_their_numbers(tmp_path):
    path = tmp_path / "pp.jsfx"
    path.write_text(EFFECT + "bad = 1 +;\n")
    with pytest.raises(JsfxError, match=r"pp\.jsfx:17:10: unexpected"):
        JsfxProcessor(load_effect(path), 44100, 2)


@pytest.mark.parametrize(
    ("text", "message"),
    [("desc: x\n@init\nx = 1;\n<? printf(\"y = 2;\")\n", r"x\.jsfx:4: a <\? preprocessor block is never closed"),
     ("desc: x\n@init\n<?\n  a = (1 + ;\n?>\n", r"x\.jsfx:4:\d+: unexpected ';'")],
)
def test_broken_blocks_name_the_line(tmp_path, text, message):
    path = tmp_path / "x.jsfx"
    path.write_text(text)
    with pytest.raises(JsfxError, match=message):
        load_effect(path)


def test_config_lines_as_reaper_reads_them():
    text = ('config:mode "Text mode" 3 0="MDA" 1="CGA" 2="EGA" 3="VGA"\n'
            'config: npartials "Partials" 32 4 16 32 64\n'
            'config: x "ab" 1 2 3\n'  # a one-letter name declares nothing
            'config: xy "ab" 1 2\n')  # nor does a single value
    assert config_defaults(text) == {"mode": 3.0, "npartials": 32.0}
