"""The files a JSFX reads from ``@init``, ``@slider``, ``@block`` or ``@sample`` (``file_open`` and friends).

Which file ``file_open(x)`` opens, as REAPER (and ysfx) decide: if ``x`` is a file
slider's variable, the file the slider selects in its folder under the ``Data``
folder; else if ``x`` is the number of a ``filename:N,path`` line, that path; else
``x`` is a string holding a path. A relative path is looked up beside the effect,
then in the ``Data`` folder. The file's kind comes from its name: ``.txt`` is text
(numbers separated by commas or line breaks, lines that hold none skipped), ``.raw``
is 32-bit float little-endian values, anything soundfile reads (WAV, FLAC, AIFF,
OGG) is audio, read as interleaved samples after ``file_riff`` tells its channels
and sample rate. Files are only read; ``@serialize`` (handle 0) is skipped offline.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bridge.jsfx import builtins as bi
from bridge.jsfx import vm

AUDIO_SUFFIXES = (".wav", ".flac", ".aif", ".aiff", ".ogg")
MAX_OPEN = 64


def _int(value: float) -> int:
    return bi.to_int32(value) if math.isfinite(value) else -1


@dataclass
class _Open:
    kind: str  # "text", "raw" or "audio"
    data: bytes = b""
    samples: np.ndarray = field(default_factory=lambda: np.zeros(0))
    channels: int = 0
    rate: float = 0.0
    pos: int = 0


def _number(piece: bytes) -> float | None:
    """The number at the start of ``piece`` as C's strtod reads it (None when there is none)."""
    text = piece.lstrip()
    end = 0
    while end < len(text) and text[end:end + 1] in b"+-0123456789.eE":
        end += 1
    while end:
        try:
            return float(text[:end])
        except ValueError:
            end -= 1
    return None


