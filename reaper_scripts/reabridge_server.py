# @description reabridge: the REAPER-side server (applies reabridge results in one undo step)
# @version 0.1.0
# @author reabridge
# @noindex
# @about
#   A Python ReaScript, run at REAPER start-up. It listens on 127.0.0.1 only,
#   speaks python-reapy's wire protocol (8-byte little-endian length + UTF-8 JSON),
#   requires a secret token, and runs only an allow-list of ReaScript functions
#   plus reabridge's own: reading a project's state and applying a whole result
#   (a ChangeSet's chunk text) inside ONE undo block. It never blocks REAPER's UI:
#   each defer tick does a bounded amount of work. Standard library only.
# @changelog
#   First release.
"""reabridge's server inside REAPER.

Files it keeps in ``<resource path>/reabridge/``:

- ``server.token``: the secret a client presents first (created once, owner-only);
- ``server.json``: ``{"port", "pid", "token_file", "version"}`` while it runs;
- ``server.log``: refused connections and calls, errors.

It also publishes its port as ext state ``reapy/server_port`` (what reapy's
web-interface look-up reads), so the stock reapy client finds it.
"""

import contextlib
import json
import os
import secrets
import select
import socket
import time
import traceback

import reaper_python as RPR  # noqa: N812 - REAPER's module, named as REAPER names it

VERSION = 1
MAX_FRAME = 64 << 20  # bytes; a 10,000-note MIDI item is a few hundred kB
MAX_REQUESTS_PER_TICK = 64
TICK_BUDGET_S = 0.02
SERVER_MODULE = "reabridge_server"
REASCRIPT_MODULE = "reapy.reascript_api"

#: ReaScript functions a client may call (reapy's names, without RPR_). Nothing that runs actions,
#: processes or scripts, shows blocking dialogs, or touches files outside the project is here.
ALLOWED = frozenset((
    "GetAppVersion", "GetResourcePath", "GetProjectPath", "GetProjectPathEx", "GetProjectName", "EnumProjects",
    "GetProjExtState", "SetProjExtState", "EnumProjExtState", "GetExtState", "SetExtState", "HasExtState",
    "CountTracks", "GetTrack", "GetMasterTrack", "GetTrackGUID", "GetTrackName", "GetSetMediaTrackInfo_String",
    "GetMediaTrackInfo_Value", "SetMediaTrackInfo_Value", "InsertTrackAtIndex", "GetTrackStateChunk",
    "SetTrackStateChunk", "CountMediaItems", "GetMediaItem", "CountTrackMediaItems", "GetTrackMediaItem",
    "GetMediaItem_Track", "AddMediaItemToTrack", "DeleteTrackMediaItem", "GetItemStateChunk", "SetItemStateChunk",
    "GetMediaItemInfo_Value", "SetMediaItemInfo_Value", "GetSetMediaItemInfo_String", "CountSelectedMediaItems",
    "GetSelectedMediaItem", "CountTakes", "GetTake", "GetActiveTake", "SetActiveTake", "GetMediaItemTake_Source",
    "GetMediaSourceFileName", "GetSetMediaItemTakeInfo_String", "CreateNewMIDIItemInProj", "MIDI_InsertNote",
    "MIDI_InsertCC", "MIDI_Sort", "MIDI_CountEvts", "MIDI_GetNote", "MIDI_SetNote", "CountProjectMarkers",
    "EnumProjectMarkers3", "AddProjectMarker2", "DeleteProjectMarkerByIndex", "SetProjectMarker4",
    "GetSetProjectInfo", "GetSetProjectInfo_String", "CountTempoTimeSigMarkers", "GetTempoTimeSigMarker",
    "SetTempoTimeSigMarker", "DeleteTempoTimeSigMarker", "SetCurrentBPM", "Master_GetTempo",
    "GetProjectTimeSignature2", "TimeMap2_timeToQN", "TimeMap2_QNToTime", "TrackFX_GetCount", "TrackFX_GetFXName",
    "TrackFX_AddByName", "TrackFX_GetParam", "TrackFX_SetParam", "Undo_BeginBlock2", "Undo_EndBlock2",
    "Undo_CanUndo2", "Undo_CanRedo2", "Undo_DoUndo2", "Undo_DoRedo2", "PreventUIRefresh", "UpdateArrange",
    "UpdateTimeline", "TrackList_AdjustWindows", "GetPlayState", "GetCursorPosition",
))


def _log_path():
    return os.path.join(_folder(), "server.log")


def _folder():
    folder = os.path.join(RPR.RPR_GetResourcePath(), "reabridge")
    os.makedirs(folder, exist_ok=True)
    return folder


def log(message):
    """One line in server.log (kept under 1 MB)."""
    try:
        path = _log_path()
        if os.path.exists(path) and os.path.getsize(path) > (1 << 20):
            os.replace(path, path + ".1")
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(time.strftime("%Y-%m-%d %H:%M:%S ") + message.replace("\n", " ") + "\n")
    except OSError:
        pass


def token_path():
    return os.path.join(_folder(), "server.token")


