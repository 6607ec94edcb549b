"""Shared fixtures: the real-world corpus (REABRIDGE_CORPUS, default ../shared/corpus)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

REPO = Path(__file__).resolve().parents[1]
# JSFX run on the interpreter in the tests (no background compiles of every test effect); test_jsfx_native
# checks the compiled tier gives the same samples
os.environ.setdefault("REABRIDGE_JSFX_NATIVE", "never")
CORPUS = Path(os.environ.get("REABRIDGE_CORPUS", REPO.parent / "shared" / "corpus")).resolve()
HAVE_CORPUS = (CORPUS / "MANIFEST.tsv").is_file()
#: CI (and anyone who sets REABRIDGE_REQUIRE_CORPUS=1) runs every test or none
REQUIRE_CORPUS = os.environ.get("CI", "").lower() in ("1", "true") or os.environ.get("REABRIDGE_REQUIRE_CORPUS") == "1"
_USES_CORPUS = ("CORPUS", "corpus_rpp", "corpus_files", "RPP_FILES", "project_copy")
_LEFT_OUT: list[str] = []

settings.register_profile(
    "reabridge", deadline=None, max_examples=150, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("reabridge")


def corpus_files(kind: str, *suffixes: str) -> list[Path]:
    """Files of one corpus folder; fails loudly when the corpus is missing."""
    folder = CORPUS / kind
    if not folder.is_dir():
        raise RuntimeError(f"test corpus not found at {folder}; set REABRIDGE_CORPUS")
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in suffixes)


RPP_FILES = corpus_files("rpp", ".rpp") if HAVE_CORPUS else []


def pytest_configure(config: pytest.Config) -> None:
    if not HAVE_CORPUS and REQUIRE_CORPUS:
        raise pytest.UsageError(f"the test corpus is missing (looked in {CORPUS}); CI runs every test, so it is "
                                "required: set REABRIDGE_CORPUS")


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Without the corpus (and outside CI), test modules that read it are left out rather than failed."""
    if HAVE_CORPUS or collection_path.suffix != ".py" or not collection_path.name.startswith("test_"):
        return None
    text = collection_path.read_text(encoding="utf-8", errors="replace")
    if any(word in text for word in _USES_CORPUS):
        _LEFT_OUT.append(collection_path.stem)
        return True
    return None


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _LEFT_OUT:
        terminalreporter.write_line(
            f"left out {len(_LEFT_OUT)} test modules that read the test corpus ({', '.join(sorted(_LEFT_OUT))}): "
            f"it is not at {CORPUS}; to run them, set REABRIDGE_CORPUS to a copy of the corpus (in this project's "
            "workspace it is ../shared/corpus beside the clone)")


def corpus_rpp(name: str) -> Path:
    """The corpus project whose file name ends with ``name``."""
    matches = [p for p in RPP_FILES if p.name.endswith(name)]
    assert len(matches) == 1, f"{name}: {matches}"
    return matches[0]


@pytest.fixture
def project_copy(tmp_path: Path):
    """Copy a corpus project into a writable temporary folder."""

    def make(name: str) -> Path:
        src = corpus_rpp(name)
        dst = tmp_path / src.name
        shutil.copyfile(src, dst)
        dst.chmod(0o644)
        return dst

    return make


@pytest.fixture(scope="session")
def engines():
    """Engines shared by the tests of a run (as the daemon's workers keep them)."""
    from bridge.jobs.engines import Engines

    return Engines()


def run_job(job: str, project=None, items=None, engines=None, request_id: str | None = None, **options):
    """Run one request through ``run_request`` (the path every caller takes); returns the JobResult."""
    from bridge.requests import parse_request
    from bridge.requests.run import run_request

    data = {"id": request_id or f"{job.replace('_', '-')}-test", "job": job,
            "options": {k: (str(v) if isinstance(v, Path) else v) for k, v in options.items()}}
    if project is not None:
        data["project"] = {"path": str(project)}
    if items is not None:
        data["items"] = items
    return run_request(parse_request(data), engines=engines)


@pytest.fixture
def world(tmp_path):
    """``world(**kw)``: a REAPER with reabridge installed and a project open (``tests.test_actions.World``),
    closed after the test."""
    from tests.test_actions import World

    made: list[World] = []

    def make(**kw):
        made.append(World(tmp_path / f"w{len(made)}", **kw))
        return made[-1]

    yield make
    for w in made:
        w.close()
