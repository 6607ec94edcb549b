"""``reabridge tune``: pitch correction of a solo voice or instrument, from a file or into new takes."""

from __future__ import annotations

import re
from pathlib import Path

import typer

from bridge.cli.common import OVERWRITE, absolute, items_spec, make_request, project_mode
from bridge.requests import AnyRequest

_GUID = re.compile(r"^\{?[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\}?$")


def tune(
    audio: Path | None = typer.Argument(None, help="Audio file of ONE voice or instrument (WAV, FLAC, AIFF, OGG, "
                                                   "MP3; any rate, any channels)."),
    output: Path | None = typer.Option(None, "-o", "--output", help="Output file (default: AUDIO-tuned.wav)."),
    overwrite: bool = OVERWRITE,
    key: str | None = typer.Option(None, "--key", metavar="KEY",
                                   help="Tune to a key: 'A minor', 'Am', 'F# major', 'Bb dorian', 'C#m', 'E♭ lydian' "
                                        "(also harmonic/melodic minor, major/minor pentatonic, blues)."),
    scale: str | None = typer.Option(None, "--scale", metavar="SCALE",
                                     help="'chromatic' (every semitone), or a mode for the root in --key "
                                          "(--key A --scale dorian)."),
    notes: str | None = typer.Option(None, "--notes", metavar="'C D E G A'", help="Tune to these notes only."),
    guide: str | None = typer.Option(None, "--guide", metavar="GUIDE.mid|GUID",
                                     help="Tune each note to the melody of a MIDI file (project mode: its time 0 is "
                                          "the project start) or of a MIDI item of the project (its GUID)."),
    speed: float = typer.Option(50.0, "--speed", metavar="MS",
                                help="Retune speed: how long a note takes to reach its target (0: instantly, the "
                                     "hard-tune sound)."),
    strength: float = typer.Option(1.0, "--strength", metavar="0..1", help="How much of each correction is applied."),
    humanize: float = typer.Option(0.0, "--humanize", metavar="CENTS",
                                   help="Leave up to this many cents of each note's own movement alone."),
    keep_vibrato: bool = typer.Option(False, "--keep-vibrato",
                                      help="Correct each note's centre only: vibrato and slides stay as sung."),
    report: Path | None = typer.Option(None, "--report", metavar="DIR",
                                       help="Write tune-report.json (every note: detected, target, correction) and "
                                            "tune-report.png (the pitch before and after over the notes) into DIR."),
    project: Path | None = typer.Option(None, "--project", help="Tune items of this .RPP instead."),
    selected: bool = typer.Option(False, "--selected", help="Project mode: the selected items."),
    item: list[str] | None = typer.Option(None, "--item", help="Project mode: item GUID (repeatable)."),
    track: list[str] | None = typer.Option(None, "--track", help="Project mode: all items of this track."),
) -> AnyRequest:
    """Pitch correction that keeps the voice's character: each note pulled to its target, formants kept.

    For monophonic parts -- a voice, bass, wind, lead guitar. Polyphonic input (chords, a full mix) is
    refused rather than turned into mush: correcting several notes at once is out of scope. Each note gets
    one target (not each frame); unvoiced sounds (consonants, breaths) pass unchanged; the output has the
    input's sample rate, channels and length, sample for sample (stereo: one pitch map for both channels).
    In project mode each item gets a new active take 'Tuned (<key>)'; running it again replaces that take and
    starts from the original one.

    Example: [bold]reabridge tune vocal.wav -o vocal-tuned.wav --key "A minor"[/bold]
    or [bold]reabridge tune vocal.wav -o robot.wav --scale chromatic --speed 0[/bold]
    or [bold]reabridge tune --project song.RPP --selected --guide {GUID-of-the-melody-item}[/bold]
    """
    in_project = project_mode(audio, project, "an audio file")
    guide_item = guide if guide is not None and project is not None and _GUID.match(guide) else None
    guide_file = absolute(Path(guide)) if guide is not None and guide_item is None else None
    options = {"audio": None if in_project else absolute(audio), "output": absolute(output), "overwrite": overwrite,
               "key": key, "scale": scale, "notes": notes, "guide": guide_file, "guide_item": guide_item,
               "speed": speed, "strength": strength, "humanize": humanize, "keep_vibrato": keep_vibrato,
               "report": absolute(report)}
    return make_request("tune", options, project, items_spec(project, selected, item, track))
