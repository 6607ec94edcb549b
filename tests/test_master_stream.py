"""The mastering path's NumPy DSP against SciPy, and the streamed command's promises on files."""

from __future__ import annotations

import itertools
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf
from scipy.signal import firwin, sosfilt, welch

from bridge.master import dsp
from bridge.master.loudness import _k_weighting, k_weighting, measure_array
from bridge.master.truepeak import PeakBins, true_peak

RNG = np.random.default_rng(7)


@pytest.mark.parametrize("rate", [8000, 44100, 48000, 96000, 192000])
def test_k_weighting_matches_the_recursive_filter(rate):
    x = RNG.normal(size=(rate * 2, 2))
    ref = np.stack([sosfilt(_k_weighting(rate), x[:, ch]) for ch in range(2)], axis=1)
    f = k_weighting(rate, 2)
    cuts = [0, 1, 777, 778, 5000, rate, rate + 3, len(x)]  # odd block sizes, a one-sample block
    ours = np.concatenate([f.process(x[a:b]) for a, b in itertools.pairwise(cuts)])
    assert np.abs(ours - ref).max() < 1e-9 * np.abs(ref).max()


def test_fft_filter_with_a_filter_per_channel_is_one_long_convolution():
    x = RNG.normal(size=(30_000, 2))
    taps = RNG.normal(size=(2, 4097))
    f = dsp.FftFilter(taps, 2)
    cuts = [0, 1, 4096, 4097, 12_000, len(x)]
    ours = np.concatenate([f.process(x[a:b]) for a, b in itertools.pairwise(cuts)])
    for ch in range(2):
        np.testing.assert_allclose(ours[:, ch], np.convolve(x[:, ch], taps[ch])[:len(x)], atol=1e-9)


def test_welch_stream_matches_scipy():
    x = RNG.normal(size=100_000)
    w = dsp.Welch(44100, 8192)
    for i in range(0, len(x), 12_345):
        w.add(x[i:i + 12_345])
    freqs, psd = w.result()
    f2, p2 = welch(x, fs=44100, nperseg=8192, detrend=False)
    assert np.array_equal(freqs, f2)
    np.testing.assert_allclose(psd, p2, rtol=1e-10)


def test_spread_segments_average_like_all_of_them():
    x = np.random.default_rng(2).normal(size=400_000)
    spread = dsp.Welch(44100, 4096, hop=20_000)
    for i in range(0, len(x), 7_777):
        spread.add(x[i:i + 7_777])
    _, psd = spread.result()
    starts = np.arange(0, len(x) - 4096 + 1, 20_000)
    window = np.hanning(4097)[:-1]
    expected = np.mean([np.abs(np.fft.rfft(x[s:s + 4096] * window)) ** 2 for s in starts], axis=0)
    expected = expected / (44100 * np.sum(window ** 2))
    expected[1:-1] *= 2
    np.testing.assert_allclose(psd, expected, rtol=1e-10)


def test_kaiser_lowpass_matches_firwin():
    np.testing.assert_allclose(dsp.kaiser_lowpass(128, 0.25, 8.0), firwin(128, 0.25, window=("kaiser", 8.0)),
                               atol=1e-15)


def test_true_peak_shortcut_is_exact():
    """Skipping windows that cannot beat the peak gives the same figure as interpolating everything."""
    from bridge.master.truepeak import _BANK, K

    x = RNG.normal(0, 0.1, size=(50_000, 2)) * np.linspace(0, 1, 50_000)[:, None] ** 3
    x[30_001] = [0.7, -0.2]
    x[30_002] = [0.7, 0.1]
    full = max(float(np.abs(np.lib.stride_tricks.sliding_window_view(
        np.concatenate([np.zeros(K), x[:, ch], np.zeros(K)]).astype(np.float32), K) @ _BANK).max())
        for ch in range(2))
    assert true_peak(x) == pytest.approx(max(full, np.abs(x).max()), rel=1e-6)


