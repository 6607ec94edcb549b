"""Landmark fingerprints: spectral peaks grouped in threes, hashed so speed, tempo and pitch changes keep them.

The audio is taken to 8 kHz mono and turned into a log-frequency spectrogram (24 bins an
octave, 130 Hz-3.8 kHz, 16 ms frames of 128 ms windows; each band is the loudest FFT bin
inside it, so peaks are neither blurred nor moved). Peaks are local maxima over +-80 ms and
+-1.5 semitones that stand out from their surroundings; the strongest ~25 a second are kept,
with their time and pitch refined between frames and bins.

A *triplet* is an anchor peak and two later peaks (Panako's idea). What its hash holds does
not move when the audio is sped up, slowed down, time-stretched or transposed:

- the two pitch intervals from the anchor (semitones, in half-semitone steps): a transposition
  or a varispeed moves every peak by the same number of semitones;
- where the middle peak falls between the outer two (``(t2 - t1) / (t3 - t1)``, in eighths): a
  tempo change scales every time difference by the same factor;
- and, coarsely, how long the triplet lasts (in half-octave steps of its length), which a +-6 %
  change moves by a fraction of a step. The anchor's pitch is stored beside the hash and looked up as
  a range (the transposition window), not hashed.

An indexed file stores, for each anchor, the triplets made with its 3 nearest later peaks.
A query makes triplets with its 5 nearest, with gentler rules, so the stored ones are found
even when noise adds a peak in between; and it looks each triplet up in the neighbouring cells
too when a value lies near a cell's edge. Each stored row keeps the anchor's frame and pitch,
from which :mod:`bridge.library.matching` recovers offset, stretch and transposition.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SAMPLE_RATE = 8000
N_FFT = 1024
HOP = 128
FRAME_SECONDS = HOP / SAMPLE_RATE
#: time of frame ``k``'s centre: ``k * FRAME_SECONDS + CENTRE``
CENTRE = N_FFT / 2 / SAMPLE_RATE
BANDS_PER_OCTAVE = 24
F_MIN, F_MAX = 130.0, 3800.0
PEAK_FRAMES = 5  # +-80 ms
PEAK_BANDS = 3  # +-1.5 semitones
PEAKS_PER_SECOND = 25
CONTRAST_FRAMES, CONTRAST_BANDS = 31, 12  # the neighbourhood a peak must stand out from (0.5 s x 1 octave)

# triplet rules (frames and semitones): stored / query
MIN_GAP = 2.0
MIN_GAP_QUERY = 1.0
MAX_SPAN = 62.0  # ~1 s
MAX_SPAN_QUERY = 70.0
MAX_INTERVAL = 12.0
FAN = 3
FAN_QUERY = 5
GROUP = 3  # peaks per hash: the anchor and GROUP - 1 partners

# hash cells
INTERVAL_STEP = 0.5  # semitones
INTERVAL_CELLS = int(2 * MAX_INTERVAL / INTERVAL_STEP) + 1  # 49
RATIO_CELLS = 8
SPAN_BASE, SPAN_STEP, SPAN_CELLS = 1.0, 0.5, 12  # log2(frames)
MARGIN = 0.25  # a query value this close to a cell edge is also looked up in the neighbour
RATIO_MARGIN = 0.35
SPAN_MARGIN = 0.2  # log2(1.07) / SPAN_STEP: a +-7 % stretch


@dataclass(frozen=True)
class Peaks:
    """Spectral peaks of one piece of audio, in time order.

    Attributes
    ----------
    time : numpy.ndarray
        Frames (float: refined between frames); seconds are ``time * FRAME_SECONDS + CENTRE``.
    pitch : numpy.ndarray
        MIDI pitch (float: 69 is 440 Hz).
    strength : numpy.ndarray
        How far each stands out (log magnitude over its surroundings).
    frames : int
        Length of the analysed audio in frames.
    """

    time: np.ndarray
    pitch: np.ndarray
    strength: np.ndarray
    frames: int

    def __len__(self) -> int:
        return len(self.time)

    def seconds(self) -> np.ndarray:
        """Peak times in seconds from the start of the audio."""
        return self.time * FRAME_SECONDS + CENTRE


@dataclass(frozen=True)
class Landmarks:
    """Hashed groups: ``hashes[i]`` was made at anchor frame ``times[i]`` with anchor pitch ``pitches[i]``,
    and the group lasts ``spans[i]`` frames."""

    hashes: np.ndarray  # int64
    times: np.ndarray  # float frames
    pitches: np.ndarray  # float MIDI pitch
    spans: np.ndarray  # float frames

    def __len__(self) -> int:
        return len(self.hashes)


def _bands() -> tuple[np.ndarray, np.ndarray]:
    """Centre frequencies of the log bands and, for each FFT bin, the band it falls in (-1: none)."""
    count = int(np.floor(np.log2(F_MAX / F_MIN) * BANDS_PER_OCTAVE)) + 1
    centres = F_MIN * 2.0 ** (np.arange(count) / BANDS_PER_OCTAVE)
    freqs = np.arange(N_FFT // 2 + 1) * SAMPLE_RATE / N_FFT
    position = np.log2(np.maximum(freqs, 1e-9) / F_MIN) * BANDS_PER_OCTAVE
    owner = np.floor(position + 0.5).astype(int)
    owner[(owner < 0) | (owner >= count)] = -1
    return centres, owner


_CENTRES, _OWNER = _bands()
_WINDOW = np.hanning(N_FFT + 1)[:-1].astype(np.float32)


def log_spectrogram(y: np.ndarray) -> np.ndarray:
    """``(frames, bands)`` natural-log magnitude on the log-frequency axis (8 kHz mono in)."""
    y = np.asarray(y, dtype=np.float32)
    if len(y) < N_FFT:
        y = np.pad(y, (0, N_FFT - len(y)))
    frames = 1 + (len(y) - N_FFT) // HOP
    view = np.lib.stride_tricks.sliding_window_view(y, N_FFT)[::HOP][:frames]
    import scipy.fft

    spec = np.empty((frames, N_FFT // 2 + 1), dtype=np.float32)
    step = 4096
    for i in range(0, frames, step):  # bounded working memory for long files; scipy's FFT stays in float32
        spec[i:i + step] = np.abs(scipy.fft.rfft(view[i:i + step] * _WINDOW, axis=1))
    count = len(_CENTRES)
    inside = _OWNER >= 0
    bins = np.flatnonzero(inside)
    owners = _OWNER[inside]
    starts = np.flatnonzero(np.r_[True, np.diff(owners) != 0])
    pooled = np.maximum.reduceat(spec[:, bins], starts, axis=1)  # loudest FFT bin of each band that has one
    have = owners[starts]
    out = np.empty((frames, count), dtype=np.float32)
    out[:, have] = pooled
    missing = np.setdiff1d(np.arange(count), have)
    if len(missing):  # bands narrower than an FFT bin (low end): interpolated between bins
        pos = _CENTRES[missing] * N_FFT / SAMPLE_RATE
        lo = np.floor(pos).astype(int)
        w = (pos - lo).astype(np.float32)
        out[:, missing] = spec[:, lo] * (1 - w) + spec[:, lo + 1] * w
    return np.log(out + 1e-5)


def _max_filter(x: np.ndarray, half_frames: int, half_bands: int) -> np.ndarray:
    """The maximum over ``(2 half_frames + 1) x (2 half_bands + 1)`` (nothing beyond the edges)."""
    from scipy import ndimage

    return ndimage.maximum_filter(x, size=(2 * half_frames + 1, 2 * half_bands + 1), mode="constant",
                                  cval=-np.inf)


def _mean_filter(x: np.ndarray, half_frames: int, half_bands: int) -> np.ndarray:
    """The mean over ``(2 half_frames + 1) x (2 half_bands + 1)`` (edges repeated)."""
    from scipy import ndimage

    return ndimage.uniform_filter(x.astype(np.float64), size=(2 * half_frames + 1, 2 * half_bands + 1),
                                  mode="nearest").astype(np.float32)


def find_peaks(spec: np.ndarray, per_second: float = PEAKS_PER_SECOND) -> Peaks:
    """Peaks of a :func:`log_spectrogram` (see the module docstring)."""
    frames = spec.shape[0]
    if frames < 3:
        empty = np.zeros(0)
        return Peaks(empty, empty, empty, frames)
    local = _max_filter(spec, PEAK_FRAMES, PEAK_BANDS)
    surround = _mean_filter(spec, CONTRAST_FRAMES // 2, CONTRAST_BANDS // 2)
    floor = float(np.max(spec)) - 9.0  # ~80 dB under the loudest point: silence makes no peaks
    candidate = (spec == local) & (spec > floor)
    candidate[0, :] = candidate[-1, :] = False
    candidate[:, 0] = candidate[:, -1] = False
    t, b = np.nonzero(candidate)
    strength = spec[t, b] - surround[t, b]
    keep = strength > 0.5
    t, b, strength = t[keep], b[keep], strength[keep]
    # the strongest peaks of each second
    quota = max(1, int(round(per_second)))
    block = np.int64(SAMPLE_RATE / HOP)
    second = t // block
    order = np.lexsort((-strength, second))
    t, b, strength, second = t[order], b[order], strength[order], second[order]
    first = np.searchsorted(second, second, side="left")
    rank = np.arange(len(second)) - first
    keep = rank < quota
    t, b, strength = t[keep], b[keep], strength[keep]
    # refine: parabola through the neighbours, in time and in pitch
    c = spec[t, b]
    dt = _vertex(spec[t - 1, b], c, spec[t + 1, b])
    db = _vertex(spec[t, b - 1], c, spec[t, b + 1])
    time = t + dt
    pitch = 69.0 + 12.0 * np.log2(_CENTRES[b] / 440.0) + db * 12.0 / BANDS_PER_OCTAVE
    order = np.lexsort((pitch, time))
    return Peaks(time[order], pitch[order], strength[order], frames)


def _vertex(left: np.ndarray, centre: np.ndarray, right: np.ndarray) -> np.ndarray:
    denom = left - 2 * centre + right
    with np.errstate(divide="ignore", invalid="ignore"):
        shift = np.where(denom < 0, 0.5 * (left - right) / denom, 0.0)
    return np.clip(shift, -0.5, 0.5)


def _fans(peaks: Peaks, fan: int, min_gap: float, max_span: float) -> np.ndarray:
    """For each anchor, the indices of its ``fan`` nearest later partners (-1: none), ``(n, fan)``."""
    n = len(peaks)
    out = np.full((n, fan), -1, dtype=np.int64)
    if n < 2:
        return out
    taken = np.zeros(n, dtype=np.int64)
    t, p = peaks.time, peaks.pitch
    d = 1
    active = np.arange(n)
    while len(active) and d < n:
        j = active + d
        inside = j < n
        active, j = active[inside], j[inside]
        if not len(active):
            break
        gap = t[j] - t[active]
        ok = (gap >= min_gap) & (gap <= max_span) & (np.abs(p[j] - p[active]) <= MAX_INTERVAL)
        sel = active[ok]
        out[sel, taken[sel]] = j[ok]
        taken[sel] += 1
        active = active[(gap <= max_span) & (taken[active] < fan)]
        d += 1
    return out


def _groups(peaks: Peaks, fan: int, min_gap: float, max_span: float) -> np.ndarray:
    """Peak indices of every group (anchor first, then its partners in time order), ``(groups, GROUP)``."""
    from itertools import combinations

    partners = _fans(peaks, fan, min_gap, max_span)
    t = peaks.time
    found = []
    for combo in combinations(range(fan), GROUP - 1):
        cols = partners[:, list(combo)]
        ok = np.all(cols >= 0, axis=1)
        rows = np.column_stack([np.flatnonzero(ok), cols[ok]])
        # later partners apart from each other, so their order is clear
        if GROUP > 2:
            apart = np.all(np.diff(t[rows[:, 1:]], axis=1) >= min_gap / 2, axis=1)
            rows = rows[apart]
        found.append(rows)
    if not found:
        return np.zeros((0, GROUP), dtype=np.int64)
    return np.concatenate(found)


def _coordinates(peaks: Peaks, g: np.ndarray) -> list[np.ndarray]:
    """Each group's hash coordinates as continuous cell positions (cell c spans [c, c+1))."""
    t, p = peaks.time[g], peaks.pitch[g]
    span = t[:, -1] - t[:, 0]
    coords = [(p[:, m] - p[:, 0] + MAX_INTERVAL) / INTERVAL_STEP + 0.5 for m in range(1, GROUP)]
    coords += [(t[:, m] - t[:, 0]) / span * RATIO_CELLS for m in range(1, GROUP - 1)]
    coords.append((np.log2(np.maximum(span, 1.0)) - SPAN_BASE) / SPAN_STEP)
    return coords


