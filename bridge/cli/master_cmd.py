"""``reabridge master``: master a mix to a preset's loudness targets."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import typer
from rich.console import Console

from bridge.cli.common import apply_job, project_mode, request_id, select_items
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
) -> None:
    """Master a mix to a loudness target (LUFS) under a true-peak ceiling, with a report.

    Example: [bold]reabridge master mix.wav -o master.wav --preset streaming --report report/[/bold]
    or [bold]reabridge master --project song.RPP --selected --preset apple[/bold]
    """
    from bridge.audio.reader import read_audio
    from bridge.master.engine import master as run
    from bridge.master.output import SUBTYPES, write_master
    from bridge.master.report import write_report

    if fmt is not None and fmt not in SUBTYPES:
        raise ReabridgeError(f"--format must be one of {', '.join(SUBTYPES)}, not {fmt!r}")
    chosen = _preset(preset, preset_file, target_lufs, ceiling)
    out = Console(highlight=False)
    if project_mode(mix, project, "a mix to master"):
        _project_mode(project, selected, item, chosen, report, out)
        return
    audio, info = read_audio(mix)
    target = output or mix.with_name(f"{mix.stem}-master.wav")
    if target.resolve() == mix.resolve():
        raise ReabridgeError("the master would overwrite the mix; choose another -o")
    ref_audio = _reference(reference, info.sample_rate) if reference is not None else None
    result = run(audio, info.sample_rate, chosen, progress=lambda m: out.print(f"  {m}"), reference=ref_audio,
                 keep_target=target_lufs is not None)
    chosen = result.preset
    subtype, rate = write_master(result.audio, info.sample_rate, target, info, fmt, sample_rate)
    for warning in result.warnings:
        out.print(f"[yellow]warning:[/yellow] {warning}")
    out.print(f"{result.before.integrated:.2f} LUFS -> {result.after.integrated:.2f} LUFS (target {chosen.lufs:.2f}), "
              f"true peak {result.after.true_peak:.2f} dBTP (ceiling {chosen.true_peak:g}); wrote {target} "
              f"({subtype}, {rate} Hz)")
    if report is not None:
        json_path, png_path = write_report(result, report, str(mix), str(target))
        out.print(f"report: {json_path}, {png_path}")


def _reference(path: Path, rate: int) -> np.ndarray:
    """The reference track as ``(frames, channels)`` at the mix's rate."""
    import soxr

    from bridge.audio.reader import read_audio

    ref, info = read_audio(path)
    if info.sample_rate != rate:
        ref = soxr.resample(ref, info.sample_rate, rate, quality="VHQ")
    return ref


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


def register(app: typer.Typer) -> None:
    """Add the command to the root app."""
    app.command("master")(master)
