"""Requests: strict validation naming the field, the schema, and the command line's wording."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest

from bridge.requests import REQUEST_TYPES, RequestError, parse_request, request_schema
from bridge.requests.parse import _ADAPTER

GUID = "{8C1D2E3F-0000-4000-8000-00000000ABCD}"
PROJECT = {"path": "/songs/a/a.RPP"}

#: one valid request per job
GOOD = {
    "transcribe": {"options": {"audio": "/x/a.wav"}},
    "tempo": {"project": PROJECT, "items": {"guids": [GUID]}, "options": {"apply": True, "map": True}},
    "amp_render": {"options": {"audio": "/x/di.wav", "model": "/x/amp.nam"}},
    "amp_capture": {"options": {"di": "/x/di.wav", "reamp": "/x/re.wav", "output": "/x/new.nam"}},
    "master": {"project": PROJECT, "items": {"selected": True}, "options": {"preset": "club"}},
    "master_jsfx": {"project": PROJECT, "items": {"selected": True}},
    "jsfx_render": {"options": {"effect": "/x/e.jsfx", "audio": "/x/in.wav", "output": "/x/out.wav",
                                "sliders": {"1": -6, "ratio": 4, "mode": "Peak"}}},
    "jsfx_insert": {"project": PROJECT, "options": {"effect": "/x/e.jsfx", "track": "Drums"}},
    "render": {"options": {"project_file": "/x/song.RPP", "output": "/x/mix.wav", "region": "Verse"}},
    "speakers": {"project": PROJECT, "items": {"guids": [GUID]}, "options": {"split": True, "speakers": 2}},
    "clean": {"options": {"audio": "/x/voice.wav", "denoise": "broadband", "strength": 0.7, "noise_from": [0.0, 1.5],
                          "report": "/x/report"}},
    "speech": {"project": PROJECT, "items": {"selected": True}, "options": {"as": "notes", "speakers": "auto",
                                                                            "vocabulary": "/x/terms.txt"}},
    "stems": {"options": {"audio": "/x/song.flac", "output": "/x/song-stems", "format": "24"}},
    "tune": {"project": PROJECT, "items": {"selected": True}, "options": {"key": "F# minor", "speed": 0.0,
                                                                          "keep_vibrato": True, "humanize": 5.0}},
    "library_index": {"options": {"paths": ["/x/samples", "/x/song.RPP"], "db": "/x/lib.sqlite"}},
    "library_find": {"project": PROJECT, "items": {"selected": True}, "options": {"as": "markers", "top": 3}},
}


def request(job: str, **changes) -> dict:
    data = {"id": f"{job}-1", "job": job, **json.loads(json.dumps(GOOD[job]))}
    for dotted, value in changes.items():
        node = data
        *parents, last = dotted.split("__")
        for key in parents:
            node = node.setdefault(key, {})
        if value is ...:
            node.pop(last, None)
        else:
            node[last] = value
    return data


def refused(data) -> RequestError:
    with pytest.raises(RequestError) as info:
        parse_request(data)
    return info.value


def test_every_job_has_a_valid_example_and_round_trips_through_json():
    assert set(GOOD) == set(REQUEST_TYPES)
    for job in GOOD:
        parsed = parse_request(request(job))
        again = parse_request(parsed.model_dump_json())
        assert again == parsed and again.job == job and again.version == 1


# (job, field path with "__", bad value, field named in the message, words in the message)
BAD_VALUES = [
    ("transcribe", "options__onset_threshold", 1.5, "options.onset_threshold", "at most 1"),
    ("transcribe", "options__onset_threshold", -0.1, "options.onset_threshold", "at least 0"),
    ("transcribe", "options__frame_threshold", math.nan, "options.frame_threshold", "finite"),
    ("transcribe", "options__frame_threshold", "0.3", "options.frame_threshold", "must be a number"),
    ("transcribe", "options__minimum_note_length", -100, "options.minimum_note_length", "at least 0"),
    ("transcribe", "options__minimum_frequency", -50, "options.minimum_frequency", "above 0"),
    ("transcribe", "options__maximum_frequency", math.inf, "options.maximum_frequency", "finite"),
    ("transcribe", "options__midi_tempo", 0, "options.midi_tempo", "at least 1"),
    ("transcribe", "options__midi_tempo", -120, "options.midi_tempo", "at least 1"),
    ("transcribe", "options__melodia_trick", "yes", "options.melodia_trick", "true or false"),
    ("transcribe", "options__melodia_trick", 1, "options.melodia_trick", "true or false"),
    ("transcribe", "options__audio", "", "options.audio", "must not be empty"),
    ("transcribe", "options__audio", "a\x00b", "options.audio", "NUL"),
    ("transcribe", "options__audio", 5, "options.audio", "must be text"),
    ("transcribe", "options__colour", "red", "options.colour", "unknown field"),
    ("transcribe", "extra", 1, "extra", "unknown field"),
    ("transcribe", "id", "has space", "id", "letters, digits"),
    ("transcribe", "id", "../escape", "id", "letters, digits"),
    ("transcribe", "id", "x" * 101, "id", "letters, digits"),
    ("transcribe", "id", ..., "id", "is required"),
    ("transcribe", "created", "yesterday", "created", "UTC time"),
    ("transcribe", "created", "2026-13-45T99:00:00Z", "created", "real date"),
    ("tempo", "items__guids", ["not-a-guid"], "items.guids.0", "GUID"),
    ("tempo", "items__selected", "true", "items.selected", "true or false"),
    ("tempo", "items__tracks", [""], "items.tracks.0", "must not be empty"),
    ("tempo", "options__markers", "bar", "options.markers", "one of"),
    ("tempo", "project__id", "zz", "project.id", "GUID"),
    ("tempo", "project__path", None, "project.path", "must be text"),
    ("tempo", "project__name", "x", "project.name", "unknown field"),
    ("amp_render", "options__model", ..., "options.model", "is required"),
    ("amp_render", "options__gain", 1000, "options.gain", "at most 60"),
    ("amp_render", "options__gain", math.nan, "options.gain", "finite"),
    ("amp_render", "options__input_level", math.nan, "options.input_level", "finite"),
    ("amp_render", "options__size", 1.5, "options.size", "at most 1"),
    ("amp_render", "options__format", "8", "options.format", "one of"),
    ("amp_capture", "options__epochs", 0, "options.epochs", "at least 1"),
    ("amp_capture", "options__epochs", 2.5, "options.epochs", "whole number"),
    ("amp_capture", "options__size", "huge", "options.size", "one of"),
    ("master", "options__target_lufs", -100, "options.target_lufs", "at least -40"),
    ("master", "options__target_lufs", 5, "options.target_lufs", "at most -3"),
    ("master", "options__ceiling", 3, "options.ceiling", "at most 0"),
    ("master", "options__preset", "../../etc/passwd", "options.preset", "not allowed"),
    ("jsfx_render", "options__sliders", {"1": math.nan}, "options.sliders.1", "finite"),
    ("jsfx_render", "options__sliders", {"1": 1e300}, "options.sliders.1", "at most"),
    ("jsfx_render", "options__block", 0, "options.block", "at least 1"),
    ("jsfx_render", "options__channels", 65, "options.channels", "at most 64"),
    ("jsfx_render", "options__tempo", -1, "options.tempo", "at least 1"),
    ("jsfx_insert", "options__track", "", "options.track", "must not be empty"),
]


@pytest.mark.parametrize(("job", "path", "value", "field", "words"), BAD_VALUES,
                         ids=[f"{j}-{p}-{v!r}"[:60] for j, p, v, *_ in BAD_VALUES])
def test_bad_values_are_refused_naming_the_field(job, path, value, field, words):
    error = refused(request(job, **{path: value}))
    assert error.field == field, str(error)
    assert words in str(error), str(error)
    assert "\n" not in str(error)


# impossible combinations: (job, changes, words)
BAD_COMBINATIONS = [
    ("transcribe", {"project": PROJECT, "items": {"selected": True}}, "either options.audio or project"),
    ("transcribe", {"options__audio": ...}, "give options.audio, or a project"),
    ("transcribe", {"options__audio": ..., "project": PROJECT}, "say which items"),
    ("transcribe", {"options__audio": ..., "project": PROJECT, "items": {}}, "say which items"),
    ("transcribe", {"items": {"selected": True}}, "only used with a project"),
    ("transcribe", {"options__minimum_frequency": 500, "options__maximum_frequency": 100}, "must be below"),
    ("tempo", {"options__apply": False}, "only written with apply"),
    ("tempo", {"project": ..., "items": ..., "options": {"audio": "/a.wav", "apply": True}}, "not on a file"),
    ("amp_render", {"project": PROJECT, "items": {"selected": True}}, "either options.audio or project"),
    ("amp_capture", {"options__reamp": ...}, "give options.di and options.reamp"),
    ("amp_capture", {"options__di_item": GUID}, "need a project"),
    ("amp_capture", {"project": PROJECT}, "not both"),
    ("master", {"options__preset_file": "/x.toml"}, "not both"),
    ("master", {"options__output": "/x.wav"}, "only used with options.mix"),
    ("master_jsfx", {"project": ...}, "master track"),
    ("master_jsfx", {"items": ...}, "which item"),
    ("jsfx_render", {"project": PROJECT}, "works on files"),
    ("jsfx_insert", {"project": ...}, "track of a project"),
    ("jsfx_insert", {"items": {"selected": True}}, "not on items"),
    ("stems", {"options__audio": ..., "project": PROJECT, "items": {"selected": True}}, "project stems go into"),
    ("library_index", {"project": PROJECT}, "putting its .RPP file in options.paths"),
    ("library_find", {"project": ..., "items": ..., "options": {"audio": "/x/a.wav", "as": "notes"}},
     "only used with a project"),
    ("library_find", {"options__mode": "hum"}, "only the identify mode writes"),
]


@pytest.mark.parametrize(("job", "changes", "words"), BAD_COMBINATIONS,
                         ids=[f"{j}-{'-'.join(c)}" for j, c, _ in BAD_COMBINATIONS])
def test_impossible_combinations_are_refused(job, changes, words):
    assert words in str(refused(request(job, **changes)))


def test_malformed_documents_get_one_line():
    assert "not valid JSON" in str(refused(b'{"id": "a", "job": '))
    assert "not UTF-8" in str(refused(b'\xff\xfe{}'))
    assert "JSON object" in str(refused("[1, 2]"))
    unknown = refused({"id": "a", "job": "sing"})
    assert unknown.field == "job" and "transcribe" in str(unknown)
    assert refused({"id": "a"}).field == "job"
    version = refused({**request("transcribe"), "version": 2})
    assert version.field == "version" and "version 1" in str(version)
    # NaN written as JSON's non-standard token is still refused
    text = json.dumps(request("jsfx_render")).replace('"ratio": 4', '"ratio": NaN')
    assert refused(text).field == "options.sliders.ratio"


def test_schema_covers_every_job_and_matches_the_shipped_copy():
    from bridge.assets import reaper_scripts_dir

    schema = request_schema()
    jobs = {ref["$ref"].split("/")[-1] for ref in schema["oneOf"]}
    assert len(jobs) == len(REQUEST_TYPES)
    assert schema["discriminator"]["propertyName"] == "job"
    shipped = json.loads((reaper_scripts_dir() / "request.schema.json").read_text())
    # refresh with: reabridge requests schema -o reaper_scripts/request.schema.json
    assert shipped == json.loads(json.dumps(schema))
    assert _ADAPTER.json_schema() == {k: v for k, v in schema.items() if k not in ("$schema", "$id", "title",
                                                                                     "description")}


def test_schema_command_prints_it():
    out = subprocess.run([sys.executable, "-m", "bridge", "requests", "schema"], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == json.loads(json.dumps(request_schema()))


def cli(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bridge", *args], capture_output=True, text=True, cwd=cwd,
                          env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"}, timeout=120)


@pytest.mark.parametrize(("args", "words"), [
    (("transcribe", "a.wav", "--onset-threshold", "1.5"), "--onset-threshold: must be at most 1"),
    (("transcribe", "a.wav", "--midi-tempo", "nan"), "--midi-tempo: must be a finite number"),
    (("transcribe", "a.wav", "--minimum-note-length", "-100"), "--minimum-note-length: must be at least 0"),
    (("tempo", "--project", "x.RPP", "--item", "BADGUID"), "--item.0: must be a GUID"),
    (("tempo", "--project", "x.RPP", "--item", "{8C1D2E3F-0000-4000-8000-00000000ABCD}", "--map"),
     "--map: a tempo map is only written with apply"),
    (("amp", "render", "di.wav", "--model", "a.nam", "--gain", "nan"), "--gain: must be a finite number"),
    (("jsfx", "render", "e.jsfx", "in.wav", "-o", "o.wav", "--slider", "1=nan"), "--sliders.1: must be a finite"),
    (("master", "mix.wav", "--sample-rate", "1"), "--sample-rate: must be at least 8000"),
    (("master", "mix.wav", "--target-lufs", "-100"), "--target-lufs: must be at least -40"),
])
def test_command_line_errors_name_the_option(args, words, tmp_path):
    out = cli(*args, cwd=tmp_path)
    assert out.returncode == 1, out.stdout + out.stderr
    assert out.stderr.count("\n") == 1 and "Traceback" not in out.stderr, out.stderr
    assert words in out.stderr, out.stderr