def test_peak_bins_hold_every_interpolated_value():
    """Each bin holds the largest 4x-oversampled magnitude near its samples, whatever the block sizes."""
    from bridge.master.truepeak import _BANK, LAG, K

    x = (RNG.normal(0, 0.2, size=(20_000, 2)) * np.linspace(0, 1, 20_000)[:, None] ** 2).astype(np.float32)
    size = 55
    bins = PeakBins(2, len(x), size)
    for a, b in itertools.pairwise([0, 1, 999, 1000, 13_001, len(x)]):
        bins.add(x[a:b])
    ours = bins.finish()
    padded = np.concatenate([np.zeros((K, 2), np.float32), x, np.zeros((K, 2), np.float32)])
    over = np.max([np.abs(np.lib.stride_tricks.sliding_window_view(padded[:, ch], K) @ _BANK).max(axis=1)
                   for ch in range(2)], axis=0)
    expected = np.zeros_like(ours)
    for j, value in enumerate(over):  # window j's values lie near sample j - LAG, give or take one
        for sample in (j - LAG - 1, j - LAG, j - LAG + 1):
            if 0 <= sample < len(x):
                expected[sample // size] = max(expected[sample // size], value)
    np.maximum.at(expected, np.arange(len(x)) // size, np.abs(x).max(axis=1))
    np.testing.assert_allclose(ours, expected, rtol=1e-6)


def test_moving_average_and_running_max():
    x = np.array([0.0, 5, 1, 0, 0, 3])
    assert dsp.running_max(x, 1).tolist() == [5, 5, 5, 1, 3, 3]
    assert dsp.moving_average(np.arange(6.0), 3).tolist() == pytest.approx([1 / 3, 1, 2, 3, 4, 14 / 3])


def _mix(seconds: float, rate: int) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    beat = (np.sin(2 * np.pi * 2 * t) > 0.7) * RNG.normal(0, 0.3, len(t))
    tone = 0.2 * np.sin(2 * np.pi * 110 * t) + 0.05 * np.sin(2 * np.pi * 1760 * t)
    return np.stack([tone + beat, tone * 0.8 + beat], axis=1) * 0.5


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bridge", "master", *args], capture_output=True, text=True,
                          timeout=300)


def test_resampled_output_meets_the_target_at_its_own_rate(tmp_path):
    mix = tmp_path / "mix.wav"
    sf.write(mix, _mix(20, 44100), 44100, subtype="PCM_24")
    out = _run(str(mix), "-o", str(tmp_path / "m.wav"), "--preset", "club", "--sample-rate", "48000")
    assert out.returncode == 0, out.stderr
    audio, rate = sf.read(tmp_path / "m.wav")
    assert rate == 48000 and abs(len(audio) - 20 * 48000) <= 1
    final = measure_array(audio, rate)
    assert abs(final.integrated + 8) <= 0.1 and final.true_peak <= -0.3


def test_unreachable_target_writes_nothing(tmp_path):
    mix = tmp_path / "mix.wav"
    sf.write(mix, _mix(10, 44100), 44100, subtype="PCM_24")
    before = sorted(p.name for p in tmp_path.iterdir())
    out = _run(str(mix), "-o", str(tmp_path / "m.wav"), "--target-lufs", "-3", "--ceiling", "-6")
    assert out.returncode != 0 and "cannot reach -3 LUFS" in out.stderr + out.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no master, no temporary file


def test_the_chain_in_blocks_equals_one_call():
    """pedalboard's state is carried between blocks: streaming the chain changes no sample."""
    import pedalboard as pb

    from bridge.master.engine import _Chain, _plugin

    x = _mix(8, 48000).astype(np.float32)
    chain = [{"type": "highpass", "cutoff_hz": 30.0}, {"type": "low_shelf", "cutoff_hz": 110.0, "gain_db": 2.0,
                                                       "q": 0.7},
             {"type": "compressor", "threshold_db": -20.0, "ratio": 3.0, "attack_ms": 10.0, "release_ms": 120.0},
             {"type": "saturation", "drive_db": 6.0, "mix": 0.3}]
    streamed = _Chain(chain, 48000, None)
    ours = np.concatenate([streamed.process(x[i:i + 10_000]) for i in range(0, len(x), 10_000)])
    whole = pb.Pedalboard([_plugin(s) for s in chain[:3]])(x.T.copy(), 48000).T
    drive, mix = np.float32(10 ** 0.3), np.float32(0.3)
    whole = (1 - mix) * whole + mix * np.tanh(drive * whole) / drive
    np.testing.assert_allclose(ours, whole, atol=2e-6)


def test_output_formats_follow_the_extension(tmp_path):
    mix = tmp_path / "mix.wav"
    sf.write(mix, _mix(6, 44100).astype(np.float32), 44100, subtype="FLOAT")
    out = _run(str(mix), "-o", str(tmp_path / "m.flac"))
    assert out.returncode == 0, out.stderr
    assert sf.info(tmp_path / "m.flac").subtype == "PCM_24"  # FLAC cannot hold float: 24-bit
    out = _run(str(mix), "-o", str(tmp_path / "m2.flac"), "--format", "32f")
    assert out.returncode == 1 and "FLAC files cannot hold --format 32f" in out.stderr
    out = _run(str(mix), "-o", str(tmp_path / "m.mp4"))
    assert out.returncode == 1 and "m.mp4 would hold audio; give it one of: .wav" in out.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.flac", "mix.wav"]


def test_a_warm_process_reuses_what_an_unchanged_mix_and_chain_gave(tmp_path, monkeypatch):
    """The daemon's second try at the same mix and reference skips the surveys and, with the same chain, the
    processing too (another target renders straight away); a changed file is read again."""
    import bridge.audio.source as source_module
    from bridge.audio.sink import ArraySink
    from bridge.audio.source import AudioSource
    from bridge.master import analysis, engine
    from bridge.master.presets import load_preset

    monkeypatch.setattr(analysis, "_SURVEYS", type(analysis._SURVEYS)())
    monkeypatch.setattr(engine, "_kept", [])
    reads: list[str] = []
    real = source_module.iter_blocks

    def counted(path, *args, **kwargs):
        reads.append(path.name)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(source_module, "iter_blocks", counted)
    mix, ref = tmp_path / "mix.wav", tmp_path / "ref.wav"
    sf.write(mix, _mix(6, 44100), 44100, subtype="PCM_24")
    sf.write(ref, _mix(6, 44100)[::-1] * 0.5, 44100, subtype="PCM_24")

    def run(target: float | None = None) -> tuple[float, np.ndarray]:
        sink = ArraySink(44100, 2, "PCM_24")
        result = engine.master_source(AudioSource.from_file(mix), load_preset("streaming").with_targets(target),
                                      sink, reference=AudioSource.from_file(ref), keep_target=target is not None)
        return result.after.integrated, sink.audio

    first, second = run(), run()
    assert sorted(reads) == ["mix.wav", "mix.wav", "ref.wav"]  # the second run read nothing
    assert first[0] == second[0] and np.array_equal(first[1], second[1])
    quieter = run(first[0] - 3)  # same chain, another target: rendered from what the first run kept
    assert len(reads) == 3 and abs(quieter[0] - (first[0] - 3)) <= 0.05
    sf.write(ref, _mix(6, 44100)[::-1] * 0.25, 44100, subtype="PCM_24")  # 6 dB quieter: a new target and filter
    third = run()
    assert sorted(reads) == ["mix.wav"] * 3 + ["ref.wav"] * 2  # the mix survey still holds
    assert third[0] == pytest.approx(first[0] - 6.02, abs=0.1)


def test_percentiles_and_median_are_numpys():
    """The loudness range and the reference curve avoid np.percentile/np.median (they import numpy.ma)."""
    from bridge.master.loudness import _percentiles
    from bridge.master.reference import _median

    rng = np.random.default_rng(11)
    for n in [*range(1, 40), 1800, 3001]:
        values = rng.normal(-20, 5, n)
        assert _percentiles(values, (10 / 100, 95 / 100)) == np.percentile(values, [10, 95]).tolist()
        assert _median(values) == np.median(values)
