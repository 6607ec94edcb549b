"""The ``reabridge`` command line: one Typer app, one sub-app per capability."""

from __future__ import annotations

import signal
import sys
import warnings

import typer
from rich.console import Console
from rich.markup import escape

from bridge import __version__
from bridge.cli import (
    amp_cmd,
    batch_cmd,
    clean_cmd,
    daemon_cmd,
    jsfx_cmd,
    library_cmd,
    master_cmd,
    mcp_cmd,
    project_cmd,
    reaper_cmd,
    render_cmd,
    speakers_cmd,
    speech_cmd,
    stems_cmd,
    tempo_cmd,
    transcribe_cmd,
    tune_cmd,
)
from bridge.cli.common import state
from bridge.cli.jobs import run_command, submit_command
from bridge.errors import ReabridgeError

try:  # typer 0.29+ carries its own copy of click
    from typer._click import exceptions as click_errors
except ImportError:  # pragma: no cover - older typer uses click itself
    from click import exceptions as click_errors  # type: ignore[no-redef]

app = typer.Typer(
    name="reabridge",
    help="Machine-learning audio tools for REAPER, on project files, audio files or a running REAPER.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)

#: (request job, sub-app or None for the root, command name, builder): each job's command and its submit form
JOB_COMMANDS = (
    ("transcribe", None, "transcribe", transcribe_cmd.transcribe),
    ("tempo", None, "tempo", tempo_cmd.tempo),
    ("amp_render", amp_cmd.app, "render", amp_cmd.render),
    ("amp_capture", amp_cmd.app, "capture", amp_cmd.capture),
    ("master", None, "master", master_cmd.master),
    ("master_jsfx", None, None, master_cmd.master_jsfx),
    ("jsfx_render", jsfx_cmd.app, "render", jsfx_cmd.render),
    ("jsfx_insert", jsfx_cmd.app, "insert", jsfx_cmd.insert),
    ("render", None, "render", render_cmd.render),
    ("speakers", None, "speakers", speakers_cmd.speakers),
    ("speech", None, "speech", speech_cmd.speech),
    ("clean", None, "clean", clean_cmd.clean),
    ("tune", None, "tune", tune_cmd.tune),
    ("stems", None, "stems", stems_cmd.stems),
    ("library_index", None, None, library_cmd.library_index),  # `reabridge library index|find|...`: custom output
    ("library_find", None, None, library_cmd.library_find),
)

for job, group, name, builder in JOB_COMMANDS:
    if name is not None:
        (group or app).command(name)(run_command(builder))
    daemon_cmd.submit_app.command(job)(submit_command(builder))
speech_cmd.add_find(app)  # `reabridge speech find TEXT --project SONG.RPP`

app.add_typer(project_cmd.app, name="project")
app.add_typer(amp_cmd.app, name="amp")
app.add_typer(jsfx_cmd.app, name="jsfx")
app.add_typer(library_cmd.app, name="library")
app.command("serve")(daemon_cmd.serve)
app.add_typer(daemon_cmd.submit_app, name="submit")
app.command("jobs")(daemon_cmd.jobs)
app.command("cancel")(daemon_cmd.cancel)
app.add_typer(daemon_cmd.requests_app, name="requests")
app.command("batch")(batch_cmd.batch)
app.command("install")(reaper_cmd.install)
app.command("uninstall")(reaper_cmd.uninstall)
app.command("doctor")(reaper_cmd.doctor)
app.command("reapack-index")(reaper_cmd.reapack_index)
app.command("mcp")(mcp_cmd.mcp)


@app.callback(invoke_without_command=True)
def _root(
    ctx: typer.Context,
    debug: bool = typer.Option(False, "--debug", help="Show the full traceback when something fails."),
    version: bool = typer.Option(False, "--version", help="Print the version and exit.", is_eager=True),
) -> None:
    """Machine-learning audio tools for REAPER."""
    state.debug = state.debug or debug
    if version:
        typer.echo(f"reabridge {__version__}")
        raise typer.Exit()
    if ctx.invoked_subcommand is None:
        typer.echo(ctx.get_help())
        raise typer.Exit(2)


@app.command()
def demo(
    fresh: bool = typer.Option(False, "--fresh", help="Rebuild the example project and its audio first."),
    folder: str | None = typer.Option(None, "--folder", help="Where the example project lives (default: "
                                      "./reabridge-demo)."),
) -> None:
    """Run the main job on the bundled example project.

    Example: [bold]reabridge demo[/bold]
    """
    from pathlib import Path

    from bridge.demo.run import run_demo

    run_demo(fresh=fresh, folder=Path(folder) if folder else Path("reabridge-demo"))


def _terminate(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``reabridge`` console script."""
    # resampy 0.4.2 (pinned by basic-pitch) imports pkg_resources, which warns on every import;
    # torch's introspection can trigger that import at any time. Nothing a user can act on.
    warnings.filterwarnings("ignore", message="pkg_resources is deprecated", category=UserWarning)
    signal.signal(signal.SIGTERM, _terminate)  # a kill cleans up like Ctrl+C: temporaries go, outputs roll back
    args = list(sys.argv[1:] if argv is None else argv)
    state.debug = "--debug" in args  # each call on its own: a --debug run leaves the next one unaffected
    if state.debug:  # --debug works after the subcommand too
        args.remove("--debug")
    err = Console(stderr=True, highlight=False)
    command = typer.main.get_command(app)
    try:
        code = command.main(args=args, prog_name="reabridge", standalone_mode=False)
    except click_errors.NoArgsIsHelpError as exc:
        text = exc.ctx.get_help() if exc.ctx else ""  # rich help prints itself and returns ""
        if text:
            typer.echo(text)
        sys.exit(2)
    except click_errors.ClickException as exc:  # a mistyped option or argument: one line, and where to look
        where = f"; see 'reabridge {' '.join(exc.ctx.command_path.split()[1:])} --help'".replace("  ", " ") \
            if getattr(exc, "ctx", None) is not None else ""
        err.print("[bold red]error:[/bold red] " + escape(exc.format_message().replace("\n", " ").rstrip(".") + where),
                  soft_wrap=True)
        sys.exit(exc.exit_code)
    except (ReabridgeError, OSError) as exc:
        if state.debug:
            raise
        message = exc.strerror + f": {exc.filename}" if isinstance(exc, OSError) and exc.strerror else str(exc)
        err.print("[bold red]error:[/bold red] " + escape(message), soft_wrap=True)
        sys.exit(1)
    except (KeyboardInterrupt, typer.Abort):
        err.print("interrupted; nothing half-done was written")
        sys.exit(130)
    if code == 130:  # typer turns Ctrl+C (and our SIGTERM) inside a command into exit code 130
        err.print("interrupted; nothing half-done was written")
    sys.exit(code if isinstance(code, int) else 0)
