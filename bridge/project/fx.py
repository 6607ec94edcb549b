"""Effects in a track's ``<FXCHAIN`` (or the master's ``<MASTERFXLIST``)."""

from __future__ import annotations

from dataclasses import dataclass

from bridge.rpp.tree import Chunk

FX_TAGS = ("VST", "JS", "AU", "CLAP", "DX", "LV2", "VIDEO_EFFECT", "CONTAINER")


@dataclass(frozen=True)
class FxInfo:
    """One effect instance.

    Attributes
    ----------
    kind : str
        ``VST``, ``VSTi``, ``VST3``, ``VST3i``, ``JS``, ``CLAP``, ``CLAPi``, ``AU``,
        ``AUi``, ``DX``, ``LV2``, ``Video`` or ``Container``.
    name : str
        Display name (the user's rename when there is one).
    ident : str
        What identifies the plug-in: file name, JS path or CLAP id.
    bypassed : bool
        The ``BYPASS`` flag in front of the effect.
    """

    kind: str
    name: str
    ident: str
    bypassed: bool = False

    def to_dict(self) -> dict[str, object]:
        """Plain data for JSON."""
        return {"kind": self.kind, "name": self.name, "ident": self.ident, "bypassed": self.bypassed}


def describe_fx(chunk: Chunk) -> tuple[str, str, str]:
    p = chunk.params
    tag = chunk.tag
    if tag == "JS":
        path = p[0] if p else ""
        custom = p[1] if len(p) > 1 else ""
        return "JS", custom or path, path
    if tag == "CONTAINER":
        custom = p[1] if len(p) > 1 else ""
        return "Container", custom or (p[0] if p else "Container"), ""
    if tag == "VIDEO_EFFECT":
        return "Video", p[0] if p else "Video processor", ""
    label = p[0] if p else tag
    kind, _, rest = label.partition(": ")
    if not rest:
        kind, rest = tag, label
    ident = p[1] if len(p) > 1 else ""
    custom_index = 3 if tag in ("VST", "DX", "AU") else 2
    custom = p[custom_index] if len(p) > custom_index and tag != "CLAP" else ""
    return kind, custom or rest, ident


def read_fx_chain(chain: Chunk | None) -> list[FxInfo]:
    """List the effects in an FX chain chunk, in order."""
    if chain is None:
        return []
    out: list[FxInfo] = []
    bypass = False
    for child in chain.children:
        if isinstance(child, Chunk):
            if child.tag in FX_TAGS:
                kind, name, ident = describe_fx(child)
                out.append(FxInfo(kind, name, ident, bypass))
                bypass = False
        elif child.key == "BYPASS":
            bypass = bool(child.values) and child.values[0] == "1"
    return out
