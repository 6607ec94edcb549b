"""Job commands: options -> request -> ``run_request`` (or the daemon's spool) -> print.

Each job's command is written once, as a *builder*: a function whose
parameters are the job's command-line options and which returns a request.
:func:`run_command` turns a builder into ``reabridge <job> ...`` (run here, now)
and :func:`submit_command` into ``reabridge submit <job> ...`` (hand it to the
daemon), so both take exactly the same options.
"""

from __future__ import annotations

import inspect
import json
import os
import re
import sys
import typing
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

from bridge.errors import ReabridgeError
from bridge.jobs.result import JobResult, ProgressFn
from bridge.jobs.result import Progress as JobProgress
from bridge.requests.models import AnyRequest
from bridge.requests.parse import RequestError

Builder = Callable[..., AnyRequest]

_OPTION = re.compile(r"\boptions\.(\w+)")
_FIELD_FLAGS = {"items.guids": "--item", "items.tracks": "--track", "items.selected": "--selected",
                "project.path": "--project", "project": "--project", "items": "--item"}


def cli_words(text: str) -> str:
    """A request error in command-line words: ``options.onset_threshold`` becomes ``--onset-threshold``."""
    for field, flag in _FIELD_FLAGS.items():
        text = re.sub(rf"(?<![\w.]){re.escape(field)}\b", flag, text)
    return _OPTION.sub(lambda m: "--" + m.group(1).replace("_", "-"), text)


def build(builder: Builder, kwargs: dict[str, Any]) -> AnyRequest:
    """Call a builder; request errors come out in command-line words."""
    try:
        return builder(**kwargs)
    except RequestError as exc:
        raise ReabridgeError(cli_words(str(exc))) from None


def _progress_lines(err: Console) -> ProgressFn:
    """Progress as plain lines (``REABRIDGE_PROGRESS=lines``): each new stage, then every tenth of the way."""
    last: list[object] = [None, -1]

    def show(p: JobProgress) -> None:
        tenth = int(p.fraction * 10) if p.fraction is not None else -1
        if p.stage != last[0] or tenth > last[1]:
            last[:] = [p.stage, tenth]
            percent = f" {round(100 * p.fraction)}%" if p.fraction is not None else ""
            err.print(f"progress: {p.stage}{percent} {p.message}".rstrip(), markup=False, soft_wrap=True)

    return show


@contextmanager
def progress_display(console: Console | None = None) -> Iterator[ProgressFn]:
    """A progress bar on stderr while a job runs.

    When stderr is not a terminal nothing is shown, unless ``REABRIDGE_PROGRESS=lines`` asks for plain
    lines (for logs and scripts that watch a long job).
    """
    err = console or Console(stderr=True, highlight=False)
    if not err.is_terminal:
        yield _progress_lines(err) if os.environ.get("REABRIDGE_PROGRESS") == "lines" else (lambda _: None)
        return
    bar = Progress(TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(), TimeRemainingColumn(),
                   console=err, transient=True)
    task = bar.add_task("starting", total=None)

    def show(p: JobProgress) -> None:
        text = escape(f"{p.stage} {p.message}".strip())
        if p.fraction is None:
            bar.update(task, description=text)
        else:
            bar.update(task, description=text, completed=p.fraction, total=1.0)

    with bar:
        yield show


def result_data(result: JobResult) -> dict[str, Any]:
    """What ``--json`` prints: the job's figures, then what was done."""
    plain = result.to_dict()
    return {**result.data, **{k: plain[k] for k in ("job", "summary", "files", "done", "skipped", "notices",
                                                     "project", "applied")}}


def print_result(result: JobResult, as_json: bool = False, out: Console | None = None) -> None:
    """Print what a job did: warnings, skipped items, per-item lines, the summary, where it went."""
    if as_json:
        typer.echo(json.dumps(result_data(result)))
        return
    out = out or Console(highlight=False, soft_wrap=True)
    for notice in result.notices:
        out.print("[yellow]warning:[/yellow] " + escape(notice))
    for note in result.skipped:
        out.print("[yellow]skipped[/yellow] " + escape(str(note)))
    for note in result.done:
        out.print(escape(str(note)), markup=False)
    if result.summary:
        out.print(result.summary, markup=False)
    if result.project is not None:
        name = Path(result.project).name
        if result.applied:
            out.print(f"updated {result.project} (previous version: {name}-bak)", markup=False)
        else:
            out.print(f"{result.project} already had this result; nothing changed", markup=False)


def _hints(func: Callable[..., Any]) -> dict[str, Any]:
    return typing.get_type_hints(func)


def _with_options(builder: Builder, extra: list[inspect.Parameter], extra_hints: dict[str, Any],
                  body: Callable[[dict[str, Any]], None], doc: str | None = None) -> Callable[..., None]:
    sig = inspect.signature(builder)
    hints = {k: v for k, v in _hints(builder).items() if k != "return"}

    def command(**kwargs: Any) -> None:
        body(kwargs)

    command.__signature__ = sig.replace(parameters=[*sig.parameters.values(), *extra],  # type: ignore[attr-defined]
                                        return_annotation=None)
    command.__annotations__ = {**hints, **extra_hints, "return": None}
    command.__name__ = builder.__name__
    command.__doc__ = doc or builder.__doc__
    return command


def _param(name: str, default: Any, annotation: Any) -> inspect.Parameter:
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation)


def run_command(builder: Builder) -> Callable[..., None]:
    """``reabridge <job> ...``: build the request, run it here, print the result."""
    as_json = typer.Option(False, "--json", help="Print one JSON object with the result.")

    def body(kwargs: dict[str, Any]) -> None:
        from bridge.requests.run import run_request

        json_out = kwargs.pop("as_json")
        request = build(builder, kwargs)
        try:
            with progress_display() as show:
                result = run_request(request, progress=show)
        except RequestError as exc:  # a path the rules refuse, named as the option the user typed
            raise ReabridgeError(cli_words(str(exc))) from None
        print_result(result, json_out)

    return _with_options(builder, [_param("as_json", as_json, bool)], {"as_json": bool}, body)


def submit_command(builder: Builder) -> Callable[..., None]:
    """``reabridge submit <job> ...``: build the request and hand it to the daemon's spool."""
    spool = typer.Option(None, "--spool", help="The daemon's spool folder (default: in REAPER's resource path).")
    as_json = typer.Option(False, "--json", help='Print {"id": ..., "spool": ..., "status": ...} on stdout.')
    wait = typer.Option(False, "--wait", help="Show progress until the job is done (exit 1 if it fails).")

    def body(kwargs: dict[str, Any]) -> None:
        from bridge.daemon.client import submit, wait_for

        spool_dir, json_out, waiting = kwargs.pop("spool"), kwargs.pop("as_json"), kwargs.pop("wait")
        request = build(builder, kwargs)
        receipt = submit(request, spool_dir)
        if json_out:
            typer.echo(json.dumps(receipt))
        else:
            typer.echo(f"submitted {receipt['id']} ({request.job}) to {receipt['spool']}")
        if waiting:
            status = wait_for(receipt["id"], Path(receipt["spool"]), quiet=json_out)
            if status.get("state") != "done":
                sys.exit(1)

    doc = f"Hand a {builder.__name__.replace('_', ' ')} job to the daemon (same options as the command).\n\n" + \
        (builder.__doc__ or "").split("\n\n", 1)[0]
    return _with_options(builder, [_param("spool", spool, Path | None), _param("as_json", as_json, bool),
                                   _param("wait", wait, bool)],
                         {"spool": Path | None, "as_json": bool, "wait": bool}, body, doc)
