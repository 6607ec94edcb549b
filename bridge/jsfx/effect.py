"""A JSFX file: its header (``desc:``, sliders, pins, options, imports) and its code sections.

Slider lines in both syntaxes are read: ``slider1:0<0,10,0.1>Gain`` (the
value lives in ``slider1``) and ``slider1:gain=0<0,10,0.1:log=2>Gain (dB)``
(it lives in ``gain``), with enums (``{A,B,C}``), hidden sliders (a name
starting with ``-``) and ``:log``/``:sqr``/``:pow`` shapes (they only change the
slider's feel in REAPER's window). ``import`` lines are resolved as REAPER
does: beside the importing file, then in the Effects folders given; an
imported file's sections run before the importer's. ``@gfx`` and
``@serialize`` are read and skipped, with a notice.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from bridge.jsfx.errors import JsfxError, where
from bridge.jsfx.lexer import Code

RUN_SECTIONS = ("init", "slider", "block", "sample")
SKIPPED_SECTIONS = ("gfx", "serialize")
_SLIDER = re.compile(r"^slider(\d+):(.*)$", re.IGNORECASE)
_RANGE = re.compile(r"^(?:([A-Za-z_][\w.]*)\s*=\s*)?([^<]*)<([^>]*)>(.*)$")


@dataclass
class Slider:
    """One slider: number, variable, default, range and step, enum labels, shape, label, hidden."""

    number: int
    var: str
    default: float
    minimum: float = 0.0
    maximum: float = 1.0
    step: float = 0.0
    labels: list[str] = field(default_factory=list)
    shape: str = ""
    label: str = ""
    hidden: bool = False


@dataclass
class Effect:
    """Everything reabridge needs from a JSFX file and the files it imports."""

    path: Path
    desc: str = ""
    sliders: dict[int, Slider] = field(default_factory=dict)
    in_pins: list[str] = field(default_factory=list)
    out_pins: list[str] = field(default_factory=list)
    options: dict[str, str] = field(default_factory=dict)
    sections: dict[str, list[Code]] = field(default_factory=lambda: {name: [] for name in RUN_SECTIONS})
    notices: list[str] = field(default_factory=list)
    imports: list[Path] = field(default_factory=list)

    @property
    def slider_vars(self) -> dict[int, str]:
        """Slider number to the EEL2 variable holding its value."""
        return {n: s.var for n, s in self.sliders.items()}

    def slider_number(self, key: str) -> int:
        """A slider by number (``3``) or variable/label name (``gain``)."""
        if key.strip().isdigit():
            number = int(key)
            if number in self.sliders:
                return number
        for number, slider in self.sliders.items():
            if key.lower() in (slider.var, slider.label.lower()):
                return number
        names = ", ".join(f"{n} ({s.var})" for n, s in sorted(self.sliders.items()))
        raise JsfxError(f"{self.path.name} has no slider {key!r}; it has: {names or 'none'}")

    def slider_value(self, number: int, text: str) -> float:
        """A value for a slider from text: a number, or one of an enum slider's labels."""
        slider = self.sliders[number]
        try:
            return float(text)
        except ValueError:
            pass
        lowered = [label.lower() for label in slider.labels]
        if text.lower() in lowered:
            return slider.minimum + lowered.index(text.lower())
        allowed = f"one of {', '.join(slider.labels)}" if slider.labels else "a number"
        raise JsfxError(f"slider {number} ({slider.label or slider.var}) takes {allowed}, not {text!r}")


def _parse_slider(number: int, spec: str, file: str, line: int) -> Slider:
    match = _RANGE.match(spec.strip())
    if not match:  # file sliders (slider1:/folder:default:Label) have no range
        raise JsfxError(f"{where(file, line)}: slider{number} is a file slider, which reabridge's JSFX runner "
                        "does not support")
    var, default, inside, label = match.groups()
    inside = inside.strip()
    labels: list[str] = []
    enum = re.search(r"\{(.*)\}", inside)
    if enum:
        labels = [p.strip() for p in enum.group(1).split(",")]
        inside = inside[:enum.start()] + inside[enum.end():]
    shape = ""
    if ":" in inside:
        inside, shape = inside.split(":", 1)
    parts = [p.strip() for p in inside.split(",")]
    try:
        numbers = [float(p) if p else 0.0 for p in parts]
        default_value = float(default.strip()) if default.strip() else 0.0
    except ValueError:
        raise JsfxError(f"{where(file, line)}: slider{number} has an unreadable range or default "
                        f"({spec.strip()!r})") from None
    minimum, maximum, step = (numbers + [0.0, 1.0, 0.0][len(numbers):])[:3]
    label = label.strip()
    hidden = label.startswith("-")
    return Slider(number, (var or f"slider{number}").lower(), default_value, minimum, maximum, step, labels,
                  shape.strip(), label.lstrip("-").strip(), hidden)


