"""``reabridge stems``: vocals and accompaniment from a song (Spleeter's 2-stem model), from a file or into tracks."""

from __future__ import annotations

from pathlib import Path

import typer

from bridge.cli.common import OVERWRITE, absolute, items_spec, make_request, project_mode
from bridge.requests import AnyRequest


def stems(
    audio: Path | None = typer.Argument(None, help="Audio file (WAV, FLAC, AIFF, OGG, MP3; mono or stereo, any "
                                                   "rate)."),
    output: Path | None = typer.Option(None, "--out", "-o", "--output", metavar="DIR",
                                       help="Folder for vocals.wav and accompaniment.wav (made if missing; default: "
                                            "AUDIO-stems beside the file)."),
    overwrite: bool = OVERWRITE,
    fmt: str | None = typer.Option(None, "--format", metavar="16|24|32f",
                                   help="Sample format of the stems (default: the input's, else 32-bit float)."),
    project: Path | None = typer.Option(None, "--project", help="Split items of this .RPP instead."),
    selected: bool = typer.Option(False, "--selected", help="Project mode: the selected items."),
    item: list[str] | None = typer.Option(None, "--item", help="Project mode: item GUID (repeatable)."),
    track: list[str] | None = typer.Option(None, "--track", help="Project mode: all items of this track."),
) -> AnyRequest:
    """Split a song into vocals and accompaniment with Deezer Spleeter's pretrained 2-stem model (no TensorFlow).

    Writes DIR/vocals.wav and DIR/accompaniment.wav at the input's sample rate, channel count and length,
    sample-aligned (a mono file gives mono stems). Like Spleeter's, both stems stop at 11 kHz. Long files
    stream in 12-second segments. In project mode each item's stems go on two tracks under its track,
    'Vocals (split)' and 'Accompaniment (split)', at the item's position; the original item is muted, and
    running it again replaces the stems.

    Example: [bold]reabridge stems song.wav --out song-stems/[/bold]
    or [bold]reabridge stems --project song.RPP --selected[/bold]
    """
    in_project = project_mode(audio, project, "an audio file")
    options = {"audio": None if in_project else absolute(audio), "output": absolute(output), "overwrite": overwrite,
               "format": fmt}
    return make_request("stems", options, project, items_spec(project, selected, item, track))
