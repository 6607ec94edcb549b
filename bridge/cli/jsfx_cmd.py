"""``reabridge jsfx``: run JSFX offline, generate them from chains, install them for REAPER."""

from __future__ import annotations

import time
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape

from bridge.cli.common import OVERWRITE, absolute, make_request
from bridge.errors import ReabridgeError
from bridge.requests import AnyRequest

app = typer.Typer(help="JSFX (REAPER's own effects): render, generate, install.", no_args_is_help=True)


def _sliders(values: list[str] | None) -> dict[str, float | str]:
    """``--slider N=VALUE`` / ``NAME=VALUE`` options as the request's slider table."""
    sliders: dict[str, float | str] = {}
    for item in values or []:
        key, sep, text = item.partition("=")
        if not sep or not key.strip() or not text.strip():
            raise ReabridgeError(f"--slider takes NUMBER=VALUE or NAME=VALUE, not {item!r}")
        try:
            sliders[key.strip()] = float(text)
        except ValueError:
            sliders[key.strip()] = text.strip()
    return sliders


def _effects_dirs(given: list[Path] | None) -> list[Path]:
    """Where imports are looked for after the effect's own folder: the given folders, then REAPER's Effects."""
    from bridge.jobs.jsfx import effects_dirs

    return effects_dirs([str(p) for p in given or []])


def render(
    effect_path: Path = typer.Argument(..., metavar="EFFECT.jsfx", help="The JSFX to run."),
    source: Path = typer.Argument(..., metavar="IN.wav", help="Audio to run through it."),
    output: Path = typer.Option(..., "-o", "--output", help="Where to write the result."),
    overwrite: bool = OVERWRITE,
    slider: list[str] | None = typer.Option(None, "--slider", help="N=VALUE or NAME=VALUE (repeatable)."),
    block: int = typer.Option(512, "--block", help="Samples per @block (samplesblock)."),
    tempo: float = typer.Option(120.0, "--tempo", help="The tempo the effect sees (BPM)."),
    channels: int | None = typer.Option(None, "--channels", help="num_ch (default: the file's; 2 plays a mono "
                                        "file into both sides, as a REAPER track does)."),
    fmt: str | None = typer.Option(None, "--format", help="16, 24 or 32f (default: 32-bit float, or 24-bit where "
                                   "the output's format cannot hold float)."),
    effects_dir: list[Path] | None = typer.Option(None, "--effects-dir", help="Where imports are also looked for."),
    timeout: float | None = typer.Option(None, "--timeout", help="Stop after this many seconds, writing nothing "
                                         "(default: no limit; the daemon's applies there)."),
) -> AnyRequest:
    """Run an audio file through a JSFX, offline, at the file's rate.

    Example: [bold]reabridge jsfx render comp.jsfx mix.wav -o out.wav --slider 1=-18 --slider ratio=4[/bold]
    """
    options = {"effect": absolute(effect_path), "audio": absolute(source), "output": absolute(output),
               "overwrite": overwrite,
               "sliders": _sliders(slider), "block": block, "tempo": tempo, "channels": channels, "format": fmt,
               "effects_dirs": [absolute(p) for p in effects_dir or []], "timeout": timeout}
    return make_request("jsfx_render", options)


def insert(
    effect_path: Path = typer.Argument(..., metavar="EFFECT.jsfx", help="The JSFX to insert."),
    project: Path = typer.Option(..., "--project", help="The .RPP to add it to."),
    track: str = typer.Option("master", "--track", help="'master', a track name or a track GUID."),
    slider: list[str] | None = typer.Option(None, "--slider", help="N=VALUE or NAME=VALUE (repeatable)."),
    name: str | None = typer.Option(None, "--name", help="Name shown in the FX chain (default: the effect's)."),
    bypass: bool = typer.Option(False, "--bypass", help="Add it bypassed."),
    resource_path: Path | None = typer.Option(None, "--resource-path", help="REAPER's resource path (the effect "
                                              "is installed into its Effects/reabridge/)."),
    no_install: bool = typer.Option(False, "--no-install", help="Do not copy the effect into REAPER's Effects."),
    effects_dir: list[Path] | None = typer.Option(None, "--effects-dir", help="Where imports are also looked for."),
) -> AnyRequest:
    """Put a JSFX on a track (or the master) of a project, with slider values.

    Example: [bold]reabridge jsfx insert comp.jsfx --project song.RPP --track Drums --slider ratio=4[/bold]
    """
    options = {"effect": absolute(effect_path), "track": track, "sliders": _sliders(slider), "name": name,
               "bypass": bypass, "resource_path": absolute(resource_path), "install": not no_install,
               "effects_dirs": [absolute(p) for p in effects_dir or []]}
    return make_request("jsfx_insert", options, project)