def load_token():
    """The secret (made on first use; readable by the owner only)."""
    path = token_path()
    if not os.path.exists(path):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32) + "\n")
    os.chmod(path, 0o600)
    with open(path, encoding="ascii") as fh:
        return fh.read().strip()


# -- projects -----------------------------------------------------------------------------
def _norm(guid):
    return guid.strip().strip("{}").upper()


def _null(pointer):
    """Whether a pointer REAPER returned is NULL (Python ReaScript spells them "(Type*)0x0000000000000000")."""
    return not pointer or str(pointer).endswith("0x0000000000000000")


def _projects():
    """(pointer, path) of every open project tab."""
    out = []
    for i in range(1024):
        got = RPR.RPR_EnumProjects(i, "", 4096)
        if _null(got[0]):
            break
        out.append((got[0], got[2]))
    return out


def _ext(proj, key):
    got = RPR.RPR_GetProjExtState(proj, "REABRIDGE", key, "", 65536)
    return got[4] if got[0] else ""


def find_project(ref):
    """The open project a request is for: by its recorded id, else by its path. None when not open."""
    want_id = _norm(ref.get("id") or "") if ref.get("id") else None
    want_path = os.path.normcase(os.path.realpath(ref["path"])) if ref.get("path") else None
    by_path = None
    for proj, path in _projects():
        if want_id and _norm(_ext(proj, "project_id") or "-") == want_id:
            return proj, path
        if want_path and path and os.path.normcase(os.path.realpath(path)) == want_path:
            by_path = (proj, path)
    if by_path is not None and want_id:
        have = _ext(by_path[0], "project_id")
        if have and _norm(have) != want_id:
            return None
    return by_path


def open_projects():
    """Every open project: path and reabridge id."""
    return [{"path": path, "id": _ext(proj, "project_id") or None} for proj, path in _projects()]


def hello():
    """Who this is: the server's version and REAPER's, and the open projects."""
    return {"server": "reabridge", "version": VERSION, "reaper": RPR.RPR_GetAppVersion(),
            "projects": open_projects()}


def _chunk(getter, handle):
    got = getter(handle, "", MAX_FRAME, False)
    if not got[0]:
        raise RuntimeError("REAPER did not give the state of " + handle)
    return got[2]


def _fmt(value):
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


def project_state(ref):
    """The project as REAPER holds it now, as RPP text (what a job reads): or None when it is not open."""
    found = find_project(ref)
    if found is None:
        return None
    proj, path = found
    lines = [f'<REAPER_PROJECT 0.1 "{RPR.RPR_GetAppVersion()}" 0']
    srate = RPR.RPR_GetSetProjectInfo(proj, "PROJECT_SRATE", 0, False)
    if srate:
        lines.append(f"  SAMPLERATE {int(srate)} 1 0")
    record = RPR.RPR_GetProjectPathEx(proj, "", 4096)[1]  # void functions return their parameters only
    if record:
        lines.append('  RECORD_PATH "{}" ""'.format(record.replace('"', "'")))
    sig = RPR.RPR_GetProjectTimeSignature2(proj, 0.0, 0.0)
    count = RPR.RPR_CountTempoTimeSigMarkers(proj)
    numerator, denominator = 4, 4
    points = []
    for i in range(count):
        got = RPR.RPR_GetTempoTimeSigMarker(proj, i, 0.0, 0, 0.0, 0.0, 0, 0, False)
        _, _, _, timepos, _, _, bpm, num, den, linear = got
        if i == 0 and num > 0:
            numerator, denominator = num, den
        point = f"    PT {_fmt(timepos)} {_fmt(bpm)} {0 if linear else 1}"
        if num > 0:
            point += f" {num + 65536 * den}"
        points.append(point)
    lines.append(f"  TEMPO {_fmt(sig[1])} {numerator} {denominator}")
    if points:
        lines += ["  <TEMPOENVEX", *points, "  >"]
    total = RPR.RPR_CountProjectMarkers(proj, 0, 0)[0]
    for i in range(total):
        got = RPR.RPR_EnumProjectMarkers3(proj, i, False, 0.0, 0.0, "", 0, 0)
        _, _, _, isrgn, pos, end, name, number, color = got
        guid = RPR.RPR_GetSetProjectInfo_String(proj, f"MARKER_GUID:{i}", "", False)[3] or "{}"
        quoted = '"{}"'.format(name.replace('"', "'"))
        lines.append(f"  MARKER {number} {_fmt(pos)} {quoted} {1 if isrgn else 0} {color} 1 R {guid} 0")
        if isrgn:
            lines.append(f'  MARKER {number} {_fmt(end)} "" 1')
    master = RPR.RPR_GetMasterTrack(proj)
    master_chunk = _chunk(RPR.RPR_GetTrackStateChunk, master)
    fx = _between(master_chunk, "<FXCHAIN")
    if fx is not None:
        lines.append("  <MASTERFXLIST" + fx[len("<FXCHAIN"):])
    for i in range(RPR.RPR_CountTracks(proj)):
        lines.append(_chunk(RPR.RPR_GetTrackStateChunk, RPR.RPR_GetTrack(proj, i)).rstrip("\n"))
    ext = []
    for i in range(100000):
        got = RPR.RPR_EnumProjExtState(proj, "REABRIDGE", i, "", 4096, "", 65536)
        if not got[0]:
            break
        ext.append('    {} "{}"'.format(got[4], got[6].replace('"', "'")))
    if ext:
        lines += ["  <EXTSTATE", "    <REABRIDGE", *["  " + e for e in ext], "    >", "  >"]
    lines.append(">")
    return {"path": path, "id": _ext(proj, "project_id") or None, "text": "\n".join(lines) + "\n"}


