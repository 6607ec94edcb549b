"""``reabridge master``: master a mix to a preset's loudness targets."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from bridge.audio.reader import audio_info
from bridge.cli.common import apply_job, progress_bar, project_mode, request_id, select_items
from bridge.errors import ReabridgeError


def _preset(name: str | None, file: Path | None, lufs: float | None, ceiling: float | None):
    from bridge.master.presets import load_preset, load_preset_file

    if name and file:
        raise ReabridgeError("give --preset or --preset-file, not both")
    preset = load_preset_file(file) if file else load_preset(name or "streaming")
    return preset.with_targets(lufs, ceiling)


def master(
    mix: Path | None = typer.Argument(None, help="The mix to master (any rate, mono or stereo)."),
    output: Path | None = typer.Option(None, "-o", "--output", help="Master file (default: MIX-master.wav)."),
    preset: str | None = typer.Option(None, "--preset", help="streaming, apple, club, podcast or gentle."),
    preset_file: Path | None = typer.Option(None, "--preset-file", help="Your own preset (TOML)."),
    target_lufs: float | None = typer.Option(None, "--target-lufs", help="Override the integrated loudness target."),
    ceiling: float | None = typer.Option(None, "--ceiling", help="Override the true-peak ceiling (dBTP)."),
    reference: Path | None = typer.Option(None, "--reference", help="Match this track's tonal balance and loudness."),
    report: Path | None = typer.Option(None, "--report", help="Folder for master-report.json and .png."),
    fmt: str | None = typer.Option(None, "--format", help="16, 24 or 32f (default: as the mix; 16 is dithered)."),
    sample_rate: int | None = typer.Option(None, "--sample-rate", help="Output rate (default: as the mix)."),
    project: Path | None = typer.Option(None, "--project", help="Master items of this .RPP instead."),
    selected: bool = typer.Option(False, "--selected", help="Project mode: the selected items."),
    item: list[str] | None = typer.Option(None, "--item", help="Project mode: item GUID (repeatable)."),
    insert_jsfx: bool = typer.Option(False, "--insert-jsfx", help="Project mode: put the analysed chain on the "
                                     "master track as a JSFX you can tweak, instead of rendering a take."),
    resource_path: Path | None = typer.Option(None, "--resource-path", help="REAPER's resource path (for "
                                              "--insert-jsfx; default: this platform's)."),
) -> None:
    """Master a mix to a loudness target (LUFS) under a true-peak ceiling, with a report.

    Example: [bold]reabridge master mix.wav -o master.wav --preset streaming --report report/[/bold]
    or [bold]reabridge master --project song.RPP --selected --preset apple[/bold]
    """
    from bridge.audio.source import AudioSource
    from bridge.master.engine import master_source
    from bridge.master.output import SUBTYPES, FileSink, choose_subtype
    from bridge.master.report import write_report

    if fmt is not None and fmt not in SUBTYPES:
        raise ReabridgeError(f"--format must be one of {', '.join(SUBTYPES)}, not {fmt!r}")
    chosen = _preset(preset, preset_file, target_lufs, ceiling)
    out = Console(highlight=False)
    if project_mode(mix, project, "a mix to master"):
        if insert_jsfx:
            _insert_jsfx(project, selected, item, chosen, resource_path, out)
        else:
            _project_mode(project, selected, item, chosen, report, out)
        return
    if insert_jsfx:
        raise ReabridgeError("--insert-jsfx works in project mode (--project SONG.RPP)")
    source = AudioSource.from_file(mix)
    target = output or mix.with_name(f"{mix.stem}-master.wav")
    if target.resolve() == mix.resolve():
        raise ReabridgeError("the master would overwrite the mix; choose another -o")
    ref = AudioSource.from_file(reference, source.rate) if reference is not None else None
    subtype = choose_subtype(audio_info(mix).subtype, fmt)
    with FileSink(target, source.rate, source.channels, subtype, sample_rate, strict=fmt is not None) as sink, \
            progress_bar() as bar:
        task = bar.add_task("measuring", total=1.0)

        def show(stage: str, fraction: float) -> None:
            if stage.startswith("pass"):
                bar.console.print(f"  {stage}")
            else:
                bar.update(task, description=stage, completed=fraction)

        result = master_source(source, chosen, sink, show, ref, keep_target=target_lufs is not None,
                               scratch=target.parent)
    chosen = result.preset
    for warning in result.warnings:
        out.print(f"[yellow]warning:[/yellow] {warning}")
    out.print(f"{result.before.integrated:.2f} LUFS -> {result.after.integrated:.2f} LUFS (target {chosen.lufs:.2f}), "
              f"true peak {result.after.true_peak:.2f} dBTP (ceiling {chosen.true_peak:g}); wrote {target} "
              f"({sink.subtype}, {sink.rate} Hz)")
    if report is not None:
        json_path, png_path = write_report(result, report, str(mix), str(target))
        out.print(f"report: {json_path}, {png_path}")


def _project_mode(path: Path, selected: bool, items: list[str] | None, preset, report: Path | None,
                  out: Console) -> None:
    from bridge.jobs.master import master_items
    from bridge.session.rpp_file import RppFileSession

    session = RppFileSession(path)
    chosen = select_items(session.project, selected, items, None)
    result = master_items(session.project, chosen, preset, request_id("master"), report)
    for line in result.lines:
        out.print(line)
    apply_job(session, result.changes, len(result.files), result.skipped, out, "mastered",
              f"added {len(result.files)} take(s) 'Master ({preset.name})'")


def _insert_jsfx(path: Path, selected: bool, items: list[str] | None, preset, resource_path: Path | None,
                 out: Console) -> None:
    from bridge.jobs.master_jsfx import chain_on_master
    from bridge.session.rpp_file import RppFileSession

    session = RppFileSession(path)
    chosen = select_items(session.project, selected, items, None)
    if len(chosen) != 1:
        raise ReabridgeError(f"--insert-jsfx analyses one item (the rendered mix); {len(chosen)} were chosen")
    track, item = chosen[0]
    result = chain_on_master(session.project, track, item, preset, request_id("master-jsfx"), resource_path)
    for line in result.decisions:
        out.print(f"  {line}")
    session.apply(result.changes)
    where = f"installed as {result.installed}" if result.installed else (
        f"REAPER's resource path was not found: run 'reabridge jsfx install {result.local_copy}' so REAPER finds it")
    out.print(f"added the '{preset.name}' chain to the master track of {session.path} ({where}; copy in "
              f"{result.local_copy})")


def register(app: typer.Typer) -> None:
    """Add the command to the root app."""
    app.command("master")(master)
