"""Read a TensorFlow checkpoint (a "tensor bundle") without TensorFlow.

A bundle is two files. ``NAME.index`` is an SSTable -- LevelDB's table format, which
TensorFlow's ``tensorflow/core/lib/io`` reuses -- mapping each tensor's name to a
``BundleEntryProto`` (``tensor_bundle.proto``); ``NAME.data-00000-of-00001`` holds the
tensors' raw little-endian bytes at the offsets those entries give.

The table, from the end of the file:

- a 48-byte footer: the metaindex block's handle and the index block's handle (each a
  varint64 offset and a varint64 size), zero padding to 40 bytes, then the magic number
  ``0xdb4775248b80fb57`` as a little-endian fixed64;
- the index block: one entry per data block, whose value is that block's handle;
- data blocks: entries ``shared, unshared, value_length`` (varint32s), the key's
  ``unshared`` bytes (the first ``shared`` bytes repeat the previous key), the value;
  then an array of fixed32 restart offsets and their count. Every block is followed by
  a 5-byte trailer: the compression type (0: none) and the masked CRC32C of the block
  and that type byte.

The entry whose key is empty is the ``BundleHeaderProto`` (shards, endianness). Every
other entry's value is a ``BundleEntryProto``: ``dtype`` (1, varint), ``shape`` (2, a
``TensorShapeProto`` of ``dim`` messages (2) with ``size`` (1)), ``shard_id`` (3),
``offset`` (4), ``size`` (5), ``crc32c`` (6, fixed32: masked CRC32C of the tensor's bytes),
``slices`` (7, unused here). The protobuf wire format is decoded here in a few lines.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numba
import numpy as np

from bridge.errors import ReabridgeError

MAGIC = 0xDB4775248B80FB57
FOOTER = 48
TRAILER = 5

#: TensorFlow's DataType enum (types.proto) -> numpy little-endian dtype, for the types a checkpoint of
#: this kind holds
DTYPES: dict[int, str] = {1: "<f4", 2: "<f8", 3: "<i4", 4: "|u1", 6: "|i1", 9: "<i8", 10: "|b1", 19: "<f2"}


class CheckpointError(ReabridgeError):
    """A checkpoint file that cannot be read (damaged, truncated, or not a tensor bundle)."""


@dataclass(frozen=True)
class Entry:
    """Where one tensor is.

    Attributes
    ----------
    name : str
    dtype : int
        TensorFlow's ``DataType`` number (1 is float32).
    shape : tuple of int
    shard : int
        Which ``data-NNNNN-of-MMMMM`` file.
    offset, size : int
        Its bytes in that file.
    crc32c : int or None
        The masked CRC32C of those bytes, when the writer stored one.
    """

    name: str
    dtype: int
    shape: tuple[int, ...]
    shard: int
    offset: int
    size: int
    crc32c: int | None


# -- CRC32C (Castagnoli), table-driven ------------------------------------------------------
def _crc_table() -> np.ndarray:
    table = np.zeros(256, dtype=np.uint32)
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table[i] = c
    return table


_TABLE = _crc_table()


@numba.njit(cache=True, nogil=True)
def _crc_loop(buf: np.ndarray, table: np.ndarray) -> int:  # pragma: no cover - compiled
    crc = np.uint32(0xFFFFFFFF)
    for b in buf:
        crc = table[(crc ^ b) & 0xFF] ^ (crc >> np.uint32(8))
    return int(crc ^ np.uint32(0xFFFFFFFF))


def crc32c(data: bytes | memoryview) -> int:
    """The CRC32C of ``data`` (``crc32c(b"123456789") == 0xE3069283``); numba-compiled, cached on disk."""
    return int(_crc_loop(np.frombuffer(data, dtype=np.uint8), _TABLE))


def unmask(masked: int) -> int:
    """LevelDB's CRC masking undone (``rot = masked - 0xa282ead8``, rotated left by 15)."""
    rot = (masked - 0xA282EAD8) & 0xFFFFFFFF
    return ((rot << 15) | (rot >> 17)) & 0xFFFFFFFF


