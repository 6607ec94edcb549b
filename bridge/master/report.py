"""The mastering report: a JSON file of figures and a PNG a musician wants to read.

The picture has two panels: short-term loudness over time before and after
(with the target line), and the spectrum before and after (and the
reference's, when matching one), smoothed to 1/6 octave.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from bridge.fileio import Outputs
from bridge.master.engine import MasterResult


def report_data(result: MasterResult, source: str, output: str) -> dict[str, Any]:
    """Everything the JSON report holds."""
    return {
        "source": source,
        "output": output,
        "preset": {"name": result.preset.name, "description": result.preset.description},
        "target": {"integrated_lufs": result.preset.lufs, "true_peak_dbtp": result.preset.true_peak},
        "before": result.before.to_dict(),
        "after": result.after.to_dict(),
        "met": {"loudness_within_0.1_lu": abs(result.after.integrated - result.preset.lufs) <= 0.1,
                "true_peak_at_or_below_ceiling": result.after.true_peak <= result.preset.true_peak},
        "chain": result.chain,
        "gain_into_limiter_db": round(result.gain_db, 2),
        "max_limiter_reduction_db": round(result.limiter_reduction_db, 2),
        "passes": result.iterations,
        "why": result.decisions,
        "warnings": result.warnings,
    }


def _smooth(freqs: np.ndarray, spec_db: np.ndarray, fraction: float = 6.0) -> tuple[np.ndarray, np.ndarray]:
    centres = 20 * 2 ** (np.arange(0, np.log2(20000 / 20) * fraction) / fraction)
    power = 10 ** (spec_db / 10)
    out = []
    for c in centres:
        band = (freqs >= c * 2 ** (-0.5 / fraction)) & (freqs < c * 2 ** (0.5 / fraction))
        out.append(10 * np.log10(power[band].mean()) if band.any() else np.nan)
    return centres, np.array(out)


def write_report(result: MasterResult, folder: Path, source: str, output: str,
                 outputs: Outputs | None = None) -> tuple[Path, Path]:
    """Write ``master-report.json`` and ``master-report.png`` into ``folder``.

    ``outputs`` is the command's output transaction (the report is removed again
    if the command fails later); without one the files are placed at once.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    own = outputs is None
    outputs = outputs or Outputs(overwrite=True)
    folder = outputs.make_folder(folder, "the report folder")
    data = report_data(result, source, output)
    json_path = outputs.write_bytes(folder / "master-report.json", json.dumps(data, indent=1).encode("utf-8"),
                                    "json", "the report")
    png_path = outputs.target(folder / "master-report.png", "png", "the report picture")

    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(11, 8), dpi=110)
    fig.suptitle(f"Master with '{result.preset.name}': {result.before.integrated:.1f} -> "
                 f"{result.after.integrated:.1f} LUFS, true peak {result.after.true_peak:.1f} dBTP "
                 f"(target {result.preset.lufs:.1f} LUFS / {result.preset.true_peak:.1f} dBTP)", fontsize=12)
    for report, label, colour in ((result.before, "before", "#8c8c8c"), (result.after, "after", "#d1495b")):
        st = report.short_term
        t = 3.0 + np.arange(len(st)) * 0.1
        ax1.plot(t, np.where(st > -70, st, np.nan), label=f"{label} ({report.integrated:.1f} LUFS, "
                                                         f"LRA {report.lra:.1f} LU)", color=colour, lw=1.4)
    ax1.axhline(result.preset.lufs, color="#2e4057", ls="--", lw=1, label=f"target {result.preset.lufs:.1f} LUFS")
    ax1.set_ylabel("short-term loudness (LUFS)")
    ax1.set_xlabel("time (s)")
    ax1.legend(loc="center right", fontsize=9, framealpha=0.9)
    ax1.grid(alpha=0.3)
    curves = [(result.spectrum_before, "before", "#8c8c8c"), (result.spectrum_after, "after", "#d1495b")]
    if result.spectrum_reference is not None:
        curves.append((result.spectrum_reference, "reference", "#00798c"))
    for (freqs, spec), label, colour in curves:
        f, s = _smooth(freqs, spec)
        ax2.semilogx(f, s - np.nanmax(s), label=label, color=colour, lw=1.4)
    ax2.set_xlim(20, 20000)
    ax2.set_ylim(-60, 3)
    ax2.set_xlabel("frequency (Hz)")
    ax2.set_ylabel("level (dB, 1/6 octave, top = 0)")
    ax2.legend(loc="lower left", fontsize=9)
    ax2.grid(alpha=0.3, which="both")
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    tmp = outputs.temp_for(png_path, suffix=".tmp.png")
    fig.savefig(tmp)
    plt.close(fig)
    outputs.place(tmp, png_path)
    if own:
        outputs.commit()
    return json_path, png_path
