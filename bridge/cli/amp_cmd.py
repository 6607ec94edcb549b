"""``reabridge amp ...``: Neural Amp Modeler captures."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console

from bridge.cli.common import OVERWRITE, absolute, items_spec, make_request, project_mode
from bridge.errors import ReabridgeError
from bridge.requests import AnyRequest

app = typer.Typer(help="Render audio through Neural Amp Modeler captures (.nam), and create captures.",
                  no_args_is_help=True)


MODEL_HELP = "The .nam capture, or the name of a bundled one ('reabridge amp list')."


def _capture_file(model: Path) -> Path:
    """The capture a user named: a file, else a bundled capture by name."""
    from bridge.amp.bundled import missing_capture, resolve_capture

    found = resolve_capture(str(model), Path.cwd())
    if found is None or not found.exists():
        raise ReabridgeError(missing_capture(str(model), found))
    return found


def _capture_option(model: Path) -> str:
    """``options.model`` for a request: a file's absolute path, or what may be a bundled capture's name, as given.

    A name stays a name, so the daemon that runs the request resolves it with its own
    installed copy (see :mod:`bridge.amp.bundled`), and a name that is not one is
    reported with the bundled captures' names.
    """
    from bridge.amp.bundled import looks_like_name

    if not model.exists() and looks_like_name(str(model)):
        return str(model)
    return str(model.absolute())


def _load(model: Path):
    from bridge.amp.nam_file import load_nam

    return load_nam(_capture_file(model))


@app.command("list")
def list_captures(as_json: bool = typer.Option(False, "--json", help="Print one JSON object.")) -> None:
    """List the captures that come with reabridge (use a name wherever a .nam is asked for).

    Example: [bold]reabridge amp render di.wav --model "reabridge Crunch"[/bold]
    """
    from bridge.amp.bundled import bundled_captures, capture_name
    from bridge.amp.nam_file import load_nam

    rows = []
    for path in bundled_captures():
        nam = load_nam(path)
        rows.append({"name": capture_name(path), "architecture": nam.architecture, "sample_rate": nam.sample_rate,
                     "description": str(nam.metadata.get("description") or ""), "file": str(path)})
    if as_json:
        typer.echo(json.dumps({"captures": rows}))
        return
    out = Console(highlight=False, soft_wrap=True)
    for row in rows:
        out.print(f"{row['name']:20} {row['architecture']} at {row['sample_rate']:g} Hz  {row['file']}", markup=False)


@app.command("info")
def info(model: Path = typer.Argument(..., help=MODEL_HELP),
         as_json: bool = typer.Option(False, "--json", help="Print one JSON object.")) -> None:
    """Show a capture's architecture, rate, receptive field, latency and levels.

    Example: [bold]reabridge amp info "Plexi Crunch.nam"[/bold] or [bold]reabridge amp info "reabridge Crunch"[/bold]
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
    out = Console(highlight=False, soft_wrap=True)
    gear = data["gear"]
    shown = {
        "name": data["name"],
        "architecture": f"{data['architecture']} (file version {data['version'] or '?'})",
        "sample rate": f"{data['sample_rate']:g} Hz",
        "receptive field": f"{data['receptive_field']} samples "
                           f"({1000 * data['receptive_field'] / data['sample_rate']:.1f} ms)",
        "latency": f"{data['latency_samples']} samples" if data["latency_samples"] is not None else None,
        "input level": f"{data['input_level_dbu']:.1f} dBu at 0 dBFS" if data["input_level_dbu"] is not None else None,
        "loudness": f"{data['loudness_db']:.1f} dB" if data["loudness_db"] is not None else None,
        "sizes": ", ".join(f"{v:g}" for v in data["submodels"]) + " (--size)" if data["submodels"] else None,
        "gear": " ".join(str(gear[k]) for k in ("gear_make", "gear_model") if k in gear) +
                (f" ({gear['gear_type']})" if "gear_type" in gear else "") if gear else None,
        "tone": gear.get("tone_type"),
    }
    for key, value in shown.items():
        if value:
            out.print(f"{key:16} {value}", markup=False)


