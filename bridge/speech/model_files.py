"""Where the speech models' files are: inside the installed ``moonshine-cpp`` and ``silero-vad`` wheels.

Both packages are used for their files only. ``silero_vad``'s ``__init__`` imports
torch, and ``moonshine_cpp``'s loads its own copy of onnxruntime, so neither is
imported here: :func:`importlib.util.find_spec` locates a package without running
it, and the wheel's file list (:mod:`importlib.metadata`) is the fallback when a
package is laid out differently (a namespace or a zipped install).
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

from bridge.errors import ReabridgeError


class SpeechModelError(ReabridgeError):
    """A speech model's file is missing or cannot be loaded."""


def _package_file(package: str, distribution: str, relative: str) -> Path:
    """``relative`` inside the installed ``package`` (found without importing it)."""
    spec = importlib.util.find_spec(package)
    if spec is not None and spec.submodule_search_locations:
        for folder in spec.submodule_search_locations:
            path = Path(folder) / relative
            if path.is_file():
                return path
    try:
        files = importlib.metadata.files(distribution) or []
    except importlib.metadata.PackageNotFoundError:
        files = []
    want = f"{package}/{relative}"
    for entry in files:
        if str(entry).replace("\\", "/").endswith(want):
            path = Path(str(entry.locate()))
            if path.is_file():
                return path
    if spec is None and not files:
        raise SpeechModelError(f"{distribution} is not installed; run `make install` (it provides the speech models)")
    raise SpeechModelError(f"{distribution} is installed but {want} is missing; reinstall {distribution}")


@dataclass(frozen=True)
class MoonshineFiles:
    """The three files of Moonshine base-en as ``moonshine-cpp`` ships them."""

    encoder: Path
    decoder: Path
    tokenizer: Path


def moonshine_files() -> MoonshineFiles:
    """Moonshine base-en's encoder, merged decoder and tokenizer (``REABRIDGE_MOONSHINE_DIR`` overrides).

    Raises
    ------
    SpeechModelError
        moonshine-cpp is not installed or a file is missing.
    """
    override = os.environ.get("REABRIDGE_MOONSHINE_DIR")
    if override:
        folder = Path(override)
        files = MoonshineFiles(folder / "encoder_model.ort", folder / "decoder_model_merged.ort",
                               folder / "tokenizer.bin")
        for path in (files.encoder, files.decoder, files.tokenizer):
            if not path.is_file():
                raise SpeechModelError(f"REABRIDGE_MOONSHINE_DIR has no {path.name} ({path})")
        return files
    return MoonshineFiles(_package_file("moonshine_cpp", "moonshine-cpp", "models/base-en/encoder_model.ort"),
                          _package_file("moonshine_cpp", "moonshine-cpp", "models/base-en/decoder_model_merged.ort"),
                          _package_file("moonshine_cpp", "moonshine-cpp", "models/base-en/tokenizer.bin"))


def silero_vad_file() -> Path:
    """Silero VAD's ONNX model (``silero_vad/data/silero_vad.onnx``; ``REABRIDGE_SILERO_VAD`` overrides)."""
    override = os.environ.get("REABRIDGE_SILERO_VAD")
    if override:
        path = Path(override)
        if not path.is_file():
            raise SpeechModelError(f"REABRIDGE_SILERO_VAD names a file that does not exist ({path})")
        return path
    return _package_file("silero_vad", "silero-vad", "data/silero_vad.onnx")
