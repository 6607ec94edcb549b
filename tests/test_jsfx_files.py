"""file_open and friends in @init, against the values ysfx reads from the same files."""

from __future__ import annotations

import numpy as np
import soundfile as sf

from bridge.jsfx.effect import load_effect
from bridge.jsfx.runtime import JsfxProcessor

EFFECT = """desc: file reader
slider1:/ir:1:Impulse
filename:0,tables/t.txt
@init
h = file_open(slider1);
r = file_riff(h, nch, sr);
n = file_avail(h);
got = file_mem(h, 100, n);
m0 = 100[0]; m1 = 100[1]; m5 = 100[5];
c = file_close(h);
h2 = file_open(0);
t = file_text(h2);
k1 = file_var(h2, a); k2 = file_var(h2, b); k3 = file_var(h2, c3);
k4 = file_var(h2, d);
av = file_avail(h2);
file_rewind(h2);
len = file_string(h2, #line);
first = str_getchar(#line, 0);
bad = file_open(5);
bad2 = file_open("nothing.txt");
@sample
spl0 = spl0;
"""

# ysfx_render --root Effects --data Data --dump-vars, on the same files (ysfx opens the effect's folder
# itself for file_open(5), an empty string slot, and returns a handle; REAPER and we return -1)
YSFX = {"a": 3.5, "av": 0, "b": 4, "bad2": -1, "c": 0, "c3": -2.25, "d": 0, "first": 35, "got": 6, "h": 1, "h2": 1,
        "k1": 1, "k2": 1, "k3": 1, "k4": 0, "len": 10, "m0": 0.5, "m1": -0.25, "m5": 0.75, "n": 6, "nch": 2, "r": 2,
        "sr": 48000, "t": 1}


def test_files_read_as_reaper_reads_them(tmp_path):
    effects, data = tmp_path / "Effects" / "me", tmp_path / "Data" / "ir"
    (effects / "tables").mkdir(parents=True)
    data.mkdir(parents=True)
    sf.write(data / "b_impulse.wav", np.array([[0.5, -0.25], [0.125, 0.0], [-1.0, 0.75]]), 48000, subtype="FLOAT")
    (data / "a_first.txt").write_text("1\n")
    (effects / "tables" / "t.txt").write_text("# a table\n3.5, 4\nx\n-2.25\nlabel line\n")
    (effects / "fx.jsfx").write_text(EFFECT)
    p = JsfxProcessor(load_effect(effects / "fx.jsfx"), 44100, 2)
    assert {k: p.var(k) for k in YSFX} == YSFX
    assert p.var("bad") == -1.0
    assert p.string(p.program.named["line"]) == "# a table\n"


def test_without_a_data_folder_file_open_fails_as_in_reaper(tmp_path):
    path = tmp_path / "fx.jsfx"
    path.write_text("desc: x\nslider1:/ir:0:IR\n@init\nh = file_open(slider1); n = file_avail(h);\n")
    p = JsfxProcessor(load_effect(path), 44100, 2)
    assert (p.var("h"), p.var("n")) == (-1.0, 0.0)