def _between(chunk, head):
    """The sub-chunk of ``chunk`` starting with ``head`` (up to its closing line), or None."""
    rows = chunk.split("\n")
    for i, row in enumerate(rows):
        if row.strip().startswith(head):
            depth = 0
            for j in range(i, len(rows)):
                stripped = rows[j].strip()
                if stripped.startswith("<"):
                    depth += 1
                elif stripped == ">":
                    depth -= 1
                    if depth == 0:
                        return "\n".join(rows[i:j + 1])
    return None


# -- applying a ChangeSet ----------------------------------------------------------------------
def _tracks(proj):
    return [RPR.RPR_GetTrack(proj, i) for i in range(RPR.RPR_CountTracks(proj))]


def _track(proj, ref):
    if ref == "master":
        return RPR.RPR_GetMasterTrack(proj)
    tracks = _tracks(proj)
    if isinstance(ref, int):
        if 0 <= ref < len(tracks):
            return tracks[ref]
        raise LookupError(f"there is no track number {ref + 1}")
    for track in tracks:
        if _norm(RPR.RPR_GetTrackGUID(track)) == _norm(ref):
            return track
    raise LookupError(f"no track with GUID {ref} (was it deleted?)")


def _item(proj, guid):
    for track in _tracks(proj):
        for i in range(RPR.RPR_CountTrackMediaItems(track)):
            item = RPR.RPR_GetTrackMediaItem(track, i)
            if _norm(RPR.RPR_GetSetMediaItemInfo_String(item, "GUID", "", False)[3]) == _norm(guid):
                return track, item
    return None


def _add_track(proj, text, after):
    tracks = _tracks(proj)
    index = len(tracks)
    depth_from = None
    if after is not None:
        ref = _track(proj, after)
        index = tracks.index(ref) + 1
        depth = RPR.RPR_GetMediaTrackInfo_Value(ref, "I_FOLDERDEPTH")
        if depth < 0:  # the reference closes a folder: the new track closes it instead, staying inside
            depth_from = (ref, depth)
    RPR.RPR_InsertTrackAtIndex(index, False)
    track = RPR.RPR_GetTrack(proj, index)
    RPR.RPR_SetTrackStateChunk(track, text, False)
    if depth_from is not None:
        RPR.RPR_SetMediaTrackInfo_Value(depth_from[0], "I_FOLDERDEPTH", 0)
        RPR.RPR_SetMediaTrackInfo_Value(track, "I_FOLDERDEPTH", depth_from[1])


def _add_item(proj, text, target):
    item = RPR.RPR_AddMediaItemToTrack(_track(proj, target))
    RPR.RPR_SetItemStateChunk(item, text, False)


def _close_index(rows):
    """Index of the closing ``>`` of the chunk ``rows`` make up."""
    for i in range(len(rows) - 1, -1, -1):
        if rows[i].strip() == ">":
            return i
    raise ValueError("a state chunk without its closing line")


def _add_take(proj, text, item_guid, active):
    found = _item(proj, item_guid)
    if found is None:
        raise LookupError(f"no item with GUID {item_guid} (was it deleted?)")
    item = found[1]
    rows = _chunk(RPR.RPR_GetItemStateChunk, item).rstrip("\n").split("\n")
    if active:
        rows = [r.replace("TAKE SEL", "TAKE") if r.strip().startswith("TAKE SEL") else r for r in rows]
    end = _close_index(rows)
    rows[end:end] = text.rstrip("\n").split("\n")
    RPR.RPR_SetItemStateChunk(item, "\n".join(rows) + "\n", False)


def _add_js(proj, text, target):
    track = _track(proj, target)
    rows = _chunk(RPR.RPR_GetTrackStateChunk, track).rstrip("\n").split("\n")
    start = next((i for i, r in enumerate(rows) if r.strip().startswith("<FXCHAIN")), None)
    if start is None:
        insert = next((i for i, r in enumerate(rows) if r.strip().startswith("<ITEM")), _close_index(rows))
        rows[insert:insert] = ["<FXCHAIN", "SHOW 0", "LASTSEL 0", "DOCKED 0", ">"]
        start = insert
    depth, end = 0, None
    for j in range(start, len(rows)):
        stripped = rows[j].strip()
        if stripped.startswith("<"):
            depth += 1
        elif stripped == ">":
            depth -= 1
            if depth == 0:
                end = j
                break
    rows[end:end] = text.rstrip("\n").split("\n")
    RPR.RPR_SetTrackStateChunk(track, "\n".join(rows) + "\n", False)


def _remove_item(proj, guid):
    found = _item(proj, guid)
    if found is not None:
        RPR.RPR_DeleteTrackMediaItem(found[0], found[1])


