"""Moonshine's tokenizer as ``tokenizer.bin`` stores it: one byte string per token id.

The file is a sequence of records, one per token id in order: a length, then that
many bytes. A length below 128 is one byte; a longer one is two bytes, the first
with its top bit set (``length = second * 128 + first - 128``); a zero length is
an empty entry. Text is the tokens' bytes joined, with ``▁`` (U+2581) standing
for a space, trimmed of spaces and tabs at both ends; tokens that look like
``<...>`` (``<s>``, ``</s>``, ``<unk>``) are control tokens and are left out.
"""

from __future__ import annotations

from pathlib import Path

from bridge.speech.model_files import SpeechModelError

SPACE = "\u2581".encode()


def read_tokens(data: bytes) -> list[bytes]:
    """The byte string of every token id in a ``tokenizer.bin``'s contents."""
    tokens: list[bytes] = []
    pos = 0
    while pos < len(data):
        first = data[pos]
        pos += 1
        if first == 0:
            tokens.append(b"")
            continue
        if first < 128:
            count = first
        else:
            if pos >= len(data):
                raise SpeechModelError("the tokenizer file ends inside a record; reinstall moonshine-cpp")
            count = data[pos] * 128 + first - 128
            pos += 1
        if pos + count > len(data):
            raise SpeechModelError("the tokenizer file ends inside a record; reinstall moonshine-cpp")
        tokens.append(data[pos:pos + count])
        pos += count
    if not tokens:
        raise SpeechModelError("the tokenizer file holds no tokens; reinstall moonshine-cpp")
    return tokens


def _is_control(piece: bytes) -> bool:
    return len(piece) > 2 and piece.startswith(b"<") and piece.endswith(b">")


class Tokenizer:
    """Token ids to text.

    Parameters
    ----------
    path : Path
        A ``tokenizer.bin``.
    """

    def __init__(self, path: Path) -> None:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise SpeechModelError(f"cannot read the tokenizer {path}: {exc.strerror}") from None
        self.pieces = read_tokens(data)
        #: the words the model has a whole token for (lower case), its common vocabulary
        self.words = frozenset(p[len(SPACE):].decode("utf-8", errors="replace").lower() for p in self.pieces
                               if p.startswith(SPACE) and len(p) > len(SPACE) + 1)

    def __len__(self) -> int:
        return len(self.pieces)

    def piece(self, token: int) -> bytes:
        """The bytes of one token (its ``▁`` still standing for a space)."""
        return self.pieces[token]

    def is_control(self, token: int) -> bool:
        """Whether a token is a control token (``<s>``, ``</s>``, ``<unk>``), not text."""
        return _is_control(self.pieces[token])

    def decode(self, tokens: list[int]) -> str:
        """Text of a token sequence (control tokens left out; invalid UTF-8 shown as U+FFFD)."""
        joined = b"".join(self.pieces[t] for t in tokens if not _is_control(self.pieces[t]))
        return joined.replace(SPACE, b" ").strip(b" \t").decode("utf-8", errors="replace")
