"""Checking JSFX an LLM wrote: compile it, render test signals through it, report what a listener would notice.

:func:`check_code` writes the text to a private temporary folder, reads and compiles it
with reabridge's EEL2 runner (:mod:`bridge.jsfx`), and runs 2 s each of silence, an
impulse, a logarithmic sine sweep and white noise (48 kHz, stereo) through a fresh
instance at its default slider values, under a time limit so code that never finishes
cannot hang the caller. The report says, per signal, NaN/Inf, denormals, DC offset,
samples past full scale, peak and level against the input, whether the output is
silent or the input unchanged, and sums that up in warnings.

Errors carry the line and column in the text given, our message, and where we know it
the wording of EEL2's own compiler (what REAPER shows): ``3: syntax error: 'x = <!> ;'``.
The compiler stops at the first error of a section, as EEL2 does, so every section's
first error is listed.

Code that reads other files is not run: an ``import`` line, or a call of ``file_open``
(the check must not read files on the machine the server runs on). Code that passed is
kept in the spool by its SHA-256 (:class:`PassedStore`), which is how ``jsfx_insert``
knows it may install it.
"""

from __future__ import annotations

import hashlib
import math
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

RATE = 48000
CHANNELS = 2
SIGNAL_SECONDS = 2.0
TIMEOUT = 30.0  # seconds for a whole check (reading, compiling, four renders)
SILENT = 1e-6  # -120 dBFS: an output peak below this is silence
UNCHANGED = 1e-7  # largest difference from the input that still counts as "passes unchanged"
DC_LIMIT = 0.01  # -40 dBFS of offset
LEVEL_LIMIT_DB = 12.0  # level change on noise worth a warning
DENORMAL = 2.2250738585072014e-308  # smallest normal double: JSFX run in doubles
IMPULSE_AT = 0.1  # seconds into the impulse signal
FILE_FUNCTIONS = ("file_open",)
_LOCATED = re.compile(r"^:(\d+)(?::(\d+))?: (.*)$", re.DOTALL)


@dataclass(frozen=True)
class CheckError:
    """One problem in the code: where (1-based line and column; None when not tied to a place) and what."""

    line: int | None
    column: int | None
    message: str
    reaper: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"line": self.line, "column": self.column, "message": self.message, "reaper": self.reaper}


def code_hash(code: str) -> str:
    """The SHA-256 of the text (UTF-8) that jsfx_check and jsfx_insert agree on."""
    return hashlib.sha256(code.encode("utf-8", "surrogatepass")).hexdigest()


def test_signals(rate: int = RATE, seconds: float = SIGNAL_SECONDS) -> dict[str, np.ndarray]:
    """The four test signals, ``(frames, 2)`` float64: silence, impulse, sweep, noise."""
    n = int(rate * seconds)
    t = np.arange(n) / rate
    impulse = np.zeros(n)
    impulse[int(IMPULSE_AT * rate)] = 0.5
    f0, f1 = 20.0, 20000.0
    k = math.log(f1 / f0)
    sweep = 0.5 * np.sin(2 * math.pi * f0 * seconds / k * (np.exp(t / seconds * k) - 1.0))
    noise = np.clip(np.random.default_rng(25).normal(0.0, 10 ** (-18 / 20), (n, CHANNELS)), -1.0, 1.0)
    mono = {"silence": np.zeros(n), "impulse": impulse, "sweep": sweep}
    out = {name: np.repeat(x[:, None], CHANNELS, axis=1) for name, x in mono.items()}
    out["noise"] = noise
    return out


def _db(value: float) -> float | None:
    """dBFS, or None below -200 dBFS (REAPER's anti-denormal offset of 1e-16 leaves such traces on silence)."""
    return round(20 * math.log10(value), 2) if value >= 1e-10 else None


def _where(exc: Exception, path: Path) -> tuple[int | None, int | None, str]:
    """Line, column and message from a :class:`bridge.jsfx.errors.JsfxError` about ``path``."""
    text = str(exc)
    for prefix in (str(path), path.name):
        if text.startswith(prefix + ":"):
            m = _LOCATED.match(text[len(prefix):])
            if m:
                return int(m.group(1)), int(m.group(2)) if m.group(2) else None, m.group(3)
    return None, None, text.replace(str(path), path.name)


def _context(lines: list[str], line: int | None, column: int | None) -> tuple[str, str] | None:
    """EEL2's context around an error: up to 31 characters before it, up to 60 after (spaces trimmed)."""
    if line is None or column is None or not 1 <= line <= len(lines):
        return None
    text, pos = lines[line - 1], column - 1
    left = text[max(0, pos - 31):pos].lstrip()
    right = text[pos:pos + 60].rstrip()
    return left, right or "<eol>"


