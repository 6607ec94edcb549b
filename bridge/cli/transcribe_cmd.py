"""``reabridge transcribe``: audio to MIDI with basic-pitch, on files or project items."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from bridge.cli.common import apply_job, progress_bar, project_mode, request_id, select_items
from bridge.errors import ReabridgeError
from bridge.session.rpp_file import RppFileSession
from bridge.transcribe.notes import NoteParams


def transcribe(
    audio: Path | None = typer.Argument(None, help="Audio file (WAV, FLAC, MP3, OGG, AIFF...)."),
    output: Path | None = typer.Option(None, "-o", "--output", help="MIDI file to write (default: AUDIO.mid)."),
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
    midi_tempo: float = typer.Option(120.0, help="Tempo written into the MIDI file."),
) -> None:
    """Transcribe audio to MIDI notes and pitch bends (basic-pitch, no TensorFlow).

    Example: [bold]reabridge transcribe take.wav -o take.mid[/bold]
    or [bold]reabridge transcribe --project song.RPP --selected[/bold]
    """
    params = NoteParams(onset_threshold, frame_threshold, minimum_note_length, minimum_frequency,
                        maximum_frequency, multiple_pitch_bends, melodia_trick, midi_tempo)
    out = Console(highlight=False)
    if project_mode(audio, project, "an audio file to transcribe"):
        _project_mode(project, selected, item, track, params, out)
        return
    from bridge.transcribe.engine import Transcriber
    from bridge.transcribe.midi_out import write_midi_file

    target = output or audio.with_suffix(".mid")
    if target.resolve() == audio.resolve():
        raise ReabridgeError("the output would overwrite the input; choose another -o")
    with progress_bar() as bar:
        task = bar.add_task(f"transcribing {audio.name}", total=None)
        result = Transcriber().transcribe_file(audio, params, lambda d, t: bar.update(task, completed=d, total=t))
    count = write_midi_file(target, result.notes, params.midi_tempo, params.multiple_pitch_bends)
    out.print(f"{result.message}; wrote {count} notes to {target}")


def _project_mode(path: Path, selected: bool, items: list[str] | None, tracks: list[str] | None,
                  params: NoteParams, out: Console) -> None:
    from bridge.jobs.transcribe import transcribe_items

    session = RppFileSession(path)
    chosen = select_items(session.project, selected, items, tracks)
    with progress_bar() as bar:
        task = bar.add_task("transcribing", total=None)

        def report(where: str, done: int, total: int) -> None:
            bar.update(task, description=f"transcribing {where}", completed=done, total=total)

        result = transcribe_items(chosen, request_id("transcribe"), params, progress=report)
    for where, count in result.done:
        out.print(f"{where}: {count} notes")
    added = sum(1 for op in result.changes.ops if op.kind == "add_track")
    apply_job(session, result.changes, len(result.done), result.skipped, out, "transcribed",
              f"added {added} MIDI track(s)")


def register(app: typer.Typer) -> None:
    """Add the command to the root app."""
    app.command("transcribe")(transcribe)



