"""TensorFlow (and the basic_pitch package, which imports it) stay off the transcription path."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from conftest import CORPUS, REPO

PROBE = textwrap.dedent(
    """
    import importlib.util, json, sys
    assert importlib.util.find_spec("tensorflow") is not None, "the planted tensorflow must be importable"
    from bridge.transcribe import Transcriber
    from bridge.transcribe.midi_out import write_midi_file
    result = Transcriber().transcribe_file(sys.argv[1])
    write_midi_file(sys.argv[2], result.notes)
    print(json.dumps({"notes": len(result.notes),
                      "loaded": sorted(m for m in sys.modules
                                       if m.split(".")[0] in ("tensorflow", "basic_pitch", "tflite_runtime"))}))
    """
)


def test_transcription_never_imports_tensorflow_or_basic_pitch(tmp_path):
    # a stand-in "tensorflow" that any `import tensorflow` would pick up and leave in sys.modules
    fake = tmp_path / "site" / "tensorflow"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("__version__ = '2.14.0-planted'\n")
    out = subprocess.run(
        [sys.executable, "-c", PROBE, str(CORPUS / "audio" / "basic-pitch-ts__C_major.mp3"), str(tmp_path / "o.mid")],
        capture_output=True, text=True, cwd=REPO, timeout=300,
        env={"PYTHONPATH": f"{tmp_path / 'site'}:{REPO}", "PATH": "/usr/bin:/bin"},
    )
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report["notes"] > 0
    assert report["loaded"] == []


def test_the_probe_would_catch_an_import(tmp_path):
    fake = tmp_path / "site" / "tensorflow"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("")
    code = "import basic_pitch, sys; print('tensorflow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                         env={"PYTHONPATH": str(tmp_path / "site"), "PATH": "/usr/bin:/bin"})
    assert out.stdout.strip().endswith("True")