def _reaper_wording(phase: str, message: str, line: int | None, column: int | None, lines: list[str]) -> str | None:
    """The message as EEL2's compiler (and so REAPER) words it, where we know the equivalent."""
    if line is None:
        return None
    if phase == "syntax" and "the end of the code" in message and ("')'" in message or "']'" in message):
        return f"{line}: syntax error: missing ) or ]"
    if phase == "syntax":
        what = "syntax error"
    elif m := re.match(r"unknown function '([^']+)'", message):
        what = f"'{m.group(1)}' undefined"
    elif m := re.match(r"(\S+)\(\) takes (\d+) parameter\(s\), got", message):
        what = f"'{m.group(1)}' needs {m.group(2)} parms"
    else:
        return None
    around = _context(lines, line, column)
    if around is None:
        return f"{line}: {what}"
    return f"{line}: {what}: '{around[0]} <!> {around[1]}'"


def _file_readers(effect: Any) -> list[CheckError]:
    """Calls of functions that read files, and ``import`` lines: the check does not run those."""
    from bridge.jsfx.lexer import tokenize

    found = []
    for codes in effect.sections.values():
        for code in codes:
            try:
                tokens = tokenize(code)
            except Exception:  # a syntax error: the parse below reports it
                continue
            for i, tok in enumerate(tokens):
                if tok.kind == "name" and tok.value in FILE_FUNCTIONS and i + 1 < len(tokens) \
                        and tokens[i + 1].kind == "op" and tokens[i + 1].value == "(":
                    found.append(CheckError(tok.line, tok.col, f"{tok.value}(): jsfx_check does not run effects "
                                            "that read files; build the data in @init instead"))
    return found


def _imports(lines: list[str]) -> list[CheckError]:
    out = []
    for number, raw in enumerate(lines, start=1):
        if raw.startswith("@"):
            break
        if raw.lower().startswith(("import ", "import\t")):
            out.append(CheckError(number, 1, "import: jsfx_check runs one self-contained file; put the imported "
                                  "code into this one"))
    return out


def _signal_report(name: str, source: np.ndarray, out: np.ndarray) -> dict[str, Any]:
    finite = np.isfinite(out)
    nan, inf = int(np.isnan(out).sum()), int((~finite & ~np.isnan(out)).sum())
    clean = np.where(finite, out, 0.0)
    absolute = np.abs(clean)
    peak = float(absolute.max(initial=0.0))
    rms_in = float(np.sqrt(np.mean(source ** 2)))
    rms_out = float(np.sqrt(np.mean(clean ** 2)))
    dc = float(np.abs(clean.mean(axis=0)).max(initial=0.0)) if len(clean) else 0.0
    report: dict[str, Any] = {
        "signal": name, "nan": nan, "inf": inf,
        "denormals": int(((absolute > 0) & (absolute < DENORMAL)).sum()),
        "dc_offset": round(dc, 6), "clipped": int((absolute > 1.0).sum()),
        "peak_db": _db(peak), "input_rms_db": _db(rms_in), "output_rms_db": _db(rms_out),
        "gain_db": round(20 * math.log10(rms_out / rms_in), 2) if rms_in > 0 and rms_out > 0 else None,
        "silent": peak < SILENT,
        "unchanged": bool(finite.all() and np.abs(out - source).max(initial=0.0) <= UNCHANGED),
    }
    if name == "impulse" and peak >= SILENT:
        report["peak_at_sample"] = int(np.argmax(absolute.max(axis=1))) - int(IMPULSE_AT * RATE)
    return report


def _warnings(signals: list[dict[str, Any]], loop_lines: list[int]) -> tuple[list[str], bool]:
    """Lines about what a listener would notice, and whether any of it makes the effect unusable."""
    out, broken = [], False
    for s in signals:
        name = s["signal"]
        if s["nan"] or s["inf"]:
            out.append(f"{name}: the output holds {s['nan']} NaN and {s['inf']} infinite samples (REAPER would "
                       "pass garbage on); guard divisions, log() and sqrt()")
            broken = True
        if s["denormals"]:
            out.append(f"{name}: {s['denormals']} denormal samples (values under 2.2e-308 cost CPU in REAPER); "
                       "flush tiny values to 0")
        if s["dc_offset"] > DC_LIMIT:
            out.append(f"{name}: a DC offset of {s['dc_offset']:.4f} on the output")
        if s["clipped"]:
            out.append(f"{name}: {s['clipped']} samples go past full scale (peak {s['peak_db']:+.1f} dBFS)")
        if name == "noise" and s["gain_db"] is not None and abs(s["gain_db"]) > LEVEL_LIMIT_DB:
            out.append(f"noise: the level changes by {s['gain_db']:+.1f} dB")
    heard = [s for s in signals if s["signal"] != "silence"]
    if heard and all(s["silent"] for s in heard):
        out.append("the output is silent for every test signal")
    if signals and all(s["unchanged"] for s in signals):
        out.append("every test signal passes unchanged at the default slider values (the effect does nothing?)")
    for line in sorted(set(loop_lines)):
        out.append(f"a while() loop at line {line} stopped at REAPER's limit of 1,048,576 iterations")
    return out, broken


def _sliders(effect: Any) -> list[dict[str, Any]]:
    return [{"number": n, "variable": s.var, "label": s.label, "default": s.default, "min": s.minimum,
             "max": s.maximum, "step": s.step, "labels": list(s.labels), "shape": s.shape, "hidden": s.hidden}
            for n, s in sorted(effect.sliders.items())]


