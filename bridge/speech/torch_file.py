"""Tensors of a PyTorch ``.pt`` file read as numpy arrays, without importing torch.

``torch.save`` has written two layouts:

- the legacy one (before PyTorch 1.6, and Resemblyzer's ``pretrained.pt``): five
  pickles in a row -- a magic number, the protocol version, system information,
  the object itself (whose tensors refer to storages by key), the list of storage
  keys -- then each storage as an int64 element count followed by its raw bytes;
- the zip one: ``<name>/data.pkl`` (the object) and ``<name>/data/<key>`` (each
  storage's raw bytes).

Either way a tensor is pickled as ``torch._utils._rebuild_tensor_v2(storage,
offset, size, stride, ...)``. The unpickler here knows only that call, the storage
types and ``OrderedDict``: any other class in the file is refused, so reading a
file never runs code from it.
"""

from __future__ import annotations

import collections
import io
import pickle
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from bridge.errors import ReabridgeError

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C

_STORAGE_DTYPES = {
    "FloatStorage": np.float32, "DoubleStorage": np.float64, "HalfStorage": np.float16,
    "LongStorage": np.int64, "IntStorage": np.int32, "ShortStorage": np.int16, "CharStorage": np.int8,
    "ByteStorage": np.uint8, "BoolStorage": np.bool_,
}


class TorchFileError(ReabridgeError):
    """A ``.pt`` file that cannot be read."""


@dataclass(frozen=True)
class _Storage:
    key: str
    dtype: type


@dataclass(frozen=True)
class _Tensor:
    storage: _Storage
    offset: int
    size: tuple[int, ...]
    stride: tuple[int, ...]


def _rebuild_tensor(storage: _Storage, offset: int, size: tuple[int, ...], stride: tuple[int, ...],
                    *_: Any) -> _Tensor:
    return _Tensor(storage, int(offset), tuple(size), tuple(stride))


class _Unpickler(pickle.Unpickler):
    """Knows tensors, storage types and ``OrderedDict``; refuses every other class."""

    def find_class(self, module: str, name: str) -> Any:
        if module == "collections" and name == "OrderedDict":
            return collections.OrderedDict
        if module == "torch._utils" and name == "_rebuild_tensor_v2":
            return _rebuild_tensor
        if module == "torch" and name in _STORAGE_DTYPES:
            return _STORAGE_DTYPES[name]
        raise TorchFileError(f"the file holds a {module}.{name}, which reabridge does not read")

    def persistent_load(self, pid: Any) -> _Storage:
        # legacy: ('storage', type, key, location, size, view); zip: ('storage', type, key, location, size)
        if not isinstance(pid, tuple) or not pid or pid[0] != "storage":
            raise TorchFileError(f"unexpected reference {pid!r} in the file")
        if len(pid) > 5 and pid[5] is not None:
            raise TorchFileError("the file uses storage views, which reabridge does not read")
        return _Storage(str(pid[2]), pid[1])


def _materialise(obj: Any, storages: dict[str, np.ndarray]) -> Any:
    if isinstance(obj, _Tensor):
        flat = storages[obj.storage.key]
        item = flat.itemsize
        view = np.lib.stride_tricks.as_strided(flat[obj.offset:], shape=obj.size,
                                               strides=tuple(s * item for s in obj.stride), writeable=False)
        return np.array(view)  # a copy: the storage may be shared by several tensors
    if isinstance(obj, dict):
        return type(obj)((k, _materialise(v, storages)) for k, v in obj.items())
    if isinstance(obj, list | tuple):
        return type(obj)(_materialise(v, storages) for v in obj)
    return obj


def _wanted_keys(obj: Any, out: dict[str, type]) -> dict[str, type]:
    if isinstance(obj, _Tensor):
        out[obj.storage.key] = obj.storage.dtype
    elif isinstance(obj, dict):
        for v in obj.values():
            _wanted_keys(v, out)
    elif isinstance(obj, list | tuple):
        for v in obj:
            _wanted_keys(v, out)
    return out


def _select(obj: Any, part: str | None) -> Any:
    if part is None:
        return obj
    if not isinstance(obj, dict) or part not in obj:
        raise TorchFileError(f"the file has no {part!r} entry")
    return obj[part]


def _read_legacy(f: BinaryIO, part: str | None) -> Any:
    magic = pickle.load(f)
    if magic != LEGACY_MAGIC:
        raise TorchFileError("not a PyTorch file")
    pickle.load(f)
    info = pickle.load(f)
    if isinstance(info, dict) and not info.get("little_endian", True):
        raise TorchFileError("the file was written on a big-endian machine")
    whole = _Unpickler(f).load()
    obj = _select(whole, part)
    keys = pickle.load(f)
    types, wanted = _wanted_keys(whole, {}), _wanted_keys(obj, {})
    storages: dict[str, np.ndarray] = {}
    for key in keys:
        (count,) = struct.unpack("<q", f.read(8))
        if key not in types:
            raise TorchFileError(f"the file's storage {key} belongs to no tensor")
        size = count * np.dtype(types[key]).itemsize
        if key not in wanted:  # a storage of another entry (an optimizer's state): skipped
            f.seek(size, io.SEEK_CUR)
            continue
        raw = f.read(size)
        if len(raw) != size:
            raise TorchFileError("the file is truncated")
        storages[key] = np.frombuffer(raw, dtype=types[key])
    if set(wanted) - set(storages):
        raise TorchFileError("the file is truncated")
    return _materialise(obj, storages)


def _read_zip(path: Path, part: str | None) -> Any:
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
        pkl = next((n for n in names if n.endswith("/data.pkl") or n == "data.pkl"), None)
        if pkl is None:
            raise TorchFileError("the zip holds no data.pkl")
        prefix = pkl[: -len("data.pkl")]
        obj = _select(_Unpickler(io.BytesIO(z.read(pkl))).load(), part)
        storages = {key: np.frombuffer(z.read(f"{prefix}data/{key}"), dtype=dtype)
                    for key, dtype in _wanted_keys(obj, {}).items()}
    return _materialise(obj, storages)


def load_tensors(path: Path, part: str | None = None) -> Any:
    """The object saved in ``path`` with its tensors as numpy arrays.

    Parameters
    ----------
    path : Path
        A file written by ``torch.save`` (either layout).
    part : str, optional
        Only this entry of the saved dict (``"model_state"``): the tensors of the
        other entries are not kept.

    Raises
    ------
    TorchFileError
        The file is not a PyTorch file, is truncated, or holds classes other than tensors.
    """
    try:
        if zipfile.is_zipfile(path):
            return _read_zip(path, part)
        with open(path, "rb") as f:
            return _read_legacy(f, part)
    except (pickle.UnpicklingError, EOFError, struct.error, KeyError, ValueError) as exc:
        if isinstance(exc, TorchFileError):
            raise
        raise TorchFileError(f"cannot read {path.name}: {exc}") from None
