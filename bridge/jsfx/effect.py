"""A JSFX file: its header (``desc:``, sliders, pins, options, imports) and its code sections.

Slider lines in both syntaxes are read: ``slider1:0<0,10,0.1>Gain`` (the
value lives in ``slider1``) and ``slider1:gain=0<0,10,0.1:log=2>Gain (dB)``
(it lives in ``gain``), with enums (``{A,B,C}``), hidden sliders (a name
starting with ``-``) and ``:log``/``:sqr``/``:pow`` shapes (they only change the
slider's feel in REAPER's window). ``import`` lines are resolved as REAPER
does: beside the importing file, then in the Effects folders given; an
imported file's sections run before the importer's. ``@gfx`` and
``@serialize`` are read and skipped, with a notice. ``<? ?>`` preprocessor blocks
are run first (:mod:`bridge.jsfx.preprocess`).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from bridge.jsfx.errors import JsfxError, where
from bridge.jsfx.lexer import Code
from bridge.jsfx.preprocess import OPEN, config_defaults, preprocess

RUN_SECTIONS = ("init", "slider", "block", "sample")
SKIPPED_SECTIONS = ("gfx", "serialize")
_SLIDER = re.compile(r"^slider(\d+):(.*)$", re.IGNORECASE)


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
    folder: str = ""  # a file slider's folder under the Data folder


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
    config: dict[str, float] = field(default_factory=dict)  # preprocessor variables from config: lines
    filenames: dict[int, str] = field(default_factory=dict)  # filename:N,path lines (what file_open(N) opens)
    data_dir: Path | None = None  # REAPER's Data folder (beside the Effects folder), where file_open looks

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


_NUMBER = re.compile(r"\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")


def _strtod(text: str, i: int) -> tuple[float, int]:
    """A number at ``text[i:]`` as C's strtod reads it (0 and no progress when there is none)."""
    m = _NUMBER.match(text, i)
    return (float(m.group(0)), m.end()) if m else (0.0, i)


def _skip_to(text: str, i: int, stops: str) -> int:
    while i < len(text) and text[i] not in stops:
        i += 1
    return i


def _parse_slider(number: int, spec: str) -> Slider | None:
    """A slider line after ``sliderN:``, read as leniently as REAPER reads it (None: not a slider).

    Forms: ``0<0,10,0.1>Gain``, ``gain=0<0,10,0.1:log=2>Gain``, ``0<0,2,1{A,B,C}>Mode``,
    ``name<0,1,1>-Hidden`` (no default: 0), ``/folder:0:Label`` (a file slider: its value only).
    What REAPER tolerates is tolerated: ``Model=0:<0,2,1{...}>`` (text after the default),
    ``{AC1,AC101>`` (an enum never closed), ``<-30,0,0.1}>`` (a stray brace).
    """
    text = spec.lstrip()
    i, var = 0, ""
    eq = _skip_to(text, 0, "=<,")
    if eq < len(text) and text[eq] == "=":
        var, i = text[:eq].strip(), eq + 1
    minimum, maximum, step, labels, shape, folder = 0.0, 1.0, 0.0, [], "", ""
    if text[i:i + 1] == "/":  # a file slider: /folder:default:label
        colon = _skip_to(text, i, ":")
        if colon >= len(text):
            return None
        default, j = _strtod(text, colon + 1)
        j = _skip_to(text, j, ":")
        if j >= len(text):
            return None
        label, shape, folder = text[j + 1:], "file", text[i + 1:colon].strip().strip("/")
        step = 1.0
    else:
        default, j = _strtod(text, i)
        j = _skip_to(text, j, ",<")
        if j >= len(text):
            return None
        if text[j] == "<":
            minimum, j = _strtod(text, j + 1)
            j = _skip_to(text, j, ",>")
            if j < len(text) and text[j] == ",":
                maximum, j = _strtod(text, j + 1)
                j = _skip_to(text, j, ",>")
            if j < len(text) and text[j] == ",":
                step, j = _strtod(text, j + 1)
                j = _skip_to(text, j, "{>:")
                if j < len(text) and text[j] == "{":
                    end = _skip_to(text, j + 1, "}>")
                    labels = [p.strip() for p in text[j + 1:end].split(",") if p.strip()]
                    j = end
                if j < len(text) and text[j] == ":":
                    end = _skip_to(text, j + 1, ">")
                    shape, j = text[j + 1:end].strip(), end
            j = _skip_to(text, j, ">")
            if j >= len(text):
                return None
        j += 1
        while j < len(text) and (text[j] == "," or text[j].isspace()):
            j += 1
        label = text[j:]
    label = label.strip()
    if not label and shape != "file":
        return None
    hidden = label.startswith("-")
    return Slider(number, (var or f"slider{number}").lower(), default, minimum, maximum, step, labels, shape,
                  label.lstrip("-").strip(), hidden, folder)


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
    roots = list(effects_dirs or [])
    enclosing = effects_root(p)
    if enclosing is not None and all(enclosing != r.resolve() for r in roots):
        roots.append(enclosing)
    effect.data_dir = next((r.parent / "Data" for r in roots if (r.parent / "Data").is_dir()), None)
    _read(p, effect, roots, set(), main=True)
    if not effect.desc and not effect.sliders and not any(effect.sections.values()):
        raise JsfxError(f"{p.name} is not a JSFX effect: it has no desc: line, no sliders and no code "
                        "(@init, @slider, @block or @sample)")
    return effect


