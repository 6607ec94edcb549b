"""``reabridge amp ...``: Neural Amp Modeler captures."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console

from bridge.cli.common import apply_job, progress_bar, project_mode, request_id, select_items
from bridge.errors import ReabridgeError

app = typer.Typer(help="Render audio through Neural Amp Modeler captures (.nam), and create captures.",
                  no_args_is_help=True)

_SUBTYPES = {"32f": "FLOAT", "24": "PCM_24", "16": "PCM_16"}


def _load(model: Path):
    from bridge.amp.nam_file import load_nam

    return load_nam(model)


@app.command("info")
def info(model: Path = typer.Argument(..., help="A .nam capture."),
         as_json: bool = typer.Option(False, "--json", help="Print one JSON object.")) -> None:
    """Show a capture's architecture, rate, receptive field, latency and levels.

    Example: [bold]reabridge amp info "Plexi Crunch.nam"[/bold]
    """
    from bridge.amp.networks import build_network

    nam = _load(model)
    net = build_network(nam)
    data = {
        "name": nam.name, "architecture": nam.architecture, "version": nam.version,
        "sample_rate": nam.sample_rate, "receptive_field": net.receptive_field,
        "latency_samples": nam.latency_samples, "input_level_dbu": nam.input_level_dbu,
        "loudness_db": nam.loudness, "submodels": [v for v, _ in nam.submodels],
        "gear": {k: nam.metadata.get(k) for k in ("gear_type", "gear_make", "gear_model", "tone_type")
                 if nam.metadata.get(k)},
    }
    if as_json:
        typer.echo(json.dumps(data))
        return
    out = Console(highlight=False)
    for key, value in data.items():
        if value not in (None, [], {}):
            out.print(f"{key:16} {value}")


@app.command("render")
def render(
    audio: Path | None = typer.Argument(None, help="DI recording (any rate, mono or stereo)."),
    model: Path = typer.Option(..., "--model", "-m", help="The .nam capture."),
    output: Path | None = typer.Option(None, "-o", "--output", help="Output file (default: AUDIO-<capture>.wav)."),
    input_level: float | None = typer.Option(None, "--input-level",
                                             help="Your interface's level in dBu at 0 dBFS; calibrates the DI "
                                                  "to the capture's recorded input level."),
    gain: float = typer.Option(0.0, "--gain", help="Extra input gain in dB."),
    normalize: bool = typer.Option(False, "--normalize", help="Bring the capture's loudness to -18 dB."),
    size: float = typer.Option(1.0, "--size", help="Size control for slimmable captures (0-1)."),
    bit_depth: str = typer.Option("32f", "--bit-depth", help="Output format: 32f (float), 24 or 16."),
    project: Path | None = typer.Option(None, "--project", help="Render items of this .RPP instead."),
    selected: bool = typer.Option(False, "--selected", help="Project mode: the selected items."),
    item: list[str] | None = typer.Option(None, "--item", help="Project mode: item GUID (repeatable)."),
    track: list[str] | None = typer.Option(None, "--track", help="Project mode: all items of this track."),
) -> None:
    """Render a DI through a capture, as a file or as new takes in a project.

    Example: [bold]reabridge amp render di.wav --model plexi.nam -o plexi.wav[/bold]
    or [bold]reabridge amp render --project song.RPP --track "Gtr DI" --model plexi.nam[/bold]
    """
    from bridge.amp.render import AmpRenderer, input_gain_for_level

    if bit_depth not in _SUBTYPES:
        raise ReabridgeError(f"--bit-depth must be one of {', '.join(_SUBTYPES)}, not {bit_depth!r}")
    nam = _load(model)
    out = Console(highlight=False)
    calibration = input_gain_for_level(nam, input_level)
    if input_level is not None and nam.input_level_dbu is None:
        out.print(f"[yellow]note:[/yellow] {model.name} does not record its input level; --input-level ignored")
    gain_db = gain + calibration
    renderer = AmpRenderer(nam, size)
    if project_mode(audio, project, "a DI audio file"):
        _project_mode(project, selected, item, track, nam, renderer, gain_db, normalize, out)
        return
    target = output or audio.with_name(f"{audio.stem}-{model.stem}.wav")
    if target.resolve() == audio.resolve():
        raise ReabridgeError("the output would overwrite the DI; choose another -o")
    with progress_bar() as bar:
        task = bar.add_task(f"{audio.name} through {nam.name}", total=None)
        report = renderer.render_file(audio, target, gain_db, normalize, _SUBTYPES[bit_depth],
                                      progress=lambda d, t: bar.update(task, completed=d, total=t))
    latency = (f"; the capture's own latency is {report.model_latency} samples (not compensated)"
               if report.model_latency else "")
    out.print(f"wrote {target} ({report.frames / report.sample_rate:.1f} s, {report.channels} ch, "
              f"{report.sample_rate} Hz; capture runs at {report.model_rate:g} Hz; input gain "
              f"{report.input_gain_db:+.1f} dB, output gain {report.output_gain_db:+.1f} dB{latency})")
    if report.clipped:
        out.print(f"[yellow]warning:[/yellow] {report.clipped} samples went past full scale and were clipped in "
                  "the integer file; use the default 32-bit float or --normalize")


def _project_mode(path: Path, selected: bool, items: list[str] | None, tracks: list[str] | None, nam,
                  renderer, gain_db: float, normalize: bool, out: Console) -> None:
    from bridge.jobs.amp import render_items
    from bridge.session.rpp_file import RppFileSession

    session = RppFileSession(path)
    chosen = select_items(session.project, selected, items, tracks)
    with progress_bar() as bar:
        task = bar.add_task("rendering", total=None)

        def report(where: str, done: int, total: int) -> None:
            bar.update(task, description=f"{where}", completed=done, total=total)

        result = render_items(session.project, chosen, nam, request_id("amp"), renderer, gain_db, normalize,
                              report)
    for f in result.files:
        out.print(f"rendered {f}")
    apply_job(session, result.changes, len(result.files), result.skipped, out, "rendered",
              f"added {len(result.files)} take(s) named '{nam.name}'")


@app.command("capture")
def capture(
    di: Path | None = typer.Option(None, "--di", help="The clean DI recording."),
    reamp: Path | None = typer.Option(None, "--reamp", help="The same DI played through the gear and recorded."),
    output: Path = typer.Option(..., "-o", "--output", help="The .nam file to write."),
    size: str = typer.Option("standard", "--size", help="standard, lite, feather or nano."),
    epochs: int = typer.Option(100, "--epochs", help="Training passes over the audio."),
    name: str | None = typer.Option(None, "--name", help="Capture name (default: the output file name)."),
    project: Path | None = typer.Option(None, "--project", help="Take the DI and re-amp from this .RPP."),
    di_item: str | None = typer.Option(None, "--di-item", help="Project mode: GUID of the DI item."),
    reamp_item: str | None = typer.Option(None, "--reamp-item", help="Project mode: GUID of the re-amped item."),
) -> None:
    """Create a capture (.nam) from a DI and its re-amped recording (CPU training).

    Example: [bold]reabridge amp capture --di di.wav --reamp amp.wav --size nano --epochs 20 -o my-amp.nam[/bold]
    or [bold]reabridge amp capture --project song.RPP --di-item {GUID} --reamp-item {GUID} -o amp.nam[/bold]
    """

    from bridge.amp.capture import train_capture

    out = Console(highlight=False)
    if project is not None:
        if not (di_item and reamp_item):
            raise ReabridgeError("project mode needs --di-item GUID and --reamp-item GUID")
        from bridge.audio.item_audio import plan_item_audio
        from bridge.project.project import Project

        proj = Project.load(project)
        signals = []
        for guid in (di_item, reamp_item):
            try:
                track, item = proj.find_item(guid)
            except KeyError as exc:
                raise ReabridgeError(str(exc.args[0])) from None
            plan = plan_item_audio(track, item)
            signals.append((plan.samples(), plan.effective_rate))
    else:
        if di is None or reamp is None:
            raise ReabridgeError("give --di and --reamp files, or --project with --di-item and --reamp-item")
        from bridge.audio.reader import read_audio

        signals = [(audio, info.sample_rate) for audio, info in (read_audio(p, mono=True) for p in (di, reamp))]
    (x, x_rate), (y, y_rate) = signals
    if x_rate != y_rate:
        raise ReabridgeError(f"the DI is at {x_rate:g} Hz but the re-amp at {y_rate:g} Hz; use the same rate")
    with progress_bar(transient=False) as bar:
        task = bar.add_task("training", total=epochs)

        def report(epoch: int, total: int, value: float) -> None:
            bar.update(task, completed=epoch, description=f"epoch {epoch}/{total}, validation ESR {value:.4f}")

        result = train_capture(x, y, x_rate, output, size, epochs, name, progress=report)
    out.print(f"re-amp latency {result.latency_samples} samples ({1000 * result.latency_samples / x_rate:.2f} ms), "
              "compensated")
    out.print(f"validation ESR {result.validation_esr:.4f}: {result.grade}")
    out.print(f"wrote {result.path}")
