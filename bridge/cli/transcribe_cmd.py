"""``reabridge transcribe``: audio to MIDI with basic-pitch, on files or project items."""

from __future__ import annotations

from pathlib import Path

import typer

from bridge.cli.common import OVERWRITE, absolute, items_spec, make_request, project_mode
from bridge.requests import AnyRequest


def transcribe(
    audio: Path | None = typer.Argument(None, help="Audio file (WAV, FLAC, MP3, OGG, AIFF...)."),
    output: Path | None = typer.Option(None, "-o", "--output", help="MIDI file to write (default: AUDIO.mid)."),
    overwrite: bool = OVERWRITE,
    project: Path | None = typer.Option(None, "--project", help="Transcribe items of this .RPP instead."),
    selected: bool = typer.Option(False, "--selected", help="Project mode: the selected items."),
    item: list[str] | None = typer.Option(None, "--item", help="Project mode: item GUID (repeatable)."),
    track: list[str] | None = typer.Option(None, "--track", help="Project mode: all items of this track."),
    onset_threshold: float = typer.Option(0.5, help="Minimum onset activation for a note to start (0-1)."),
    frame_threshold: float = typer.Option(0.3, help="Minimum frame activation for a note to continue (0-1)."),
    minimum_note_length: float = typer.Option(127.70, help="Shortest note kept, in milliseconds."),
    minimum_frequency: float | None = typer.Option(None, help="Ignore pitches below this frequency (Hz)."),
    maximum_frequency: float | None = typer.Option(None, help="Ignore pitches above this frequency (Hz)."),
    melodia_trick: bool = typer.Option(True, "--melodia-trick/--no-melodia-trick",
                                       help="Also pick up notes without a clear onset."),
    multiple_pitch_bends: bool = typer.Option(False, help="Keep bends on overlapping notes (a channel per pitch)."),
    midi_tempo: float = typer.Option(120.0, help="Tempo written into the MIDI file (BPM)."),
) -> AnyRequest:
    """Transcribe audio to MIDI notes and pitch bends (basic-pitch, no TensorFlow).

    Example: [bold]reabridge transcribe take.wav -o take.mid[/bold]
    or [bold]reabridge transcribe --project song.RPP --selected[/bold]
    """
    in_project = project_mode(audio, project, "an audio file to transcribe")
    options = {"audio": None if in_project else absolute(audio), "output": absolute(output), "overwrite": overwrite,
               "onset_threshold": onset_threshold, "frame_threshold": frame_threshold,
               "minimum_note_length": minimum_note_length, "minimum_frequency": minimum_frequency,
               "maximum_frequency": maximum_frequency, "melodia_trick": melodia_trick,
               "multiple_pitch_bends": multiple_pitch_bends, "midi_tempo": midi_tempo}
    return make_request("transcribe", options, project, items_spec(project, selected, item, track))
