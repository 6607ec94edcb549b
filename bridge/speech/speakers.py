"""Who speaks when: speech segments, voice embeddings of short windows, clustering, turns.

:func:`diarize` is the whole thing:

1. speech segments from the VAD (:func:`bridge.speech.vad.speech_segments`), or the caller's;
2. the speech brought to Resemblyzer's level (-30 dBFS RMS over the speech), its mel frames;
3. windows of 1.6 s every 0.4 s inside each segment (a shorter segment is one window
   of its own length), each embedded by :class:`bridge.speech.encoder.SpeakerEncoder`;
4. the windows of at least 1 s are clustered (shorter ones are too noisy to shape a
   cluster and join the closest one). With the count found automatically: average-linkage
   clustering on cosine similarity, merging until the closest two clusters are less
   similar than :data:`MERGE_SIMILARITY` (calibrated on mixtures of held-in LibriSpeech
   speakers, see ``benchmarks/speakers_accuracy.py``); when the eigengap of the refined
   affinity (Wang et al., ICASSP 2018: neighbours kept, symmetrised, diffused,
   normalised) says more speakers -- a phone line or a far microphone makes every voice
   alike in absolute terms -- spectral clustering at that count is taken instead. With a
   fixed count, spectral clustering at that count;
5. a cluster with less than :data:`MIN_SPEAKER_SECONDS` of speech is not a speaker
   of its own (a back-channel "yeah" or a cough joins the closest voice), then each
   window is given the closest speaker again (k-means on the centroids);
6. inside each segment, a Viterbi pass over the windows' similarities with a cost for
   every change of speaker, so a turn lasts at least about a window; pauses under
   0.3 s between two turns of one speaker are part of the turn (NIST RT's convention);
7. turns labelled ``S1``, ``S2``... in order of first appearance.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from bridge.errors import ReabridgeError
from bridge.speech.encoder import HOP, PARTIAL, RATE, SpeakerEncoder, mel_frames, shared_encoder

STEP = 40  #: frames between two windows (0.4 s)
MIN_WINDOW = 25  #: frames: a segment shorter than this (0.25 s) gets the speaker of its neighbours
MERGE_SIMILARITY = 0.62  #: average cosine similarity below which two clusters are different speakers
MIN_SPEAKER_SECONDS = 3.0  #: less speech than this is not a speaker of its own (back-channels)
SWITCH_COST = 0.15  #: Viterbi cost of a change of speaker inside a segment (in cosine similarity)
JOIN_PAUSE = 0.3  #: seconds: a shorter pause between two turns of one speaker is part of the turn (NIST RT)
TARGET_DBFS = -30.0  #: Resemblyzer's training level
NEIGHBOURS = 0.3  #: share of each window's most similar windows kept in the spectral affinity
CLUSTERED_FRAMES = 100  #: windows shorter than this (1 s) are too noisy to shape clusters; they join the closest
MAX_CLUSTERED = 1500  #: more windows than this are clustered in groups of neighbours (memory, time)
MIN_SECONDS = 0.5  #: shorter audio is refused

ProgressFn = Callable[[str, float | None], None]


class NoSpeechError(ReabridgeError):
    """The audio holds no speech."""


@dataclass(frozen=True)
class Turn:
    """One speaker's turn: ``[start, end)`` seconds and the label (``S1``, ``S2``...)."""

    start: float
    end: float
    speaker: str


@dataclass(frozen=True)
class _Window:
    segment: int
    start: int  # frame
    length: int  # frames
    owns: tuple[int, int]  # the frames this window speaks for


def _check_counts(speakers: int | None, min_speakers: int, max_speakers: int) -> None:
    if speakers is not None and speakers < 1:
        raise ReabridgeError(f"the number of speakers must be at least 1, not {speakers} (or leave it to 'auto')")
    if min_speakers < 1 or max_speakers < min_speakers:
        raise ReabridgeError(f"the speaker range must be 1 <= min <= max, not {min_speakers}-{max_speakers}")


