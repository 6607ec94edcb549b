"""``reabridge speakers``: who speaks when in a file, or in a project item (``--split``: a track per speaker)."""

from __future__ import annotations

from pathlib import Path

import typer

from bridge.cli.common import OVERWRITE, absolute, items_spec, make_request, project_mode
from bridge.errors import ReabridgeError
from bridge.requests import AnyRequest

MOST = 20  #: the largest count a request takes


def speaker_count(text: str | None) -> int | str | None:
    """``--speakers``: ``auto`` (or nothing) finds the count; otherwise a number from 1 to 20."""
    if text is None or text.strip().lower() == "auto":
        return None
    try:
        count = int(text)
    except ValueError:
        raise ReabridgeError(f"--speakers must be 'auto' or a number of speakers, not {text!r}") from None
    if not 1 <= count <= MOST:
        raise ReabridgeError(f"--speakers must be 'auto' or a number of speakers from 1 to {MOST}, not {count}")
    return count


def speakers(
    audio: Path | None = typer.Argument(None, help="Audio file (WAV, FLAC, OGG/Opus, MP3; any sample rate)."),
    count: str | None = typer.Option(None, "--speakers", metavar="auto|N",
                                     help="How many people speak: 'auto' (default) finds it, or a number."),
    min_speakers: int = typer.Option(1, "--min-speakers", metavar="A", help="With auto: at least this many."),
    max_speakers: int = typer.Option(8, "--max-speakers", metavar="B", help="With auto: at most this many."),
    output: Path | None = typer.Option(None, "-o", "--output", help="Write the turns as an RTTM file."),
    overwrite: bool = OVERWRITE,
    project: Path | None = typer.Option(None, "--project", help="Work on an item of this .RPP instead."),
    item: str | None = typer.Option(None, "--item", help="Project mode: GUID of the item."),
    selected: bool = typer.Option(False, "--selected", help="Project mode: the selected item."),
    split: bool = typer.Option(False, "--split", help="Project mode: one track per speaker holding copies of the "
                                                      "item trimmed to their turns; the original is muted."),
) -> AnyRequest:
    """Find who speaks when (speaker diarization), offline.

    Prints RTTM lines (or writes them with -o); --json prints {"segments": [{"start", "end", "speaker"}]}.

    Example: [bold]reabridge speakers interview.wav --json[/bold]
    or [bold]reabridge speakers --project podcast.RPP --item {GUID} --split[/bold]
    """
    fixed = speaker_count(count)
    if fixed is not None and (min_speakers != 1 or max_speakers != 8):
        raise ReabridgeError("give --speakers N, or --min-speakers/--max-speakers with auto, not both")
    in_project = project_mode(audio, project, "an audio file")
    if in_project and item is None and not selected:
        raise ReabridgeError("project mode needs --item GUID (the item to work on) or --selected")
    if split and not in_project:
        raise ReabridgeError("--split works on a project item: add --project SONG.RPP --item GUID")
    options = {"audio": None if in_project else absolute(audio), "output": absolute(output), "overwrite": overwrite,
               "speakers": fixed, "min_speakers": min_speakers, "max_speakers": max_speakers, "split": split}
    return make_request("speakers", options, project, items_spec(project, selected, [item] if item else None, None))
