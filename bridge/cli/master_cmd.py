"""``reabridge master``: master a mix to a preset's loudness targets."""

from __future__ import annotations

from pathlib import Path

import typer

from bridge.cli.common import OVERWRITE, absolute, items_spec, make_request, project_mode
from bridge.errors import ReabridgeError
from bridge.requests import AnyRequest


def master(
    mix: Path | None = typer.Argument(None, help="The mix to master (any rate, mono or stereo)."),
    output: Path | None = typer.Option(None, "-o", "--output", help="Master file (default: MIX-master.wav)."),
    overwrite: bool = OVERWRITE,
    preset: str | None = typer.Option(None, "--preset", help="streaming, apple, club, podcast or gentle."),
    preset_file: Path | None = typer.Option(None, "--preset-file", help="Your own preset (TOML)."),
    target_lufs: float | None = typer.Option(None, "--target-lufs", help="Override the integrated loudness target."),
    ceiling: float | None = typer.Option(None, "--ceiling", help="Override the true-peak ceiling (dBTP)."),
    reference: Path | None = typer.Option(None, "--reference", help="Match this track's tonal balance and loudness."),
    report: Path | None = typer.Option(None, "--report", help="Folder for master-report.json and .png."),
    fmt: str | None = typer.Option(None, "--format", help="16, 24 or 32f (default: as the mix; 16 is dithered)."),
    sample_rate: int | None = typer.Option(None, "--sample-rate", help="Output rate (default: as the mix)."),
    project: Path | None = typer.Option(None, "--project", help="Master items of this .RPP instead."),
    selected: bool = typer.Option(False, "--selected", help="Project mode: the selected items."),
    item: list[str] | None = typer.Option(None, "--item", help="Project mode: item GUID (repeatable)."),
    insert_jsfx: bool = typer.Option(False, "--insert-jsfx", help="Project mode: put the analysed chain on the "
                                     "master track as a JSFX you can tweak, instead of rendering a take."),
    resource_path: Path | None = typer.Option(None, "--resource-path", help="REAPER's resource path (for "
                                              "--insert-jsfx; default: this platform's)."),
) -> AnyRequest:
    """Master a mix to a loudness target (LUFS) under a true-peak ceiling, with a report.

    Example: [bold]reabridge master mix.wav -o master.wav --preset streaming --report report/[/bold]
    or [bold]reabridge master --project song.RPP --selected --preset apple[/bold]
    """
    choice = {"preset": preset, "preset_file": absolute(preset_file), "target_lufs": target_lufs, "ceiling": ceiling}
    in_project = project_mode(mix, project, "a mix to master")
    if insert_jsfx:
        if not in_project:
            raise ReabridgeError("--insert-jsfx works in project mode (--project SONG.RPP)")
        return make_request("master_jsfx", {**choice, "resource_path": absolute(resource_path)}, project,
                            items_spec(project, selected, item, None))
    options = {**choice, "mix": None if in_project else absolute(mix), "output": absolute(output),
               "overwrite": overwrite,
               "reference": absolute(reference), "report": absolute(report), "format": fmt,
               "sample_rate": sample_rate}
    return make_request("master", options, project, items_spec(project, selected, item, None))


def master_jsfx(
    project: Path = typer.Option(..., "--project", help="The .RPP whose master track gets the chain."),
    selected: bool = typer.Option(False, "--selected", help="The selected item holds the mix."),
    item: str | None = typer.Option(None, "--item", help="GUID of the item holding the mix."),
    preset: str | None = typer.Option(None, "--preset", help="streaming, apple, club, podcast or gentle."),
    preset_file: Path | None = typer.Option(None, "--preset-file", help="Your own preset (TOML)."),
    target_lufs: float | None = typer.Option(None, "--target-lufs", help="Override the integrated loudness target."),
    ceiling: float | None = typer.Option(None, "--ceiling", help="Override the true-peak ceiling (dBTP)."),
    resource_path: Path | None = typer.Option(None, "--resource-path", help="REAPER's resource path."),
    bypass: bool = typer.Option(False, "--bypass", help="Add the chain bypassed."),
) -> AnyRequest:
    """Analyse the mix item and put the mastering chain on the master track as a JSFX.

    Example: [bold]reabridge submit master_jsfx --project song.RPP --selected --preset streaming[/bold]
    """
    options = {"preset": preset, "preset_file": absolute(preset_file), "target_lufs": target_lufs,
               "ceiling": ceiling, "resource_path": absolute(resource_path), "bypass": bypass}
    return make_request("master_jsfx", options, project, items_spec(project, selected, [item] if item else None,
                                                                      None))
