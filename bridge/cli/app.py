"""The ``reabridge`` command line: one Typer app, one sub-app per capability."""

from __future__ import annotations

import sys
import warnings

import typer
from rich.console import Console

from bridge import __version__
from bridge.cli import amp_cmd, jsfx_cmd, master_cmd, project_cmd, tempo_cmd, transcribe_cmd
from bridge.cli.common import state
from bridge.errors import ReabridgeError

app = typer.Typer(
    name="reabridge",
    help="Machine-learning audio tools for REAPER, on project files, audio files or a running REAPER.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)
app.add_typer(project_cmd.app, name="project")
app.add_typer(amp_cmd.app, name="amp")
transcribe_cmd.register(app)
tempo_cmd.register(app)
master_cmd.register(app)
jsfx_cmd.register(app)


@app.callback()
def _root(
    debug: bool = typer.Option(False, "--debug", help="Show the full traceback when something fails."),
    version: bool = typer.Option(False, "--version", help="Print the version and exit.", is_eager=True),
) -> None:
    """Machine-learning audio tools for REAPER."""
    state.debug = debug
    if version:
        typer.echo(f"reabridge {__version__}")
        raise typer.Exit()


@app.command()
def demo(
    fresh: bool = typer.Option(False, "--fresh", help="Rebuild the example project and its audio first."),
) -> None:
    """Run the main job on the bundled example project.

    Example: [bold]reabridge demo[/bold]
    """
    from bridge.demo.run import run_demo

    run_demo(fresh=fresh)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``reabridge`` console script."""
    # resampy 0.4.2 (pinned by basic-pitch) imports pkg_resources, which warns on every import;
    # torch's introspection can trigger that import at any time. Nothing a user can act on.
    warnings.filterwarnings("ignore", message="pkg_resources is deprecated", category=UserWarning)
    err = Console(stderr=True, highlight=False)
    try:
        app(args=argv, standalone_mode=True)
    except (ReabridgeError, OSError) as exc:
        if state.debug:
            raise
        message = exc.strerror + f": {exc.filename}" if isinstance(exc, OSError) and exc.strerror else str(exc)
        err.print(f"[bold red]error:[/bold red] {message}", markup=True, soft_wrap=True)
        sys.exit(1)
    except KeyboardInterrupt:
        err.print("interrupted; nothing half-done was written")
        sys.exit(130)
