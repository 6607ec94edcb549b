"""``reabridge render``: projects whose mix the tests compute on their own with NumPy, sample for sample.

The projects are written here as REAPER writes them (RPP text), the expected mixes from
REAPER's definitions (bridge/render/README.md): positions, offsets, loops, fades of every shape,
volumes, every pan mode, folders, sends, mute/solo, polarity, JS effects with saved sliders.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from conftest import CORPUS
from daemon_helpers import env

from bridge.fileio import Outputs
from bridge.render import RenderError, render_project

SR = 22050
TOL = 2e-6  # the render is written as 32-bit float


def tone(seconds: float, freq: float, sr: int = SR, channels: int = 1, seed: int = 0) -> np.ndarray:
    """A test signal: a sine plus a little noise (channels differ)."""
    t = np.arange(int(round(seconds * sr))) / sr
    rng = np.random.default_rng(seed)
    cols = [0.4 * np.sin(2 * np.pi * freq * (1 + 0.25 * c) * t) + 0.05 * rng.standard_normal(len(t))
            for c in range(channels)]
    return np.stack(cols, axis=1).astype(np.float32)


def item(file: str, pos: float, length: float, *, soffs: float = 0.0, loop: int = 0, fadein: str = "1 0 0 1 0 0 0",
         fadeout: str = "1 0 0 1 0 0 0", volpan: str = "1 0 1 -1", mute: str = "0 0", playrate: str = "1 1 0 -1 0 "
         "0.0025", chanmode: int = 0, extra: str = "") -> str:
    return f"""    <ITEM
      POSITION {pos!r}
      SNAPOFFS 0
      LENGTH {length!r}
      LOOP {loop}
      ALLTAKES 0
      FADEIN {fadein}
      FADEOUT {fadeout}
      MUTE {mute}
      SEL 0
      IGUID {{00000000-0000-4000-8000-{abs(hash((file, pos))) % 10**12:012d}}}
      IID 1
      NAME "{file}"
      VOLPAN {volpan}
      SOFFS {soffs!r}
      PLAYRATE {playrate}
      CHANMODE {chanmode}
{extra}      <SOURCE WAVE
        FILE "{file}"
      >
    >