def _read(path: Path, effect: Effect, effects_dirs: list[Path], seen: set[Path], main: bool) -> None:
    seen.add(path.resolve())
    text = path.read_text(encoding="utf-8-sig", errors="replace")
    if OPEN in text:
        if main:
            effect.config = config_defaults(text)
        text = preprocess(text, str(path), effect.config)
    section: str | None = None
    start = 0
    buffer: list[str] = []

    def close() -> None:
        if section in RUN_SECTIONS and buffer:
            effect.sections[section].append(Code("\n".join(buffer), str(path), start))

    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip()
        if line.startswith("@"):  # as in REAPER, a section starts at the first column only
            close()
            name = line[1:].split()[0].lower() if len(line) > 1 and not line[1].isspace() else ""
            section, start, buffer = name, number + 1, []
            if name in SKIPPED_SECTIONS:
                effect.notices.append(f"{path.name}: @{name} is skipped (no graphics or state saving offline)")
            elif name not in RUN_SECTIONS:
                raise JsfxError(f"{where(str(path), number)}: unknown section @{name}")
            rest = line[1 + len(name):].strip()
            if rest and name in RUN_SECTIONS:  # code on the same line as the section name
                buffer.append(" " * (len(line) - len(rest)) + rest)
                start = number
            continue
        if section is not None:
            buffer.append(line)
            continue
        _header_line(line, path, number, effect, effects_dirs, seen, main)
    close()


def _header_line(line: str, path: Path, number: int, effect: Effect, effects_dirs: list[Path], seen: set[Path],
                 main: bool) -> None:
    """One line before the first section; as in REAPER, a directive starts at the first column (an indented
    line, in a comment block say, is not one)."""
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
        parsed = _parse_slider(n, slider.group(2))
        if parsed is None:
            effect.notices.append(f"{path.name}:{number}: slider{n} is not a slider line REAPER reads; ignored")
        else:
            if parsed.shape == "file":
                effect.notices.append(f"{path.name}:{number}: slider{n} chooses a file; only its number is used")
            effect.sliders[n] = parsed
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
        index, _, name = line[9:].partition(",")
        effect.filenames[int(_strtod(index, 0)[0])] = name.strip()


def _case_resolve(folder: Path, name: str) -> Path | None:
    """``folder/name`` with every part matched regardless of case, as REAPER does on every system."""
    current = folder
    for part in Path(name.replace("\\", "/")).parts:
        exact = current / part
        if exact.exists():
            current = exact
            continue
        try:
            match = next((entry for entry in sorted(os.listdir(current)) if entry.lower() == part.lower()), None)
        except OSError:
            return None
        if match is None:
            return None
        current = current / match
    return current if current.is_file() else None


def _subfolders(root: Path) -> list[Path]:
    """Every folder below ``root``, depth first in name order (hidden ones skipped)."""
    out: list[Path] = []
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            children = sorted((e for e in os.scandir(folder) if e.is_dir() and not e.name.startswith(".")),
                              key=lambda e: e.name, reverse=True)
        except OSError:
            continue
        for child in children:
            stack.append(Path(child.path))
        if folder != root:
            out.append(folder)
    return out


def _find_import(name: str, importer: Path, effects_dirs: list[Path]) -> Path | None:
    """An imported file, where REAPER looks: beside the importer, then in the Effects root, then in the
    subfolders of each (the whole relative name under each subfolder), names matched regardless of case."""
    folders = [importer.parent] + [d for d in effects_dirs if d.resolve() != importer.parent.resolve()]
    for folder in folders:
        found = _case_resolve(folder, name)
        if found is not None:
            return found
    for folder in folders:
        for sub in _subfolders(folder):
            found = _case_resolve(sub, name)
            if found is not None:
                return found
    return None


def effects_root(path: Path) -> Path | None:
    """The ``Effects`` folder an effect lives in (REAPER's import root), if any."""
    for parent in path.resolve().parents:
        if parent.name.lower() == "effects":
            return parent
    return None
