"""Seconds <-> quarter notes through a tempo map with steps and ramps."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bridge.project.tempo import TempoMap, TempoPoint, pack_timesig, unpack_timesig


def test_constant_tempo():
    tm = TempoMap(90.0)
    assert tm.qn_at(2.0) == pytest.approx(3.0)
    assert tm.time_at(3.0) == pytest.approx(2.0)


def test_step_change():
    tm = TempoMap(120.0, points=(TempoPoint(0, 120), TempoPoint(4, 60)))
    assert tm.qn_at(4.0) == pytest.approx(8.0)
    assert tm.qn_at(6.0) == pytest.approx(10.0)
    assert tm.time_at(10.0) == pytest.approx(6.0)


def test_linear_ramp_matches_numerical_integration():
    tm = TempoMap(100.0, points=(TempoPoint(0, 100, linear=True), TempoPoint(10, 140), TempoPoint(20, 70)))
    t = np.linspace(0, 10, 200001)
    bpm = 100 + 40 * t / 10
    qn_numeric = np.trapezoid(bpm / 60.0, t)
    assert tm.qn_at(10.0) == pytest.approx(qn_numeric, rel=1e-9)
    assert tm.qn_at(10.0) == pytest.approx(10 * 120 / 60)  # mean tempo 120 over 10 s
    assert tm.bpm_at(5.0) == pytest.approx(120.0)
    assert tm.qn_at(15.0) == pytest.approx(20.0 + 5 * 140 / 60)


@given(st.floats(0, 60))
def test_time_and_qn_are_inverse(seconds):
    tm = TempoMap(100.0, points=(TempoPoint(0, 100, linear=True), TempoPoint(10, 140, linear=True),
                                 TempoPoint(25, 70), TempoPoint(40, 180)))
    assert math.isclose(tm.time_at(tm.qn_at(seconds)), seconds, abs_tol=1e-9)


def test_timesig_packing():
    assert pack_timesig(7, 8) == 7 + 8 * 65536
    assert unpack_timesig(pack_timesig(7, 8)) == (7, 8)
    assert unpack_timesig(0) is None


def test_bad_tempo_is_rejected():
    with pytest.raises(ValueError):
        TempoMap(0.0)
