"""Running ``reaper_scripts/reabridge_server.py`` inside the stand-in, as REAPER runs a ReaScript."""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Any

from bridge.assets import reaper_scripts_dir
from tests.standin import webif
from tests.standin.reaper import FakeReaper

#: REAPER runs deferred script code about 30 times a second
REAPER_TICK = 0.033


class StandIn:
    """A project open in the stand-in, with reabridge's server script running in it.

    Parameters
    ----------
    project : Path
        The ``.RPP`` to open (saved back by :meth:`stop`).
    resource_path : Path
        Stands for REAPER's resource path (the server keeps its token and port there).
    tick : float
        Seconds between defer ticks (REAPER's is about 0.033).
    """

    def __init__(self, project: Path, resource_path: Path, tick: float = REAPER_TICK) -> None:
        self.reaper = FakeReaper(project, resource_path)
        self.tick = tick
        self.lock = threading.Lock()
        self.namespace: dict[str, Any] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.web = None

    @property
    def port(self) -> int:
        """The port reabridge's server listens on."""
        return int(self.namespace["SERVER"].port)

    @property
    def token_file(self) -> Path:
        return Path(self.reaper.resource_path) / "reabridge" / "server.token"

    def load_script(self) -> None:
        """Run the server script's top level, as REAPER does when the action starts."""
        Path(self.reaper.resource_path).mkdir(parents=True, exist_ok=True)
        sys.modules["reaper_python"] = self.reaper.module()
        script = reaper_scripts_dir() / "reabridge_server.py"
        self.namespace = {"__name__": "__main__", "__file__": str(script)}
        with self.lock:
            exec(compile(script.read_text(encoding="utf-8"), str(script), "exec"), self.namespace)
        self.web = webif.serve(self.reaper, self.lock)

    def tick_once(self) -> None:
        """One pass of REAPER's defer timer."""
        with self.lock:
            pending, self.reaper.deferred = self.reaper.deferred, []
            for code in pending:
                exec(code, self.namespace)

    def run(self) -> None:
        """The defer loop, until :meth:`stop`."""
        while not self._stop.is_set():
            started = time.monotonic()
            self.tick_once()
            time.sleep(max(0.0, self.tick - (time.monotonic() - started)))

    def _unstick(self) -> None:
        """Shut the server's client sockets down from outside (a send or receive blocked on one returns)."""
        server = self.namespace.get("SERVER")
        for conn in list(getattr(server, "connections", [])):
            with contextlib.suppress(OSError):
                conn.sock.shutdown(socket.SHUT_RDWR)

    def start(self) -> StandIn:
        """Load the script and run the loop in a thread (for tests in this process)."""
        self.load_script()
        self._thread = threading.Thread(target=self.run, daemon=True)
        self._thread.start()
        return self

    def stop(self, save: bool = True) -> None:
        """Stop the loop, run the script's atexit code, close the project (saving it)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        if not self.lock.acquire(timeout=5):  # the script is stuck inside a tick (REAPER would hang): unstick it,
            self._unstick()  # so that a test fails instead of waiting forever
            self.lock.acquire()
        try:
            for code in self.reaper.at_exit:
                exec(code, self.namespace)
            server = self.namespace.get("SERVER")
            if server is not None:
                for conn in server.connections:
                    conn.close()
                server.listener.close()
        finally:
            self.lock.release()
        if self.web is not None:
            self.web.shutdown()
            self.web.server_close()
        if save:
            self.reaper.save()
