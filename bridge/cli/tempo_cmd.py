"""``reabridge tempo``: tempo and beats of a file or a project item."""

from __future__ import annotations

from pathlib import Path

import typer

from bridge.cli.common import absolute, items_spec, make_request, project_mode
from bridge.errors import ReabridgeError
from bridge.requests import AnyRequest


def tempo(
    audio: Path | None = typer.Argument(None, help="Audio file."),
    project: Path | None = typer.Option(None, "--project", help="Analyse an item of this .RPP instead."),
    item: str | None = typer.Option(None, "--item", help="Project mode: GUID of the item to analyse."),
    selected: bool = typer.Option(False, "--selected", help="Project mode: the selected item."),
    apply: bool = typer.Option(False, "--apply", help="Project mode: set the project tempo."),
    tempo_map: bool = typer.Option(False, "--map", help="With --apply: a tempo map that follows the beats."),
    markers: str | None = typer.Option(None, "--markers", help="Also add markers: 'bars' or 'beats'."),
    bpm_range: tuple[float, float] | None = typer.Option(None, "--bpm-range", metavar="MIN MAX",
                                                         help="Only consider tempi in this range."),
    prefer_bpm: float | None = typer.Option(None, "--prefer-bpm", metavar="BPM",
                                            help="Lean towards this tempo (and pick its octave)."),
    tolerance: float = typer.Option(15.0, "--tolerance-ms", metavar="MS",
                                    help="With --map: how far a beat may drift from the grid before a new "
                                         "tempo point."),
    min_beats: int = typer.Option(4, "--min-beats", metavar="BEATS",
                                    help="With --map: the fewest beats between two tempo points."),
) -> AnyRequest:
    """Detect tempo (with half/double alternatives), beats, the metre and downbeats.

    Example: [bold]reabridge tempo drums.wav --json[/bold]
    or [bold]reabridge tempo --project song.RPP --item {GUID} --apply --map --markers bars[/bold]
    """
    if markers not in (None, "bars", "beats"):
        raise ReabridgeError(f"--markers must be 'bars' or 'beats', not {markers!r}")
    in_project = project_mode(audio, project, "an audio file")
    if in_project and item is None and not selected:
        raise ReabridgeError("project mode needs --item GUID (the item to analyse) or --selected")
    options = {"audio": None if in_project else absolute(audio), "apply": apply, "map": tempo_map,
               "markers": markers, "bpm_range": list(bpm_range) if bpm_range else None, "prefer_bpm": prefer_bpm,
               "tolerance_ms": tolerance, "min_beats": min_beats}
    return make_request("tempo", options, project, items_spec(project, selected, [item] if item else None, None))
