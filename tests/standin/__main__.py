"""``python -m tests.standin SONG.RPP --resource-path DIR``: the REAPER stand-in with reabridge's server.

Prints one JSON line when ready (``{"port", "token_file", "web_interface_port",
"pid"}``) and runs until SIGTERM or SIGINT, then saves the project to SONG.RPP.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
from pathlib import Path

from tests.standin.host import REAPER_TICK, StandIn


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.standin", description=__doc__)
    parser.add_argument("project", type=Path, help="the .RPP to open")
    parser.add_argument("--resource-path", type=Path, required=True, help="stands for REAPER's resource path")
    parser.add_argument("--tick", type=float, default=REAPER_TICK, help="seconds between defer ticks")
    args = parser.parse_args()
    stand_in = StandIn(args.project.absolute(), args.resource_path.absolute(), args.tick)
    stand_in.load_script()
    stopping = {"now": False}

    def stop(signum: int, frame: object) -> None:
        stopping["now"] = True
        stand_in._stop.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(json.dumps({"port": stand_in.port, "token_file": str(stand_in.token_file),
                      "web_interface_port": stand_in.web.server_address[1], "pid": os.getpid()}), flush=True)
    stand_in.run()
    stand_in.stop(save=True)


if __name__ == "__main__":
    main()
