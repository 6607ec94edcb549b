"""The batch's summary: ``batch.csv`` (one row per project) and ``batch.png`` (loudness before and after)."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from bridge.fileio import write_atomic

COLUMNS = ("project", "name", "status", "reason", "mix_lufs", "master_lufs", "master_true_peak_dbtp", "target_lufs",
           "ceiling_dbtp", "master", "seconds")


def rows(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One flat row per project."""
    out = []
    for r in results:
        m = r.get("master") or {}
        out.append({"project": r.get("project", ""), "name": r.get("name", ""),
                    "status": "up to date" if r.get("skipped") else r.get("status", ""),
                    "reason": r.get("reason", ""), "mix_lufs": m.get("before_lufs"), "master_lufs": m.get("after_lufs"),
                    "master_true_peak_dbtp": m.get("true_peak_dbtp"), "target_lufs": m.get("target_lufs"),
                    "ceiling_dbtp": m.get("ceiling_dbtp"), "master": (r.get("outputs") or {}).get("master", ""),
                    "seconds": r.get("seconds")})
    return out


def write_csv(results: list[dict[str, Any]], path: Path) -> Path:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows(results):
        writer.writerow({k: "" if v is None else v for k, v in row.items()})
    return write_atomic(path, buf.getvalue().encode("utf-8"))


def write_png(results: list[dict[str, Any]], path: Path) -> Path:
    """Loudness of each mix and its master against the target; failed projects marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    data = rows(results)
    names = [r["name"] for r in data]
    before = [r["mix_lufs"] if r["mix_lufs"] is not None else float("nan") for r in data]
    after = [r["master_lufs"] if r["master_lufs"] is not None else float("nan") for r in data]
    fig, ax = plt.subplots(figsize=(max(6.0, 0.6 * len(names) + 2), 4.2), dpi=110)
    x = range(len(names))
    floor = -40.0  # bars rise from the quiet end, so louder reads as taller
    ax.bar([i - 0.2 for i in x], [b - floor for b in before], bottom=floor, width=0.4, label="mix", color="#8da0cb")
    ax.bar([i + 0.2 for i in x], [a - floor for a in after], bottom=floor, width=0.4, label="master",
           color="#66c2a5")
    targets = {r["target_lufs"] for r in data if r["target_lufs"] is not None}
    for t in sorted(targets):
        ax.axhline(t, color="#e78ac3", linestyle="--", linewidth=1, label=f"target {t:g} LUFS")
    for i, r in enumerate(data):
        if r["status"] == "failed":
            ax.annotate("failed", (i, floor + 1.0), ha="center", va="bottom", color="#d62728", fontsize=8, rotation=90)
    ax.set_xticks(list(x))
    ax.set_xticklabels(names, rotation=30, ha="right", fontsize=8)
    ax.set_ylabel("integrated loudness (LUFS)")
    ax.set_ylim(floor, 0)
    ax.set_title(f"reabridge batch: {sum(r['status'] != 'failed' for r in data)} of {len(data)} projects mastered")
    ax.legend(fontsize=8, loc="upper right")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return write_atomic(path, buf.getvalue())
