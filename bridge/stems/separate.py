"""STFT -> masks -> stems, as Spleeter's predict graph does it (``spleeter/model/__init__.py``), streamed.

Spleeter, for a stereo waveform ``x`` of ``N`` samples at 44.1 kHz:

1. puts 4096 zeros before ``x`` and takes the STFT (periodic Hann window of 4096, hop 1024,
   4096-point FFT, frames to the end with zero padding: ``ceil((N + 4096) / 1024)`` frames);
2. cuts the magnitudes of the first 1024 bins into segments of 512 frames (the last padded with
   zero frames) and runs each segment through both U-Nets;
3. turns the two estimates into ratio masks, ``(v^2 + eps/2) / (v^2 + a^2 + eps)`` with
   ``eps = 1e-10`` (separation exponent 2), and extends them with zeros above bin 1024
   (``mask_extension: zeros``: both stems lose what is above 11 kHz, as Spleeter's do);
4. multiplies the mixture's complex STFT by each mask and inverts it (Hann synthesis window,
   overlap-add), times 2/3, keeping samples ``4096 .. 4096 + N``.

Segments do not overlap in the spectrogram, so the file can be processed one segment at a time:
segment ``s`` needs the padded signal's samples ``s * 524288 .. s * 524288 + 527360`` (its frames
overlap the next segment's by 3072 samples, which are carried over), and after it the
overlap-add is final up to ``(s + 1) * 524288``. The result is the same as Spleeter's whole-file
pass, and memory does not grow with the file.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

import numpy as np

from bridge.stems.unet import F, T

RATE = 44100
FRAME = 4096
HOP = 1024
BINS = FRAME // 2 + 1
EPSILON = 1e-10
EXPONENT = 2
WINDOW_COMPENSATION = 2.0 / 3.0
SEGMENT = T * HOP  #: padded-signal samples a segment advances by
SPAN = (T - 1) * HOP + FRAME  #: padded-signal samples a segment's frames cover
WINDOW = (0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(FRAME) / FRAME)).astype(np.float32)

Net = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]


def frame_count(n: int) -> int:
    """How many STFT frames Spleeter takes of ``n`` samples (``ceil((n + 4096) / 1024)``)."""
    return -(-(n + FRAME) // HOP)


def segment_count(n: int) -> int:
    """How many 512-frame segments the network runs on for ``n`` samples."""
    return -(-frame_count(n) // T)


def stft(signal: np.ndarray) -> np.ndarray:
    """``(frames, 2049, channels)`` complex64 STFT of ``(samples, channels)`` whose length is a hop multiple + 3072."""
    frames = (len(signal) - FRAME) // HOP + 1
    view = np.lib.stride_tricks.sliding_window_view(signal, FRAME, axis=0)[::HOP][:frames]  # (frames, ch, 4096)
    return np.fft.rfft(view * WINDOW, axis=-1).transpose(0, 2, 1).astype(np.complex64)


def masks(vocals: np.ndarray, accompaniment: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Spleeter's soft masks (exponent 2, epsilon) from the two estimates, float32 as TensorFlow computes them."""
    v = vocals.astype(np.float32) ** EXPONENT
    a = accompaniment.astype(np.float32) ** EXPONENT
    total = v + a + np.float32(EPSILON)
    half = np.float32(EPSILON / 2)
    return (v + half) / total, (a + half) / total


def istft_frames(spectrum: np.ndarray) -> np.ndarray:
    """``(frames, 4096, channels)`` windowed time frames of a ``(frames, 2049, channels)`` STFT, to be overlap-added."""
    return np.fft.irfft(spectrum, n=FRAME, axis=1).astype(np.float32) * WINDOW[None, :, None]


