"""From activation matrices to note events, with basic-pitch's semantics.

This reproduces basic-pitch's ``note_creation.model_output_to_notes`` step by
step (same thresholds, same order of discovery, same arithmetic types), so the
notes are the ones ``basic_pitch.inference.predict`` gives for the same model
output. Two things are done differently, without changing any result:

- the "melodia trick" repeatedly takes the global maximum of the remaining
  energy; values only ever drop to zero, so visiting the candidates once in
  descending order (ties by position, as ``argmax`` breaks them) finds the same
  maxima without rescanning the whole matrix each time;
- onset inference runs in time blocks (it only looks two frames back), so long
  inputs never need full-size float64 copies.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bridge.transcribe.frames import ModelOutput, RowStore
from bridge.transcribe.model import (
    FFT_HOP,
    FRAMES_PER_WINDOW,
    MIDI_OFFSET,
    N_CONTOUR_BINS,
    N_PITCHES,
    SAMPLE_RATE,
    WINDOW_SAMPLES,
)

ENERGY_TOL = 11
MAX_FREQ_IDX = N_PITCHES - 1
N_DIFF = 2
BEND_TOLERANCE = 25
BLOCK = 4096  # frames per step of the onset inference: its float64 temporaries stay a few MB


@dataclass(frozen=True)
class NoteEvent:
    """A transcribed note.

    Attributes
    ----------
    start, end : float
        Seconds from the start of the audio.
    pitch : int
        MIDI note number.
    amplitude : float
        Mean activation over the note (0..1); velocity is ``round(127 * amplitude)``.
    bends : tuple of int or None
        Pitch deviation in thirds of a semitone, one value per frame of the note.
    """

    start: float
    end: float
    pitch: int
    amplitude: float
    bends: tuple[int, ...] | None = None

    @property
    def velocity(self) -> int:
        """MIDI velocity as basic-pitch computes it (in float32, like its amplitudes)."""
        return int(np.round(127 * np.float32(self.amplitude)))


@dataclass(frozen=True)
class NoteParams:
    """basic-pitch's note-creation parameters, named and defaulted as in ``predict``.

    Attributes
    ----------
    onset_threshold : float
        Minimum onset activation for a note to start.
    frame_threshold : float
        Minimum frame activation for a note to continue.
    minimum_note_length : float
        Milliseconds; shorter notes are dropped.
    minimum_frequency, maximum_frequency : float or None
        Hz; activations outside are ignored.
    multiple_pitch_bends : bool
        Keep pitch bends on overlapping notes (one MIDI channel per pitch).
    melodia_trick : bool
        Also pick up notes without a detected onset.
    midi_tempo : float
        Tempo written into MIDI files.
    """

    onset_threshold: float = 0.5
    frame_threshold: float = 0.3
    minimum_note_length: float = 127.70
    minimum_frequency: float | None = None
    maximum_frequency: float | None = None
    multiple_pitch_bends: bool = False
    melodia_trick: bool = True
    midi_tempo: float = 120.0

    @property
    def min_note_frames(self) -> int:
        """Minimum note length in model frames (basic-pitch's conversion)."""
        return int(np.round(self.minimum_note_length / 1000 * (SAMPLE_RATE / FFT_HOP)))


def _hz_to_midi(hz: float) -> float:
    return 12 * (np.log2(np.asanyarray(hz)) - np.log2(440.0)) + 69


def constrain_frequency(onsets: np.ndarray, frames: np.ndarray, params: NoteParams) -> None:
    """Zero activations above the maximum / below the minimum frequency (in place)."""
    if params.maximum_frequency is not None:
        idx = int(np.round(_hz_to_midi(params.maximum_frequency) - MIDI_OFFSET))
        onsets[:, idx:] = 0
        frames[:, idx:] = 0
    if params.minimum_frequency is not None:
        idx = int(np.round(_hz_to_midi(params.minimum_frequency) - MIDI_OFFSET))
        onsets[:, :idx] = 0
        frames[:, :idx] = 0


def _frame_diff_block(frames: np.ndarray, start: int, stop: int) -> np.ndarray:
    """min over n=1..2 of frames[t] - frames[t-n] (float64), clipped at 0, first two rows 0."""
    lo = max(0, start - N_DIFF)
    chunk = frames[lo:stop].astype(np.float64)
    pad = N_DIFF - (start - lo)
    if pad:
        chunk = np.concatenate([np.zeros((pad, frames.shape[1])), chunk])
    cur = chunk[N_DIFF:]
    diff = np.minimum(cur - chunk[N_DIFF - 1:-1], cur - chunk[:-N_DIFF])
    diff[diff < 0] = 0
    if start < N_DIFF:
        diff[: N_DIFF - start] = 0
    return diff


def onset_peaks(onsets: np.ndarray, frames: np.ndarray, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """Onset positions (time, pitch index) in basic-pitch's order: latest first.

    Onsets are the model's onsets raised to the rescaled positive frame
    differences where those are larger, then local maxima in time at or above
    ``threshold``.
    """
    n = frames.shape[0]
    if n == 0:
        return np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.intp)
    max_onset = np.max(onsets)
    max_diff = max(float(np.max(_frame_diff_block(frames, s, min(n, s + BLOCK)))) for s in range(0, n, BLOCK))

    def boosted(start: int, stop: int) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            diff = max_onset * _frame_diff_block(frames, start, stop) / np.float64(max_diff)
        return np.max([onsets[start:stop], diff], axis=0)

    times: list[np.ndarray] = []
    pitches: list[np.ndarray] = []
    thr = np.float64(threshold)
    for start in range(0, n, BLOCK):
        stop = min(n, start + BLOCK)
        lo, hi = max(0, start - 1), min(n, stop + 1)
        values = boosted(lo, hi)
        mid = values[start - lo: start - lo + (stop - start)]
        prev = values[start - lo - 1: start - lo - 1 + (stop - start)] if start > 0 else np.vstack(
            [values[:1], values[: stop - start - 1]])
        nxt_src = values[start - lo + 1:]
        nxt = nxt_src if len(nxt_src) == stop - start else np.vstack([nxt_src, values[-1:]])
        peak = (mid > prev) & (mid > nxt)
        kept = np.where(peak, mid, 0.0) >= thr
        t, f = np.nonzero(kept)
        times.append(t + start)
        pitches.append(f)
    t_all = np.concatenate(times)[::-1]
    f_all = np.concatenate(pitches)[::-1]
    return t_all, f_all


def _zero(rem: np.ndarray, lo: int, hi: int, f: int) -> None:
    rem[lo:hi, f] = 0
    if f < MAX_FREQ_IDX:
        rem[lo:hi, f + 1] = 0
    if f > 0:
        rem[lo:hi, f - 1] = 0


def notes_from_onsets(frames: np.ndarray, rem: np.ndarray, times: np.ndarray, pitches: np.ndarray,
                      frame_threshold: float, min_len: int) -> list[tuple[int, int, int, float]]:
    """Follow each onset forward while the energy stays up (basic-pitch's first pass)."""
    n = frames.shape[0]
    thr = float(frame_threshold)
    events: list[tuple[int, int, int, float]] = []
    for t0, f in zip(times.tolist(), pitches.tolist(), strict=True):
        if t0 >= n - 1:
            continue
        column = rem[:, f]
        i, k = t0 + 1, 0
        while i < n - 1 and k < ENERGY_TOL:
            k = k + 1 if float(column[i]) < thr else 0
            i += 1
        i -= k
        if i - t0 <= min_len:
            continue
        _zero(rem, t0, i, f)
        events.append((t0, i, f + MIDI_OFFSET, float(np.mean(frames[t0:i, f]))))
    return events


def notes_from_energy(frames: np.ndarray, rem: np.ndarray, frame_threshold: float,
                      min_len: int) -> list[tuple[int, int, int, float]]:
    """The melodia trick: grow notes from the strongest remaining energy."""
    n = frames.shape[0]
    thr = float(frame_threshold)
    flat = rem.reshape(-1)
    candidates = np.flatnonzero(flat > np.float64(thr))
    order = candidates[np.lexsort((candidates, -flat[candidates].astype(np.float64)))]
    width = rem.shape[1]
    events: list[tuple[int, int, int, float]] = []
    for idx in order.tolist():
        if not float(flat[idx]) > thr:
            continue  # zeroed by an earlier note
        i_mid, f = divmod(idx, width)
        rem[i_mid, f] = 0
        i, k = i_mid + 1, 0
        while i < n - 1 and k < ENERGY_TOL:
            k = k + 1 if float(rem[i, f]) < thr else 0
            _zero(rem, i, i + 1, f)
            i += 1
        i_end = i - 1 - k
        i, k = i_mid - 1, 0
        while i > 0 and k < ENERGY_TOL:
            k = k + 1 if float(rem[i, f]) < thr else 0
            _zero(rem, i, i + 1, f)
            i -= 1
        i_start = i + 1 + k
        if i_end - i_start <= min_len:
            continue
        events.append((i_start, i_end, f + MIDI_OFFSET, float(np.mean(frames[i_start:i_end, f]))))
    return events


def gaussian_window(size: int, std: float) -> np.ndarray:
    """A Gaussian window, computed exactly as ``scipy.signal.windows.gaussian``.

    Written out so transcription does not import ``scipy.signal`` (0.7 s and
    75 MB at start-up); a test checks it equals SciPy's, value for value.
    """
    n = np.arange(0, size) - (size - 1.0) / 2.0
    sig2 = 2 * std * std
    return np.exp(-n ** 2 / sig2)


_BEND_WINDOW = gaussian_window(BEND_TOLERANCE * 2 + 1, 5)


def pitch_bends(contour: RowStore, start: int, end: int, pitch: int) -> tuple[int, ...]:
    """Per-frame pitch deviation (thirds of a semitone) around a note, from the contours."""
    hz = 440.0 * (2.0 ** ((np.asanyarray(pitch) - 69.0) / 12.0))
    freq_idx = int(np.round(12.0 * 3 * np.log2(hz / 27.5)))
    lo = max(freq_idx - BEND_TOLERANCE, 0)
    hi = min(N_CONTOUR_BINS, freq_idx + BEND_TOLERANCE + 1)
    window = _BEND_WINDOW[max(0, BEND_TOLERANCE - freq_idx):
                          BEND_TOLERANCE * 2 + 1 - max(0, freq_idx - (N_CONTOUR_BINS - BEND_TOLERANCE - 1))]
    sub = contour.read(start, end)[:, lo:hi] * window
    shift = BEND_TOLERANCE - max(0, BEND_TOLERANCE - freq_idx)
    return tuple(int(b) for b in (np.argmax(sub, axis=1) - shift))


def frame_times(n_frames: int) -> np.ndarray:
    """Seconds of each output frame, with basic-pitch's per-window correction."""
    idx = np.arange(n_frames)
    original = (idx * FFT_HOP) / float(SAMPLE_RATE)
    window_numbers = np.floor(idx / FRAMES_PER_WINDOW)
    offset = (FFT_HOP / SAMPLE_RATE) * (FRAMES_PER_WINDOW - (WINDOW_SAMPLES / FFT_HOP)) + 0.0018
    return original - (offset * window_numbers)


def output_to_notes(output: ModelOutput, params: NoteParams, include_bends: bool = True) -> list[NoteEvent]:
    """Turn model output into note events (basic-pitch's ``model_output_to_notes``).

    The output is used up: frequency limits are applied in place, the onset
    matrix is dropped once its peaks are found (so it never coexists with the
    working copy of the frames), and the contour store is closed.
    """
    frames, onsets = output.note, output.onset
    constrain_frequency(onsets, frames, params)
    times, pitches = onset_peaks(onsets, frames, params.onset_threshold)
    output.onset = onsets = np.zeros((0, N_PITCHES), dtype=np.float32)
    rem = frames.copy()
    min_len = params.min_note_frames
    raw = notes_from_onsets(frames, rem, times, pitches, params.frame_threshold, min_len)
    if params.melodia_trick:
        raw += notes_from_energy(frames, rem, params.frame_threshold, min_len)
    del rem
    seconds = frame_times(output.contour.shape[0])
    events = []
    for start, end, pitch, amplitude in raw:
        bends = pitch_bends(output.contour, start, end, pitch) if include_bends else None
        events.append(NoteEvent(float(seconds[start]), float(seconds[end]), pitch, amplitude, bends))
    output.contour.close()
    return events