def load_effect(path: str | os.PathLike[str], effects_dirs: list[Path] | None = None) -> Effect:
    """Read a JSFX file and everything it imports.

    Raises
    ------
    JsfxError
        Missing file or import, unreadable slider line.
    """
    p = Path(path)
    if not p.is_file():
        raise JsfxError(f"JSFX file {p} does not exist")
    data = p.read_bytes()[:65536]
    if b"\x00" in data:
        raise JsfxError(f"{p.name} is not a JSFX effect (it is a binary file)")
    effect = Effect(p)
    _read(p, effect, effects_dirs or [], set(), main=True)
    if not effect.desc and not effect.sliders and not any(effect.sections.values()):
        raise JsfxError(f"{p.name} is not a JSFX effect: it has no desc: line, no sliders and no code "
                        "(@init, @slider, @block or @sample)")
    return effect


def _read(path: Path, effect: Effect, effects_dirs: list[Path], seen: set[Path], main: bool) -> None:
    seen.add(path.resolve())
    text = path.read_text(encoding="utf-8-sig", errors="replace")
    section: str | None = None
    start = 0
    buffer: list[str] = []

    def close() -> None:
        if section in RUN_SECTIONS and buffer:
            effect.sections[section].append(Code("\n".join(buffer), str(path), start))

    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip()
        stripped = line.strip()
        if stripped.startswith("@"):
            close()
            name = stripped[1:].split()[0].lower() if len(stripped) > 1 else ""
            section, start, buffer = name, number + 1, []
            if name in SKIPPED_SECTIONS:
                effect.notices.append(f"{path.name}: @{name} is skipped (no graphics or state saving offline)")
            elif name not in RUN_SECTIONS:
                raise JsfxError(f"{where(str(path), number)}: unknown section @{name}")
            rest = stripped[1 + len(name):].strip()
            if rest:  # code on the same line as the section name
                buffer.append(" " * (len(line) - len(rest)) + rest)
                start = number
            continue
        if section is not None:
            buffer.append(line)
            continue
        _header_line(stripped, path, number, effect, effects_dirs, seen, main)
    close()


def _header_line(line: str, path: Path, number: int, effect: Effect, effects_dirs: list[Path], seen: set[Path],
                 main: bool) -> None:
    low = line.lower()
    if low.startswith("import ") or low.startswith("import\t"):
        name = line[7:].strip()
        target = _find_import(name, path, effects_dirs)
        if target is None:
            raise JsfxError(f"{where(str(path), number)}: import {name}: not found beside {path.name} or in the "
                            "Effects folders given")
        if target.resolve() not in seen:
            effect.imports.append(target)
            _read(target, effect, effects_dirs, seen, main=False)
        return
    if not main:
        return  # an imported file's header lines (desc, sliders) do not belong to the effect
    slider = _SLIDER.match(line)
    if slider:
        n = int(slider.group(1))
        if not 1 <= n <= 256:
            raise JsfxError(f"{where(str(path), number)}: slider numbers go from 1 to 256")
        effect.sliders[n] = _parse_slider(n, slider.group(2), str(path), number)
    elif low.startswith("desc:"):
        effect.desc = line[5:].strip()
    elif low.startswith("in_pin:"):
        effect.in_pins.append(line[7:].strip())
    elif low.startswith("out_pin:"):
        effect.out_pins.append(line[8:].strip())
    elif low.startswith("options:"):
        for item in line[8:].split():
            key, _, value = item.partition("=")
            effect.options[key.lower()] = value
    elif low.startswith("filename:"):
        raise JsfxError(f"{where(str(path), number)}: filename: lines (file resources) are not supported by "
                        "reabridge's JSFX runner")


def _find_import(name: str, importer: Path, effects_dirs: list[Path]) -> Path | None:
    for folder in [importer.parent, *effects_dirs]:
        candidate = folder / name
        if candidate.is_file():
            return candidate
    # REAPER also finds imports in subfolders of the Effects folder
    for folder in effects_dirs:
        for candidate in folder.rglob(Path(name).name):
            if candidate.is_file():
                return candidate
    return None
