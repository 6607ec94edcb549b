"""Moonshine base-en on onnxruntime: the encoder, then the merged decoder with its key/value cache.

This is the decoding ``moonshine-cpp``'s C++ runtime does (``MoonshineModel::transcribe``),
step for step: the encoder turns 16 kHz samples into hidden states; the decoder
starts from token 1 with a cache of zeros (``use_cache_branch`` false), then is fed
one token at a time with the cache it returned (the decoder's self-attention keys
and values grow by one each step; the cross-attention ones are taken from the first
step); the next token is the argmax of the logits (greedy); decoding stops at token
2 or after ``ceil(seconds * 13)`` tokens, the runtime's bound (``13.0f`` in the
shipped library). Beyond the reference, every step's log-probability is kept, for
the English-only guard (:mod:`bridge.speech.guard`).

Memory per call grows with the segment's length (the encoder's attention is
quadratic in it), which is why segments are kept to about 20 s
(:mod:`bridge.speech.chunks`); onnxruntime's memory arena is off, as in the
reference, so a long segment's buffers are given back instead of kept.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bridge.speech.model_files import MoonshineFiles, SpeechModelError, moonshine_files
from bridge.speech.ort_format import ort_to_onnx
from bridge.speech.tokenizer import Tokenizer

START_TOKEN = 1
END_TOKEN = 2
LAYERS = 8
HEADS = 8
HEAD_SIZE = 52
TOKENS_PER_SECOND = 13.0  #: the reference runtime's bound on tokens per second of audio
RATE = 16000
MIN_SAMPLES = 1024  #: the encoder needs at least this much audio (its convolution stem)


@dataclass(frozen=True)
class Decoded:
    """One segment's decoding.

    Attributes
    ----------
    tokens : list of int
        What the decoder produced after the start token (the end token included when reached).
    text : str
        The tokens as text.
    logprobs : list of float
        Natural-log probability of each token in ``tokens`` when it was chosen.
    finished : bool
        The decoder reached the end token (False: stopped by the length bound).
    """

    tokens: list[int]
    text: str
    logprobs: list[float] = field(default_factory=list)
    finished: bool = True

    @property
    def text_tokens(self) -> list[int]:
        """The tokens without the end token."""
        return [t for t in self.tokens if t != END_TOKEN]


def max_tokens(samples: int) -> int:
    """The reference's bound: ``ceil(samples / 16000.0f * 13)`` in single precision."""
    seconds = np.float32(samples) / np.float32(RATE)
    return int(math.ceil(float(np.float32(seconds * np.float32(TOKENS_PER_SECOND)))))


def _session(path: Path, threads: int) -> object:
    """A session on the model read back as ONNX, its int8 weights expanded once (see :mod:`.ort_format`).

    onnxruntime copies initializers given as OrtValues into the session (tested: zeroing our
    arrays afterwards changes nothing), so ours are dropped when the session exists.
    """
    import onnxruntime as ort

    model, weights = ort_to_onnx(path)
    values = [ort.OrtValue.ortvalue_from_numpy(w) for w in weights.values()]
    options = ort.SessionOptions()
    options.add_external_initializers(list(weights), values)
    options.add_session_config_entry("session.disable_prepacking", "1")  # as the reference: no second copy
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    options.enable_cpu_mem_arena = False
    # constant folding and node clean-up only: no kernel fusions, so the arithmetic stays the reference's
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    try:
        return ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own exception types
        raise SpeechModelError(f"cannot load the speech model {path}: {exc}") from None


class Moonshine:
    """Moonshine base-en, loaded once.

    Parameters
    ----------
    files : MoonshineFiles, optional
        The model's files; those of the installed ``moonshine-cpp`` by default.
    threads : int, optional
        onnxruntime threads per call (default: all cores).
    """

    def __init__(self, files: MoonshineFiles | None = None, threads: int | None = None) -> None:
        self.files = files or moonshine_files()
        threads = threads or os.cpu_count() or 1
        self._encoder = _session(self.files.encoder, threads)
        self._decoder = _session(self.files.decoder, threads)
        self.tokenizer = Tokenizer(self.files.tokenizer)
        names = [i.name for i in self._decoder.get_inputs()]  # type: ignore[attr-defined]
        self._outputs = [o.name for o in self._decoder.get_outputs()]  # type: ignore[attr-defined]
        self._past = [f"past_key_values.{i}.{a}.{b}" for i in range(LAYERS) for a in ("decoder", "encoder")
                      for b in ("key", "value")]
        if sorted(names) != sorted(["input_ids", "encoder_hidden_states", "use_cache_branch", *self._past]):
            raise SpeechModelError(f"{self.files.decoder} is not Moonshine base's merged decoder (inputs {names})")
        self._present = {f"present.{name[len('past_key_values.'):]}": name for name in self._past}

    def decode(self, samples: np.ndarray) -> Decoded:
        """Greedy decoding of one segment of 16 kHz mono audio, as the reference runtime does it."""
        audio = np.ascontiguousarray(samples, dtype=np.float32).reshape(1, -1)
        if audio.shape[1] < MIN_SAMPLES:
            return Decoded([], "", [], True)
        (hidden,) = self._encoder.run(["last_hidden_state"], {"input_values": audio})  # type: ignore[attr-defined]
        zeros = np.zeros((1, HEADS, 1, HEAD_SIZE), dtype=np.float32)
        past = {name: zeros for name in self._past}
        feed: dict[str, np.ndarray] = {"encoder_hidden_states": hidden}
        token = START_TOKEN
        tokens: list[int] = []
        logprobs: list[float] = []
        limit = max_tokens(audio.shape[1])
        finished = False
        for step in range(limit):
            feed["input_ids"] = np.array([[token]], dtype=np.int64)
            feed["use_cache_branch"] = np.array([step > 0], dtype=np.bool_)
            feed.update(past)
            out = self._decoder.run(self._outputs, feed)  # type: ignore[attr-defined]
            logits = out[0][0, -1]
            for name, value in zip(self._outputs[1:], out[1:], strict=True):
                target = self._present.get(name)
                if target is not None and (step == 0 or ".decoder." in target):
                    past[target] = value
            token = int(np.argmax(logits))
            top = float(logits[token])
            logprobs.append(-float(np.log(np.sum(np.exp(logits.astype(np.float64) - top)))))
            tokens.append(token)
            if token == END_TOKEN:
                finished = True
                break
            if token >= len(self.tokenizer):
                break  # outside the tokenizer's table: the reference would fail here; nothing sensible follows
        text = self.tokenizer.decode([t for t in tokens if t < len(self.tokenizer)])
        return Decoded(tokens, text, logprobs, finished)
