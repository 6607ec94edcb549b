"""REAPER's Lua ReaScript API over the stand-in, in a real Lua 5.4 (lupa embeds the reference interpreter).

The ``reaper`` table the actions see follows REAPER's Lua calling conventions: a
function with out-parameters returns its value and then the outputs
(``local ok, chunk = reaper.GetTrackStateChunk(track, "", false)``), buffers
are not passed (``reaper.GetProjExtState(proj, section, key)``), NULL pointers
are ``nil``. Every call goes to :class:`tests.standin.reaper.FakeReaper`, which
checks arguments as REAPER's wrappers do. A function that is neither in the
stand-in nor one of the user-interface calls below does not exist: calling it
raises a Lua error naming it.

User-interface calls (message boxes, dialogs, file pickers, menus) answer from
queues the test fills, and fail when the test did not expect them; ``gfx`` is a
recording stub; ``reaper.defer`` queues Lua functions that :meth:`LuaReaper.run`
calls in REAPER's defer rhythm; ``reaper.ExecProcess`` records the command line
and, when the test set :attr:`LuaReaper.on_exec`, runs it.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import lupa.lua54 as lupa

from tests.standin.reaper import FakeReaper

BIG = 1 << 22  # buffer sizes REAPER's Lua wrappers pass for strings they return
_NULL = re.compile(r"^\(\w+\*\)0x0+$")

#: Lua name -> (Python arguments from the Lua ones, which Python results Lua gets (None: the whole value))
CONVENTIONS: dict[str, tuple[Callable[..., tuple[Any, ...]], tuple[int, ...] | None]] = {
    "EnumProjects": (lambda idx: (idx, "", 4096), (0, 2)),
    "GetProjExtState": (lambda p, s, k: (p, s, k, "", BIG), (0, 4)),
    "EnumProjExtState": (lambda p, s, i: (p, s, i, "", 4096, "", BIG), (0, 4, 6)),
    "GetProjectPathEx": (lambda p: (p, "", 4096), (1,)),
    "GetTrackStateChunk": (lambda t, s, u: (t, s, BIG, u), (0, 2)),
    "GetItemStateChunk": (lambda i, s, u: (i, s, BIG, u), (0, 2)),
    "GetSetMediaItemInfo_String": (lambda i, parm, v, is_set: (i, parm, v, is_set), (0, 3)),
    "GetSetProjectInfo_String": (lambda p, d, v, is_set: (p, d, v, is_set), (0, 3)),
    "CountProjectMarkers": (lambda p: (p, 0, 0), (0, 2, 3)),
    "EnumProjectMarkers3": (lambda p, i: (p, i, False, 0.0, 0.0, "", 0, 0), (0, 3, 4, 5, 6, 7, 8)),
    "GetProjectTimeSignature2": (lambda p: (p, 0.0, 0.0), (1, 2)),
    "GetTempoTimeSigMarker": (lambda p, i: (p, i, 0.0, 0, 0.0, 0.0, 0, 0, False), (0, 3, 4, 5, 6, 7, 8, 9)),
    "MIDI_CountEvts": (lambda t: (t, 0, 0, 0), (0, 2, 3, 4)),
    "GetTakeMarker": (lambda t, i: (t, i, "", BIG, 0), (0, 3, 5)),
}

GFX = """
local calls, drawn = ...
gfx = {w = 360, h = 70, x = 0, y = 0}
function gfx.init(...) calls("gfx.init") return 1 end
function gfx.quit() calls("gfx.quit") end
function gfx.set() end
function gfx.rect() end
function gfx.update() end
function gfx.drawstr(s) drawn(s) end
function gfx.getchar() return 0 end
function gfx.screentoclient(x, y) return x, y end
"""


class UnexpectedDialogError(AssertionError):
    """An action asked the user something the test did not answer."""


class LuaReaper:
    """A Lua 5.4 state with REAPER's ``reaper`` table over a :class:`FakeReaper`.

    Parameters
    ----------
    fake : FakeReaper
    lock : context manager, optional
        Held around every call into the fake (the stand-in's server thread shares it).
    """

    def __init__(self, fake: FakeReaper, lock: Any = None) -> None:
        self.fake = fake
        self.lock = lock if lock is not None else contextlib.nullcontext()
        self.lua = lupa.LuaRuntime(unpack_returned_tuples=True, register_eval=False)
        self.calls: list[str] = []
        self.messages: list[str] = []
        self.drawn: list[str] = []
        self.commands: list[str] = []
        self.answers: dict[str, list[Any]] = {"ShowMessageBox": [], "GetUserInputs": [],
                                              "GetUserFileNameForRead": [], "showmenu": []}
        self.on_exec: Callable[[list[str]], None] | None = None
        self.deferred: list[Any] = []
        self._guids = 0
        module = fake.module()
        impl: dict[str, Callable[..., Any]] = {}
        for name in dir(module):
            if name.startswith("RPR_"):
                impl[name[4:]] = self._wrap(name[4:], getattr(module, name))
        impl.update({name: self._record(name, fn) for name, fn in self._ui().items()})
        self.lua.execute(GFX, self._gfx_call, self.drawn.append)
        self.lua.globals().gfx.showmenu = self._showmenu
        table = self.lua.table_from(impl)
        self._impl = table
        self.skew = 0.0  # seconds added to reaper.time_precise (a test makes time pass)
        make = self.lua.eval("""function(impl)
          return setmetatable({}, {__index = function(_, name)
            local f = impl[name]
            if f == nil then error("reaper." .. tostring(name) .. " does not exist (not in REAPER's API, or not in "
              .. "the stand-in)", 2) end
            return f
          end, __newindex = function() error("the reaper table is read-only", 2) end})
        end""")
        self.lua.globals().reaper = make(table)

    # -- the calls ----------------------------------------------------------------------------
    def _wrap(self, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        convention = CONVENTIONS.get(name)

        def call(*args: Any) -> Any:
            self.calls.append(name)
            py_args = convention[0](*args) if convention else args
            with self.lock:
                result = fn(*py_args)
            if convention is not None and convention[1] is not None:
                picked = tuple(_nil(result[i]) for i in convention[1])
                return picked if len(picked) > 1 else picked[0]
            return _nil(result)

        return call

    def _record(self, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any) -> Any:
            self.calls.append(name)
            return fn(*args)

        return call

    def _gfx_call(self, name: str) -> None:
        self.calls.append(name)

    def _answer(self, kind: str, what: str) -> Any:
        if not self.answers[kind]:
            raise UnexpectedDialogError(f"the action asked {what!r} and the test had no answer")
        return self.answers[kind].pop(0)

    def _showmenu(self, entries: str) -> int:
        self.calls.append("gfx.showmenu")
        self.drawn.append(entries)
        return int(self._answer("showmenu", entries))

    def _ui(self) -> dict[str, Callable[..., Any]]:
        def show_message_box(msg: str, title: str, kind: int) -> int:
            self.messages.append(msg)
            return int(self._answer("ShowMessageBox", msg)) if kind != 0 else 1

        def get_user_inputs(title: str, n: int, captions: str, defaults: str) -> tuple[bool, str]:
            answer = self._answer("GetUserInputs", f"{title}: {captions} [{defaults}]")
            return (False, defaults) if answer is None else (True, answer)

        def get_file(initial: str, title: str, ext: str) -> tuple[bool, str]:
            answer = self._answer("GetUserFileNameForRead", f"{title} (last: {initial})")
            return (False, initial) if answer is None else (True, str(answer))

        def gen_guid(_: str) -> str:
            self._guids += 1
            return "{" + str(uuid.UUID(int=(0xC0FFEE << 96) | self._guids)).upper() + "}"

        def recursive_create_directory(path: str, _: int) -> int:
            os.makedirs(path, exist_ok=True)
            return 1

        def exec_process(cmdline: str, timeout: int) -> str | None:
            self.commands.append(cmdline)
            if self.on_exec is not None:
                self.on_exec(shlex.split(cmdline))  # the arguments as REAPER would split them
            return "0\n"

        def enumerate_files(path: str, idx: int) -> str | None:
            try:
                names = sorted(e.name for e in os.scandir(path) if e.is_file())
            except OSError:
                return None
            return names[idx] if 0 <= idx < len(names) else None

        def defer(fn: Any) -> bool:
            self.deferred.append(fn)
            return True

        return {"ShowMessageBox": show_message_box, "GetUserInputs": get_user_inputs,
                "GetUserFileNameForRead": get_file, "genGuid": gen_guid,
                "RecursiveCreateDirectory": recursive_create_directory, "ExecProcess": exec_process,
                "EnumerateFiles": enumerate_files, "defer": defer, "time_precise": lambda: time.monotonic() + self.skew,
                "GetMousePosition": lambda: (100, 100), "file_exists": lambda path: os.path.isfile(path)}

    def override(self, name: str, fn: Callable[..., Any]) -> None:
        """Make ``reaper.NAME`` answer differently (an unsaved project, say)."""
        self._impl[name] = self._record(name, fn)

    # -- running scripts ----------------------------------------------------------------------
    def run_file(self, path: Path) -> None:
        """Run a script as REAPER runs an action (``dofile``: the script knows its own path)."""
        self.lua.globals().dofile(str(path))

    def run(self, timeout: float = 120.0, tick: float = 0.01, until: Callable[[], bool] | None = None) -> None:
        """Call deferred functions in rounds until none is left (or ``until()``), as REAPER's timer does."""
        deadline = time.monotonic() + timeout
        while self.deferred:
            if until is not None and until():
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"the action still defers after {timeout:.0f} s")
            pending, self.deferred = self.deferred, []
            for fn in pending:
                fn()
            time.sleep(tick)

    def pin(self, request_id: str, created: str = "2026-01-01T00:00:00Z") -> None:
        """Fix the library's next request id and time (two runs that must agree byte for byte)."""
        g = self.lua.globals()
        if not g["__pinned"]:
            self.lua.execute("""
              __pinned = true
              local real_dofile = dofile
              function dofile(path)
                local rb = real_dofile(path)
                if type(rb) == "table" and rb.new_id then
                  local made = 0
                  rb.new_id = function(job)  -- the pinned id, then id-2, id-3... for an action's later requests
                    made = made + 1
                    local id = __pinned_id or job
                    return made == 1 and id or (id .. "-" .. made)
                  end
                  local real_request = rb.request
                  rb.request = function(...)
                    local request, why = real_request(...)
                    if request and __pinned_created then request.created = __pinned_created end
                    return request, why
                  end
                end
                return rb
              end
            """)
        g["__pinned_id"] = request_id
        g["__pinned_created"] = created


def _nil(value: Any) -> Any:
    return None if isinstance(value, str) and _NULL.match(value) else value
