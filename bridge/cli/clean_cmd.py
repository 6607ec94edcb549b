"""``reabridge clean``: noise, hum, clicks and room reverb, from a file or into new takes."""

from __future__ import annotations

from pathlib import Path

import typer

from bridge.cli.common import OVERWRITE, absolute, items_spec, make_request, project_mode
from bridge.requests import AnyRequest


def clean(
    audio: Path | None = typer.Argument(None, help="Audio file (WAV, FLAC, AIFF, OGG, MP3; any rate, any channels)."),
    output: Path | None = typer.Option(None, "-o", "--output", help="Output file (default: AUDIO-clean.wav)."),
    overwrite: bool = OVERWRITE,
    denoise: str = typer.Option("voice", "--denoise", metavar="voice|broadband|off",
                                help="voice: RNNoise with a statistical estimator (speech); broadband: a spectral "
                                     "gate against a learned noise profile (music-safe); off."),
    strength: float = typer.Option(0.5, "--strength", metavar="0..1",
                                   help="How far the noise goes down: 40 dB times this (0.5: 20 dB)."),
    dehum: str = typer.Option("auto", "--dehum", metavar="auto|50|60|off",
                              help="Mains hum and its harmonics: found between 45 and 65 Hz (auto), or at 50/60 Hz."),
    declick: bool = typer.Option(True, "--declick/--no-declick", help="Repair mouth clicks, vinyl ticks and "
                                                                      "digital clicks (on by default)."),
    dereverb: bool = typer.Option(False, "--dereverb", help="Reduce room reverberation (WPE)."),
    loudness: float | None = typer.Option(None, "--loudness", metavar="LUFS",
                                          help="Bring the result to this integrated loudness (-16 for podcasts), "
                                               "true peak at most -1 dBTP."),
    noise_from: tuple[float, float] | None = typer.Option(None, "--noise-from", metavar="START END",
                                                          help="Learn the noise from this stretch (seconds; in "
                                                               "project mode, of the item)."),
    noise_item: str | None = typer.Option(None, "--noise-item", metavar="GUID",
                                          help="Project mode: learn the noise from this item (the noise alone)."),
    report: Path | None = typer.Option(None, "--report", metavar="DIR",
                                       help="Write clean-report.json and clean-report.png (before, after, "
                                            "difference) into DIR."),
    preview: float | None = typer.Option(None, "--preview", metavar="SECONDS",
                                         help="Clean only the first SECONDS (of the first item) into -o; the project "
                                              "is not changed."),
    project: Path | None = typer.Option(None, "--project", help="Clean items of this .RPP instead."),
    selected: bool = typer.Option(False, "--selected", help="Project mode: the selected items."),
    item: list[str] | None = typer.Option(None, "--item", help="Project mode: item GUID (repeatable)."),
    track: list[str] | None = typer.Option(None, "--track", help="Project mode: all items of this track."),
) -> AnyRequest:
    """Clean up a recording: de-hum -> de-click -> denoise -> de-reverb -> loudness (always in this order).

    With no stage options it runs the voice chain: --denoise voice, --dehum auto, --declick. The output
    has the input's sample rate, channels and length, sample for sample. In project mode each item gets a
    new active take named after the stages ('Cleaned (denoise, dehum, declick)'); running it again
    replaces that take and starts from the original one.

    Example: [bold]reabridge clean interview.wav -o interview-clean.wav --report report/[/bold]
    or [bold]reabridge clean --project podcast.RPP --track Host --dereverb --loudness -16[/bold]
    """
    in_project = project_mode(audio, project, "an audio file")
    options = {"audio": None if in_project else absolute(audio), "output": absolute(output), "overwrite": overwrite,
               "denoise": denoise, "strength": strength, "dehum": dehum, "declick": declick, "dereverb": dereverb,
               "loudness": loudness, "noise_from": list(noise_from) if noise_from else None, "noise_item": noise_item,
               "report": absolute(report), "preview": preview}
    return make_request("clean", options, project, items_spec(project, selected, item, track))
