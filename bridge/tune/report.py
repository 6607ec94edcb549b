"""The tuning report: ``tune-report.json`` (every note: detected, target, correction) and ``tune-report.png``.

The picture is the one every pitch editor shows: the pitch curve before (grey) and after
(blue) over the grid of the notes the scale allows, each note's target drawn as a bar.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from bridge.fileio import Outputs
from bridge.tune.chain import TuneReport
from bridge.tune.scales import note_name


def write_report(report: TuneReport, folder: Path, source: str, output: str, outputs: Outputs | None = None,
                 allowed: tuple[int, ...] = tuple(range(12))) -> tuple[Path, Path]:
    """Write the JSON and the PNG into ``folder``; returns both paths. ``allowed``: the grid's pitch classes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    own = outputs is None
    outputs = outputs or Outputs(overwrite=True)
    folder = outputs.make_folder(folder, "the report folder")
    data = {"source": source, "output": output, **report.figures(), "notices": report.notices}
    json_path = outputs.write_bytes(folder / "tune-report.json", json.dumps(data, indent=1).encode("utf-8"),
                                    "json", "the report")
    png_path = outputs.target(folder / "tune-report.png", "png", "the report picture")
    times = report.track.times
    before = report.track.midi
    after = before + report.shift
    voiced = np.isfinite(before)
    low = float(np.nanmin(before)) - 2 if voiced.any() else 55.0
    high = float(np.nanmax(after[voiced])) + 2 if voiced.any() else 75.0
    fig, ax = plt.subplots(figsize=(max(8.0, min(30.0, report.duration * 0.6)), 6), dpi=100)
    for note in range(int(np.floor(low)), int(np.ceil(high)) + 1):
        if note % 12 in allowed:
            ax.axhline(note, color="#cfd8dc", lw=0.6, zorder=0)
    ax.set_yticks([n for n in range(int(np.floor(low)), int(np.ceil(high)) + 1) if n % 12 in allowed])
    ax.set_yticklabels([note_name(n) for n in ax.get_yticks().astype(int)], fontsize=7)
    for d in report.decisions:
        if d.target is not None:
            ax.plot([d.note.start_time, d.note.end_time], [d.target, d.target], color="#ffb74d", lw=5, alpha=0.5,
                    solid_capstyle="butt", zorder=1)
    ax.plot(times, before, color="#9e9e9e", lw=1.0, label="before", zorder=2)
    ax.plot(times, np.where(voiced, after, np.nan), color="#1565c0", lw=1.2, label="after", zorder=3)
    ax.set_ylim(low, high)
    ax.set_xlim(0, max(report.duration, 0.1))
    ax.set_xlabel("time (s)")
    ax.set_ylabel("pitch")
    ax.legend(loc="upper right", fontsize=8)
    ax.set_title(f"Tuned to {report.target}: {report.summary()} (speed {report.settings.speed_ms:g} ms, strength "
                 f"{report.settings.strength:g})", fontsize=10)
    fig.tight_layout()
    tmp = outputs.temp_for(png_path, suffix=".tmp.png")
    fig.savefig(tmp)
    plt.close(fig)
    outputs.place(tmp, png_path)
    if own:
        outputs.commit()
    return json_path, png_path
