"""The clean-up report: ``clean-report.json`` (the figures) and ``clean-report.png`` (what was removed).

The picture has three spectrograms on one time axis -- before, after, and the
difference (after minus before, in dB: blue where something was taken out) -- and
a strip of the figures (noise floor, SNR estimate, hum, clicks, decay time), so a
person sees at a glance what went.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from bridge.clean.chain import PICTURE_FFT, CleanReport
from bridge.fileio import Outputs


def write_report(report: CleanReport, folder: Path, source: str, output: str,
                 outputs: Outputs | None = None) -> tuple[Path, Path]:
    """Write the JSON figures and the PNG into ``folder``; returns both paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    own = outputs is None
    outputs = outputs or Outputs(overwrite=True)
    folder = outputs.make_folder(folder, "the report folder")
    data = {"source": source, "output": output, **report.figures(), "notices": report.notices}
    json_path = outputs.write_bytes(folder / "clean-report.json", json.dumps(data, indent=1).encode("utf-8"),
                                    "json", "the report")
    png_path = outputs.target(folder / "clean-report.png", "png", "the report picture")
    before, after = report.picture_before, report.picture_after
    if before is None or after is None or len(before) == 0:
        before = after = np.full((2, PICTURE_FFT // 2 + 1), -120.0, dtype=np.float32)
    top = float(max(before.max(), after.max()))
    extent = (0.0, len(before) * report.picture_hop_s, 0.0, report.rate / 2000)
    fig, axes = plt.subplots(3, 1, figsize=(11, 9), dpi=100, sharex=True)
    figures = report.figures()
    removed = ""
    if report.hum is not None and report.hum_after_db:
        drops = [b - a for b, a in zip(report.hum.levels_db, report.hum_after_db, strict=True) if np.isfinite(a)]
        removed = f"; hum {report.hum.f0:.2f} Hz x{len(report.hum.harmonics)} down {min(drops):.0f} dB or more" \
            if drops else ""
    fig.suptitle(f"Clean-up ({', '.join(report.stages)}): noise floor {figures['noise_floor_dbfs']['before']:.1f} -> "
                 f"{figures['noise_floor_dbfs']['after']:.1f} dBFS, SNR estimate\n"
                 f"{figures['snr_estimate_db']['before']:.1f} -> {figures['snr_estimate_db']['after']:.1f} dB; "
                 f"{report.clicks} click(s) repaired{removed}", fontsize=11)
    for ax, image, title in ((axes[0], before, "before"), (axes[1], after, "after")):
        shown = ax.imshow(image.T, origin="lower", aspect="auto", extent=extent, cmap="magma", vmin=top - 90, vmax=top)
        ax.set_ylabel("kHz")
        ax.set_title(title, fontsize=10, loc="left")
        fig.colorbar(shown, ax=ax, label="dB")
    diff = np.clip(after - before, -40, 10)
    shown = axes[2].imshow(diff.T, origin="lower", aspect="auto", extent=extent, cmap="RdBu_r", vmin=-40, vmax=40)
    axes[2].set_title("difference (after - before): blue was removed", fontsize=10, loc="left")
    axes[2].set_ylabel("kHz")
    axes[2].set_xlabel("time (s)")
    fig.colorbar(shown, ax=axes[2], label="dB")
    for t in report.click_times[:200]:
        axes[2].axvline(t, color="#2e7d32", lw=0.6, alpha=0.7)
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    tmp = outputs.temp_for(png_path, suffix=".tmp.png")
    fig.savefig(tmp)
    plt.close(fig)
    outputs.place(tmp, png_path)
    if own:
        outputs.commit()
    return json_path, png_path