class Files:
    """Open files of one effect instance, by handle (1 and up)."""

    def __init__(self, effect_dir: Path, data_dir: Path | None, filenames: dict[int, str],
                 slider_folders: dict[int, str], slider_slots: dict[int, int]) -> None:
        self.effect_dir = effect_dir
        self.data_dir = data_dir
        self.filenames = filenames
        self.slider_folders = slider_folders
        self.slider_slots = slider_slots
        self.handles: dict[int, _Open] = {}

    # -- finding ------------------------------------------------------------------------------------
    def folder_files(self, folder: str) -> list[str]:
        """The files a file slider on ``folder`` offers (the kinds file_open reads), in name order."""
        if self.data_dir is None or not (self.data_dir / folder).is_dir():
            return []
        return sorted(p.name for p in (self.data_dir / folder).iterdir()
                      if p.is_file() and p.suffix.lower() in (".txt", ".raw", *AUDIO_SUFFIXES))

    def find(self, value: float, slot: int, text: bytes) -> Path | None:
        part: str | None = None
        absolute_ok = False
        slider = next((n for n, s in self.slider_slots.items() if s == slot and n in self.slider_folders), None)
        if slider is not None:
            files = self.folder_files(self.slider_folders[slider])
            index = _int(value)
            if not 0 <= index < len(files):
                return None
            part = f"{self.slider_folders[slider]}/{files[index]}"
        elif math.isfinite(value) and math.floor(value + 0.5) in self.filenames:
            part = self.filenames[math.floor(value + 0.5)]
        elif text:
            part, absolute_ok = text.decode("utf-8", "replace"), True
        if not part:
            return None
        path = Path(part.replace("\\", "/"))
        if path.is_absolute():
            return path if absolute_ok and path.is_file() else None
        for base in (self.effect_dir, self.data_dir):
            if base is not None and (base / path).is_file():
                return base / path
        return None

    # -- the functions ------------------------------------------------------------------------------
    def open(self, value: float, slot: int, text: bytes) -> float:
        path = self.find(value, slot, text)
        if path is None or len(self.handles) >= MAX_OPEN:
            return -1.0
        suffix = path.suffix.lower()
        try:
            if suffix in AUDIO_SUFFIXES:
                import soundfile as sf

                audio, rate = sf.read(str(path), dtype="float64", always_2d=True)
                entry = _Open("audio", samples=audio.reshape(-1), channels=audio.shape[1], rate=float(rate))
            elif suffix == ".txt":
                entry = _Open("text", data=path.read_bytes())
            else:
                raw = path.read_bytes()
                entry = _Open("raw", samples=np.frombuffer(raw[:len(raw) // 4 * 4], dtype="<f4").astype(np.float64))
        except (OSError, RuntimeError, ValueError):
            return -1.0
        handle = next(h for h in range(1, MAX_OPEN + 2) if h not in self.handles)
        self.handles[handle] = entry
        return float(handle)

    def get(self, handle: float) -> _Open | None:
        return self.handles.get(_int(handle))

    def close(self, handle: float) -> float:
        return 0.0 if self.handles.pop(_int(handle), None) is not None and _int(handle) > 0 else -1.0

    def rewind(self, handle: float) -> float:
        entry = self.get(handle)
        if entry is not None:
            entry.pos = 0
        return handle

    def next_value(self, entry: _Open) -> float | None:
        if entry.kind != "text":
            if entry.pos >= len(entry.samples):
                return None
            entry.pos += 1
            return float(entry.samples[entry.pos - 1])
        data = entry.data
        while entry.pos < len(data):  # the next number before a comma or line break; pieces without one skipped
            end = entry.pos
            while end < len(data) and data[end] not in b"\n,":
                end += 1
            piece, entry.pos = data[entry.pos:end], end + 1
            value = _number(piece)
            if value is not None:
                return value
        return None

    def var(self, handle: float) -> float | None:
        entry = self.get(handle)
        return None if entry is None else self.next_value(entry)

    def mem(self, handle: float, mem: np.ndarray, offset: float, length: float) -> float:
        entry, start, count = self.get(handle), _int(offset), _int(length)
        if entry is None or start < 0 or count <= 0:
            return 0.0
        read = 0
        while read < count and start + read < mem.shape[0]:
            value = self.next_value(entry)
            if value is None:
                break
            mem[start + read] = value
            read += 1
        return float(read)

    def avail(self, handle: float) -> float:
        entry = self.get(handle)
        if entry is None:
            return 0.0
        if entry.kind == "text":
            return 1.0 if entry.pos < len(entry.data) else 0.0
        return float(len(entry.samples) - entry.pos)

    def riff(self, handle: float) -> tuple[float, float]:
        entry = self.get(handle)
        return (float(entry.channels), entry.rate) if entry is not None and entry.kind == "audio" else (0.0, 0.0)

    def text(self, handle: float) -> float:
        entry = self.get(handle)
        return 1.0 if entry is not None and entry.kind == "text" else 0.0

    def string(self, handle: float) -> bytes | None:
        entry = self.get(handle)
        if entry is None or entry.kind != "text":
            return None
        end = entry.data.find(b"\n", entry.pos)
        end = len(entry.data) if end < 0 else end + 1
        line, entry.pos = entry.data[entry.pos:end], end
        return line


def file_op(op: int, args: list[float], files: Files | None, v: np.ndarray, mem: np.ndarray,
            text: bytes, set_string: object) -> float:
    """One file function on the Python interpreter; returns its value.

    ``file_var`` and ``file_riff`` get the slots of the variables they write;
    ``file_open`` gets its argument's value, the slot it came from (-1: none) and
    the text of the string it may name (``text``); ``file_string`` stores its line
    with ``set_string(number, data)``.
    """
    if files is None:
        return -1.0 if op == vm.FILEOPEN else 0.0
    if op in _ON_HANDLE:
        return _ON_HANDLE[op](files, args[0])
    if op == vm.FILEOPEN:
        return files.open(args[0], int(args[1]), text)
    if op == vm.FILEVAR:
        value = files.var(args[0])
        if value is None:
            return 0.0
        v[int(args[1])] = value
        return 1.0
    if op == vm.FILEMEM:
        return files.mem(args[0], mem, args[1], args[2])
    if op == vm.FILERIFF:
        nch, rate = files.riff(args[0])
        v[int(args[1])], v[int(args[2])] = nch, rate
        return nch
    if op == vm.FILESTRING:
        line = files.string(args[0])
        if line is None:
            return 0.0
        set_string(args[1], line)  # type: ignore[operator]
        return float(len(line))
    raise ValueError(f"file operation {op}")


#: the file functions that take only a handle
_ON_HANDLE = {vm.FILECLOSE: Files.close, vm.FILEREWIND: Files.rewind, vm.FILEAVAIL: Files.avail,
              vm.FILETEXT: Files.text}
