"""A fake ``reaper_python``: the ReaScript functions reabridge uses, over one in-memory project.

Strict on purpose: a function that is not implemented here does not exist
(``AttributeError``, as for a misspelt REAPER function), and every call is
checked for its number and kinds of arguments (``TypeError``). Calling
conventions are REAPER's Python ones: a function with out-parameters returns
``(retval, arg1, arg2, ...)`` with the outputs filled in, a ``void`` function
with out-parameters returns just its arguments, pointers are strings such as
``"(MediaTrack*)0x0000000000001001"``.
"""

from __future__ import annotations

import types
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bridge import rpp
from bridge.changes import chunks
from bridge.project.project import Project, norm_guid
from bridge.project.tempo import pack_timesig, unpack_timesig
from bridge.rpp.tokens import format_number, format_tokens
from bridge.rpp.tree import Chunk, Line

NULL = "0x0000000000000000"
VERSION = "7.27/stand-in"

# kinds of argument: p pointer, s text, i whole number, f number, b true/false
_CHECK = {
    "p": lambda v: isinstance(v, str),
    "s": lambda v: isinstance(v, str),
    "i": lambda v: isinstance(v, int),
    "f": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "b": lambda v: isinstance(v, (bool, int)),
}
_WORD = {"p": "a pointer", "s": "text", "i": "a whole number", "f": "a number", "b": "true or false"}


def _dedent(text: str) -> str:
    """A chunk as REAPER's API hands it out: no indentation, one line each."""
    return "".join(line.strip() + "\n" for line in text.splitlines())