# the anchor's pitch is not hashed: the store keys rows by (hash, pitch), so a lookup reads only the rows
# within the transposition window of the query's anchor pitch (a range, not more cells to look up)
_SIZES = (INTERVAL_CELLS,) * (GROUP - 1) + (RATIO_CELLS,) * (GROUP - 2) + (SPAN_CELLS,)
_MARGINS = (MARGIN,) * (GROUP - 1) + (RATIO_MARGIN,) * (GROUP - 2) + (SPAN_MARGIN,)


def _combine(cells: list[np.ndarray]) -> np.ndarray:
    h = np.zeros(len(cells[0]), dtype=np.int64)
    for c, size in zip(cells, _SIZES, strict=True):
        h = h * size + c
    return h


def _landmarks(peaks: Peaks, g: np.ndarray, hashes: np.ndarray, rows: np.ndarray) -> Landmarks:
    anchors = g[rows, 0]
    span = peaks.time[g[rows, -1]] - peaks.time[anchors]
    return Landmarks(hashes, peaks.time[anchors], peaks.pitch[anchors], span)


def landmarks(peaks: Peaks) -> Landmarks:
    """The groups an indexed file stores (one hash each)."""
    g = _groups(peaks, FAN, MIN_GAP, MAX_SPAN)
    coords = _coordinates(peaks, g)
    if not len(g):
        return _landmarks(peaks, g, np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))
    cells = [np.clip(np.floor(c).astype(np.int64), 0, size - 1) for c, size in zip(coords, _SIZES, strict=True)]
    return _landmarks(peaks, g, _combine(cells), np.arange(len(g)))