def _windows(segments: list[tuple[int, int]]) -> list[_Window]:
    """Windows inside each segment (frames), each owning the frames nearest its centre."""
    out: list[_Window] = []
    for index, (s, e) in enumerate(segments):
        length = e - s
        if length < MIN_WINDOW:
            continue
        if length <= PARTIAL:
            out.append(_Window(index, s, length, (s, e)))
            continue
        starts = list(range(s, e - PARTIAL + 1, STEP))
        if starts[-1] + PARTIAL < e:
            starts.append(e - PARTIAL)
        centres = [a + PARTIAL // 2 for a in starts]
        for i, a in enumerate(starts):
            lo = s if i == 0 else (centres[i - 1] + centres[i]) // 2
            hi = e if i == len(starts) - 1 else (centres[i] + centres[i + 1]) // 2
            out.append(_Window(index, a, PARTIAL, (lo, hi)))
    return out


def _embed(encoder: SpeakerEncoder, mel: np.ndarray, windows: list[_Window]) -> np.ndarray:
    rows = np.zeros((len(windows), PARTIAL, mel.shape[1]), dtype=np.float32)
    lengths = np.empty(len(windows), dtype=np.int64)
    for i, w in enumerate(windows):
        part = mel[w.start:w.start + w.length]
        rows[i, :len(part)] = part
        lengths[i] = max(1, len(part))
    return encoder.embed(rows, lengths)


def _agglomerate(emb: np.ndarray, weight: np.ndarray, *, count: int | None, threshold: float,
                 at_most: int) -> np.ndarray:
    """Average-linkage clustering on cosine similarity; labels per row.

    Stops at ``count`` clusters, or (``count`` None) when no two clusters are at least
    ``threshold`` similar, and in any case not above ``at_most``.
    """
    n = len(emb)
    sim = (emb @ emb.T).astype(np.float64)
    sizes = np.ones(n)
    alive = np.ones(n, dtype=bool)
    labels = np.arange(n)
    np.fill_diagonal(sim, -np.inf)
    clusters = n
    while clusters > 1:
        i, j = np.unravel_index(np.argmax(sim), sim.shape)
        best = sim[i, j]
        if count is not None:
            if clusters <= count:
                break
        elif best < threshold and clusters <= at_most:
            break
        # merge j into i: average linkage is the size-weighted mean of the similarities
        merged = (sim[i] * sizes[i] + sim[j] * sizes[j]) / (sizes[i] + sizes[j])
        sim[i, :], sim[:, i] = merged, merged
        sim[i, i] = -np.inf
        sim[j, :], sim[:, j] = -np.inf, -np.inf
        sizes[i] += sizes[j]
        alive[j] = False
        labels[labels == j] = i
        clusters -= 1
    _, dense = np.unique(labels, return_inverse=True)
    return dense


def _centroids(emb: np.ndarray, labels: np.ndarray, weight: np.ndarray, k: int) -> np.ndarray:
    cents = np.zeros((k, emb.shape[1]))
    for c in range(k):
        mask = labels == c
        if mask.any():
            cents[c] = (emb[mask] * weight[mask, None]).sum(axis=0)
    norms = np.linalg.norm(cents, axis=1, keepdims=True)
    return cents / np.maximum(norms, 1e-12)


def _relabel(labels: np.ndarray) -> np.ndarray:
    _, dense = np.unique(labels, return_inverse=True)
    return dense


def _fold_small(emb: np.ndarray, labels: np.ndarray, seconds: np.ndarray, keep_at_least: int) -> np.ndarray:
    """Clusters with less than MIN_SPEAKER_SECONDS of speech join the closest other cluster."""
    while True:
        k = labels.max() + 1
        totals = np.array([seconds[labels == c].sum() for c in range(k)])
        small = int(np.argmin(totals))
        if k <= keep_at_least or totals[small] >= MIN_SPEAKER_SECONDS:
            return labels
        cents = _centroids(emb, labels, seconds, k)
        sims = cents @ cents[small]
        sims[small] = -np.inf
        labels = _relabel(np.where(labels == small, int(np.argmax(sims)), labels))


def _refine(emb: np.ndarray, labels: np.ndarray, weight: np.ndarray, rounds: int = 10) -> np.ndarray:
    """k-means on the unit sphere from the clustering's centroids (empty clusters are dropped)."""
    for _ in range(rounds):
        k = labels.max() + 1
        new = np.argmax(emb @ _centroids(emb, labels, weight, k).T, axis=1)
        if np.array_equal(new, labels):
            break
        labels = _relabel(new)
    return labels


def _groups(windows: list[_Window], size: int) -> np.ndarray:
    """Group numbers of runs of ``size`` neighbouring windows (never across segments)."""
    out = np.empty(len(windows), dtype=np.int64)
    group, run, last = -1, size, None
    for i, w in enumerate(windows):
        if run == size or w.segment != last:
            group, run = group + 1, 0
        out[i], run, last = group, run + 1, w.segment
    return out


def _cluster(emb: np.ndarray, seconds: np.ndarray, windows: list[_Window], speakers: int | None,
             min_speakers: int, top: int) -> np.ndarray:
    """Labels per window: the windows of at least 1 s are clustered, the shorter ones join the closest cluster."""
    solid = np.array([w.length >= CLUSTERED_FRAMES for w in windows])
    if solid.sum() < 2 or solid.all():
        return _cluster_all(emb, seconds, windows, speakers, min_speakers, top)
    picked = np.flatnonzero(solid)
    some = _cluster_all(emb[picked], seconds[picked], [windows[i] for i in picked], speakers, min_speakers, top)
    cents = _centroids(emb[picked], some, seconds[picked], some.max() + 1)
    labels = np.argmax(emb @ cents.T, axis=1)
    labels[picked] = some
    return labels


def _cluster_all(emb: np.ndarray, seconds: np.ndarray, windows: list[_Window], speakers: int | None,
                 min_speakers: int, top: int) -> np.ndarray:
    """Labels per window: agglomerative clustering, small clusters folded (automatic count)."""
    groups = _groups(windows, -(-len(emb) // MAX_CLUSTERED)) if len(emb) > MAX_CLUSTERED \
        else np.arange(len(emb))
    count = groups.max() + 1
    g_emb = np.zeros((count, emb.shape[1]))
    np.add.at(g_emb, groups, emb * seconds[:, None])
    g_emb /= np.maximum(np.linalg.norm(g_emb, axis=1, keepdims=True), 1e-12)
    g_sec = np.bincount(groups, weights=seconds, minlength=count)
    affinity = _refined_affinity(g_emb)
    if speakers is not None:
        return _partition(g_emb, g_sec, affinity, min(speakers, count))[groups]
    labels = _agglomerate(g_emb, g_sec, count=None, threshold=MERGE_SIMILARITY, at_most=top)
    # a channel (a phone line, a far microphone) squeezes every similarity upwards, so the threshold can
    # find one voice where there are several: then the eigengap of the refined affinity gives the count
    spectral = min(top, _eigengap_count(affinity, top))
    if spectral > 1 and labels.max() == 0:
        labels = _partition(g_emb, g_sec, affinity, spectral)
    labels = _fold_small(g_emb, labels, g_sec, min_speakers)
    if labels.max() + 1 < min_speakers:
        labels = _partition(g_emb, g_sec, affinity, min(min_speakers, count))
    return labels[groups]


def _partition(emb: np.ndarray, seconds: np.ndarray, affinity: np.ndarray, k: int) -> np.ndarray:
    """k clusters: average linkage or spectral clustering, whichever fits tighter after refinement.

    The fit is the k-means objective (speech-weighted cosine similarity of each window to its
    cluster's centroid). Average linkage does best on clean voices; where a channel makes voices
    alike it tends to split off a few odd windows, and spectral clustering does better.
    """
    best, score = None, -np.inf
    for labels in (_agglomerate(emb, seconds, count=k, threshold=0.0, at_most=k), _spectral_labels(affinity, k)):
        labels = _refine(emb, labels, seconds)
        cents = _centroids(emb, labels, seconds, labels.max() + 1)
        fit = float(np.sum(seconds * np.sum(emb * cents[labels], axis=1)))
        if labels.max() + 1 == k and fit > score:
            best, score = labels, fit
    return best if best is not None else _agglomerate(emb, seconds, count=k, threshold=0.0, at_most=k)


def _refined_affinity(emb: np.ndarray) -> np.ndarray:
    """Cosine affinity refined as Wang et al. (ICASSP 2018) do for LSTM speaker embeddings.

    Each row's values outside its :data:`NEIGHBOURS` share of largest are kept at 1 %,
    then the matrix is symmetrised (max), diffused (``A @ A.T``) and row-normalised.
    """
    n = len(emb)
    affinity = np.clip(emb @ emb.T, 0.0, 1.0)
    keep = max(3, int(np.ceil(NEIGHBOURS * n)))
    floor = np.sort(affinity, axis=1)[:, -min(keep, n)][:, None]
    affinity = np.where(affinity >= floor, affinity, affinity * 0.01)
    affinity = np.maximum(affinity, affinity.T)
    affinity = affinity @ affinity.T
    affinity /= np.maximum(affinity.max(axis=1, keepdims=True), 1e-12)
    return (affinity + affinity.T) / 2


def _eigengap_count(affinity: np.ndarray, most: int) -> int:
    """Where the ratio of consecutive eigenvalues of the refined affinity is largest."""
    n = len(affinity)
    if n < 3:
        return 1
    values = np.maximum(np.sort(np.linalg.eigvalsh(affinity))[::-1], 1e-9)
    top = min(most, n - 1)
    return int(np.argmax(values[:top] / values[1:top + 1])) + 1


def _spectral_labels(affinity: np.ndarray, k: int) -> np.ndarray:
    """k clusters of the rows of the refined affinity's top-k eigenvectors (k-means, farthest-point start)."""
    _, vectors = np.linalg.eigh(affinity)
    points = vectors[:, ::-1][:, :k]
    points = points / np.maximum(np.linalg.norm(points, axis=1, keepdims=True), 1e-12)
    centres = [points[int(np.argmax(np.linalg.norm(points - points.mean(axis=0), axis=1)))]]
    while len(centres) < k:
        far = np.min([np.linalg.norm(points - c, axis=1) for c in centres], axis=0)
        centres.append(points[int(np.argmax(far))])
    labels = np.zeros(len(points), dtype=np.int64)
    for _ in range(50):
        new = np.argmin(np.stack([np.linalg.norm(points - c, axis=1) for c in centres], axis=1), axis=1)
        if _ and np.array_equal(new, labels):
            break
        labels = new
        centres = [points[labels == c].mean(axis=0) if np.any(labels == c) else centres[c] for c in range(k)]
    return _relabel(labels)


def _viterbi(scores: np.ndarray, cost: float) -> np.ndarray:
    """The label path maximising the summed scores minus ``cost`` per change."""
    n, k = scores.shape
    total = scores[0].copy()
    back = np.zeros((n, k), dtype=np.int64)
    for t in range(1, n):
        stay = total
        best_other = np.argmax(total)
        switch = total[best_other] - cost
        choose_switch = switch > stay
        back[t] = np.where(choose_switch, best_other, np.arange(k))
        total = np.where(choose_switch, switch, stay) + scores[t]
    path = np.empty(n, dtype=np.int64)
    path[-1] = int(np.argmax(total))
    for t in range(n - 1, 0, -1):
        path[t - 1] = back[t, path[t]]
    return path


def _level(samples16k: np.ndarray, segments: list[tuple[int, int]]) -> float:
    """Gain bringing the speech's RMS to Resemblyzer's training level."""
    energy = sum(float(np.sum(samples16k[s:e].astype(np.float64) ** 2)) for s, e in segments)
    count = sum(e - s for s, e in segments)
    rms = np.sqrt(energy / max(count, 1))
    return float(10 ** (TARGET_DBFS / 20) / rms) if rms > 1e-7 else 1.0


def diarize(samples: np.ndarray, rate: int, *, speakers: int | None = None, min_speakers: int = 1,
            max_speakers: int = 8, speech: list[tuple[float, float]] | None = None,
            progress: Callable[[float], None] | None = None) -> list[Turn]:
    """Speaker turns of mono audio.

    Parameters
    ----------
    samples : numpy.ndarray
        Mono float32 audio.
    rate : int
        Its sample rate (resampled to 16 kHz here).
    speakers : int, optional
        The number of speakers when known; None finds it (between ``min_speakers``
        and ``max_speakers``).
    min_speakers, max_speakers : int
        Bounds of the count found automatically.
    speech : list of (float, float), optional
        Speech segments in seconds (the VAD's by default).
    progress : callable, optional
        Called with the fraction done (0-1).

    Returns
    -------
    list of Turn
        In time order, not overlapping; labels ``S1``, ``S2``... by first appearance.

    Raises
    ------
    ReabridgeError
        A count below 1 or an impossible range; :class:`NoSpeechError` when there is no speech.
    """
    from bridge.speech.vad import speech_segments, to_16k

    _check_counts(speakers, min_speakers, max_speakers)
    report = progress or (lambda _: None)
    audio = to_16k(np.asarray(samples, dtype=np.float32).reshape(-1), rate)
    if len(audio) < MIN_SECONDS * RATE:
        raise ReabridgeError(f"the audio is {len(audio) / RATE:.2f} s long; finding speakers needs at least "
                             f"{MIN_SECONDS} s")
    if speech is None:
        speech = speech_segments(audio, progress=lambda f: report(0.3 * f))
    report(0.3)
    frames = 1 + len(audio) // HOP
    segments = [(max(0, int(round(s * RATE / HOP))), min(frames, int(round(e * RATE / HOP)))) for s, e in speech]
    segments = [(s, e) for s, e in segments if e > s]
    windows = _windows(segments)
    if not windows:
        raise NoSpeechError("no speech found")
    gain = _level(audio, [(s * HOP, e * HOP) for s, e in segments])
    mel = mel_frames(audio * np.float32(gain))
    report(0.4)
    emb = _embed(shared_encoder(), mel, windows)  # the process's one encoder (Engines.speakers() keeps it warm)
    report(0.9)
    seconds = np.array([(w.owns[1] - w.owns[0]) * HOP / RATE for w in windows])
    top = speakers if speakers is not None else max_speakers
    labels = _cluster(emb, seconds, windows, speakers, min_speakers, top)
    labels = _refine(emb, labels, seconds)
    cents = _centroids(emb, labels, seconds, labels.max() + 1)
    scores = emb @ cents.T
    turns: list[tuple[int, int, int]] = []  # start frame, end frame, cluster
    by_segment: dict[int, list[int]] = {}
    for i, w in enumerate(windows):
        by_segment.setdefault(w.segment, []).append(i)
    for rows in by_segment.values():
        path = _viterbi(scores[rows], SWITCH_COST)
        for row, label in zip(rows, path, strict=True):
            lo, hi = windows[row].owns
            if turns and turns[-1][2] == label and turns[-1][1] == lo:
                turns[-1] = (turns[-1][0], hi, int(label))
            else:
                turns.append((lo, hi, int(label)))
    turns = _short_segments(turns, segments, windows)
    names: dict[int, str] = {}
    out: list[Turn] = []
    join = JOIN_PAUSE * RATE / HOP
    for s, e, label in sorted(turns):
        names.setdefault(label, f"S{len(names) + 1}")
        start, end = round(s * HOP / RATE, 3), round(e * HOP / RATE, 3)
        if out and out[-1].speaker == names[label] and s - out[-1].end * RATE / HOP < join:
            out[-1] = Turn(out[-1].start, end, names[label])
        else:
            out.append(Turn(start, end, names[label]))
    report(1.0)
    return out


def _short_segments(turns: list[tuple[int, int, int]], segments: list[tuple[int, int]],
                    windows: list[_Window]) -> list[tuple[int, int, int]]:
    """Segments too short to embed take the speaker of the nearest turn."""
    covered = {w.segment for w in windows}
    if not turns:
        return turns
    out = list(turns)
    for index, (s, e) in enumerate(segments):
        if index in covered:
            continue
        nearest = min(range(len(turns)), key=lambda i: min(abs(turns[i][0] - e), abs(turns[i][1] - s)))
        out.append((s, e, turns[nearest][2]))
    return out
