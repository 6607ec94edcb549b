"""``reabridge project ...``: look at and change REAPER project files."""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from bridge.changes.ops import ChangeSet
from bridge.project.project import Project
from bridge.session.rpp_file import RppFileSession, backup_path

app = typer.Typer(help="Inspect REAPER project files and apply ChangeSets to them.", no_args_is_help=True)


def _sources(track: dict) -> str:
    counts: Counter[str] = Counter()
    for item in track["items"]:
        for take in item["takes"]:
            if take["active"] and take["source_type"]:
                counts[take["source_type"]] += 1
    return ", ".join(f"{k}×{v}" for k, v in sorted(counts.items())) or "-"


def _missing(track: dict) -> int:
    return sum(1 for item in track["items"] for take in item["takes"] if take["missing"])


def _db(volume: float) -> str:
    return "-inf" if volume <= 0 else f"{20 * math.log10(volume):+.1f} dB"


def _pan(pan: float) -> str:
    if abs(pan) < 0.005:
        return "C"
    return f"{abs(pan) * 100:.0f}{'L' if pan < 0 else 'R'}"


def _fitted(width: int, columns: list[tuple[str, int | None, int]], rows: list[list[str]]) -> Table:
    """A table that fits ``width`` columns of text.

    Each column is ``(header, limit, keep)``: numbers and GUIDs (``limit`` None) never wrap; names are
    cut with '…' at ``limit`` characters; when even that is too wide, the columns with the lowest ``keep``
    are left out (say the track and GUID stay, the FX list goes).
    """
    from rich.text import Text

    def natural(i: int) -> int:
        header, limit, _ = columns[i]
        longest = max([len(header), *(Text.from_markup(r[i]).cell_len for r in rows)])
        return min(longest, limit) if limit is not None else longest

    shown = list(range(len(columns)))
    while len(shown) > 1 and sum(natural(i) + 2 for i in shown) > width:
        shown.remove(min(shown, key=lambda i: columns[i][2]))
    table = Table(box=None, header_style="bold underline", padding=(0, 2, 0, 0), pad_edge=False)
    for i in shown:
        header, limit, _ = columns[i]
        table.add_column(header, no_wrap=True, overflow="ellipsis", max_width=limit)
    for row in rows:
        table.add_row(*(row[i] for i in shown))
    return table


@app.command("info")
def info(
    project: Path = typer.Argument(..., help="The .RPP file.", exists=False),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of tables."),
    items: bool = typer.Option(False, "--items", help="List every item with its GUID (what --item takes)."),
) -> None:
    """Summarise a project: tracks (folders, volume, pan, mute, solo, FX), items and their GUIDs, tempo.

    Example: [bold]reabridge project info song.RPP --items[/bold]
    """
    proj = Project.load(project)
    summary = proj.summary()
    if as_json:
        typer.echo(json.dumps(summary, indent=1))
        return
    out = Console(highlight=False, soft_wrap=True)
    tempo = summary["tempo"]
    changes = f", {len(tempo['points'])} tempo points" if tempo["points"] else ""
    out.print(f"[bold]{escape(str(project))}[/bold]  (REAPER {escape(summary['reaper_version'] or '?')})")
    out.print(f"tempo {tempo['bpm']:g} BPM {tempo['numerator']}/{tempo['denominator']}{changes}; "
              f"sample rate {summary['sample_rate'] or 'REAPER default'}", markup=False)
    if summary["master_fx"]:
        out.print("master FX: " + ", ".join(f["name"] for f in summary["master_fx"]), markup=False)
    rows = []
    for t in summary["tracks"]:
        name = "  " * t["depth"] + (t["name"] or f"Track {t['index'] + 1}") + (" /" if t["folder"] else "")
        flags = ("M" if t["mute"] else "") + ("S" if t["solo"] else "")
        missing = _missing(t)
        rows.append([str(t["index"] + 1), escape(name), _db(t["volume"]), _pan(t["pan"]), flags,
                     str(t["item_count"]), _sources(t), escape(", ".join(f["name"] for f in t["fx"]) or "-"),
                     f"[red]{missing}[/red]" if missing else ""])
    out.print(_fitted(out.width, [("#", None, 9), ("track", 24, 10), ("volume", None, 7), ("pan", None, 6),
                                  ("M/S", None, 5), ("items", None, 4), ("sources", 16, 1), ("FX", 30, 2),
                                  ("missing", None, 8)], rows))
    count = sum(t["item_count"] for t in summary["tracks"])
    if items or 0 < count <= 40:
        rows = []
        for t in summary["tracks"]:
            for it in t["items"]:
                take = next((k for k in it["takes"] if k["active"]), None)
                label = (take["name"] or take["file"] or "") if take else "(empty)"
                rows.append([escape(t["name"] or f"Track {t['index'] + 1}"), f"{it['position']:.3f}",
                             f"{it['length']:.3f}", escape(label) + (" [selected]" if it["selected"] else ""),
                             it["guid"]])
        out.print(_fitted(out.width, [("track", 20, 8), ("position", None, 7), ("length", None, 3), ("take", 30, 2),
                                      ("GUID (for --item)", None, 10)], rows))
    elif count:
        out.print(f"{count} items: --items lists them with the GUIDs --item takes", markup=False)
    markers = summary["markers"]
    if markers:
        regions = sum(1 for m in markers if m["region"])
        out.print(f"{len(markers) - regions} markers, {regions} regions")
    if summary["missing_media"]:
        out.print(f"[red]{len(summary['missing_media'])} media files not found:[/red]")
        for f in summary["missing_media"]:
            out.print(f"  {f}", markup=False)


@app.command("apply")
def apply(
    project: Path = typer.Argument(..., help="The .RPP file to change."),
    changeset: Path = typer.Argument(..., help="A ChangeSet JSON file."),
) -> None:
    """Apply a ChangeSet (JSON) to a project file, atomically, keeping NAME.RPP-bak.

    Example: [bold]reabridge project apply song.RPP changes.json[/bold]
    """
    changes = ChangeSet.from_json(changeset.read_text(encoding="utf-8"))
    result = RppFileSession(project).apply(changes)
    if result.applied:
        typer.echo(f"applied {changes.id} ({len(changes.ops)} operations); previous version: {backup_path(project)}")
    else:
        typer.echo(f"{changes.id} was already applied to {project}; nothing changed")
