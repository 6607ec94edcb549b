"""A stand-in for REAPER's command line (``reaper -renderproject FILE``): NOT REAPER.

It checks the render settings reabridge put in the copy it is given, then writes
the mix where ``RENDER_FILE`` says, rendered by reabridge's offline renderer (so the
batch sees real audio). ``STANDIN_REAPER_MODE`` makes it misbehave: ``fail`` (exit
code 3 with a message), ``hang`` (sleep), ``nothing`` (exit 0 without a file).
Every command line it gets is appended to ``STANDIN_REAPER_LOG``.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path


def main(argv: list[str]) -> int:
    log = os.environ.get("STANDIN_REAPER_LOG")
    if log:
        with open(log, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(argv) + "\n")
    mode = os.environ.get("STANDIN_REAPER_MODE", "ok")
    if "-renderproject" not in argv:
        print("stand-in: only -renderproject is supported", file=sys.stderr)
        return 2
    project = Path(argv[argv.index("-renderproject") + 1])
    if mode == "hang":
        time.sleep(600)
    if mode == "fail":
        print("stand-in: could not open the audio device", file=sys.stderr)
        return 3
    from bridge import rpp
    from bridge.fileio import Outputs
    from bridge.render import render_project

    root = rpp.load(project)
    cfg = root.chunk("RENDER_CFG")
    assert cfg is not None and cfg.children[0].tokens == ["ZXZhdxgAAA=="], "not a 24-bit WAV"
    assert root.values("RENDER_RANGE")[:1] == ["1"], "not the whole project"
    assert root.values("RENDER_STEMS") == ["0"], "not the master mix"
    if mode == "nothing":
        return 0
    target = Path(root.values("RENDER_FILE")[0])
    with Outputs(overwrite=True) as outputs:
        render_project(project, target, outputs=outputs, subtype="PCM_24", missing="skip")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
