"""``reabridge tempo``: tempo and beats of a file or a project item."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console

from bridge.audio.reader import read_audio
from bridge.cli.common import request_id
from bridge.errors import ReabridgeError
from bridge.session.rpp_file import RppFileSession


def tempo(
    audio: Path | None = typer.Argument(None, help="Audio file."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object: bpm, confidence, beats, alternatives."),
    project: Path | None = typer.Option(None, "--project", help="Analyse an item of this .RPP instead."),
    item: str | None = typer.Option(None, "--item", help="Project mode: GUID of the item to analyse."),
    apply: bool = typer.Option(False, "--apply", help="Project mode: set the project tempo."),
    tempo_map: bool = typer.Option(False, "--map", help="With --apply: a tempo map that follows the beats."),
    markers: str | None = typer.Option(None, "--markers", help="Also add markers: 'bars' or 'beats'."),
) -> None:
    """Detect tempo (with half/double alternatives) and beat times.

    Example: [bold]reabridge tempo drums.wav --json[/bold]
    or [bold]reabridge tempo --project song.RPP --item {GUID} --apply --map --markers bars[/bold]
    """
    from bridge.tempo.detect import TempoDetector

    if markers not in (None, "bars", "beats"):
        raise ReabridgeError(f"--markers must be 'bars' or 'beats', not {markers!r}")
    out = Console(highlight=False)
    if project is not None:
        if item is None:
            raise ReabridgeError("project mode needs --item GUID (the item to analyse)")
        from bridge.jobs.tempo import detect_item_tempo

        session = RppFileSession(project)
        job = detect_item_tempo(session.project, item, request_id("tempo"), tempo_map, markers)
        _print(job.result, as_json, out, beats=job.project_beats)
        if apply or markers:
            if not apply:
                job.changes = type(job.changes)(job.changes.id, tuple(o for o in job.changes.ops
                                                                       if o.kind != "set_tempo"))
            session.apply(job.changes)
            if not as_json:
                out.print(f"updated {project} ({len(job.changes.ops)} changes; previous version: {project.name}-bak)")
        return
    if audio is None:
        raise ReabridgeError("give an audio file, or --project SONG.RPP --item GUID")
    samples, info = read_audio(audio, mono=True)
    result = TempoDetector().detect(samples, info.sample_rate)
    _print(result, as_json, out)


def _print(result, as_json: bool, out: Console, beats: list[float] | None = None) -> None:
    data = result.to_dict()
    if beats is not None:
        data["beats"] = [round(b, 4) for b in beats]
    if as_json:
        typer.echo(json.dumps(data))
        return
    alts = ", ".join(f"{a['bpm']:.1f} ({a['score']:.2f})" for a in data["alternatives"])
    out.print(f"[bold]{data['bpm']:.2f} BPM[/bold] (confidence {data['confidence']:.2f}); alternatives: {alts}")
    shown = data["beats"][:16]
    more = f" ... ({len(data['beats'])} beats)" if len(data["beats"]) > 16 else ""
    out.print("beats: " + " ".join(f"{b:.3f}" for b in shown) + more)
    out.print(f"analysis {data['timing']['analysis_s']:.2f} s, one-off warm-up {data['timing']['warmup_s']:.2f} s")


def register(app: typer.Typer) -> None:
    """Add the command to the root app."""
    app.command("tempo")(tempo)