def _remove_take(proj, item_guid, take_guid):
    found = _item(proj, item_guid)
    if found is None:
        return
    item = found[1]
    rows = _chunk(RPR.RPR_GetItemStateChunk, item).rstrip("\n").split("\n")
    starts = [i for i, r in enumerate(rows) if r.strip().split(" ")[0] == "TAKE"]
    end_of_item = _close_index(rows)
    for n, start in enumerate(starts):
        end = starts[n + 1] if n + 1 < len(starts) else end_of_item
        guids = [r.strip().split(" ", 1)[1] for r in rows[start:end] if r.strip().startswith("GUID ")]
        if guids and _norm(guids[0]) == _norm(take_guid):
            del rows[start:end]
            RPR.RPR_SetItemStateChunk(item, "\n".join(rows) + "\n", False)
            return


def _marker_index(proj, guid):
    mapped = _ext(proj, "marker." + guid) or guid
    got = RPR.RPR_GetSetProjectInfo_String(proj, "MARKER_INDEX_FROM_GUID:" + mapped, "", False)
    return int(got[3]) if got[0] and got[3].lstrip("-").isdigit() else -1


def _add_marker(proj, op):
    end = op.get("end")
    isrgn = end is not None
    index = RPR.RPR_AddProjectMarker2(proj, isrgn, float(op["position"]), float(end if isrgn else 0),
                                      op.get("name", ""), -1, int(op.get("color", 0)))
    total = RPR.RPR_CountProjectMarkers(proj, 0, 0)[0]
    for i in range(total):  # REAPER gives markers GUIDs of its own: remember which is ours
        got = RPR.RPR_EnumProjectMarkers3(proj, i, False, 0.0, 0.0, "", 0, 0)
        if got[7] == index and bool(got[3]) == isrgn:
            guid = RPR.RPR_GetSetProjectInfo_String(proj, f"MARKER_GUID:{i}", "", False)[3]
            if guid and _norm(guid) != _norm(op["guid"]):
                RPR.RPR_SetProjExtState(proj, "REABRIDGE", "marker." + op["guid"], guid)
            return


def _remove_marker(proj, guid):
    index = _marker_index(proj, guid)
    if index >= 0:
        RPR.RPR_DeleteProjectMarkerByIndex(proj, index)
        RPR.RPR_SetProjExtState(proj, "REABRIDGE", "marker." + guid, "")


def _remove_js(proj, target, fxid):
    try:
        track = _track(proj, target)
    except LookupError:
        return
    rows = _chunk(RPR.RPR_GetTrackStateChunk, track).rstrip("\n").split("\n")
    at = next((i for i, r in enumerate(rows) if r.strip().startswith("FXID ")
               and _norm(r.strip().split(" ", 1)[1]) == _norm(fxid)), None)
    if at is None:
        return
    start = at
    while start > 0:
        key = rows[start - 1].strip().split(" ")[0]
        if key in ("WAK", "FXID", "SHOW", "LASTSEL", "DOCKED"):
            break
        start -= 1
        if key == "BYPASS":
            break
    end = at + 1
    while end < len(rows) and rows[end].strip().startswith("WAK"):
        end += 1
    del rows[start:end]
    RPR.RPR_SetTrackStateChunk(track, "\n".join(rows) + "\n", False)


def _set_tempo(proj, op):
    for i in range(RPR.RPR_CountTempoTimeSigMarkers(proj) - 1, -1, -1):
        RPR.RPR_DeleteTempoTimeSigMarker(proj, i)
    points = op.get("points") or []
    if not points:
        RPR.RPR_SetCurrentBPM(proj, float(op["bpm"]), False)
        if (op.get("numerator"), op.get("denominator")) != (4, 4):
            RPR.RPR_SetTempoTimeSigMarker(proj, -1, 0.0, -1, -1, float(op["bpm"]), int(op["numerator"]),
                                          int(op["denominator"]), False)
        return
    RPR.RPR_SetCurrentBPM(proj, float(op["bpm"]), False)
    for p in sorted(points, key=lambda p: p["time"]):
        RPR.RPR_SetTempoTimeSigMarker(proj, -1, float(p["time"]), -1, -1, float(p["bpm"]),
                                      int(p.get("numerator") or 0), int(p.get("denominator") or 0),
                                      bool(p.get("linear")))


def _take(proj, item_guid, take_guid):
    """The take ``take_guid`` of an item (None: its active take), or None when either is gone."""
    found = _item(proj, item_guid)
    if found is None:
        return None
    take = RPR.RPR_GetActiveTake(found[1]) if take_guid is None else RPR.RPR_GetMediaItemTakeByGUID(proj, take_guid)
    return None if _null(take) else take


def _add_take_marker(proj, op):
    take = _take(proj, op["item"], op.get("take"))
    if take is None:
        raise LookupError(f"no take to mark on item {op['item']} (was it deleted?)")
    RPR.RPR_SetTakeMarker(take, -1, op["name"], float(op["position"]), int(op.get("color", 0)))


