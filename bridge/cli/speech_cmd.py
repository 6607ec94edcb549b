"""``reabridge speech``: speech to text on files or project items, and ``reabridge speech find``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape

from bridge.cli.common import OVERWRITE, absolute, items_spec, make_request, project_mode
from bridge.errors import ReabridgeError
from bridge.requests import AnyRequest

LANDINGS = ("regions", "markers", "take-markers", "notes")


def speaker_choice(value: str | None) -> str | int | None:
    """``--speakers`` as the request takes it: ``"auto"``, a count, or None."""
    if value is None:
        return None
    text = value.strip().lower()
    if text == "auto":
        return "auto"
    try:
        count = int(text)
    except ValueError:
        count = -1
    if not 1 <= count <= 20:
        raise ReabridgeError(f"--speakers must be 'auto' or a number of speakers from 1 to 20, not {value!r}")
    return count


def speech(
    audio: Path | None = typer.Argument(None, help="Audio file (WAV, FLAC, MP3, OGG/Opus...; any sample rate)."),
    output: Path | None = typer.Option(None, "-o", "--output",
                                       help="Write the transcript here: .srt, .vtt, .txt or .json (default: print)."),
    overwrite: bool = OVERWRITE,
    project: Path | None = typer.Option(None, "--project", help="Transcribe items of this .RPP instead."),
    selected: bool = typer.Option(False, "--selected", help="Project mode: the selected items."),
    item: list[str] | None = typer.Option(None, "--item", help="Project mode: item GUID (repeatable)."),
    track: list[str] | None = typer.Option(None, "--track", help="Project mode: all items of this track."),
    land: str | None = typer.Option(None, "--as", metavar="regions|markers|take-markers|notes",
                                    help="Project mode: how segments land (default: regions)."),
    speakers: str | None = typer.Option(None, "--speakers", metavar="auto|N",
                                        help="Label segments with speakers (S1, S2...): 'auto' or a count."),
    min_speakers: int = typer.Option(1, "--min-speakers", help="With --speakers auto: at least this many."),
    max_speakers: int = typer.Option(8, "--max-speakers", help="With --speakers auto: at most this many."),
    vocabulary: Path | None = typer.Option(None, "--vocabulary", metavar="FILE",
                                           help="Terms (one per line) that near-misses are snapped to."),
) -> AnyRequest:
    """Transcribe English speech (Moonshine base-en, offline), or find words in transcripts.

    Example: [bold]reabridge speech interview.wav -o interview.srt --speakers auto[/bold]
    or [bold]reabridge speech --project show.RPP --selected --as notes[/bold]
    or [bold]reabridge speech find "budget" --project show.RPP[/bold]
    """
    if land is not None and land not in LANDINGS:
        raise ReabridgeError(f"--as must be one of {', '.join(LANDINGS)}, not {land!r}")
    in_project = project_mode(audio, project, "an audio file to transcribe")
    if land is not None and not in_project:
        raise ReabridgeError("--as says how segments land in a project: add --project SONG.RPP")
    options: dict[str, Any] = {"audio": None if in_project else absolute(audio), "output": absolute(output),
                               "overwrite": overwrite, "as": land, "speakers": speaker_choice(speakers),
                               "min_speakers": min_speakers, "max_speakers": max_speakers,
                               "vocabulary": absolute(vocabulary)}
    return make_request("speech", options, project, items_spec(project, selected, item, track))


def find(
    text: str = typer.Argument(..., help="Words to look for (case and punctuation ignored)."),
    project: Path = typer.Option(..., "--project", help="The .RPP whose transcripts to search."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object with the matches."),
) -> None:
    """List where words occur in the transcripts reabridge wrote (time, item, speaker).

    Example: [bold]reabridge speech find "budget" --project show.RPP[/bold]
    """
    from bridge.project.project import Project
    from bridge.speech.find import find as find_words
    from bridge.speech.find import transcript_entries

    if not text.strip():
        raise ReabridgeError("give some words to look for")
    proj = Project.load(project)
    hits = find_words(proj, text)
    if as_json:
        typer.echo(json.dumps({"query": text, "project": str(project), "matches": [h.to_dict() for h in hits]}))
        return
    out = Console(highlight=False, soft_wrap=True)
    if not hits:
        entries = transcript_entries(proj)
        out.print(f"'{escape(text)}' is not in the {len(entries)} transcript entr{'y' if len(entries) == 1 else 'ies'}"
                  f" of {escape(project.name)}" + ("" if entries else " (run reabridge speech --project first)"))
        return
    for h in hits:
        minutes, seconds = divmod(h.time, 60.0)
        who = f"{h.speaker}: " if h.speaker else ""
        out.print(f"{int(minutes)}:{seconds:05.2f}  {h.where}  {who}{h.text}", markup=False)
    out.print(f"{len(hits)} match(es)", markup=False)


def add_find(app: typer.Typer) -> None:
    """Make ``reabridge speech find TEXT`` reach :func:`find` while ``reabridge speech AUDIO`` stays the job.

    The ``speech`` command is built from :func:`speech` like every job command; its
    click command class is swapped for one whose context, when the first argument is
    ``find``, is the ``find`` command's.
    """
    import typer.main

    try:  # typer 0.29+ carries its own copy of click
        from typer._click import Command, Context
    except ImportError:  # pragma: no cover - older typer uses click itself
        from click import Command, Context  # type: ignore[no-redef,assignment]

    finder = typer.main.get_command_from_info(typer.models.CommandInfo(name="find", callback=find),
                                              pretty_exceptions_short=True, rich_markup_mode="rich")
    info = next(c for c in app.registered_commands if c.name == "speech")
    base = info.cls or typer.core.TyperCommand

    class SpeechCommand(base):  # type: ignore[misc,valid-type]
        def make_context(self, info_name: str | None, args: list[str], parent: Context | None = None,
                         **extra: Any) -> Context:
            if args[:1] == ["find"]:
                return finder.make_context("speech find", args[1:], parent=parent, **extra)  # type: ignore[no-any-return]
            return super().make_context(info_name, args, parent=parent, **extra)  # type: ignore[no-any-return]

    assert issubclass(SpeechCommand, Command)
    info.cls = SpeechCommand
