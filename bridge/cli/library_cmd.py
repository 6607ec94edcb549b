"""``reabridge library``: index files into a fingerprint library; identify clips, tunes and similar sounds."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape

from bridge.cli.common import absolute, items_spec, make_request
from bridge.cli.jobs import cli_words, print_result, progress_display
from bridge.errors import ReabridgeError
from bridge.requests import AnyRequest
from bridge.requests.parse import RequestError

app = typer.Typer(help="An audio fingerprint library: which take, sample or song is this? (and query by humming)",
                  no_args_is_help=True)

DB = typer.Option(None, "--db", metavar="FILE", help="The library database (default: "
                  "$XDG_DATA_HOME/reabridge/library.sqlite).")
LANDINGS = ("notes", "markers")


def _run(request: AnyRequest) -> Any:
    from bridge.requests.run import run_request

    try:
        with progress_display() as show:
            return run_request(request, progress=show)
    except RequestError as exc:
        raise ReabridgeError(cli_words(str(exc))) from None


# -- builders for `reabridge submit library_index|library_find` (paths made absolute: the daemon runs elsewhere)
def library_index(
    paths: list[Path] = typer.Argument(..., metavar="PATH...", help="Audio files, folders, .RPP projects."),
    db: Path | None = DB,
) -> AnyRequest:
    """Index audio files, folders (recursively) and projects' media into the library.

    Example: [bold]reabridge submit library_index ~/Samples ~/Songs/*.RPP[/bold]
    """
    return make_request("library_index", {"paths": [absolute(p) for p in paths], "db": absolute(db)})


def library_find(
    clip: Path | None = typer.Argument(None, metavar="CLIP", help="Audio to look up."),
    project: Path | None = typer.Option(None, "--project", help="Look up items of this .RPP instead."),
    selected: bool = typer.Option(False, "--selected", help="Project mode: the selected items."),
    item: list[str] | None = typer.Option(None, "--item", help="Project mode: item GUID (repeatable)."),
    land: str | None = typer.Option(None, "--as", metavar="notes|markers",
                                    help="Project mode: write the answer as item notes (default) or a marker."),
    mode: str = typer.Option("identify", "--mode", metavar="identify|hum|similar|projects",
                             help="What to look for."),
    db: Path | None = DB,
    top: int = typer.Option(5, "--top", help="How many answers at most."),
) -> AnyRequest:
    """Identify a clip (or project items) in the library; write the answer into the project.

    Example: [bold]reabridge library find --project song.RPP --selected --as markers[/bold]
    """
    if land is not None and land not in LANDINGS:
        raise ReabridgeError(f"--as must be 'notes' or 'markers', not {land!r}")
    if project is not None and clip is not None:
        raise ReabridgeError("give either a CLIP or --project, not both")
    if project is None and clip is None:
        raise ReabridgeError("give a CLIP to look up, or --project SONG.RPP with --selected or --item GUID")
    if land is not None and project is None:
        raise ReabridgeError("--as says how the answer is written into a project: add --project SONG.RPP")
    options = {"audio": absolute(clip), "db": absolute(db), "top": top, "mode": mode, "as": land}
    return make_request("library_find", options, project, items_spec(project, selected, item, None))


# -- the commands ---------------------------------------------------------------------------------------------
@app.command("index")
def index(
    paths: list[Path] = typer.Argument(..., metavar="PATH...", help="Audio files, folders (recursively), .RPP "
                                       "projects (their media)."),
    db: Path | None = DB,
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object with what was done."),
) -> None:
    """Fingerprint audio into the library (incremental: unchanged files are skipped, removed ones dropped).

    Example: [bold]reabridge library index ~/Samples ~/Songs --db lib.sqlite[/bold]
    """
    request = make_request("library_index", {"paths": [str(p) for p in paths], "db": absolute(db)})
    result = _run(request)
    if as_json:
        typer.echo(json.dumps(result.data))
        return
    out = Console(highlight=False, soft_wrap=True)
    for note in result.skipped:
        out.print(escape(note.message), markup=False)
    out.print(result.summary, markup=False)


def _matches_out(result: Any, as_json: bool, what: str) -> None:
    matches = result.data.get("matches", [])
    if as_json:
        typer.echo(json.dumps({"matches": matches}))
        return
    out = Console(highlight=False, soft_wrap=True)
    if not matches:
        out.print("no match" if what == "identify" else "nothing found", markup=False)
        return
    for n, m in enumerate(matches, 1):
        if what == "identify":
            from bridge.jobs.library import answer_line
            from bridge.library.query import Found

            line = answer_line(Found(m["file"], m["offset"], m["score"], m))
            shift = f", transposed {m['transpose']:+.1f} st" if abs(m["transpose"]) >= 0.25 else ""
            out.print(f"{n}. {line} (confidence {m['confidence']:.2f}, score {m['score']:g}{shift})", markup=False)
        elif what == "projects":
            out.print(f"{n}. {m['project']} ({m['media']}; {m['how']})", markup=False)
        else:
            extra = ", ".join(f"{k} {m[k]}" for k in ("key", "tempo") if k in m)
            out.print(f"{n}. {m['file']} (score {m['score']:.3f}{', ' + extra if extra else ''})", markup=False)


@app.command("find")
def find(
    clip: Path | None = typer.Argument(None, metavar="CLIP", help="Audio to look up (at least 1 s)."),
    db: Path | None = DB,
    top: int = typer.Option(5, "--top", help="How many matches at most."),
    as_json: bool = typer.Option(False, "--json", help='Print {"matches": [{"file", "offset", "score", ...}]}.'),
    project: Path | None = typer.Option(None, "--project", help="Look up items of this .RPP instead."),
    selected: bool = typer.Option(False, "--selected", help="Project mode: the selected items."),
    item: list[str] | None = typer.Option(None, "--item", help="Project mode: item GUID (repeatable)."),
    land: str | None = typer.Option(None, "--as", metavar="notes|markers",
                                    help="Project mode: write 'from <file> at 1:23.4' as item notes (default) or "
                                         "a marker."),
) -> None:
    """Which indexed file is this clip from, and where? ("no match" when nothing is certain).

    Example: [bold]reabridge library find clip.wav --json[/bold]
    or [bold]reabridge library find --project song.RPP --selected --as markers[/bold]
    """
    request = library_find(clip=clip, project=project, selected=selected, item=item, land=land, mode="identify",
                           db=db, top=top)
    result = _run(request)
    if project is not None:
        if as_json:
            typer.echo(json.dumps(result.data))
        else:
            print_result(result)
        return
    _matches_out(result, as_json, "identify")


def _simple(mode: str, clip: Path, db: Path | None, top: int, as_json: bool) -> None:
    result = _run(library_find(clip=clip, project=None, selected=False, item=None, land=None, mode=mode, db=db,
                               top=top))
    _matches_out(result, as_json, mode)


@app.command("hum")
def hum(
    clip: Path = typer.Argument(..., metavar="CLIP", help="A hummed, sung or whistled melody."),
    db: Path | None = DB,
    top: int = typer.Option(5, "--top", help="How many songs at most."),
    as_json: bool = typer.Option(False, "--json", help='Print {"matches": [{"file", "offset", "score", ...}]}.'),
) -> None:
    """The indexed songs whose melody is closest to a hummed one (any key, any tempo).

    Example: [bold]reabridge library hum humming.wav --top 5[/bold]
    """
    _simple("hum", clip, db, top, as_json)


@app.command("similar")
def similar(
    clip: Path = typer.Argument(..., metavar="CLIP", help="A sound (a kick, a loop, a take)."),
    db: Path | None = DB,
    top: int = typer.Option(10, "--top", help="How many sounds at most."),
    as_json: bool = typer.Option(False, "--json", help='Print {"matches": [{"file", "score", ...}]}.'),
) -> None:
    """The indexed sounds nearest in timbre and envelope ("more kicks like this one").

    Example: [bold]reabridge library similar kick.wav --top 10[/bold]
    """
    _simple("similar", clip, db, top, as_json)


@app.command("projects")
def projects(
    clip: Path = typer.Argument(..., metavar="CLIP", help="A media file (or audio that is part of one)."),
    db: Path | None = DB,
    top: int = typer.Option(5, "--top", help="How many fingerprint matches to follow."),
    as_json: bool = typer.Option(False, "--json", help='Print {"matches": [{"project", "media", "how"}]}.'),
) -> None:
    """The indexed .RPP projects that use this file (same content, or audio found in their media).

    Example: [bold]reabridge library projects kick.wav[/bold]
    """
    _simple("projects", clip, db, top, as_json)