def _remove_take_marker(proj, op):
    take = _take(proj, op["item"], op.get("take"))
    if take is None:
        return
    for i in range(RPR.RPR_GetNumTakeMarkers(take)):
        got = RPR.RPR_GetTakeMarker(take, i, "", 4096, 0)
        if abs(got[0] - float(op["position"])) <= 1e-6 and got[3] == op["name"]:
            RPR.RPR_DeleteTakeMarker(take, i)
            return


def _item_or_fail(proj, guid):
    found = _item(proj, guid)
    if found is None:
        raise LookupError(f"no item with GUID {guid} (was it deleted?)")
    return found[1]


def _set_item_mute(proj, op):
    RPR.RPR_SetMediaItemInfo_Value(_item_or_fail(proj, op["item"]), "B_MUTE", 1.0 if op["mute"] else 0.0)


def _set_item_notes(proj, op):
    RPR.RPR_GetSetMediaItemInfo_String(_item_or_fail(proj, op["item"]), "P_NOTES", op["notes"], True)


#: how each kind of operation reaches REAPER: (project, entry) -> None
APPLY = {
    "add_track": lambda proj, e: _add_track(proj, e["text"], e.get("target")),
    "add_midi_item": lambda proj, e: _add_item(proj, e["text"], e.get("target")),
    "add_audio_item": lambda proj, e: _add_item(proj, e["text"], e.get("target")),
    "add_notes_item": lambda proj, e: _add_item(proj, e["text"], e.get("target")),
    "add_item_copy": lambda proj, e: _add_item(proj, e["text"], e.get("target")),
    "add_audio_take": lambda proj, e: _add_take(proj, e["text"], e.get("target"), bool(e["op"].get("active", 1))),
    "add_js_effect": lambda proj, e: _add_js(proj, e["text"], e.get("target")),
    "set_tempo": lambda proj, e: _set_tempo(proj, e["op"]),
    "add_marker": lambda proj, e: _add_marker(proj, e["op"]),
    "add_take_marker": lambda proj, e: _add_take_marker(proj, e["op"]),
    "set_item_mute": lambda proj, e: _set_item_mute(proj, e["op"]),
    "set_item_notes": lambda proj, e: _set_item_notes(proj, e["op"]),
    "remove_item": lambda proj, e: _remove_item(proj, e["op"]["item"]),
    "remove_take": lambda proj, e: _remove_take(proj, e["op"]["item"], e["op"]["take"]),
    "remove_take_marker": lambda proj, e: _remove_take_marker(proj, e["op"]),
    "remove_marker": lambda proj, e: _remove_marker(proj, e["op"]["guid"]),
    "remove_js_effect": lambda proj, e: _remove_js(proj, e["op"]["track"], e["op"]["fxid"]),
    "set_ext_state": lambda proj, e: RPR.RPR_SetProjExtState(proj, "REABRIDGE", e["op"]["key"],
                                                             e["op"].get("value", "")),
}


def _apply_one(proj, entry):
    apply = APPLY.get(entry["kind"])
    if apply is None:
        raise ValueError("unknown operation " + repr(entry["kind"]))
    apply(proj, entry)


def apply_changes(ref, change_id, created, undo_name, ops):
    """Apply a whole ChangeSet to the open project ``ref`` as ONE undo step.

    Returns ``{"applied": True}``, ``{"applied": False}`` when this ChangeSet id
    was applied before, or ``None`` when the project is not open. When any
    operation fails, the undo block is undone, so nothing of the ChangeSet stays.
    """
    found = find_project(ref)
    if found is None:
        return None
    proj = found[0]
    if _ext(proj, "applied." + change_id):
        return {"applied": False}
    RPR.RPR_Undo_BeginBlock2(proj)
    RPR.RPR_PreventUIRefresh(1)
    failure = None
    try:
        for entry in ops:
            _apply_one(proj, entry)
        RPR.RPR_SetProjExtState(proj, "REABRIDGE", "applied." + change_id, created)
    except Exception as exc:  # an operation REAPER refused: the block is taken back whole
        failure = exc
    finally:
        RPR.RPR_PreventUIRefresh(-1)
        RPR.RPR_Undo_EndBlock2(proj, undo_name, -1)
    if failure is not None:
        RPR.RPR_Undo_DoUndo2(proj)
        log(f"apply {change_id} failed and was undone: {failure}")
        raise RuntimeError(f"REAPER could not apply the result ({failure}); nothing was changed")
    RPR.RPR_UpdateArrange()
    return {"applied": True}


FUNCTIONS = {"hello": hello, "open_projects": open_projects, "project_state": project_state,
             "apply_changes": apply_changes}


# -- the wire -------------------------------------------------------------------------------------
#: What one client may cost REAPER (DEVELOPERS.md, "The live session"). Before it presents the token a
#: client may send ONE frame of at most TOKEN_FRAME_MAX bytes, within TOKEN_DEADLINE_S of the greeting.
MAX_CONNECTIONS = 32  # at once; beyond, a newcomer takes the place of the oldest client without the token, or is "busy"
TOKEN_FRAME_MAX = 512  # bytes; {"token": "<64 hex digits>"} is 77
TOKEN_DEADLINE_S = 5.0
TOKEN_GRACE_S = 0.25  # a client without the token gives way to a newcomer only after waiting this long
BACKLOG = 128  # connections the system holds until a tick takes them
ACCEPT_PER_TICK = 64  # connections taken per tick (the backlog keeps the rest for the next one)
READ_PER_TICK = 8 << 20  # bytes read per tick from clients with the token, all together (a big frame takes ticks)
READ_PER_CLIENT = 2 << 20  # bytes read per tick from one client
READ_AHEAD = 64 << 10  # bytes read past a frame's end at most (the start of the next one)
SEND_CHUNK = 1 << 20
MAX_NESTING = 32  # levels of lists and objects in a call's arguments
MAX_DIGITS = 20  # of a whole number in a frame (REAPER takes 64-bit numbers at most)
LOG_LINES_PER_S = 10  # refusals logged one by one per second; the rest are counted


