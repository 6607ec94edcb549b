"""Engines kept warm between jobs: the basic-pitch network, librosa's compiled beat tracker, captures.

The command line makes a fresh :class:`Engines` per run (each engine loads on
first use); the daemon's workers keep one for their whole life and warm it at
start-up, so a request pays none of the loading.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bridge.amp.nam_file import NamModel
    from bridge.amp.render import AmpRenderer
    from bridge.speech.encoder import SpeakerEncoder
    from bridge.speech.engine import SpeechEngine
    from bridge.tempo.detect import TempoDetector
    from bridge.transcribe.engine import Transcriber

log = logging.getLogger("reabridge.engines")



class Engines:
    """Loaded engines, shared by the jobs of one process.

    Parameters
    ----------
    captures : int
        How many loaded captures to keep (least recently used ones are dropped).
    """

    def __init__(self, captures: int = 4) -> None:
        self._transcriber: Transcriber | None = None
        self._tempo: TempoDetector | None = None
        self._speech: SpeechEngine | None = None
        self._captures: OrderedDict[tuple[str, int, int, float], tuple[NamModel, AmpRenderer]] = OrderedDict()
        self._capture_slots = captures
        self._speakers: SpeakerEncoder | None = None
        self.warmup_seconds: dict[str, float] = {}

    def transcriber(self) -> Transcriber:
        """basic-pitch's network in onnxruntime (loaded once)."""
        if self._transcriber is None:
            from bridge.transcribe.engine import Transcriber

            self._transcriber = Transcriber()
        return self._transcriber

    def tempo(self) -> TempoDetector:
        """The tempo detector with librosa's numba code compiled (once per process)."""
        if self._tempo is None:
            from bridge.tempo.detect import TempoDetector

            self._tempo = TempoDetector()
        return self._tempo

    def speakers(self) -> SpeakerEncoder:
        """Resemblyzer's speaker encoder in numpy (the process's shared one)."""
        if self._speakers is None:
            from bridge.speech.encoder import shared_encoder

            self._speakers = shared_encoder()
        return self._speakers

    def speech(self) -> SpeechEngine:
        """Silero VAD and Moonshine base-en in onnxruntime (loaded once)."""
        if self._speech is None:
            from bridge.speech.engine import SpeechEngine

            self._speech = SpeechEngine()
        return self._speech

    def capture(self, path: Path, size: float = 1.0) -> tuple[NamModel, AmpRenderer]:
        """A capture loaded and built, reused while the file is unchanged."""
        from bridge.amp.nam_file import NamError, load_nam
        from bridge.amp.render import AmpRenderer

        try:
            stat = path.stat()
        except FileNotFoundError:
            raise NamError(f"capture file {path} does not exist") from None
        key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size, size)
        if key in self._captures:
            self._captures.move_to_end(key)
            return self._captures[key]
        model = load_nam(path)
        loaded = (model, AmpRenderer(model, size))
        self._captures[key] = loaded
        while len(self._captures) > self._capture_slots:
            self._captures.popitem(last=False)
        return loaded

    def warm(self, which: Iterable[str] | None = None) -> dict[str, float]:
        """Load engines now (all of :data:`WARMABLE` by default); returns (and logs) the seconds each took."""
        for name in WARMABLE if which is None else which:
            if name not in _WARMERS:
                raise ValueError(f"unknown engine {name!r}; known: {', '.join(WARMABLE)}")
            t0 = time.perf_counter()
            _WARMERS[name](self)
            self.warmup_seconds[name] = time.perf_counter() - t0
            log.info("warmed %s in %.2f s", name, self.warmup_seconds[name])
        return dict(self.warmup_seconds)


def _warm_clean() -> None:
    """Load RNNoise and compile (or load from numba's cache) the clean-up kernels on a short noisy tone."""
    import numpy as np

    from bridge.audio.sink import ArraySink
    from bridge.audio.source import AudioSource
    from bridge.clean.chain import Settings, clean_to_sink

    rate = 16000
    t = np.arange(3 * rate) / rate
    tone = 0.3 * np.sin(2 * np.pi * 220 * t) * (t % 1 < 0.5) + 0.01 * np.sin(2 * np.pi * 50 * t)
    noisy = (tone + 0.003 * np.random.default_rng(0).standard_normal(len(t))).astype(np.float32)
    clean_to_sink(AudioSource.from_array(noisy, rate), Settings(), ArraySink(rate, 1))


def _warm_jsfx() -> None:
    """Compile (or load from the cache) a shipped chain, so numba and the JSFX runtime are loaded."""
    import numpy as np

    from bridge.assets import jsfx_dir
    from bridge.jsfx.effect import load_effect
    from bridge.jsfx.runtime import JsfxProcessor

    effect = load_effect(jsfx_dir() / "reabridge_master_streaming.jsfx")
    JsfxProcessor(effect, 48000, 2).process(np.zeros((512, 2)))


def _warm_stems() -> None:
    """Spleeter's 2-stem network, read from its checkpoint and built in onnxruntime (the process's shared one)."""
    from bridge.stems.split import shared_net

    shared_net()


#: what warming each engine means, by the name ``serve --warm`` takes
_WARMERS: dict[str, Callable[[Engines], object]] = {
    "transcribe": Engines.transcriber,
    "tempo": Engines.tempo,
    "jsfx": lambda engines: _warm_jsfx(),
    "speakers": Engines.speakers,
    "speech": Engines.speech,
    "clean": lambda engines: _warm_clean(),
    "stems": lambda engines: _warm_stems(),
}
WARMABLE = tuple(_WARMERS)