def _render(effect: Any, signal: np.ndarray) -> tuple[np.ndarray, int, int]:
    """``signal`` through a fresh instance, latency compensated; the output, ``pdc_delay`` and any loop-limit line."""
    from bridge.jsfx.runtime import JsfxProcessor

    processor = JsfxProcessor(effect, RATE, CHANNELS, None, 512, 120.0)
    latency = processor.latency
    out = np.concatenate([processor.process(signal), processor.process(np.zeros((latency, CHANNELS)))]) \
        if latency else processor.process(signal)
    return np.asarray(out, dtype=np.float64)[latency:latency + len(signal)], latency, processor.loop_limit_line


def check_code(code: str, *, timeout: float = TIMEOUT) -> dict[str, Any]:
    """Compile ``code`` and render the test signals through it (see the module documentation).

    Returns
    -------
    dict
        ``ok``, ``sha256``, ``errors`` (``line``, ``column``, ``message``, ``reaper``), ``desc``,
        ``sliders``, ``pins``, ``latency``, ``signals``, ``warnings``, ``notices``.
    """
    from bridge.jsfx.effect import load_effect
    from bridge.jsfx.errors import JsfxError
    from bridge.jsfx.interrupt import RenderTimeoutError, time_limit
    from bridge.jsfx.parser import parse

    lines = code.splitlines()
    report: dict[str, Any] = {"ok": False, "sha256": code_hash(code), "errors": [], "desc": None, "sliders": [],
                              "pins": None, "latency": None, "signals": [], "warnings": [], "notices": []}
    errors: list[CheckError] = _imports(lines)
    if errors:
        report["errors"] = [e.to_dict() for e in errors]
        return report
    with tempfile.TemporaryDirectory(prefix="reabridge-jsfx-check-") as folder:
        path = Path(folder) / "effect.jsfx"
        path.write_text(code, encoding="utf-8", errors="surrogatepass")
        try:
            with time_limit(timeout):
                effect = load_effect(path, [])
                report.update(desc=effect.desc or None, sliders=_sliders(effect),
                              pins={"in": list(effect.in_pins), "out": list(effect.out_pins)})
                for codes in effect.sections.values():
                    for section in codes:
                        try:
                            parse(section)
                        except JsfxError as exc:
                            line, col, message = _where(exc, path)
                            errors.append(CheckError(line, col, message,
                                                     _reaper_wording("syntax", message, line, col, lines)))
                errors += _file_readers(effect)
                if errors:
                    report["errors"] = [e.to_dict() for e in errors]
                    return report
                signals, loops = [], []
                for name, signal in test_signals().items():
                    out, latency, loop_line = _render(effect, signal)
                    report["latency"] = {"reported": latency}
                    signals.append(_signal_report(name, signal, out))
                    if loop_line:
                        loops.append(loop_line)
        except RenderTimeoutError:
            errors.append(CheckError(None, None, f"stopped after {timeout:g} s: the code did not finish (an endless "
                                     "loop, or far too much work per sample)"))
        except JsfxError as exc:
            line, col, message = _where(exc, path)
            errors.append(CheckError(line, col, message, _reaper_wording("compile", message, line, col, lines)))
        if errors:
            report["errors"] = [e.to_dict() for e in errors]
            return report
    impulse = next((s for s in signals if s["signal"] == "impulse"), None)
    if impulse is not None and report["latency"] is not None:
        report["latency"]["impulse_peak_after"] = impulse.get("peak_at_sample")
    warnings, broken = _warnings(signals, loops)
    report.update(signals=signals, warnings=warnings, notices=list(effect.notices), ok=not broken)
    return report


def _slug(desc: str | None) -> str:
    words = re.sub(r"[^a-z0-9]+", "-", (desc or "effect").lower()).strip("-")
    return (words or "effect")[:40].rstrip("-")


class PassedStore:
    """Code that passed jsfx_check, kept as files named by its hash in ``<spool>/mcp/jsfx/`` (kept across restarts).

    Parameters
    ----------
    folder : Path
        Where the files go (created on first use).
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def _name(self, digest: str, desc: str | None) -> str:
        return f"{_slug(desc)}-{digest[:16]}.jsfx"

    def record(self, code: str, desc: str | None) -> Path:
        """Keep code that passed; returns its file (the same file for the same text)."""
        from bridge.fileio import Outputs

        found = self.find(code)
        if found is not None:
            return found
        self.folder.mkdir(parents=True, exist_ok=True)
        with Outputs() as outputs:
            return outputs.write_bytes(self.folder / self._name(code_hash(code), desc),
                                       code.encode("utf-8", "surrogatepass"), "jsfx", "the checked effect",
                                       replace=True)

    def find(self, code: str) -> Path | None:
        """The kept file of exactly this text, or None when it never passed."""
        digest = code_hash(code)
        data = code.encode("utf-8", "surrogatepass")
        if not self.folder.is_dir():
            return None
        for path in sorted(self.folder.glob(f"*-{digest[:16]}.jsfx")):
            try:
                if path.is_file() and not path.is_symlink() and path.read_bytes() == data:
                    return path
            except OSError:
                continue
        return None