class RefusedError(Exception):
    """A frame or call that is not accepted: logged, answered, and the connection dropped."""


def _describe(value):
    """A short, safe description of something a client sent (for the log and the answer)."""
    if isinstance(value, (str, int, float, bool)) or value is None:
        text = repr(value) if not isinstance(value, int) or value.bit_length() <= 64 else "a huge number"
        return text if len(text) <= 80 else text[:77] + "..."
    return "a " + type(value).__name__


def resolve(function):
    """The Python function a request names, if it is allowed."""
    if isinstance(function, dict) and function.get("__callable__") is True and set(function) <= {
            "__callable__", "module_name", "name"}:
        module, name = function.get("module_name"), function.get("name")
        if isinstance(module, str) and isinstance(name, str):
            if module == REASCRIPT_MODULE and name in ALLOWED:
                found = getattr(RPR, "RPR_" + name, None)
                if found is None:
                    raise RefusedError(f"not in this REAPER: {name}")
                return found
            if module == SERVER_MODULE and name in FUNCTIONS:
                return FUNCTIONS[name]
            what = module + "." + name
            raise RefusedError("not allowed: " + (what if len(what) <= 120 else what[:117] + "..."))
    raise RefusedError("not a function reference: " + _describe(function))


def _plain(value, depth=0):
    """Arguments as plain JSON data: anything that tries to be an object (reapy's __reapy__...) is refused."""
    if depth > MAX_NESTING:
        raise RefusedError("arguments nested too deep")
    if isinstance(value, dict):
        if any(k in value for k in ("__callable__", "__reapy__", "__slice__")):
            raise RefusedError("objects are not accepted as arguments")
        return {str(k): _plain(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v, depth + 1) for v in value]
    if isinstance(value, int) and not isinstance(value, bool) and not -(1 << 63) <= value < (1 << 64):
        raise RefusedError("a number too large for REAPER")
    return value


def _arguments(given):
    """``(args, kwargs)`` of a request's ``input`` (reapy's ``{"args": [...], "kwargs": {...}}``, or null)."""
    if given is None:
        given = {}
    if not isinstance(given, dict):
        raise RefusedError("input must be an object with args and kwargs, not " + _describe(given))
    args = given.get("args")
    kwargs = given.get("kwargs")
    args = [] if args is None else args
    kwargs = {} if kwargs is None else kwargs
    if not isinstance(args, list):
        raise RefusedError("args must be a list, not " + _describe(args))
    if not isinstance(kwargs, dict):
        raise RefusedError("kwargs must be an object, not " + _describe(kwargs))
    return _plain(args), _plain(kwargs)


def _whole_number(text):
    if len(text.lstrip("-")) > MAX_DIGITS:
        raise RefusedError(f"a number of {len(text)} digits")
    return int(text)


def _decode(frame):
    """The JSON value a frame holds."""
    try:
        text = frame.decode("utf-8")
    except UnicodeDecodeError:
        raise RefusedError("a frame that is not JSON (not UTF-8 text)") from None
    try:
        return json.loads(text, parse_int=_whole_number)
    except RecursionError:
        raise RefusedError("a frame nested too deep") from None
    except ValueError:
        raise RefusedError("a frame that is not JSON") from None


def _wait_writable(sock, timeout):
    """Wait until ``sock`` takes more data, at most ``timeout`` seconds."""
    if hasattr(select, "poll"):  # select.select cannot watch descriptors past 1023
        poller = select.poll()
        poller.register(sock, select.POLLOUT)
        poller.poll(max(1, int(timeout * 1000)))
    else:
        select.select([], [sock], [], timeout)


