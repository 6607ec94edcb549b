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


RPP_FILES = corpus_files("rpp", ".rpp")


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