class FakeReaper:
    """REAPER's state as far as reabridge touches it: one project, ext state, undo history.

    Attributes
    ----------
    calls : int
        ReaScript calls made so far (what the benchmark counts).
    undo_names : list of str
        Names of the undo steps made, oldest first.
    """

    def __init__(self, project: Path, resource_path: Path) -> None:
        self.path = Path(project)
        self.resource_path = Path(resource_path)
        self.root = rpp.load(self.path)
        self.open = True  # the project's tab is open
        self.global_ext: dict[tuple[str, str], str] = {}
        self.calls = 0
        self.undo: list[tuple[str, str, str]] = []  # (name, before, after)
        self.redo: list[tuple[str, str, str]] = []
        self._block: list[str] = []  # snapshots of open undo blocks
        self.refresh = 0
        self.deferred: list[str] = []
        self.at_exit: list[str] = []
        self.console: list[str] = []
        self._pointers: dict[str, object] = {}
        self._ids: dict[int, str] = {}
        self._counter = 0x1000
        self._master = object()
        self._project = object()
        self._marker_guids: dict[int, str] = {}  # id of a MARKER line -> the GUID REAPER gave it
        self._midi: dict[str, list[tuple[int, int, int, int, int, bool]]] = {}  # take -> notes (naive API)
        self._takes: dict[int, tuple[str, Chunk]] = {}  # id of an item chunk -> its (one) take object

    # -- pointers --------------------------------------------------------------------------
    def _pointer(self, kind: str, obj: object) -> str:
        key = id(obj)
        if key not in self._ids:
            self._counter += 1
            pointer = f"({kind}*)0x{self._counter:016X}"
            self._ids[key] = pointer
            self._pointers[pointer] = obj
        return self._ids[key]

    def _rebind(self, pointer: str, obj: object) -> None:
        old = self._pointers.get(pointer)
        if old is not None:
            self._ids.pop(id(old), None)
        self._pointers[pointer] = obj
        self._ids[id(obj)] = pointer

    def _get(self, pointer: str, kind: str) -> Any:
        obj = self._pointers.get(pointer)
        if obj is None or not pointer.startswith(f"({kind}*)"):
            raise ValueError(f"{pointer!r} is not a valid {kind} pointer")
        return obj

    def _proj(self, proj: str | int) -> None:
        if proj in (0, "0") or proj == self._pointer("ReaProject", self._project):
            if not self.open:
                raise ValueError("the project is closed")
            return
        raise ValueError(f"{proj!r} is not an open project")

    # -- project layout --------------------------------------------------------------------
    def tracks(self) -> list[Chunk]:
        return list(self.root.chunks("TRACK"))

    def _track(self, pointer: str) -> Chunk | object:
        return self._get(pointer, "MediaTrack")

    def _items(self, track: Chunk) -> list[Chunk]:
        return list(track.chunks("ITEM"))

    def _extstate(self, create: bool) -> Chunk | None:
        ext = self.root.chunk("EXTSTATE")
        if ext is None and create:
            ext = rpp.loads("<EXTSTATE\n>\n")
            self.root.append(ext)
        return ext

    def _ext_section(self, section: str, create: bool) -> Chunk | None:
        ext = self._extstate(create)
        if ext is None:
            return None
        found = next((c for c in ext.chunks() if c.tag.upper() == section.upper()), None)
        if found is None and create:
            found = rpp.loads(f"<{section.upper()}\n>\n")
            ext.append(found)
        return found

    def text(self) -> str:
        """The project as it would be saved."""
        return rpp.dumps(self.root)

    def save(self, path: Path | None = None) -> None:
        """Write the project (REAPER's File > Save)."""
        rpp.write_atomic(Path(path or self.path), self.text().encode("utf-8"))

    # -- undo ------------------------------------------------------------------------------
    def _begin(self) -> None:
        self._block.append(self.text())

    def _end(self, name: str) -> None:
        if not self._block:
            raise RuntimeError("Undo_EndBlock2 without Undo_BeginBlock2")
        before = self._block.pop()
        if not self._block:  # only the outermost block makes an undo step
            after = self.text()
            if after != before:
                self.undo.append((name, before, after))
                self.redo.clear()

    @property
    def undo_names(self) -> list[str]:
        return [name for name, _, _ in self.undo]

    def _restore(self, text: str) -> None:
        self.root = rpp.loads(text)
        self._pointers = {k: v for k, v in self._pointers.items() if not isinstance(v, (Chunk, tuple))}
        self._ids = {id(v): k for k, v in self._pointers.items()}

    # -- the API -----------------------------------------------------------------------------
    def module(self) -> types.ModuleType:
        """The ``reaper_python`` module, with every function counted and checked."""
        mod = types.ModuleType("reaper_python", "A stand-in for REAPER's reaper_python (tests only).")
        for name in dir(self):
            if name.startswith("RPR_"):
                setattr(mod, name, self._checked(name, getattr(self, name)))
        return mod

    def _checked(self, name: str, method: Callable[..., Any]) -> Callable[..., Any]:
        kinds: str = method.kinds  # type: ignore[attr-defined]

        def call(*args: Any) -> Any:
            self.calls += 1
            if len(args) != len(kinds):
                raise TypeError(f"{name} takes {len(kinds)} arguments ({len(args)} given)")
            for n, (value, kind) in enumerate(zip(args, kinds, strict=True), start=1):
                if kind == "P":  # a project: a pointer, or 0 for the current one
                    if not (isinstance(value, str) or (isinstance(value, int) and value == 0)):
                        raise TypeError(f"argument {n} of {name} must be a project pointer or 0, not {value!r}")
                elif not _CHECK[kind](value):
                    raise TypeError(f"argument {n} of {name} must be {_WORD[kind]}, not {value!r}")
            return method(*args)

        call.__name__ = name
        return call

    # general
    def RPR_GetAppVersion(self) -> str:  # noqa: N802 - REAPER's names
        return VERSION
    RPR_GetAppVersion.kinds = ""  # type: ignore[attr-defined]

    def RPR_GetResourcePath(self) -> str:  # noqa: N802
        return str(self.resource_path)
    RPR_GetResourcePath.kinds = ""  # type: ignore[attr-defined]

    def RPR_ShowConsoleMsg(self, msg: str) -> None:  # noqa: N802
        self.console.append(msg)
    RPR_ShowConsoleMsg.kinds = "s"  # type: ignore[attr-defined]

    def RPR_defer(self, code: str) -> bool:  # noqa: N802
        self.deferred.append(code)
        return True
    RPR_defer.kinds = "s"  # type: ignore[attr-defined]

    def RPR_atexit(self, code: str) -> bool:  # noqa: N802
        self.at_exit.append(code)
        return True
    RPR_atexit.kinds = "s"  # type: ignore[attr-defined]

    # global and project ext state
    def RPR_SetExtState(self, section: str, key: str, value: str, persist: bool) -> None:  # noqa: N802
        self.global_ext[(section, key)] = value
    RPR_SetExtState.kinds = "sssb"  # type: ignore[attr-defined]

    def RPR_GetExtState(self, section: str, key: str) -> str:  # noqa: N802
        return self.global_ext.get((section, key), "")
    RPR_GetExtState.kinds = "ss"  # type: ignore[attr-defined]

    def RPR_HasExtState(self, section: str, key: str) -> bool:  # noqa: N802
        return (section, key) in self.global_ext
    RPR_HasExtState.kinds = "ss"  # type: ignore[attr-defined]

    def RPR_DeleteExtState(self, section: str, key: str, persist: bool) -> None:  # noqa: N802
        self.global_ext.pop((section, key), None)
    RPR_DeleteExtState.kinds = "ssb"  # type: ignore[attr-defined]

    def RPR_EnumProjects(self, idx: int, fn: str, size: int) -> tuple[str, int, str, int]:  # noqa: N802
        if idx in (0, -1) and self.open:
            return (self._pointer("ReaProject", self._project), idx, str(self.path), size)
        return (f"(ReaProject*){NULL}", idx, "", size)
    RPR_EnumProjects.kinds = "isi"  # type: ignore[attr-defined]

    def RPR_GetProjExtState(self, proj: str, section: str, key: str, val: str,  # noqa: N802
                            size: int) -> tuple[int, str, str, str, str, int]:
        self._proj(proj)
        sec = self._ext_section(section, create=False)
        line = sec.line(key) if sec is not None else None
        value = line.values[0] if line is not None and line.values else ""
        return (len(value), proj, section, key, value, size)
    RPR_GetProjExtState.kinds = "Psssi"  # type: ignore[attr-defined]

    def RPR_SetProjExtState(self, proj: str, section: str, key: str, value: str) -> int:  # noqa: N802
        self._proj(proj)
        sec = self._ext_section(section, create=bool(value))
        if sec is None:
            return 0
        line = sec.line(key)
        if not value:
            if line is not None:
                sec.children.remove(line)
        elif line is not None:
            line.set(value)
        else:
            sec.append(Line.build(key, value))
        return 1
    RPR_SetProjExtState.kinds = "Psss"  # type: ignore[attr-defined]

    def RPR_EnumProjExtState(self, proj: str, section: str, idx: int, key: str, key_sz: int,  # noqa: N802
                             val: str, val_sz: int) -> tuple[bool, str, str, int, str, int, str, int]:
        self._proj(proj)
        sec = self._ext_section(section, create=False)
        lines = list(sec.lines()) if sec is not None else []
        if idx >= len(lines):
            return (False, proj, section, idx, "", key_sz, "", val_sz)
        line = lines[idx]
        return (True, proj, section, idx, line.key, key_sz, line.values[0] if line.values else "", val_sz)
    RPR_EnumProjExtState.kinds = "Psisisi"  # type: ignore[attr-defined]

    # project settings
    def RPR_GetSetProjectInfo(self, proj: str, desc: str, value: float, is_set: bool) -> float:  # noqa: N802
        self._proj(proj)
        if desc != "PROJECT_SRATE" or is_set:
            raise ValueError(f"GetSetProjectInfo {desc!r} (set={is_set}) is not in the stand-in")
        return float(Project(self.root).sample_rate or 0)
    RPR_GetSetProjectInfo.kinds = "Psfb"  # type: ignore[attr-defined]

    def RPR_GetProjectPathEx(self, proj: str, buf: str, size: int) -> tuple[str, str, int]:  # noqa: N802
        self._proj(proj)
        records = Project(self.root, self.path).record_paths
        base = self.path.parent
        record = Path(records[0].replace("\\", "/")) if records else Path()
        return (proj, str(record if record.is_absolute() else base / record), size)
    RPR_GetProjectPathEx.kinds = "Psi"  # type: ignore[attr-defined]

    # tracks
    def RPR_CountTracks(self, proj: str) -> int:  # noqa: N802
        self._proj(proj)
        return len(self.tracks())
    RPR_CountTracks.kinds = "P"  # type: ignore[attr-defined]

    def RPR_GetTrack(self, proj: str, idx: int) -> str:  # noqa: N802
        self._proj(proj)
        tracks = self.tracks()
        return self._pointer("MediaTrack", tracks[idx]) if 0 <= idx < len(tracks) else f"(MediaTrack*){NULL}"
    RPR_GetTrack.kinds = "Pi"  # type: ignore[attr-defined]

    def RPR_GetMasterTrack(self, proj: str) -> str:  # noqa: N802
        self._proj(proj)
        return self._pointer("MediaTrack", self._master)
    RPR_GetMasterTrack.kinds = "P"  # type: ignore[attr-defined]

    def RPR_GetTrackGUID(self, track: str) -> str:  # noqa: N802
        chunk = self._track(track)
        if chunk is self._master:
            return "{00000000-0000-0000-0000-000000000000}"
        values = chunk.values("TRACKID")  # type: ignore[union-attr]
        return values[0] if values else chunk.params[0]  # type: ignore[union-attr]
    RPR_GetTrackGUID.kinds = "p"  # type: ignore[attr-defined]

    def RPR_InsertTrackAtIndex(self, idx: int, defaults: bool) -> None:  # noqa: N802
        tracks = self.tracks()
        new = rpp.loads(chunks.track_chunk("", "{" + str(uuid.uuid4()).upper() + "}"))
        if idx < len(tracks):
            self.root.insert(self.root.index(tracks[idx]), new)
        elif tracks:
            self.root.insert(self.root.index(tracks[-1]) + 1, new)
        else:
            ext = next((i for i, c in enumerate(self.root.children) if isinstance(c, Chunk)
                        and c.tag == "EXTENSIONS"), len(self.root.children))
            self.root.insert(ext, new)
    RPR_InsertTrackAtIndex.kinds = "ib"  # type: ignore[attr-defined]

    def _folder(self, chunk: Chunk) -> int:
        values = chunk.values("ISBUS") or ["0", "0"]
        return int(values[1]) if values[0] != "0" else 0

    def RPR_GetMediaTrackInfo_Value(self, track: str, parm: str) -> float:  # noqa: N802
        chunk = self._track(track)
        if parm != "I_FOLDERDEPTH" or chunk is self._master:
            raise ValueError(f"GetMediaTrackInfo_Value {parm!r} is not in the stand-in")
        return float(self._folder(chunk))  # type: ignore[arg-type]
    RPR_GetMediaTrackInfo_Value.kinds = "ps"  # type: ignore[attr-defined]

    def RPR_SetMediaTrackInfo_Value(self, track: str, parm: str, value: float) -> bool:  # noqa: N802
        chunk = self._track(track)
        if parm != "I_FOLDERDEPTH" or chunk is self._master:
            raise ValueError(f"SetMediaTrackInfo_Value {parm!r} is not in the stand-in")
        depth = int(value)
        chunk.set("ISBUS", *((0, 0) if depth == 0 else (1, 1) if depth > 0 else (2, depth)))  # type: ignore[union-attr]
        return True
    RPR_SetMediaTrackInfo_Value.kinds = "psf"  # type: ignore[attr-defined]

    def _master_chunk(self) -> str:
        fx = self.root.chunk("MASTERFXLIST")
        body = ["<TRACK", "NAME \"\"", "MAINSEND 1 0"]
        if fx is not None:
            body.append(_dedent(rpp.dumps(fx)).replace("<MASTERFXLIST", "<FXCHAIN", 1).rstrip("\n"))
        return "\n".join(body) + "\n>\n"

    def RPR_GetTrackStateChunk(self, track: str, buf: str, size: int,  # noqa: N802
                               undo: bool) -> tuple[bool, str, str, int, bool]:
        chunk = self._track(track)
        text = self._master_chunk() if chunk is self._master else _dedent(rpp.dumps(chunk))  # type: ignore[arg-type]
        if len(text) >= size:
            return (False, track, "", size, undo)
        return (True, track, text, size, undo)
    RPR_GetTrackStateChunk.kinds = "psib"  # type: ignore[attr-defined]

    def RPR_SetTrackStateChunk(self, track: str, text: str, undo: bool) -> bool:  # noqa: N802
        chunk = self._track(track)
        new = rpp.loads(text)
        if new.tag != "TRACK":
            return False
        if chunk is self._master:
            fx = new.chunk("FXCHAIN")
            old = self.root.chunk("MASTERFXLIST")
            if fx is None:
                if old is not None:
                    self.root.children.remove(old)
                return True
            master = rpp.loads(_dedent(rpp.dumps(fx)).replace("<FXCHAIN", "<MASTERFXLIST", 1))
            if old is not None:
                self.root.children[self.root.index(old)] = master
                from bridge.rpp.tree import restyle

                restyle(master, self.root.child_indent, self.root.head.eol or "\n")
            else:
                anchor = (self.root.line("MASTER_SEL") or self.root.line("MASTER_FX")
                          or self.root.line("MASTER_VOLUME"))
                self.root.insert(self.root.index(anchor) + 1 if anchor is not None else len(self.root.children),
                                 master)
            return True
        index = self.root.index(chunk)  # type: ignore[arg-type]
        self.root.children.pop(index)
        self.root.insert(index, new)
        self._rebind(track, new)
        return True
    RPR_SetTrackStateChunk.kinds = "psb"  # type: ignore[attr-defined]

    # items
    def _item_track(self, item: Chunk) -> Chunk:
        for track in self.tracks():
            if any(c is item for c in track.children):
                return track
        raise ValueError("the item is on no track")

    def RPR_CountTrackMediaItems(self, track: str) -> int:  # noqa: N802
        chunk = self._track(track)
        return 0 if chunk is self._master else len(self._items(chunk))  # type: ignore[arg-type]
    RPR_CountTrackMediaItems.kinds = "p"  # type: ignore[attr-defined]

    def RPR_GetTrackMediaItem(self, track: str, idx: int) -> str:  # noqa: N802
        items = self._items(self._track(track))  # type: ignore[arg-type]
        return self._pointer("MediaItem", items[idx]) if 0 <= idx < len(items) else f"(MediaItem*){NULL}"
    RPR_GetTrackMediaItem.kinds = "pi"  # type: ignore[attr-defined]

    def _selected_items(self) -> list[Chunk]:
        return [item for track in self.tracks() for item in self._items(track)
                if (item.values("SEL") or ["0"])[0] == "1"]

    def RPR_CountSelectedMediaItems(self, proj: str) -> int:  # noqa: N802
        self._proj(proj)
        return len(self._selected_items())
    RPR_CountSelectedMediaItems.kinds = "P"  # type: ignore[attr-defined]

    def RPR_GetSelectedMediaItem(self, proj: str, idx: int) -> str:  # noqa: N802
        self._proj(proj)
        items = self._selected_items()
        return self._pointer("MediaItem", items[idx]) if 0 <= idx < len(items) else f"(MediaItem*){NULL}"
    RPR_GetSelectedMediaItem.kinds = "Pi"  # type: ignore[attr-defined]

    def RPR_AddMediaItemToTrack(self, track: str) -> str:  # noqa: N802
        chunk = self._track(track)
        guid = "{" + str(uuid.uuid4()).upper() + "}"
        item = rpp.loads(f"<ITEM\nPOSITION 0\nLENGTH 0\nIGUID {guid}\n>\n")
        chunk.append(item)  # type: ignore[union-attr]
        return self._pointer("MediaItem", item)
    RPR_AddMediaItemToTrack.kinds = "p"  # type: ignore[attr-defined]

    def RPR_DeleteTrackMediaItem(self, track: str, item: str) -> bool:  # noqa: N802
        chunk = self._track(track)
        target = self._get(item, "MediaItem")
        for i, child in enumerate(chunk.children):  # type: ignore[union-attr]
            if child is target:
                chunk.children.pop(i)  # type: ignore[union-attr]
                return True
        return False
    RPR_DeleteTrackMediaItem.kinds = "pp"  # type: ignore[attr-defined]

    def RPR_GetItemStateChunk(self, item: str, buf: str, size: int,  # noqa: N802
                              undo: bool) -> tuple[bool, str, str, int, bool]:
        chunk = self._get(item, "MediaItem")
        self._flush_midi(chunk)
        text = _dedent(rpp.dumps(chunk))
        if len(text) >= size:
            return (False, item, "", size, undo)
        return (True, item, text, size, undo)
    RPR_GetItemStateChunk.kinds = "psib"  # type: ignore[attr-defined]

    def RPR_SetItemStateChunk(self, item: str, text: str, undo: bool) -> bool:  # noqa: N802
        chunk = self._get(item, "MediaItem")
        new = rpp.loads(text)
        if new.tag != "ITEM":
            return False
        track = self._item_track(chunk)
        track.children = [c for c in track.children if c is not chunk]
        position = float((new.values("POSITION") or ["0"])[0])
        index = len(track.children)  # REAPER keeps a track's items in position order
        for i, child in enumerate(track.children):
            if isinstance(child, Chunk) and child.tag == "ITEM" and float((child.values("POSITION") or ["0"])[0]) > \
                    position:
                index = i
                break
        track.insert(index, new)
        self._rebind(item, new)
        return True
    RPR_SetItemStateChunk.kinds = "psb"  # type: ignore[attr-defined]

    def RPR_GetSetMediaItemInfo_String(self, item: str, parm: str, value: str,  # noqa: N802
                                       is_set: bool) -> tuple[bool, str, str, str, bool]:
        chunk = self._get(item, "MediaItem")
        if parm == "GUID" and not is_set:
            return (True, item, parm, (chunk.values("IGUID") or [""])[0], is_set)
        if parm == "P_NOTES":
            notes = chunk.chunk("NOTES")
            if not is_set:
                rows = [line.raw.lstrip(" \t")[1:] for line in notes.lines()] if notes is not None else []
                return (True, item, parm, "\n".join(rows), is_set)
            at = chunk.index(notes) if notes is not None else next(
                (i + 1 for i, c in enumerate(chunk.children) if isinstance(c, Line) and c.key in ("IID", "IGUID")), 0)
            if notes is not None:
                chunk.children.remove(notes)
            if value:
                chunk.insert(at, rpp.loads("<NOTES\n" + "".join(f"|{row}\n" for row in value.split("\n")) + ">\n"))
            return (True, item, parm, value, is_set)
        raise ValueError(f"GetSetMediaItemInfo_String {parm!r} (set={is_set}) is not in the stand-in")
    RPR_GetSetMediaItemInfo_String.kinds = "pssb"  # type: ignore[attr-defined]

    def RPR_SetMediaItemInfo_Value(self, item: str, parm: str, value: float) -> bool:  # noqa: N802
        chunk = self._get(item, "MediaItem")
        if parm != "B_MUTE":
            raise ValueError(f"SetMediaItemInfo_Value {parm!r} is not in the stand-in")
        line = chunk.line("MUTE")
        flag = "1" if value >= 0.5 else "0"
        if line is None:
            chunk.append(Line.build("MUTE", flag, "0"))
        else:
            line.set(flag, *line.values[1:])
        return True
    RPR_SetMediaItemInfo_Value.kinds = "psf"  # type: ignore[attr-defined]

    # take markers: REAPER keeps them per take, in source-position order (TKM lines after the take's source)
    def _take_lines(self, take: str) -> tuple[Chunk, int, int]:
        """The item chunk and ``[start, end)`` of a take's lines among its children."""
        obj = self._get(take, "MediaItem_Take")
        item, guid = obj[1], obj[2] if len(obj) > 2 else None
        children = item.children
        cuts = [i for i, c in enumerate(children) if isinstance(c, Line) and c.key == "TAKE"]
        spans = list(zip([0, *cuts], [*cuts, len(children)], strict=True))
        if cuts and not any((isinstance(c, Line) and c.key == "GUID") for c in children[:cuts[0]]):
            spans = spans[1:]
        if not spans:
            raise ValueError(f"{take!r}: the item has no take")
        if guid is None:
            active = [(a, b) for a, b in spans if isinstance(children[a], Line) and children[a].key == "TAKE"
                      and "SEL" in children[a].values]
            return (item, *(active[0] if active else spans[0]))
        for start, end in spans:
            if any(isinstance(c, Line) and c.key == "GUID" and c.values and norm_guid(c.values[0]) == norm_guid(guid)
                   for c in children[start:end]):
                return item, start, end
        raise ValueError(f"{take!r} is not a take of its item any more")

    def _take_markers(self, take: str) -> tuple[Chunk, list[Line], int]:
        item, start, end = self._take_lines(take)
        rows = [c for c in item.children[start:end] if isinstance(c, Line) and c.key == "TKM"]
        source_end = max((i + 1 for i in range(start, end) if isinstance(item.children[i], Chunk)
                          and item.children[i].tag == "SOURCE"), default=end)
        return item, rows, source_end

    def RPR_GetMediaItemTakeByGUID(self, proj: str, guid: str) -> str:  # noqa: N802
        self._proj(proj)
        for track in self.tracks():
            for item in self._items(track):
                for line in item.lines("GUID"):
                    if line.values and norm_guid(line.values[0]) == norm_guid(guid):
                        return self._pointer("MediaItem_Take", ("take", item, line.values[0]))
        return f"(MediaItem_Take*){NULL}"
    RPR_GetMediaItemTakeByGUID.kinds = "Ps"  # type: ignore[attr-defined]

    def RPR_GetNumTakeMarkers(self, take: str) -> int:  # noqa: N802
        return len(self._take_markers(take)[1])
    RPR_GetNumTakeMarkers.kinds = "p"  # type: ignore[attr-defined]

    def RPR_GetTakeMarker(self, take: str, idx: int, name: str, size: int,  # noqa: N802
                          color: int) -> tuple[float, str, int, str, int, int]:
        rows = self._take_markers(take)[1]
        if not 0 <= idx < len(rows):
            return (-1.0, take, idx, "", size, 0)
        values = rows[idx].values
        return (float(values[0]), take, idx, values[1] if len(values) > 1 else "", size,
                int(values[2]) if len(values) > 2 else 0)
    RPR_GetTakeMarker.kinds = "pisii"  # type: ignore[attr-defined]

    def RPR_SetTakeMarker(self, take: str, idx: int, name: str, pos: float, color: int) -> int:  # noqa: N802
        item, rows, source_end = self._take_markers(take)
        if idx != -1:
            raise ValueError("the stand-in only adds take markers (idx -1)")
        line = Line.build("TKM", format_number(float(pos)), name, str(int(color)))
        later = [r for r in rows if float(r.values[0]) > pos]
        at = item.index(later[0]) if later else (item.index(rows[-1]) + 1 if rows else source_end)
        item.insert(at, line)
        return len(rows) - len(later)
    RPR_SetTakeMarker.kinds = "pisfi"  # type: ignore[attr-defined]

    def RPR_DeleteTakeMarker(self, take: str, idx: int) -> bool:  # noqa: N802
        item, rows, _ = self._take_markers(take)
        if not 0 <= idx < len(rows):
            return False
        item.children.remove(rows[idx])
        return True
    RPR_DeleteTakeMarker.kinds = "pi"  # type: ignore[attr-defined]

    # MIDI, the naive way (one call per note): only what the benchmark needs
    def RPR_CreateNewMIDIItemInProj(self, track: str, start: float, end: float, qn: bool) -> str:  # noqa: N802
        chunk = self._track(track)
        guid = "{" + str(uuid.uuid4()).upper() + "}"
        item = rpp.loads(f"<ITEM\nPOSITION {format_number(float(start))}\nLENGTH {format_number(end - start)}\n"
                         f"IGUID {guid}\nNAME \"\"\nGUID {{{str(uuid.uuid4()).upper()}}}\n<SOURCE MIDI\n"
                         "HASDATA 1 960 QN\n>\n>\n")
        chunk.append(item)  # type: ignore[union-attr]
        return self._pointer("MediaItem", item)
    RPR_CreateNewMIDIItemInProj.kinds = "pffb"  # type: ignore[attr-defined]

    def RPR_GetActiveTake(self, item: str) -> str:  # noqa: N802
        chunk = self._get(item, "MediaItem")
        take = self._takes.setdefault(id(chunk), ("take", chunk))
        return self._pointer("MediaItem_Take", take)
    RPR_GetActiveTake.kinds = "p"  # type: ignore[attr-defined]

    def RPR_MIDI_InsertNote(self, take: str, selected: bool, muted: bool, start: float, end: float,  # noqa: N802
                            chan: int, pitch: int, vel: int, nosort: bool) -> bool:
        self._get(take, "MediaItem_Take")
        self._midi.setdefault(take, []).append((int(start), int(end), chan, pitch, vel, muted))
        return True
    RPR_MIDI_InsertNote.kinds = "pbbffiiib"  # type: ignore[attr-defined]

    def RPR_MIDI_Sort(self, take: str) -> None:  # noqa: N802
        self._get(take, "MediaItem_Take")
        self._midi.get(take, []).sort()
    RPR_MIDI_Sort.kinds = "p"  # type: ignore[attr-defined]

    def RPR_MIDI_CountEvts(self, take: str, notes: int, ccs: int, sysex: int) -> tuple[int, str, int, int, int]:  # noqa: N802
        _, item = self._get(take, "MediaItem_Take")
        self._flush_midi(item)
        source = item.chunk("SOURCE")
        count = sum(1 for line in source.lines("E") if line.values[1][:1] == "9") if source is not None else 0
        return (count, take, count, 0, 0)
    RPR_MIDI_CountEvts.kinds = "piii"  # type: ignore[attr-defined]

    def _flush_midi(self, item: Chunk) -> None:
        take = self._takes.get(id(item))
        pointer = self._ids.get(id(take)) if take is not None else None
        notes = self._midi.pop(pointer, None) if pointer else None
        if not notes:
            return
        source = item.chunk("SOURCE")
        events = []
        for start, end, chan, pitch, vel, _ in notes:
            events += [(start, 1, f"9{chan:x} {pitch:02x} {vel:02x}"), (end, 0, f"8{chan:x} {pitch:02x} 00")]
        events.sort()
        prev = 0
        for tick, _, data in events:
            source.append(Line.build("E", tick - prev, *data.split()))  # type: ignore[union-attr]
            prev = tick

    # markers and regions
    def _marker_lines(self) -> list[Line]:
        return list(self.root.lines("MARKER"))

    def _markers(self) -> list[tuple[Line, Line | None]]:
        """(start line, end line for a region) in file order."""
        out: list[tuple[Line, Line | None]] = []
        lines = self._marker_lines()
        i = 0
        while i < len(lines):
            v = lines[i].values
            region = len(v) > 3 and v[3].isdigit() and int(v[3]) & 1
            if region and i + 1 < len(lines) and lines[i + 1].values[:1] == v[:1]:
                out.append((lines[i], lines[i + 1]))
                i += 2
            else:
                out.append((lines[i], None))
                i += 1
        return out

    def RPR_CountProjectMarkers(self, proj: str, nm: int, nr: int) -> tuple[int, str, int, int]:  # noqa: N802
        self._proj(proj)
        markers = self._markers()
        regions = sum(1 for _, end in markers if end is not None)
        return (len(markers), proj, len(markers) - regions, regions)
    RPR_CountProjectMarkers.kinds = "Pii"  # type: ignore[attr-defined]

    def RPR_EnumProjectMarkers3(self, proj: str, idx: int, isrgn: bool, pos: float, end: float,  # noqa: N802
                                name: str, number: int, color: int) -> tuple[int, ...]:
        self._proj(proj)
        markers = self._markers()
        if not 0 <= idx < len(markers):
            return (0, proj, idx, False, 0.0, 0.0, "", 0, 0)
        start, stop = markers[idx]
        v = start.values
        return (idx + 1, proj, idx, stop is not None, float(v[1]), float(stop.values[1]) if stop else 0.0,
                v[2] if len(v) > 2 else "", int(v[0]), int(v[4]) if len(v) > 4 else 0)
    RPR_EnumProjectMarkers3.kinds = "Pibffsii"  # type: ignore[attr-defined]

    def RPR_AddProjectMarker2(self, proj: str, isrgn: bool, pos: float, end: float, name: str,  # noqa: N802
                              want: int, color: int) -> int:
        self._proj(proj)
        used = {int(s.values[0]) for s, e in self._markers() if (e is not None) == bool(isrgn)}
        number = want if want >= 0 and want not in used else max(used, default=0) + 1
        guid = "{" + str(uuid.uuid4()).upper() + "}"  # REAPER gives every marker a GUID of its own
        text = chunks.marker_lines(number, float(pos), name, guid, float(end) if isrgn else None, color)
        lines = self._marker_lines()
        nodes = rpp.loads_nodes(text)
        index = self.root.index(lines[-1]) + 1 if lines else next(
            (i for i, c in enumerate(self.root.children) if isinstance(c, Chunk) and c.tag in ("PROJBAY", "TRACK")),
            len(self.root.children))
        for offset, node in enumerate(nodes):
            self.root.insert(index + offset, node)
        return number
    RPR_AddProjectMarker2.kinds = "Pbffsii"  # type: ignore[attr-defined]

    def RPR_DeleteProjectMarkerByIndex(self, proj: str, idx: int) -> bool:  # noqa: N802
        self._proj(proj)
        markers = self._markers()
        if not 0 <= idx < len(markers):
            return False
        for line in markers[idx]:
            if line is not None:
                self.root.children.remove(line)
        return True
    RPR_DeleteProjectMarkerByIndex.kinds = "Pi"  # type: ignore[attr-defined]

    def RPR_GetSetProjectInfo_String(self, proj: str, desc: str, value: str,  # noqa: N802
                                     is_set: bool) -> tuple[bool, str, str, str, bool]:
        self._proj(proj)
        markers = self._markers()
        if is_set:
            raise ValueError(f"GetSetProjectInfo_String {desc!r} is read-only in the stand-in")
        if desc.startswith("MARKER_GUID:"):
            idx = int(desc.split(":", 1)[1])
            if not 0 <= idx < len(markers):
                return (False, proj, desc, "", is_set)
            v = markers[idx][0].values
            return (True, proj, desc, v[7] if len(v) > 7 else "", is_set)
        if desc.startswith("MARKER_INDEX_FROM_GUID:"):
            want = norm_guid(desc.split(":", 1)[1])
            for i, (start, _) in enumerate(markers):
                v = start.values
                if len(v) > 7 and norm_guid(v[7]) == want:
                    return (True, proj, desc, str(i), is_set)
            return (False, proj, desc, "", is_set)
        raise ValueError(f"GetSetProjectInfo_String {desc!r} is not in the stand-in")
    RPR_GetSetProjectInfo_String.kinds = "Pssb"  # type: ignore[attr-defined]

    # tempo
    def _tempo_env(self, create: bool) -> Chunk | None:
        env = self.root.chunk("TEMPOENVEX")
        if env is None and create:
            env = rpp.loads(chunks.tempo_envelope_chunk())
            index = next((i for i, c in enumerate(self.root.children) if isinstance(c, Chunk)
                          and c.tag in ("PROJBAY", "TRACK")), len(self.root.children))
            self.root.insert(index, env)
        return env

    def _points(self) -> list[Line]:
        env = self._tempo_env(create=False)
        return list(env.lines("PT")) if env is not None else []

    def RPR_GetProjectTimeSignature2(self, proj: str, bpm: float, bpi: float) -> tuple[str, float, float]:  # noqa: N802
        self._proj(proj)
        v = self.root.values("TEMPO") or ["120", "4", "4"]
        return (proj, float(v[0]), float(v[1]))
    RPR_GetProjectTimeSignature2.kinds = "Pff"  # type: ignore[attr-defined]

    def RPR_SetCurrentBPM(self, proj: str, bpm: float, undo: bool) -> None:  # noqa: N802
        self._proj(proj)
        line = self.root.line("TEMPO")
        v = line.values if line is not None else ["120", "4", "4"]
        if line is None:
            self.root.insert(0, Line.build("TEMPO", float(bpm), 4, 4))
        else:
            line.set(float(bpm), *v[1:])
    RPR_SetCurrentBPM.kinds = "Pfb"  # type: ignore[attr-defined]

    def RPR_CountTempoTimeSigMarkers(self, proj: str) -> int:  # noqa: N802
        self._proj(proj)
        return len(self._points())
    RPR_CountTempoTimeSigMarkers.kinds = "P"  # type: ignore[attr-defined]

    def RPR_GetTempoTimeSigMarker(self, proj: str, idx: int, *outs: Any) -> tuple[Any, ...]:  # noqa: N802
        self._proj(proj)
        points = self._points()
        if not 0 <= idx < len(points):
            return (False, proj, idx, 0.0, 0, 0.0, 0.0, 0, 0, False)
        v = points[idx].values
        sig = unpack_timesig(int(float(v[3]))) if len(v) > 3 else None
        return (True, proj, idx, float(v[0]), -1, -1.0, float(v[1]), sig[0] if sig else -1, sig[1] if sig else -1,
                len(v) > 2 and v[2] == "0")
    RPR_GetTempoTimeSigMarker.kinds = "Pififfiib"  # type: ignore[attr-defined]

    def RPR_SetTempoTimeSigMarker(self, proj: str, idx: int, time: float, measure: int, beat: float,  # noqa: N802
                                  bpm: float, num: int, den: int, linear: bool) -> bool:
        self._proj(proj)
        if idx != -1 or measure != -1 or beat != -1:
            raise ValueError("the stand-in adds tempo markers by time only (ptidx=-1, measurepos=-1, beatpos=-1)")
        env = self._tempo_env(create=True)
        values: list[object] = ["PT", float(time), float(bpm), 0 if linear else 1]
        if num > 0 and den > 0:
            values.append(pack_timesig(num, den))
        points = self._points()
        line = rpp.loads_nodes(format_tokens(values) + "\n")[0]
        index = len(env.children)  # type: ignore[union-attr]
        for p in points:
            if float(p.values[0]) > time:
                index = env.index(p)  # type: ignore[union-attr]
                break
        env.insert(index, line)  # type: ignore[union-attr]
        if len(points) == 0 and num > 0:  # the first marker's signature is the project's
            tempo = self.root.line("TEMPO")
            if tempo is not None:
                tempo.set(*([*tempo.values[:1], num, den, *tempo.values[3:]]))
        return True
    RPR_SetTempoTimeSigMarker.kinds = "Pififfiib"  # type: ignore[attr-defined]

    def RPR_DeleteTempoTimeSigMarker(self, proj: str, idx: int) -> bool:  # noqa: N802
        self._proj(proj)
        points = self._points()
        if not 0 <= idx < len(points):
            return False
        env = self._tempo_env(create=False)
        env.children.remove(points[idx])  # type: ignore[union-attr]
        return True
    RPR_DeleteTempoTimeSigMarker.kinds = "Pi"  # type: ignore[attr-defined]

    # undo and UI
    def RPR_Undo_BeginBlock2(self, proj: str) -> None:  # noqa: N802
        self._proj(proj)
        self._begin()
    RPR_Undo_BeginBlock2.kinds = "P"  # type: ignore[attr-defined]

    def RPR_Undo_EndBlock2(self, proj: str, name: str, flags: int) -> None:  # noqa: N802
        self._proj(proj)
        self._end(name)
    RPR_Undo_EndBlock2.kinds = "Psi"  # type: ignore[attr-defined]

    def RPR_Undo_CanUndo2(self, proj: str) -> str | None:  # noqa: N802
        self._proj(proj)
        return self.undo[-1][0] if self.undo else None
    RPR_Undo_CanUndo2.kinds = "P"  # type: ignore[attr-defined]

    def RPR_Undo_DoUndo2(self, proj: str) -> int:  # noqa: N802
        self._proj(proj)
        if not self.undo:
            return 0
        step = self.undo.pop()
        self.redo.append(step)
        self._restore(step[1])
        return 1
    RPR_Undo_DoUndo2.kinds = "P"  # type: ignore[attr-defined]

    def RPR_PreventUIRefresh(self, delta: int) -> None:  # noqa: N802
        self.refresh += delta
        if self.refresh < 0:
            raise RuntimeError("PreventUIRefresh went below zero")
    RPR_PreventUIRefresh.kinds = "i"  # type: ignore[attr-defined]

    def RPR_UpdateArrange(self) -> None:  # noqa: N802
        return None
    RPR_UpdateArrange.kinds = ""  # type: ignore[attr-defined]