class Connection:
    """One client: the bytes it sent that make no whole frame yet, the answers it has not taken yet.

    A client is served one request at a time: its next frame is read once the answer to
    the last one has gone out (reapy's client waits for each answer anyway). So what it
    can make the server hold is one frame in, one request queued and one answer out.
    """

    def __init__(self, sock, address, opened):
        self.sock = sock
        self.address = address
        self.opened = opened
        self.inbox = bytearray()
        self.outbox = []  # frames not sent yet; the first one from self.sent on
        self.sent = 0
        self.authenticated = False
        self.waiting = False  # a request of it is in the queue
        self.closed = False

    @property
    def idle(self):
        """Whether the server may read its next frame now."""
        return not (self.closed or self.waiting or self.outbox)

    @property
    def buffered(self):
        """Bytes the server holds for this client."""
        return len(self.inbox) + sum(len(frame) for frame in self.outbox) - self.sent

    def _length(self):
        length = int.from_bytes(self.inbox[:8], "little")
        cap = MAX_FRAME if self.authenticated else TOKEN_FRAME_MAX
        if not 0 < length <= cap:
            before = "" if self.authenticated else " before the token"
            raise RefusedError(f"a frame of {length} bytes{before} (at most {cap})")
        return length

    def wanted(self):
        """How many bytes to read next (0 or less: a whole frame is here)."""
        have = len(self.inbox)
        if have < 8:
            return READ_AHEAD if self.authenticated else 8 - have
        return 8 + self._length() - have

    def frame(self):
        """The next whole frame received, or None."""
        if len(self.inbox) < 8:
            return None
        end = 8 + self._length()
        if len(self.inbox) < end:
            return None
        frame = bytes(self.inbox[8:end])
        del self.inbox[:end]
        return frame

    def send_raw(self, payload):
        self.outbox.append(len(payload).to_bytes(8, "little") + payload)

    def send(self, data):
        """Queue one answer (it goes out in :meth:`flush`)."""
        self.send_raw(json.dumps(data, default=str).encode("utf-8"))

    def flush(self, deadline):
        """Send what the client takes until ``deadline`` (at least one try); the rest waits for the next tick."""
        while self.outbox and not self.closed:
            frame = self.outbox[0]
            try:
                self.sent += self.sock.send(memoryview(frame)[self.sent:self.sent + SEND_CHUNK])
            except (BlockingIOError, InterruptedError):
                left = deadline - time.monotonic()
                if left <= 0:
                    return
                try:
                    _wait_writable(self.sock, left)
                except (OSError, ValueError):
                    self.close()
                continue
            except OSError:
                self.close()
                return
            if self.sent >= len(frame):
                self.outbox.pop(0)
                self.sent = 0

    def close(self):
        self.closed = True
        self.inbox, self.outbox, self.sent = bytearray(), [], 0
        with contextlib.suppress(OSError):
            self.sock.close()


