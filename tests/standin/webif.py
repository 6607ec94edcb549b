"""REAPER's web interface, as far as reapy uses it: reading and setting global ext state.

reapy finds its server by asking the web interface for ext state
``reapy/server_port`` (``GET /_/GET/EXTSTATE/reapy/server_port``); REAPER
answers ``EXTSTATE\\treapy\\tserver_port\\t<value>\\n``. This serves that on
loopback, from the stand-in's global ext state.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote

from tests.standin.reaper import FakeReaper


def serve(reaper: FakeReaper, lock: threading.Lock) -> ThreadingHTTPServer:
    """Start the web interface on a free loopback port (in a thread); returns the server."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = [unquote(p) for p in self.path.split("/")]
            # /_/GET/EXTSTATE/<section>/<key>  or  /_/SET/EXTSTATE/<section>/<key>/<value>
            if len(parts) >= 6 and parts[1] == "_" and parts[3] == "EXTSTATE":
                section, key = parts[4], parts[5]
                with lock:
                    if parts[2] == "SET" and len(parts) >= 7:
                        reaper.global_ext[(section, key)] = parts[6]
                    value = reaper.global_ext.get((section, key), "")
                body = f"EXTSTATE\t{section}\t{key}\t{value}\n".encode()
                self.send_response(200)
            else:
                body = b"not in the stand-in's web interface\n"
                self.send_response(404)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