def render(
    audio: Path | None = typer.Argument(None, help="DI recording (any rate, mono or stereo)."),
    model: Path = typer.Option(..., "--model", "-m", help=MODEL_HELP),
    output: Path | None = typer.Option(None, "-o", "--output", help="Output file (default: AUDIO-<capture>.wav)."),
    overwrite: bool = OVERWRITE,
    input_level: float | None = typer.Option(None, "--input-level",
                                             help="Your interface's level in dBu at 0 dBFS; calibrates the DI "
                                                  "to the capture's recorded input level."),
    gain: float = typer.Option(0.0, "--gain", help="Extra input gain in dB."),
    normalize: bool = typer.Option(False, "--normalize", help="Bring the capture's loudness to -18 dB."),
    size: float = typer.Option(1.0, "--size", help="Size control for slimmable captures (0-1)."),
    fmt: str = typer.Option("32f", "--format", "--bit-depth", help="Output format: 32f (float), 24 or 16."),
    project: Path | None = typer.Option(None, "--project", help="Render items of this .RPP instead."),
    selected: bool = typer.Option(False, "--selected", help="Project mode: the selected items."),
    item: list[str] | None = typer.Option(None, "--item", help="Project mode: item GUID (repeatable)."),
    track: list[str] | None = typer.Option(None, "--track", help="Project mode: all items of this track."),
) -> AnyRequest:
    """Render a DI through a capture, as a file or as new takes in a project.

    Example: [bold]reabridge amp render di.wav --model plexi.nam -o plexi.wav[/bold]
    or [bold]reabridge amp render --project song.RPP --track "Gtr DI" --model "reabridge Crunch"[/bold]
    """
    in_project = project_mode(audio, project, "a DI audio file")
    options = {"model": _capture_option(model), "audio": None if in_project else absolute(audio),
               "output": absolute(output), "overwrite": overwrite, "input_level": input_level, "gain": gain,
               "normalize": normalize, "size": size, "format": fmt}
    return make_request("amp_render", options, project, items_spec(project, selected, item, track))


def capture(
    di: Path | None = typer.Option(None, "--di", help="The clean DI recording."),
    reamp: Path | None = typer.Option(None, "--reamp", help="The same DI played through the gear and recorded."),
    output: Path = typer.Option(..., "-o", "--output", help="The .nam file to write."),
    overwrite: bool = OVERWRITE,
    size: str = typer.Option("standard", "--size", help="standard, lite, feather or nano."),
    epochs: int = typer.Option(100, "--epochs", help="Training passes over the audio."),
    name: str | None = typer.Option(None, "--name", help="Capture name (default: the output file name)."),
    project: Path | None = typer.Option(None, "--project", help="Take the DI and re-amp from this .RPP."),
    di_item: str | None = typer.Option(None, "--di-item", help="Project mode: GUID of the DI item."),
    reamp_item: str | None = typer.Option(None, "--reamp-item", help="Project mode: GUID of the re-amped item."),
) -> AnyRequest:
    """Create a capture (.nam) from a DI and its re-amped recording (CPU training; needs reabridge[train]).

    Example: [bold]reabridge amp capture --di di.wav --reamp amp.wav --size nano --epochs 20 -o my-amp.nam[/bold]
    or [bold]reabridge amp capture --project song.RPP --di-item {GUID} --reamp-item {GUID} -o amp.nam[/bold]
    """
    if project is not None:
        if not (di_item and reamp_item):
            raise ReabridgeError("project mode needs --di-item GUID and --reamp-item GUID")
    elif di is None or reamp is None:
        raise ReabridgeError("give --di and --reamp files, or --project with --di-item and --reamp-item")
    options = {"output": absolute(output), "overwrite": overwrite, "di": absolute(di), "reamp": absolute(reamp),
               "di_item": di_item, "reamp_item": reamp_item, "size": size, "epochs": epochs, "name": name}
    return make_request("amp_capture", options, project)