# -- varints and protobuf fields --------------------------------------------------------------
def varint(buf: bytes, pos: int) -> tuple[int, int]:
    """A base-128 varint at ``pos``: ``(value, next position)``."""
    value = shift = 0
    while True:
        if pos >= len(buf) or shift > 63:
            raise CheckpointError("a varint runs past its block (the checkpoint is damaged)")
        b = buf[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        if not b & 0x80:
            return value, pos
        shift += 7


def fields(message: bytes) -> list[tuple[int, int | bytes]]:
    """A protobuf message's fields in order: ``(number, value)``; varints and fixed ints as int, the rest bytes."""
    out: list[tuple[int, int | bytes]] = []
    pos = 0
    while pos < len(message):
        key, pos = varint(message, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = varint(message, pos)
            out.append((number, value))
        elif wire == 1:
            out.append((number, struct.unpack_from("<Q", message, pos)[0]))
            pos += 8
        elif wire == 5:
            out.append((number, struct.unpack_from("<I", message, pos)[0]))
            pos += 4
        elif wire == 2:
            length, pos = varint(message, pos)
            out.append((number, message[pos:pos + length]))
            pos += length
        else:
            raise CheckpointError(f"protobuf wire type {wire} is not expected in a checkpoint index")
        if pos > len(message):
            raise CheckpointError("a protobuf field runs past its entry (the checkpoint is damaged)")
    return out


def _shape(message: bytes) -> tuple[int, ...]:
    dims = []
    for number, value in fields(message):
        if number == 2 and isinstance(value, bytes):
            size = next((v for n, v in fields(value) if n == 1), 0)
            assert isinstance(size, int)
            dims.append(size - (1 << 64) if size >= 1 << 63 else size)
        elif number == 3 and value:
            raise CheckpointError("a tensor of unknown rank cannot be read")
    return tuple(dims)


def _entry(name: str, message: bytes) -> Entry:
    values: dict[int, int | bytes] = {}
    for number, value in fields(message):
        values[number] = value
    shape = values.get(2, b"")
    assert isinstance(shape, bytes)
    if values.get(7):
        raise CheckpointError(f"tensor {name} is stored in slices, which this reader does not handle")
    crc = values.get(6)
    return Entry(name, int(values.get(1, 0)), _shape(shape), int(values.get(3, 0)),  # type: ignore[arg-type]
                 int(values.get(4, 0)), int(values.get(5, 0)), None if crc is None else int(crc))  # type: ignore[arg-type]


# -- the SSTable -------------------------------------------------------------------------------
def _block(data: bytes, offset: int, size: int, check: bool) -> bytes:
    end = offset + size
    if offset < 0 or end + TRAILER > len(data):
        raise CheckpointError("a block handle points past the end of the index (the checkpoint is damaged)")
    block = data[offset:end]
    kind = data[end]
    if kind != 0:
        raise CheckpointError(f"compressed index blocks (type {kind}) are not supported")
    if check:
        stored = struct.unpack_from("<I", data, end + 1)[0]
        if crc32c(data[offset:end + 1]) != unmask(stored):
            raise CheckpointError("the checkpoint index fails its checksum (the file is damaged)")
    return block


def _entries(block: bytes) -> list[tuple[bytes, bytes]]:
    if len(block) < 4:
        raise CheckpointError("an index block is too short (the checkpoint is damaged)")
    restarts = struct.unpack_from("<I", block, len(block) - 4)[0]
    limit = len(block) - 4 - 4 * restarts
    if limit < 0:
        raise CheckpointError("an index block's restart array does not fit (the checkpoint is damaged)")
    out = []
    key = b""
    pos = 0
    while pos < limit:
        shared, pos = varint(block, pos)
        unshared, pos = varint(block, pos)
        length, pos = varint(block, pos)
        if shared > len(key) or pos + unshared + length > limit:
            raise CheckpointError("an index entry runs past its block (the checkpoint is damaged)")
        key = key[:shared] + block[pos:pos + unshared]
        pos += unshared
        out.append((key, block[pos:pos + length]))
        pos += length
    return out


def read_index(path: Path, *, check: bool = True) -> dict[str, Entry]:
    """Every tensor a ``.index`` file lists, by name.

    Parameters
    ----------
    path : Path
        The ``NAME.index`` file.
    check : bool
        Verify each block's CRC32C.

    Raises
    ------
    CheckpointError
        Not a tensor bundle index, damaged, or using a feature this reader lacks.
    """
    data = Path(path).read_bytes()
    if len(data) < FOOTER or struct.unpack_from("<Q", data, len(data) - 8)[0] != MAGIC:
        raise CheckpointError(f"{path} is not a TensorFlow checkpoint index (no table magic number)")
    footer = data[len(data) - FOOTER:len(data) - 8]
    _, pos = varint(footer, 0)  # the metaindex block: TensorFlow writes no meta blocks
    _, pos = varint(footer, pos)
    index_offset, pos = varint(footer, pos)
    index_size, pos = varint(footer, pos)
    out: dict[str, Entry] = {}
    header_seen = False
    for _, handle in _entries(_block(data, index_offset, index_size, check)):
        offset, at = varint(handle, 0)
        size, _ = varint(handle, at)
        for key, value in _entries(_block(data, offset, size, check)):
            if not key:
                header = dict(fields(value))
                if header.get(2, 0) != 0:
                    raise CheckpointError(f"{path} was written big-endian; only little-endian bundles are read")
                if header.get(1, 1) != 1:
                    raise CheckpointError(f"{path} is split over {header.get(1)} data files; one is expected")
                header_seen = True
                continue
            name = key.decode("utf-8", "replace")
            out[name] = _entry(name, value)
    if not header_seen:
        raise CheckpointError(f"{path} has no bundle header (not a TensorFlow V2 checkpoint)")
    return out


class Checkpoint:
    """A tensor bundle: its entries and, on request, their values (read from the data file).

    Parameters
    ----------
    prefix : Path
        The bundle's name without extension (``.../2stems/model``).
    check : bool
        Verify the CRC32C of the index blocks and of every tensor read.
    """

    def __init__(self, prefix: Path, *, check: bool = True) -> None:
        self.prefix = Path(prefix)
        self.check = check
        self.entries = read_index(self.prefix.with_name(self.prefix.name + ".index"), check=check)
        self.data_path = self.prefix.with_name(self.prefix.name + ".data-00000-of-00001")
        if not self.data_path.is_file():
            raise CheckpointError(f"the checkpoint's data file {self.data_path} is missing")
        self._size = self.data_path.stat().st_size

    def names(self) -> list[str]:
        """The tensors' names, sorted."""
        return sorted(self.entries)

    def read(self, name: str) -> np.ndarray:
        """One tensor as a numpy array of its stored dtype and shape.

        Raises
        ------
        CheckpointError
            Unknown name or dtype, bytes outside the data file, or a failed checksum.
        """
        try:
            e = self.entries[name]
        except KeyError:
            raise CheckpointError(f"the checkpoint has no tensor {name!r}") from None
        dtype = DTYPES.get(e.dtype)
        if dtype is None:
            raise CheckpointError(f"tensor {name} has TensorFlow dtype {e.dtype}, which this reader does not handle")
        count = int(np.prod(e.shape, dtype=np.int64)) if e.shape else 1
        if count * np.dtype(dtype).itemsize != e.size or e.offset + e.size > self._size:
            raise CheckpointError(f"tensor {name}'s bytes do not fit its shape or the data file (damaged checkpoint)")
        with open(self.data_path, "rb") as fh:
            fh.seek(e.offset)
            raw = fh.read(e.size)
        if self.check and e.crc32c is not None and crc32c(raw) != unmask(e.crc32c):
            raise CheckpointError(f"tensor {name} fails its checksum (the checkpoint's data file is damaged)")
        return np.frombuffer(raw, dtype=dtype).reshape(e.shape).astype(dtype.replace("<", "="), copy=True)
