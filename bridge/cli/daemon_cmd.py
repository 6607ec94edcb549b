"""``reabridge serve | submit | jobs | cancel | requests``: the daemon and its requests."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from bridge.errors import ReabridgeError
from bridge.jobs.engines import WARMABLE

requests_app = typer.Typer(help="Requests: their JSON Schema, and running one from a file.", no_args_is_help=True)
submit_app = typer.Typer(help="Hand a job to the daemon and return at once (same options as the job's command).",
                         no_args_is_help=True)


def serve(
    spool: Path | None = typer.Option(None, "--spool", help="Spool folder (default: <REAPER resource path>/"
                                      "reabridge/spool)."),
    once: bool = typer.Option(False, "--once", help="Process everything pending, then exit."),
    workers: int = typer.Option(1, "--workers", min=1, max=32, help="Worker processes (jobs run side by side)."),
    project: Path | None = typer.Option(None, "--project", help="Apply results to this .RPP (REAPER closed)."),
    allow: list[Path] | None = typer.Option(None, "--allow", help="Another folder requests may write to "
                                            "(repeatable)."),
    resource_path: Path | None = typer.Option(None, "--resource-path", help="REAPER's resource path (effects are "
                                              "installed below it)."),
    warm: str = typer.Option("transcribe,tempo,jsfx", "--warm", help="Engines to load at start-up, comma "
                             f"separated, from {', '.join(WARMABLE)}; 'none' for none."),
    job_timeout: float | None = typer.Option(None, "--job-timeout", min=0, help="Seconds a job may run before it is "
                                             "stopped (default: an hour, 12 hours for amp captures; 0: no limit; a "
                                             "request's own timeout option counts first)."),
    memory_limit: float | None = typer.Option(None, "--memory-limit", min=0, help="GB of memory a job may use "
                                              "before it is stopped (default: half the machine's, at most 8; 0: no "
                                              "limit)."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Also log to stderr."),
) -> None:
    """Run the daemon: take requests from the spool folder, run them warm, write status files.

    Example: [bold]reabridge serve --workers 2 --verbose[/bold]
    """
    from bridge.daemon.server import Daemon, setup_logging
    from bridge.daemon.spool import Spool
    from bridge.reaper.paths import default_resource_path

    engines = [] if warm.strip() in ("", "none") else [w.strip() for w in warm.split(",")]
    unknown = [w for w in engines if w not in WARMABLE]
    if unknown:
        raise ReabridgeError(f"--warm: unknown engine {unknown[0]!r}; choose from {', '.join(WARMABLE)} or none")
    if project is not None and not project.is_file():
        raise ReabridgeError(f"--project {project} does not exist")
    box = Spool(spool)
    setup_logging(box.create(), verbose)

    def announce() -> None:
        if not verbose:
            typer.echo(f"reabridge daemon serving {box.root} (log: {box.log})", err=True)

    daemon = Daemon(box, workers, project.absolute() if project else None, [p.absolute() for p in allow or []],
                    (resource_path or default_resource_path()).absolute(), engines, once, announce,
                    job_timeout=job_timeout, memory_limit=None if memory_limit is None else int(memory_limit * 2**30))
    sys.exit(daemon.serve())


def jobs(
    spool: Path | None = typer.Option(None, "--spool", help="Spool folder."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON list of status objects."),
    limit: int = typer.Option(30, "--limit", min=1, help="How many recent requests."),
) -> None:
    """List recent requests and their state.

    Example: [bold]reabridge jobs[/bold]
    """
    from bridge.daemon.client import job_rows
    from bridge.daemon.spool import Spool

    rows = job_rows(spool, limit)
    if as_json:
        typer.echo(json.dumps(rows))
        return
    out = Console(highlight=False)
    box = Spool(spool)
    pid = box.daemon_pid()
    out.print(f"{box.root}: " + (f"daemon running (pid {pid})" if pid else "no daemon running"), markup=False)
    if not rows:
        out.print("no requests yet")
        return
    table = Table("id", "job", "state", "progress", "message", header_style="bold")
    for doc in rows:
        state = doc.get("state") or "?"
        progress = f"{doc['percent']}%" if doc.get("percent") is not None and state == "running" else (
            f"#{doc['position']}" if state == "queued" and doc.get("position") else "")
        table.add_row(escape(str(doc.get("id"))), escape(str(doc.get("job") or "-")), state, progress,
                      escape(str(doc.get("message") or "")))
    out.print(table)


def cancel(
    request_id: str = typer.Argument(..., metavar="ID", help="The request's id (from submit or jobs)."),
    spool: Path | None = typer.Option(None, "--spool", help="Spool folder."),
) -> None:
    """Cancel a queued or running request (a running job stops and leaves nothing behind).

    Example: [bold]reabridge cancel transcribe-3f2a9c0d1e2b[/bold]
    """
    import re

    from bridge.daemon.client import request_cancel
    from bridge.requests.models import ID_PATTERN

    if not re.fullmatch(ID_PATTERN, request_id):
        raise ReabridgeError(f"{request_id!r} is not a request id (see 'reabridge jobs')")
    status = request_cancel(request_id, spool)
    if status is None:
        typer.echo(f"asked the daemon to cancel {request_id}")
        return
    state = status.get("state")
    if state == "cancelled":
        typer.echo(f"{request_id}: cancelled")
    else:
        detail = f" ({status['message']})" if status.get("message") else ""
        typer.echo(f"{request_id} had already ended: {state}{detail}")


@requests_app.command("schema")
def schema(
    output: Path | None = typer.Option(None, "-o", "--output", help="Write it to a file instead of stdout."),
    overwrite: bool = typer.Option(False, "--overwrite", "-y", help="Replace the file if it exists."),
) -> None:
    """Print the JSON Schema of every request type (what REAPER's actions write).

    Example: [bold]reabridge requests schema -o request.schema.json[/bold]
    """
    from bridge.fileio import Outputs
    from bridge.requests import request_schema

    text = json.dumps(request_schema(), indent=1) + "\n"
    if output is None:
        typer.echo(text, nl=False)
    else:
        with Outputs(overwrite=overwrite) as outputs:
            outputs.write_bytes(output, text.encode("utf-8"), "json", "-o")


@requests_app.command("run")
def run_file(
    request_file: Path = typer.Argument(..., metavar="REQUEST.json", help="A request as the daemon reads it."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object with the result."),
) -> None:
    """Run one request file here and now, without the daemon (the same path the daemon takes).

    Example: [bold]reabridge requests run my-request.json[/bold]
    """
    from bridge.cli.jobs import print_result, progress_display
    from bridge.requests import parse_request
    from bridge.requests.run import run_request

    try:
        data = request_file.read_bytes()
    except FileNotFoundError:
        raise ReabridgeError(f"{request_file} does not exist") from None
    request = parse_request(data)
    with progress_display() as show:
        result = run_request(request, progress=show)
    print_result(result, as_json)


@requests_app.command("check")
def check(
    request_file: Path = typer.Argument(..., metavar="REQUEST.json", help="A request file to validate."),
) -> None:
    """Validate a request file against the schema (exit 1 with the first problem).

    Example: [bold]reabridge requests check my-request.json[/bold]
    """
    from bridge.requests import parse_request

    try:
        request = parse_request(request_file.read_bytes())
    except FileNotFoundError:
        raise ReabridgeError(f"{request_file} does not exist") from None
    typer.echo(f"{request_file}: a valid {request.job} request ({request.id})")