def overlap_add(frames: np.ndarray) -> np.ndarray:
    """Overlap-add ``(k, 4096, channels)`` frames at hop 1024: ``(k - 1) * 1024 + 4096`` samples."""
    k, _, channels = frames.shape
    out = np.zeros(((k + 3) * HOP, channels), dtype=np.float32)
    parts = frames.reshape(k, FRAME // HOP, HOP, channels)
    for j in range(FRAME // HOP):
        out[j * HOP:(j + k) * HOP] += parts[:, j].reshape(k * HOP, channels)
    return out


def separate_segment(net: Net, segment: np.ndarray, frames: int) -> tuple[np.ndarray, np.ndarray,
                                                                          tuple[np.ndarray, np.ndarray]]:
    """One segment: ``SPAN`` padded stereo samples -> the two stems' overlap-added samples and the masks.

    Parameters
    ----------
    net : callable
        :class:`bridge.stems.unet.SpleeterNet` (or any function of the same shape).
    segment : numpy.ndarray
        ``(SPAN, 2)`` float32 samples of the padded signal.
    frames : int
        How many of the segment's 512 frames are real (the rest are Spleeter's zero padding).

    Returns
    -------
    vocals, accompaniment : numpy.ndarray
        ``(SPAN, 2)`` each, before the 2/3 window compensation.
    masks : tuple of numpy.ndarray
        ``(frames, 2049, 2)`` each (for tests and the fidelity check).
    """
    spectrum = stft(segment)[:frames]  # (frames, 2049, 2)
    magnitude = np.zeros((1, 2, T, F), dtype=np.float32)
    magnitude[0, :, :frames] = np.abs(spectrum[:, :F]).transpose(2, 0, 1)
    v_est, a_est = net(magnitude)
    v_mask, a_mask = masks(v_est[0, :, :frames].transpose(1, 2, 0), a_est[0, :, :frames].transpose(1, 2, 0))
    out = []
    full_masks = []
    for mask in (v_mask, a_mask):
        full = np.zeros((frames, BINS, 2), dtype=np.float32)
        full[:, :F] = mask
        full_masks.append(full)
        out.append(overlap_add(istft_frames(full * spectrum))[:SPAN])
    return out[0], out[1], (full_masks[0], full_masks[1])


def _padded(blocks: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
    yield np.zeros((FRAME, 2), dtype=np.float32)
    for block in blocks:
        yield np.asarray(block, dtype=np.float32).reshape(len(block), 2)


def separate_stream(net: Net, blocks: Iterable[np.ndarray], n: int,
                    progress: Callable[[float], None] | None = None) -> Iterator[np.ndarray]:
    """Separate ``n`` stereo samples at 44.1 kHz given as blocks; yields ``(k, 4)`` blocks: vocals L R, accomp. L R.

    Exactly ``n`` samples come out in all, aligned with the input.

    Parameters
    ----------
    net : callable
        The two U-Nets (:class:`bridge.stems.unet.SpleeterNet`).
    blocks : iterable of numpy.ndarray
        ``(k, 2)`` float32 blocks totalling ``n`` samples.
    n : int
    progress : callable, optional
        Called with the fraction of segments done.
    """
    total_frames = frame_count(n)
    segments = -(-total_frames // T)
    pending: list[np.ndarray] = []
    have = 0
    carry = np.zeros((SPAN - SEGMENT, 4), dtype=np.float32)
    skip = FRAME  # Spleeter's leading frame of zeros is cut from the output
    left = n
    source = _padded(blocks)
    for s in range(segments):
        for block in source:
            if len(block):
                pending.append(block)
                have += len(block)
            if have >= SPAN:
                break
        buffer = np.concatenate(pending) if pending else np.zeros((0, 2), dtype=np.float32)
        segment = buffer[:SPAN]
        if len(segment) < SPAN:
            segment = np.concatenate([segment, np.zeros((SPAN - len(segment), 2), dtype=np.float32)])
        frames = min(T, total_frames - s * T)
        vocals, accompaniment, _ = separate_segment(net, segment, frames)
        mixed = np.concatenate([vocals, accompaniment], axis=1)
        mixed[:len(carry)] += carry
        carry = mixed[SEGMENT:].copy()
        done = mixed[:SEGMENT]
        rest = buffer[SEGMENT:]
        pending, have = ([rest], len(rest)) if len(rest) else ([], 0)
        if skip:
            cut = min(skip, len(done))
            done, skip = done[cut:], skip - cut
        done = done[:left] * np.float32(WINDOW_COMPENSATION)
        left -= len(done)
        if len(done):
            yield done
        if progress is not None:
            progress((s + 1) / segments)
    if left > 0:  # cannot happen (the segments cover n + 4096 samples); kept so the length is never short
        yield np.zeros((left, 4), dtype=np.float32)
