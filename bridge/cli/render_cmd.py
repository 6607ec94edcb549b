"""``reabridge render``: a project's mix without REAPER."""

from __future__ import annotations

from pathlib import Path

import typer

from bridge.cli.common import OVERWRITE, absolute, make_request
from bridge.requests import AnyRequest


def render(
    project: Path = typer.Argument(..., help="The .RPP to render (it is only read)."),
    output: Path | None = typer.Option(None, "-o", "--output", help="The mix (default: SONG.wav beside the project; "
                                       "the container follows the extension)."),
    overwrite: bool = OVERWRITE,
    start: float | None = typer.Option(None, "--start", help="Start, seconds (default: the project start)."),
    end: float | None = typer.Option(None, "--end", help="End, seconds (default: the end of the last item)."),
    region: str | None = typer.Option(None, "--region", help="Render this region (by name)."),
    missing: str = typer.Option("fail", "--missing", help="What cannot be rendered (plug-ins, MIDI, automation): "
                                "fail (default, listing it) or skip."),
    report: Path | None = typer.Option(None, "--report", help="Write what was rendered, skipped and approximated "
                                       "(JSON)."),
    fmt: str | None = typer.Option(None, "--format", help="16, 24 or 32f (default: 32-bit float)."),
    sample_rate: int | None = typer.Option(None, "--sample-rate", help="Render rate (default: the project's)."),
    effects_dir: list[Path] | None = typer.Option(None, "--effects-dir", help="Where JS effects are (REAPER's "
                                                   "Effects folder; repeatable)."),
    resource_path: Path | None = typer.Option(None, "--resource-path", help="REAPER's resource path (its Effects "
                                              "folder is searched)."),
    force: bool = typer.Option(False, "--force", help="Render even past a day of audio or the free disk space "
                               "(reabridge refuses those by default)."),
    timeout: float | None = typer.Option(None, "--timeout", help="Stop after this many seconds, writing nothing "
                                         "(default: no limit; the daemon's applies there)."),
) -> AnyRequest:
    """Render a project's mix to an audio file, without REAPER.

    Example: [bold]reabridge render song.RPP -o mix.wav --report render.json[/bold]
    """
    return make_request("render", {
        "project_file": absolute(project), "output": absolute(output), "overwrite": overwrite, "start": start,
        "end": end, "region": region, "missing": missing, "report": absolute(report), "format": fmt,
        "sample_rate": sample_rate, "effects_dirs": [absolute(d) for d in effects_dir or []] or None,
        "resource_path": absolute(resource_path), "force": force or None, "timeout": timeout})

