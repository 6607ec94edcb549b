"""What ``reabridge library index PATH...`` covers: audio files, folders (recursively) and projects' media."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from bridge.errors import ReabridgeError

#: everything libsndfile reads (the same list the request rules use)
AUDIO_EXTENSIONS = (".wav", ".wave", ".flac", ".mp3", ".ogg", ".oga", ".opus", ".aif", ".aiff", ".aifc", ".w64",
                    ".caf", ".bwf", ".rf64")
PROJECT_EXTENSIONS = (".rpp",)


@dataclass(frozen=True)
class Candidate:
    """One audio file to index: the path as the user gave it (joined with what was found under a folder)."""

    given: str
    real: str


@dataclass
class Found:
    """Everything the paths hold: audio files, projects, and what could not be used (one line each)."""

    audio: list[Candidate] = field(default_factory=list)
    projects: list[Candidate] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    empty: list[str] = field(default_factory=list)


def _real(path: Path) -> str:
    return str(path.resolve())


def _kind(path: Path) -> str | None:
    suffix = path.suffix.lower()
    if suffix in AUDIO_EXTENSIONS:
        return "audio"
    if suffix in PROJECT_EXTENSIONS:
        return "project"
    return None


def collect(paths: list[str]) -> Found:
    """Audio files and projects under ``paths`` (files as given; folders walked recursively, sorted).

    Raises
    ------
    ReabridgeError
        A path that does not exist (nothing is indexed then: a typo should not drop files).
    """
    found = Found()
    seen: set[str] = set()
    for text in paths:
        p = Path(text)
        if not p.exists():
            raise ReabridgeError(f"{text} does not exist; nothing was indexed")
        if p.is_dir():
            before = len(found.audio) + len(found.projects)
            for root, dirs, files in os.walk(p, followlinks=False):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(files):
                    if name.startswith("."):
                        continue
                    f = Path(root) / name
                    kind = _kind(f)
                    if kind is None or not f.is_file():
                        continue
                    given = str(Path(text) / f.relative_to(p))
                    _add(found, kind, given, f, seen)
            if len(found.audio) + len(found.projects) == before:
                found.empty.append(text)
            continue
        kind = _kind(p)
        if kind is None:
            found.problems.append(f"{text}: not an audio file or a .RPP project (by its extension); skipped")
            continue
        _add(found, kind, text, p, seen)
    return found


def _add(found: Found, kind: str, given: str, path: Path, seen: set[str]) -> None:
    real = _real(path)
    if (kind, real) in seen:
        return
    seen.add((kind, real))  # type: ignore[arg-type]
    (found.audio if kind == "audio" else found.projects).append(Candidate(given, real))


def content_hash(path: str | os.PathLike[str]) -> str:
    """SHA-1 of a file's bytes (hex)."""
    h = hashlib.sha1(usedforsecurity=False)
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def project_media(path: str) -> tuple[list[Candidate], list[str]]:
    """The audio files a project's items play (each once), and one line per missing one."""
    from bridge.project.project import Project
    from bridge.rpp.errors import RppError

    try:
        project = Project.load(path)
    except (RppError, OSError, UnicodeDecodeError) as exc:
        return [], [f"{path}: not a REAPER project this program can read ({exc}); skipped"]
    media: list[Candidate] = []
    missing: list[str] = []
    seen: set[str] = set()
    for _track, item in project.items():
        for take in item.takes:
            source = take.source
            if source is None or not source.is_audio:
                continue
            resolved = source.resolve()
            if resolved is None:
                continue
            if not resolved.exists:
                line = f"{path}: media {resolved.stored} is missing; skipped"
                if line not in missing:
                    missing.append(line)
                continue
            real = _real(resolved.path)
            if real not in seen:
                seen.add(real)
                media.append(Candidate(str(resolved.path), real))
    return media, missing