def query_landmarks(peaks: Peaks) -> Landmarks:
    """The groups a query looks up: more of them, each with its neighbouring cells near an edge."""
    g = _groups(peaks, FAN_QUERY, MIN_GAP_QUERY, MAX_SPAN_QUERY)
    coords = _coordinates(peaks, g)
    hashes = np.zeros(len(g), dtype=np.int64)
    rows = np.arange(len(g))
    for c, size, margin in zip(coords, _SIZES, _MARGINS, strict=True):
        base = np.floor(c).astype(np.int64)
        frac = c - base
        options = [np.clip(base, 0, size - 1), np.where(frac < margin, base - 1, -1),
                   np.where(frac > 1 - margin, base + 1, -1)]
        new_rows, new_hashes = [], []
        for option in options:
            cell = option[rows]
            ok = (cell >= 0) & (cell < size)
            new_rows.append(rows[ok])
            new_hashes.append(hashes[ok] * size + cell[ok])
        rows = np.concatenate(new_rows)
        hashes = np.concatenate(new_hashes)
    return _landmarks(peaks, g, hashes, rows)


def to_8k(y: np.ndarray, rate: float) -> np.ndarray:
    """Mono audio at :data:`SAMPLE_RATE` (libsoxr)."""
    import soxr

    y = np.asarray(y, dtype=np.float32)
    if y.ndim == 2:
        y = y.mean(axis=1)
    if rate == SAMPLE_RATE:
        return y
    return soxr.resample(y, rate, SAMPLE_RATE, quality="HQ").astype(np.float32, copy=False)


def peaks_of(y: np.ndarray, rate: float) -> Peaks:
    """Peaks of mono (or ``(n, channels)``) audio at any rate."""
    return find_peaks(log_spectrogram(to_8k(y, rate)))
