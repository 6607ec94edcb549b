"""``reabridge install | uninstall | doctor | reapack-index``: reabridge in REAPER."""

from __future__ import annotations

from pathlib import Path

import typer

from bridge.errors import ReabridgeError

RESOURCE_HELP = "REAPER's resource path (default: $REAPER_RESOURCE_PATH, else REAPER's default for this system)."


def install(
    resource_path: Path | None = typer.Option(None, "--resource-path", help=RESOURCE_HELP),
    shortcuts: bool = typer.Option(False, "--shortcuts", help="Also bind Ctrl+Alt+Shift+T/A/M/B/J (keys already "
                                   "bound in your key map are left alone)."),
    python: bool = typer.Option(False, "--python", help="Also set up REAPER's Python with this interpreter and start "
                                "reabridge's server with REAPER (live results without saving)."),
) -> None:
    """Put reabridge's actions in REAPER's Actions list (quit REAPER first).

    Copies the scripts and effects into the resource path, registers the actions,
    writes the config and the server's token. Running it again is harmless.

    Example: [bold]reabridge install --shortcuts --python[/bold]
    """
    from bridge.reaper.install import install as run
    from bridge.reaper.paths import resource_path as find

    resource, how = find(resource_path)
    for line in run(resource, shortcuts=shortcuts, python=python):
        typer.echo(line)
    typer.echo(f"reabridge is installed in {resource} ({how}); start REAPER and look for 'reabridge:' in the "
               "Actions list. 'reabridge doctor' checks everything.")


def uninstall(
    resource_path: Path | None = typer.Option(None, "--resource-path", help=RESOURCE_HELP),
) -> None:
    """Remove exactly what 'reabridge install' added (quit REAPER first).

    Example: [bold]reabridge uninstall[/bold]
    """
    from bridge.reaper.install import uninstall as run
    from bridge.reaper.paths import resource_path as find

    resource, _ = find(resource_path)
    for line in run(resource):
        typer.echo(line)


def doctor(
    resource_path: Path | None = typer.Option(None, "--resource-path", help=RESOURCE_HELP),
) -> None:
    """Check everything the REAPER actions need, one line each with its fix.

    Exit code 0 when nothing failed (warnings cost something, but the actions work).

    Example: [bold]reabridge doctor[/bold]
    """
    from bridge.reaper.doctor import FAIL
    from bridge.reaper.doctor import doctor as run
    from bridge.reaper.paths import resource_path as find

    resource, how = find(resource_path)
    checks = run(resource, how)
    for check in checks:
        typer.echo(str(check))
    failed = sum(c.status == FAIL for c in checks)
    typer.echo("all is well" if not failed and all(c.status == "ok" for c in checks) else
               f"{failed} problem(s) to fix" if failed else "the actions work; the warnings above cost something")
    raise typer.Exit(1 if failed else 0)


def reapack_index(
    output: Path = typer.Option(Path("index.xml"), "--output", "-o", help="Where to write the index."),
    url_base: str | None = typer.Option(None, "--url-base", help="Where the published repository serves raw "
                                        "files (default: reabridge's)."),
    check: bool = typer.Option(False, "--check", help="Only say whether OUTPUT is up to date (exit code 1 if not)."),
) -> None:
    """Write ReaPack's index.xml from the headers of the scripts in reaper_scripts/.

    Example: [bold]reabridge reapack-index -o index.xml[/bold]
    """
    from bridge.assets import reaper_scripts_dir
    from bridge.fileio import write_atomic
    from bridge.reaper.reapack import DEFAULT_URL_BASE, index_xml

    folder = reaper_scripts_dir()
    text = index_xml(folder, folder.parent, url_base or DEFAULT_URL_BASE)
    if check:
        current = output.read_text(encoding="utf-8") if output.is_file() else None
        if current != text:
            raise ReabridgeError(f"{output} is out of date; run 'reabridge reapack-index -o {output}'")
        typer.echo(f"{output} is up to date")
        return
    write_atomic(output, text.encode("utf-8"))
    typer.echo(f"wrote {output}")