@app.command("generate")
def generate(
    output: Path = typer.Option(..., "-o", "--output", help="The JSFX file to write."),
    preset: str | None = typer.Option(None, "--preset", help="A bundled mastering preset (default streaming)."),
    chain: Path | None = typer.Option(None, "--chain", help="A chain in a TOML file (the preset format)."),
    analyze: Path | None = typer.Option(None, "--analyze", help="Set the 'auto' parameters from this mix."),
    overwrite: bool = OVERWRITE,
) -> None:
    """Write a mastering chain as a native JSFX, with sliders for what you would tweak.

    Example: [bold]reabridge jsfx generate --preset streaming --analyze mix.wav -o master_chain.jsfx[/bold]
    """
    from bridge.audio.source import AudioSource
    from bridge.fileio import Outputs
    from bridge.jsfx.chain import analysed_chain
    from bridge.jsfx.generate import generate_jsfx
    from bridge.master.presets import load_preset, load_preset_file

    if preset and chain:
        raise ReabridgeError("give --preset or --chain, not both")
    with Outputs([p for p in (chain, analyze) if p is not None], overwrite) as outputs:
        outputs.target(output, "jsfx", "-o")  # checked before the analysis
        chosen = load_preset_file(chain) if chain else load_preset(preset or "streaming")
        spec = analysed_chain(chosen, AudioSource.from_file(analyze) if analyze else None)
        outputs.write_bytes(output, generate_jsfx(spec).encode("utf-8"), "jsfx", "-o")
    out = Console(highlight=False)
    for line in spec.decisions:
        out.print(f"  {line}", markup=False)
    out.print(f"wrote {output} ({len(spec.stages)} stages, {len(spec.sliders())} sliders)", markup=False)


@app.command("install")
def install_cmd(
    files: list[Path] | None = typer.Argument(None, help="JSFX files to install (default: the shipped ones)."),
    resource_path: Path | None = typer.Option(None, "--resource-path", help="REAPER's resource path."),
) -> None:
    """Copy JSFX into <REAPER resource path>/Effects/reabridge/ (shipped ones too, with none given).

    Example: [bold]reabridge jsfx install master_chain.jsfx[/bold]
    """
    from bridge.jsfx.install import install, shipped_effects

    chosen = list(files or []) or shipped_effects()
    done = install(chosen, resource_path)
    out = Console(highlight=False)
    for path in done:
        out.print(f"installed {path}", markup=False)
    out.print(f"{len(done)} effect(s); in REAPER they appear under FX browser > JS > reabridge")


@app.command("cache")
def cache_cmd(
    clear: bool = typer.Option(False, "--clear", help="Remove everything cached (a compile under way keeps its "
                               "files)."),
) -> None:
    """Show what is cached for JSFX (kept programs, native code, failed compiles) and the compile under way.

    Example: [bold]reabridge jsfx cache --clear[/bold]
    """
    from rich.table import Table

    from bridge.jsfx.cache import clear as clear_cache
    from bridge.jsfx.cache import contents, describe_age, describe_size

    out = Console(highlight=False)
    if clear:
        done = clear_cache()
        out.print(f"removed {done.removed} file(s), {describe_size(done.freed)}", markup=False)
        if done.kept is not None:
            out.print(f"kept the compile under way (pid {done.kept.get('pid', '?')}, "
                      f"{done.kept.get('effect') or 'an effect'}); run again when it has ended", markup=False)
        return
    found = contents()
    if not found.entries and found.running is None:
        out.print(f"nothing cached in {found.folder}", markup=False)
        return
    table = Table("kind", "effect", "size", "age", "detail")
    for e in found.entries:
        table.add_row(e.kind, escape(e.effect or "?"), describe_size(e.size), describe_age(e.age), escape(e.detail))
    out.print(table)
    total = sum(e.size for e in found.entries)
    out.print(f"{len(found.entries)} entries, {describe_size(total)} in {found.folder}", markup=False)
    if found.running is not None:
        started = found.running.get("started")
        since = f", running for {describe_age(time.time() - float(started))}" if started else ""
        out.print(f"compiling now: {found.running.get('effect') or 'an effect'} (pid {found.running.get('pid', '?')}"
                  f"{since})", markup=False)


@app.command("info")
def info(
    effect_path: Path = typer.Argument(..., metavar="EFFECT.jsfx", help="The JSFX to describe."),
    effects_dir: list[Path] | None = typer.Option(None, "--effects-dir", help="Where imports are also looked for."),
) -> None:
    """List an effect's sliders (what --slider takes), pins, imports and what will be skipped.

    Example: [bold]reabridge jsfx info comp.jsfx[/bold]
    """
    from rich.table import Table

    from bridge.jsfx.effect import load_effect

    effect = load_effect(effect_path, _effects_dirs(effects_dir))
    out = Console(highlight=False)
    out.print(f"[bold]{escape(effect.desc or effect_path.name)}[/bold]")
    table = Table("#", "variable", "default", "range", "label")
    for number, s in sorted(effect.sliders.items()):
        values = ", ".join(s.labels) if s.labels else f"{s.minimum:g} .. {s.maximum:g} (step {s.step:g})"
        table.add_row(str(number), escape(s.var), f"{s.default:g}", escape(values),
                      escape(s.label) + (" (hidden)" if s.hidden else ""))
    out.print(table)
    if effect.in_pins or effect.out_pins:
        out.print(f"pins: in {', '.join(effect.in_pins) or '-'}; out {', '.join(effect.out_pins) or '-'}",
                  markup=False)
    for path in effect.imports:
        out.print(f"imports {path}", markup=False)
    for notice in effect.notices:
        out.print("[yellow]notice:[/yellow] " + escape(notice))