class Server:
    """The listening socket and its clients, driven by REAPER's defer timer."""

    def __init__(self, port=0):
        self.token = load_token()
        self.secret = self.token.encode("utf-8")
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", port))  # loopback only, always
        self.listener.listen(BACKLOG)
        self.listener.setblocking(False)
        self.port = self.listener.getsockname()[1]
        self.connections = []
        self.queue = []  # (connection, function, args, kwargs) waiting for a tick with time left
        self.turn = 0  # whose data is read first this tick
        self.log_since, self.log_lines, self.log_skipped = 0.0, 0, 0

    def publish(self):
        info = {"port": self.port, "pid": os.getpid(), "token_file": token_path(), "version": VERSION}
        path = os.path.join(_folder(), "server.json")
        tmp = path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(info, fh)
        os.replace(tmp, path)
        RPR.RPR_SetExtState("reapy", "server_port", str(self.port), False)
        log(f"listening on 127.0.0.1:{self.port}")

    def unpublish(self):
        with contextlib.suppress(OSError):
            os.unlink(os.path.join(_folder(), "server.json"))
        RPR.RPR_DeleteExtState("reapy", "server_port", False)

    @property
    def buffered(self):
        """Bytes held for all clients (received, not yet whole frames; answers not yet taken)."""
        return sum(conn.buffered for conn in self.connections)

    # -- the log: refusals one by one, up to LOG_LINES_PER_S a second, then counted
    def _note(self, message):
        now = time.monotonic()
        if now - self.log_since >= 1.0:
            self._note_skipped()
            self.log_since, self.log_lines = now, 0
        if self.log_lines < LOG_LINES_PER_S:
            self.log_lines += 1
            log(message)
        else:
            self.log_skipped += 1

    def _note_skipped(self):
        if self.log_skipped:
            log(f"... and {self.log_skipped} more refusals in that second, not logged one by one")
            self.log_skipped = 0

    def _refuse(self, conn, why):
        """Answer ``why``, log it, close the connection."""
        self._note(f"refused {conn.address}: {why}")
        with contextlib.suppress(Exception):
            conn.send({"type": "error", "traceback": f"refused by reabridge's server: {why}"})
            conn.flush(time.monotonic())  # one try: it is small, and a client that does not read loses it
        conn.close()

    # -- one tick
    def _accept(self, now):
        self.connections = [c for c in self.connections if not c.closed]
        for _ in range(ACCEPT_PER_TICK):
            try:
                sock, address = self.listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except ConnectionAbortedError:  # gone before it was taken
                continue
            except OSError as exc:  # out of file descriptors...: the backlog keeps them for a later tick
                self._note(f"could not take a connection: {exc}")
                return
            conn = Connection(sock, address, now)
            try:
                sock.setblocking(False)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                conn.send_raw(str(address).encode("ascii"))  # reapy's greeting: the client's address
            except OSError:
                conn.close()
                continue
            if len(self.connections) >= MAX_CONNECTIONS and not self._make_room(now):
                self._refuse(conn, f"busy ({MAX_CONNECTIONS} clients connected); try again in a moment")
                continue
            self.connections.append(conn)
            conn.flush(now)

    def _make_room(self, now):
        """Room for a newcomer: clients that left are noticed, tokens that came are taken, else the oldest client
        still without the token after TOKEN_GRACE_S gives way. Whether there is room now."""
        for conn in self.connections:
            if not conn.authenticated and conn.idle:
                self._take_frame(conn, 0)
        self.connections = [c for c in self.connections if not c.closed]
        if len(self.connections) < MAX_CONNECTIONS:
            return True
        oldest = next((c for c in self.connections if not c.authenticated and now - c.opened >= TOKEN_GRACE_S), None)
        if oldest is None:
            return False
        self._refuse(oldest, f"busy ({MAX_CONNECTIONS} clients connected, and a newer one came)")
        self.connections.remove(oldest)
        return True

    def _read(self, conn, allowance):
        """Read what the frame being received still lacks (within ``allowance`` with the token); bytes read."""
        got = 0
        while not conn.closed:
            size = conn.wanted()
            if conn.authenticated:
                size = min(size, allowance - got)
            if size <= 0:
                break
            try:
                data = conn.sock.recv(size)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                conn.close()
                break
            if not data:
                conn.close()
                break
            conn.inbox += data
            got += len(data)
        return got

    def _receive(self):
        """At most one frame from each client that has no request pending."""
        budget = READ_PER_TICK
        if not self.connections:
            return
        self.turn = (self.turn + 1) % len(self.connections)
        for conn in self.connections[self.turn:] + self.connections[:self.turn]:
            if conn.idle:
                budget -= self._take_frame(conn, min(budget, READ_PER_CLIENT))

    def _take_frame(self, conn, allowance):
        """Read (up to ``allowance`` bytes once it has the token) and handle one frame of a client; bytes read."""
        got = 0
        try:
            frame = conn.frame()
            if frame is None:
                got = self._read(conn, allowance)
                frame = conn.frame()
            if frame is not None:
                self._frame(conn, frame)
        except RefusedError as exc:
            self._refuse(conn, str(exc))
        except Exception as exc:  # whatever a client's data does, only that client pays for it
            self._refuse(conn, f"its data could not be handled ({type(exc).__name__})")
        return got

    def _frame(self, conn, frame):
        request = _decode(frame)
        if not conn.authenticated:
            given = request.get("token") if isinstance(request, dict) else None
            if not isinstance(given, str) or not secrets.compare_digest(
                    given.encode("utf-8", "surrogatepass"), self.secret):
                raise RefusedError("no token or a wrong token")
            conn.authenticated = True
            conn.send({"type": "result", "value": {"server": "reabridge", "version": VERSION}})
            return
        if not isinstance(request, dict) or "function" not in request:
            raise RefusedError("not a request: " + _describe(request))
        function = request["function"]
        if function == "HOLD" or function == "RELEASE":  # reapy's inside_reaper(): never hold REAPER's UI
            conn.send({"type": "result", "value": None})
            return
        target = resolve(function)
        args, kwargs = _arguments(request.get("input"))
        conn.waiting = True
        self.queue.append((conn, target, args, kwargs))

    def _expire(self, now):
        for conn in self.connections:
            if not conn.authenticated and not conn.closed and now - conn.opened > TOKEN_DEADLINE_S:
                self._refuse(conn, f"no token within {TOKEN_DEADLINE_S:g} s")

    def _run(self, started):
        done = 0
        while self.queue and done < MAX_REQUESTS_PER_TICK and time.monotonic() - started < TICK_BUDGET_S:
            conn, target, args, kwargs = self.queue.pop(0)
            done += 1
            conn.waiting = False
            if conn.closed:
                continue
            try:
                result = {"type": "result", "value": target(*args, **kwargs)}
            except Exception:
                result = {"type": "error", "traceback": traceback.format_exc()}
            try:
                conn.send(result)
            except Exception as exc:  # a value JSON cannot carry
                conn.send({"type": "error", "traceback": f"reabridge's server could not send the result ({exc})"})

    def tick(self):
        """One defer tick: a frame from each client, new clients, requests until the tick's budget is spent, answers.

        Frames are read before new clients are taken, so a client whose token is already
        here is not the one a newcomer pushes out.
        """
        started = time.monotonic()
        if self.log_skipped and started - self.log_since >= 1.0:
            self._note_skipped()
        self._receive()
        self._accept(started)
        self._expire(time.monotonic())
        self._run(started)
        deadline = max(started + TICK_BUDGET_S, time.monotonic())
        for conn in self.connections:
            if conn.outbox:
                conn.flush(deadline)
        self.connections = [c for c in self.connections if not c.closed]


SERVER = None


def run_loop():
    """REAPER calls this again and again (defer): one bounded tick each time."""
    try:
        SERVER.tick()
    except Exception:  # never let one bad moment stop the server
        log("tick failed: " + traceback.format_exc())
    finally:
        RPR.RPR_defer("run_loop()")


def main():
    global SERVER
    SERVER = Server(int(os.environ.get("REABRIDGE_SERVER_PORT", "0") or 0))
    SERVER.publish()
    RPR.RPR_atexit("SERVER.unpublish()")
    run_loop()


if __name__ == "__main__":
    main()
