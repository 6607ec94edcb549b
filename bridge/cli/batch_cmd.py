"""``reabridge batch``: render and master folders of projects, locally or on a Dask cluster."""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape

from bridge.errors import ReabridgeError


def batch(
    inputs: list[Path] = typer.Argument(..., help="Projects (.RPP) and folders holding them (searched recursively)."),
    preset: str | None = typer.Option(None, "--preset", help="Mastering preset: streaming, apple, club, podcast, "
                                      "gentle (default: streaming)."),
    target_lufs: float | None = typer.Option(None, "--target-lufs", help="Integrated loudness target."),
    ceiling: float | None = typer.Option(None, "--ceiling", help="True-peak ceiling (dBTP)."),
    out: Path = typer.Option(Path("mastered"), "--out", help="Where the masters and reports go."),
    jobs: int = typer.Option(1, "--jobs", min=1, max=256, help="Projects at once (processes, or Dask workers)."),
    renderer: str = typer.Option("offline", "--renderer", help="offline (reabridge renders) or reaper "
                                 "(REAPER's -renderproject)."),
    executor: str = typer.Option("local", "--executor", help="local (a process pool) or dask."),
    scheduler: str | None = typer.Option(None, "--scheduler", help="Dask scheduler address (default: a local "
                                         "cluster sized to --jobs)."),
    keep_mix: bool = typer.Option(False, "--keep-mix", help="Also keep OUT/<project>.mix.wav."),
    missing: str = typer.Option("fail", "--missing", help="Unrenderable elements: fail (the project) or skip."),
    reaper: str | None = typer.Option(None, "--reaper", help="REAPER's executable (--renderer reaper)."),
    timeout: float = typer.Option(3600.0, "--timeout", min=1.0, help="Seconds REAPER may take per project."),
    effects_dir: list[Path] | None = typer.Option(None, "--effects-dir", help="Where JS effects are (repeatable)."),
    fmt: str | None = typer.Option(None, "--format", help="Master format: 16, 24 or 32f (default: as the mix)."),
) -> None:
    """Render and master many projects: OUT/<project>.master.wav and .json, then batch.csv and batch.png.

    Re-running skips projects whose outputs are up to date, so an interrupted batch resumes.

    Example: [bold]reabridge batch songs/ --preset streaming --out masters --jobs 2[/bold]
    """
    from bridge.batch.runner import Batch, check_scheduler, find_projects, run_batch
    from bridge.batch.summary import write_csv, write_png
    from bridge.batch.task import check_settings
    from bridge.cli.jobs import cli_words
    from bridge.requests.parse import RequestError

    for value, name, allowed in ((renderer, "--renderer", ("offline", "reaper")),
                                 (executor, "--executor", ("local", "dask")), (missing, "--missing", ("fail", "skip")),
                                 (fmt, "--format", (None, "16", "24", "32f"))):
        if value not in allowed:
            raise ReabridgeError(f"{name} must be one of {', '.join(a for a in allowed if a)}, not {value!r}")
    if scheduler and executor != "dask":
        raise ReabridgeError("--scheduler works with --executor dask")
    if scheduler:
        check_scheduler(scheduler)
    if out.exists() and not out.is_dir():
        raise ReabridgeError(f"--out {out} is a file, not a folder")
    projects = find_projects(inputs)
    settings = {"preset": preset, "target_lufs": target_lufs, "ceiling": ceiling, "keep_mix": keep_mix,
                "missing": missing, "renderer": renderer, "reaper": reaper, "timeout": timeout,
                "effects_dirs": [str(d.absolute()) for d in effects_dir or []], "format": fmt}
    try:
        check_settings(settings)  # once, not once per project
    except RequestError as exc:
        raise ReabridgeError(cli_words(str(exc))) from None
    plan = Batch(projects, out.absolute(), settings, jobs, executor, scheduler)
    err = Console(stderr=True, highlight=False)
    results = _run_with_progress(plan, run_batch, err)
    write_csv(results, plan.out / "batch.csv")
    write_png(results, plan.out / "batch.png")
    failed = [r for r in results if r.get("status") != "done"]
    fresh = sum(1 for r in results if r.get("status") == "done" and not r.get("skipped"))
    kept = sum(1 for r in results if r.get("skipped"))
    for r in failed:
        err.print(f"[red]failed[/red] {escape(r['name'])}: {escape(r.get('reason', ''))}", soft_wrap=True)
    typer.echo(f"{fresh} mastered, {kept} up to date, {len(failed)} failed; see {plan.out / 'batch.csv'} and "
               f"{plan.out / 'batch.png'}")
    if failed:
        sys.exit(1)


def _run_with_progress(plan, run_batch, err: Console):  # type: ignore[no-untyped-def]
    """Projects and their stages on a live display (one line per finished project without a terminal)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    if not err.is_terminal:
        def plain(name: str, stage: str) -> None:
            if stage in ("done", "failed", "up to date"):
                err.print(f"{escape(name)}: {stage}", soft_wrap=True)
        return run_batch(plan, plain)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err, transient=False) as bar:
        overall = bar.add_task("projects", total=len(plan.projects))
        rows = {name: bar.add_task(f"  {name}: waiting", total=None, visible=True) for name in plan.projects}

        def event(name: str, stage: str) -> None:
            if name not in rows:
                return
            bar.update(rows[name], description=f"  {name}: {stage}")
            if stage in ("done", "failed", "up to date"):
                bar.update(rows[name], total=1, completed=1)
                bar.advance(overall)

        return run_batch(plan, event)