"""


def track(name: str, *items: str, volpan: str = "1 0 -1 -1 1", mutesolo: str = "0 0 0", phase: int = 0,
          isbus: str = "0 0", nchan: int = 2, mainsend: str = "1 0", extra: str = "") -> str:
    return f"""  <TRACK
    NAME "{name}"
    VOLPAN {volpan}
    MUTESOLO {mutesolo}
    IPHASE {phase}
    ISBUS {isbus}
    NCHAN {nchan}
    FX 1
    MAINSEND {mainsend}
{extra}{''.join(items)}  >
"""


def project(folder: Path, *tracks: str, head: str = "", master: str = "MASTER_VOLUME 1 0 -1 -1 1",
            sr: int = SR, panlaw: float = 1.0) -> Path:
    text = f"""<REAPER_PROJECT 0.1 "7.27/test" 1700000000
  SAMPLERATE {sr} 1 0
  PANLAW {panlaw!r}
  PANMODE 3
  PANLAWFLAGS 3
  MASTERMUTESOLO 0
  {master}
  MASTER_NCH 2 2
{head}{''.join(tracks)}>
"""
    path = folder / "song.RPP"
    path.write_text(text)
    return path


def render(path: Path, **kw) -> tuple[np.ndarray, dict]:
    out = path.with_name("mix.wav")
    with Outputs(overwrite=True) as outputs:
        result = render_project(path, out, outputs=outputs, **kw)
    data, rate = sf.read(out, dtype="float64", always_2d=True)
    assert rate == result.sample_rate
    return data, result.report


def place(total: float, pieces: list[tuple[float, np.ndarray]], channels: int = 2) -> np.ndarray:
    """A buffer of ``total`` seconds with each (seconds, frames x ch) piece added at its position."""
    buf = np.zeros((int(round(total * SR)), channels))
    for at, x in pieces:
        i = math.ceil(at * SR - 1e-7)
        n = min(len(x), len(buf) - i)
        buf[i:i + n, :x.shape[1]] += x[:n]
    return buf


def stereo(mono: np.ndarray) -> np.ndarray:
    return np.repeat(mono.reshape(-1, 1), 2, axis=1)


# -- independent models of REAPER's definitions --------------------------------------------------
_G = np.array([1.00000, .99970, .99881, .99732, .99523, .99253, .98924, .98533, .98081, .97567, .96991, .96351,
               .95647, .94878, .94042, .93140, .92169, .91129, .90018, .88834, .87576, .86242, .84831, .83339,
               .81766, .80109, .78365, .76532, .74606, .72586, .70468, .68248, .65923, .63488, .60941, .58276,
               .55488, .52573, .49526, .46339, .43008, .39526, .35885, .32077, .28096, .23931, .19574, .15014,
               .10239, .05239, 0.0])


def pan_ref(p: float, law: float = 1.0) -> tuple[float, float]:
    if law == 0.5:
        return (1 - p) / 2, (1 + p) / 2
    theta = (1 + p) * math.pi / 4
    k = 1 + (law * math.sqrt(2) - 1) * np.interp(abs(p), np.linspace(0, 1, 51), _G)
    return (0.0 if p >= 1 else k * math.cos(theta)), (0.0 if p <= -1 else k * math.sin(theta))


PRESETS = {"0": (.5, .5, .5, .5), "1": (.25, .5, .625, 1), "2": (.375, 0, .75, .5), "3": (.25, 1, .5, 1),
           "4": (.5, 0, .75, 0), "4i": (0, 1, .125, 1), "5": (.375, 0, .625, 1), "50": (.25, .25, .25, 1),
           "51": (.75, 0, .75, .75), "6": (.875, 0, .125, 1), "60": (.375, .25, 0, 1), "61": (1, 0, .625, .75),
           "7": (.25, .375, .625, 1)}
PAIRS = {1: ("1", ("4i", "1"), ("1", "4")), 2: ("0", ("1", "0"), ("0", "2")), 5: ("5", ("50", "5"), ("5", "51")),
         6: ("6", ("60", "6"), ("6", "61")), 7: ("7", ("4i", "7"), ("7", "4"))}


def fade_ref(u: np.ndarray, shape: int, curve: float, out: bool) -> np.ndarray:
    """The fade's Bezier solved for x by bisection (60 halvings) -- a different method from the product's."""
    d = -curve if out else curve
    flat, neg, pos = PAIRS.get(shape, ("0", ("3", "0"), ("0", "4")))
    if d == 0:
        x1, y1, x2, y2 = PRESETS[flat]
    else:
        (a, b), (wa, wb) = (neg, (-d, 1 + d)) if d < 0 else (pos, (1 - d, d))
        x1, y1, x2, y2 = (wa * p + wb * q for p, q in zip(PRESETS[a], PRESETS[b], strict=True))
    y0, y3 = (1.0, 0.0) if out else (0.0, 1.0)
    if out and (x1, y1, x2, y2) != PRESETS["0"]:
        x1, x2, y1, y2 = 1 - x2, 1 - x1, y2, y1
    lo, hi = np.zeros_like(u), np.ones_like(u)
    for _ in range(60):
        mid = (lo + hi) / 2
        x = 3 * (1 - mid) ** 2 * mid * x1 + 3 * (1 - mid) * mid ** 2 * x2 + mid ** 3
        lo, hi = np.where(x < u, mid, lo), np.where(x < u, hi, mid)
    t = (lo + hi) / 2
    return (1 - t) ** 3 * y0 + 3 * (1 - t) ** 2 * t * y1 + 3 * (1 - t) * t ** 2 * y2 + t ** 3 * y3


# -- items ---------------------------------------------------------------------------------------
def test_positions_offsets_length_and_loop(tmp_path):
    a = tone(1.0, 220)
    sf.write(tmp_path / "a.wav", a, SR, subtype="FLOAT")
    path = project(tmp_path, track("t",
                                   item("a.wav", 0.25, 0.5, soffs=0.2),          # a slice from 0.2 s
                                   item("a.wav", 1.0, 2.5, loop=1, soffs=0.5)))   # loops round the 1 s source
    got, report = render(path)
    looped = np.concatenate([a[int(0.5 * SR):], a, a])[:int(2.5 * SR)]
    want = place(3.5, [(0.25, stereo(a[round(0.2 * SR):round(0.7 * SR)])), (1.0, stereo(looped))])
    assert got.shape == want.shape and report["end"] == 3.5
    np.testing.assert_allclose(got, want, atol=TOL)


def test_item_that_outlasts_its_source_without_loop_is_silent_after(tmp_path):
    a = tone(0.5, 330)
    sf.write(tmp_path / "a.wav", a, SR, subtype="FLOAT")
    got, _ = render(project(tmp_path, track("t", item("a.wav", 0.0, 1.0))))
    np.testing.assert_allclose(got, place(1.0, [(0.0, stereo(a))]), atol=TOL)


@pytest.mark.parametrize("shape", range(8))
@pytest.mark.parametrize("curve", [-1.0, -0.4, 0.0, 0.6, 1.0])
def test_fades_of_every_shape_and_curve(tmp_path, shape, curve):
    a = np.full((SR, 1), 0.5, dtype=np.float32)  # a constant: the output is the fade itself
    sf.write(tmp_path / "a.wav", a, SR, subtype="FLOAT")
    fin, fout = 0.3, 0.45
    path = project(tmp_path, track("t", item("a.wav", 0.0, 1.0, fadein=f"{shape} {fin} 0 {shape} 0 {curve} 0",
                                             fadeout=f"{shape} {fout} 0 {shape} 0 {curve} 0")))
    got, _ = render(path)
    t = np.arange(SR) / SR
    gain = np.ones(SR)
    gain[t < fin] = fade_ref(t[t < fin] / fin, shape, curve, False)
    tail = t > 1.0 - fout
    gain[tail] *= fade_ref((t[tail] - (1.0 - fout)) / fout, shape, curve, True)
    np.testing.assert_allclose(got[:, 0], 0.5 * gain, atol=1e-5)
    assert got[0, 0] == 0.0 and abs(got[int(0.5 * SR), 0] - 0.5) < 1e-7


def test_auto_crossfade_length_wins_over_the_manual_one(tmp_path):
    a = np.full((SR, 1), 0.5, dtype=np.float32)
    sf.write(tmp_path / "a.wav", a, SR, subtype="FLOAT")
    path = project(tmp_path, track("t", item("a.wav", 0.0, 1.0, fadein="1.1 0.01 0.2 1 1 0 0")))
    got, _ = render(path)
    t = np.arange(SR) / SR
    want = 0.5 * np.where(t < 0.2, fade_ref(t / 0.2, 1, 0.0, False), 1.0)
    np.testing.assert_allclose(got[:, 0], want, atol=1e-5)


def test_volumes_polarity_mute_and_take_pan(tmp_path):
    a = tone(1.0, 440, channels=2)
    sf.write(tmp_path / "a.wav", a, SR, subtype="FLOAT")
    path = project(tmp_path,
                   track("t", item("a.wav", 0.0, 1.0, volpan="0.5 -0.4 -1.5 -1"),   # take inverted, take pan left
                         item("a.wav", 0.0, 1.0, mute="1 0")),                       # a muted item plays nothing
                   track("u", item("a.wav", 0.0, 1.0), volpan="0.25 0 -1 -1 1", phase=1),
                   master="MASTER_VOLUME 2 0 -1 -1 1")
    got, _ = render(path)
    take = a * (0.5 * -1.5)
    take[:, 1] *= 0.6  # take pan -0.4: a balance (left stays, right falls to 0.6)
    want = 2.0 * (take + (-0.25) * a)
    np.testing.assert_allclose(got, want, atol=TOL)


@pytest.mark.parametrize("pan", [-1.0, -0.5, 0.0, 0.3, 0.78, 1.0])
@pytest.mark.parametrize("law", [1.0, 0.70794578438414, 0.5])
def test_balance_pan_and_pan_laws(tmp_path, pan, law):
    a = tone(0.5, 440, channels=2)
    m = tone(0.5, 550, seed=3)
    sf.write(tmp_path / "a.wav", a, SR, subtype="FLOAT")
    sf.write(tmp_path / "m.wav", m, SR, subtype="FLOAT")
    path = project(tmp_path, track("s", item("a.wav", 0.0, 0.5), volpan=f"1 {pan} -1 -1 1"),
                   track("m", item("m.wav", 0.0, 0.5), volpan=f"1 {pan} {law} -1 1"),
                   panlaw=law)
    got, report = render(path)
    gl, gr = pan_ref(pan, law)
    want = a * [gl, gr] + stereo(m[:, 0]) * [gl, gr]  # a mono item fills both sides, then the same panner
    want = want * pan_ref(0.0, law)  # the master's panner at centre follows the project's law too
    np.testing.assert_allclose(got, want, atol=TOL)
    documented = pan in (-1.0, 0.0, 1.0) or law >= 0.5
    assert (report["approximated"] == []) == documented


def test_stereo_pan_and_dual_pan_modes(tmp_path):
    a = tone(0.5, 440, channels=2)
    sf.write(tmp_path / "a.wav", a, SR, subtype="FLOAT")
    path = project(tmp_path,
                   track("sp", item("a.wav", 0.0, 0.5), volpan="1 0.2 -1 -1 1", extra="    PANMODE 5\n    WIDTH 0.5\n"),
                   track("dp", item("a.wav", 0.0, 0.5), volpan="1 0 -1 -0.6 0.4", extra="    PANMODE 6\n"))
    got, report = render(path)
    spread = (1 - 0.2) * 0.5
    want = np.zeros_like(got)
    for positions in ((0.2 - spread, 0.2 + spread), (-0.6, 0.4)):
        (ll, lr), (rl, rr) = pan_ref(positions[0]), pan_ref(positions[1])
        want[:, 0] += a[:, 0] * ll + a[:, 1] * rl
        want[:, 1] += a[:, 0] * lr + a[:, 1] * rr
    np.testing.assert_allclose(got, want, atol=TOL)
    assert len(report["approximated"]) == 2  # REAPER does not document these gains: the report says so


def test_folders_nest_and_sum_post_fader(tmp_path):
    a, b, c = tone(0.5, 200), tone(0.5, 300, seed=1), tone(0.5, 500, seed=2)
    for name, x in (("a", a), ("b", b), ("c", c)):
        sf.write(tmp_path / f"{name}.wav", x, SR, subtype="FLOAT")
    path = project(tmp_path,
                   track("bus", isbus="1 1", volpan="0.5 0 -1 -1 1"),
                   track("a", item("a.wav", 0.0, 0.5), volpan="0.8 0 -1 -1 1"),
                   track("sub", isbus="1 1", volpan="2 0 -1 -1 1"),
                   track("b", item("b.wav", 0.0, 0.5), isbus="2 -2"),   # closes both folders
                   track("c", item("c.wav", 0.0, 0.5)))
    got, _ = render(path)
    want = stereo(0.5 * (0.8 * a[:, 0] + 2.0 * b[:, 0]) + c[:, 0])
    np.testing.assert_allclose(got, want, atol=TOL)


def test_sends_post_fader_pre_fx_and_pre_fader(tmp_path):
    a = tone(0.5, 250)
    sf.write(tmp_path / "a.wav", a, SR, subtype="FLOAT")
    src = track("src", item("a.wav", 0.0, 0.5), volpan="0.5 0.5 -1 -1 1")
    receives = ("    AUXRECV 0 0 0.5 0 0 0 0 0 0 -1:U 0 -1 ''\n"     # post-fader (follows the source's fader and pan)
                "    AUXRECV 0 1 0.25 -0.3 0 0 0 0 0 -1:U 0 -1 ''\n"  # pre-FX (before the fader), panned left
                "    AUXRECV 0 3 2 0 1 0 0 0 0 -1:U 0 -1 ''\n")       # pre-fader, muted: nothing
    path = project(tmp_path, src, track("bus", extra=receives, volpan="0.8 0 -1 -1 1"))
    got, _ = render(path)
    x = stereo(a[:, 0])
    post = 0.5 * x * pan_ref(0.5)
    pre = 0.25 * x * pan_ref(-0.3)
    want = post + 0.8 * (0.5 * post + pre)
    np.testing.assert_allclose(got, want, atol=TOL)


@pytest.mark.parametrize("case", ["solo-in-place", "solo-ignore-routing", "folder-solo", "mute", "defeat"])
def test_mute_and_solo(tmp_path, case):
    a, b, c = tone(0.5, 200), tone(0.5, 300, seed=1), tone(0.5, 450, seed=2)
    for name, x in (("a", a), ("b", b), ("c", c)):
        sf.write(tmp_path / f"{name}.wav", x, SR, subtype="FLOAT")
    solo = {"solo-in-place": "0 2 0", "solo-ignore-routing": "0 1 0", "folder-solo": "0 0 0", "mute": "1 0 0",
            "defeat": "0 2 0"}[case]
    path = project(tmp_path,
                   track("a", item("a.wav", 0.0, 0.5), mutesolo=solo, mainsend="1 0"),
                   track("verb", extra="    AUXRECV 0 0 0.5 0 0 0 0 0 0 -1:U 0 -1 ''\n"),
                   track("folder", isbus="1 1", mutesolo="0 2 0" if case == "folder-solo" else "0 0 0"),
                   track("b", item("b.wav", 0.0, 0.5), isbus="2 -1"),
                   track("c", item("c.wav", 0.0, 0.5), mutesolo="0 0 1" if case == "defeat" else "0 0 0"))
    got, _ = render(path)
    sa, sb, sc = stereo(a[:, 0]), stereo(b[:, 0]), stereo(c[:, 0])
    want = {"solo-in-place": sa + 0.5 * sa,         # its reverb send stays audible
            "solo-ignore-routing": sa,              # only its own path to the master
            "folder-solo": sb,                      # a soloed folder plays its children
            "mute": sb + sc,                        # muted: neither it nor what it sends
            "defeat": sa + 0.5 * sa + sc}[case]     # solo defeat keeps C playing
    np.testing.assert_allclose(got, want, atol=TOL)


def test_channels_mono_source_modes_and_multichannel_track(tmp_path):
    s = tone(0.5, 300, channels=2)
    sf.write(tmp_path / "s.wav", s, SR, subtype="FLOAT")
    path = project(tmp_path,
                   track("rev", item("s.wav", 0.0, 0.5, chanmode=1)),
                   track("left", item("s.wav", 0.0, 0.5, chanmode=3)),
                   track("right", item("s.wav", 0.0, 0.5, chanmode=4)),
                   track("quad", item("s.wav", 0.0, 0.5), nchan=4, mainsend="1 2"))  # channels 1/2 -> master 3/4
    got, _ = render(path)
    want = s[:, ::-1] + stereo(s[:, 0]) + stereo(s[:, 1])  # the quad track lands past the master's two channels
    np.testing.assert_allclose(got, want, atol=TOL)


def test_bounds_start_end_and_region(tmp_path):
    a = tone(2.0, 220)
    sf.write(tmp_path / "a.wav", a, SR, subtype="FLOAT")
    regions = ('  MARKER 1 0.5 "Verse" 1 0 1 R {00000000-0000-4000-8000-000000000001} 0\n'
               '  MARKER 1 1.25 "" 1 0 1 R\n')
    path = project(tmp_path, track("t", item("a.wav", 0.0, 2.0)), head=regions)
    got, report = render(path, region="Verse")
    np.testing.assert_allclose(got, stereo(a[int(0.5 * SR):int(1.25 * SR), 0]), atol=TOL)
    assert (report["start"], report["end"]) == (0.5, 1.25)
    got, _ = render(path, start=1.5, end=2.5)
    np.testing.assert_allclose(got, np.concatenate([stereo(a[int(1.5 * SR):, 0]), np.zeros((int(0.5 * SR), 2))]),
                               atol=TOL)
    with pytest.raises(RenderError, match="no region named 'Chorus' in the project \\(regions: Verse\\)"):
        render(path, region="Chorus")


def test_sample_rate_and_varispeed_go_through_the_resampler(tmp_path):
    import soxr

    a = tone(1.0, 200, sr=44100)
    sf.write(tmp_path / "a.wav", a, 44100, subtype="FLOAT")
    path = project(tmp_path, track("t", item("a.wav", 0.0, 0.5, playrate="2 0 0 -1 0 0.0025")))
    got, _ = render(path)
    want = soxr.resample(a, 88200, SR, quality="HQ")[:int(0.5 * SR)]  # twice as fast: the whole second in 0.5 s
    np.testing.assert_allclose(got[:len(want)], stereo(want[:, 0]), atol=1e-5)


JS_GAIN = """desc:test gain
slider1:0<-24,24,0.1>Gain (dB)
slider2:1<0,1,1{Off,On}>Invert right
@slider
g = 10^(slider1/20);
@sample
spl0 *= g;
spl1 *= slider2 ? -g : g;
"""


def test_js_effects_with_saved_sliders_bypass_and_wet(tmp_path):
    effects = tmp_path / "Effects" / "test"
    effects.mkdir(parents=True)
    (effects / "gain.jsfx").write_text(JS_GAIN)
    a = tone(0.5, 300, channels=2)
    sf.write(tmp_path / "a.wav", a, SR, subtype="FLOAT")
    chain = ("    <FXCHAIN\n      SHOW 0\n      LASTSEL 0\n      DOCKED 0\n"
             "      BYPASS 0 0 0\n      <JS test/gain \"\"\n        -6 1 - - - -\n      >\n      WET 0.5\n"
             "      FXID {00000000-0000-4000-8000-0000000000F1}\n      WAK 0 0\n"
             "      BYPASS 1 0 0\n      <JS test/gain \"\"\n        24 0 - -\n      >\n"
             "      FXID {00000000-0000-4000-8000-0000000000F2}\n      WAK 0 0\n    >\n")
    path = project(tmp_path, track("t", item("a.wav", 0.0, 0.5), extra=chain))
    got, report = render(path, effects_dirs=[tmp_path / "Effects"])
    g = 10 ** (-6 / 20)
    wet = a * [g, -g]
    np.testing.assert_allclose(got, 0.5 * wet + 0.5 * a, atol=TOL)
    assert report["rendered"]["effects"] == 1  # the bypassed one does not run


# -- what cannot be rendered --------------------------------------------------------------------------
def test_missing_elements_fail_with_the_list_or_are_skipped(tmp_path):
    a = tone(0.5, 300)
    sf.write(tmp_path / "a.wav", a, SR, subtype="FLOAT")
    vst = ("    <FXCHAIN\n      BYPASS 0 0 0\n      <VST \"VST: ReaComp (Cockos)\" reacomp.dll 0 \"\" 1919247213<>\n"
           "        bWNlcu5e7f4CAAAAAQAAAAAAAAACAAAAAAAAAAIAAAABAAAAAAAAAAIAAAAAAAAAVAAAAAEAAAAAABAA\n      >\n"
           "      WAK 0 0\n    >\n")
    path = project(tmp_path, track("ok", item("a.wav", 0.0, 0.5)),
                   track("gone", item("missing.wav", 0.0, 0.5)),
                   track("comp", item("a.wav", 0.0, 0.5), extra=vst))
    out = tmp_path / "mix.wav"
    with pytest.raises(RenderError) as caught:
        render(path)
    message = str(caught.value)
    assert message.startswith("song.RPP cannot be rendered as REAPER would: item 'missing.wav' at 0.00 s on track "
                              "'gone' plays missing.wav, which is missing")
    assert "VST plug-in 'ReaComp (Cockos)'" in message and "--missing skip renders without them" in message
    assert not out.exists()  # nothing written
    got, report = render(path, missing="skip")
    np.testing.assert_allclose(got, 2 * stereo(a[:, 0]), atol=TOL)  # the compressor's track plays dry
    assert len(report["skipped"]) == 2 and report["rendered"]["tracks"] == 3


def test_cli_render_report_and_bad_input(tmp_path):
    a = tone(0.5, 300)
    sf.write(tmp_path / "a.wav", a, SR, subtype="FLOAT")
    path = project(tmp_path, track("t", item("a.wav", 0.0, 0.5)))
    cli = [sys.executable, "-m", "bridge", "render"]
    run = subprocess.run([*cli, str(path), "-o", str(tmp_path / "mix.flac"), "--format", "24", "--report",
                          str(tmp_path / "render.json")], capture_output=True, text=True, env=env())
    assert run.returncode == 0, run.stderr
    report = json.loads((tmp_path / "render.json").read_text())
    assert report["frames"] == int(0.5 * SR) and report["skipped"] == [] and report["output"].endswith("mix.flac")
    _, rate = sf.read(tmp_path / "mix.flac")
    assert rate == SR and sf.info(tmp_path / "mix.flac").subtype == "PCM_24"
    before = path.read_bytes()
    for args, message in [
        ([str(path), "-o", str(path)], "would hold audio"),
        ([str(path), "-o", str(tmp_path / "mix.flac")], "already exists; use --overwrite (-y) to replace it"),
        ([str(tmp_path / "nope.RPP")], "nope.RPP"),
        ([str(path), "--start", "2", "--end", "1"], "--end (1 s) must be after --start (2 s)"),
        ([str(path), "--missing", "maybe"], "missing"),
    ]:
        out = subprocess.run([*cli, *args], capture_output=True, text=True, env=env())
        assert out.returncode != 0 and message in out.stderr, (args, out.stderr)
        assert len(out.stderr.strip().splitlines()) == 1, out.stderr
    assert path.read_bytes() == before


def test_every_corpus_project_renders_or_names_its_reasons(tmp_path):
    projects = sorted((CORPUS / "rpp").glob("*.[Rr][Pp][Pp]"))
    assert len(projects) >= 10
    for path in projects:
        out = tmp_path / f"{path.stem}.wav"
        try:
            with Outputs(overwrite=True) as outputs:
                render_project(path, out, outputs=outputs)
        except RenderError as exc:
            text = str(exc)
            assert text.startswith(f"{path.name} cannot be rendered as REAPER would: ") or \
                text.startswith("nothing to render"), text
            assert not out.exists()
        else:
            assert out.stat().st_size > 44
    assert os.environ.get("REABRIDGE_CORPUS") is None or CORPUS.is_dir()
