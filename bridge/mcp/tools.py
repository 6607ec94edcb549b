"""The tools the MCP server lists: one per job, generated from the request models, plus the fixed ones.

A job tool's arguments are that job's request fields exactly as ``reabridge requests
schema`` has them (the same JSON Schema fragments and ``$defs``), without ``version``
and ``job`` (the tool says which job), without ``created`` (stamped when the call
arrives) and ``handoff`` (only REAPER's own actions can take a result back), with
``id`` optional (one is made when it is missing), and with ``wait``. ``jsfx_insert``
also takes ``options.code``: JSFX text that passed ``jsfx_check``, in place of a file.

Nothing here is written by hand per job: a job added to
:data:`bridge.requests.models.REQUEST_TYPES` appears as a tool at the next start.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any

from bridge.jobs.table import JOBS
from bridge.requests.models import REQUEST_TYPES
from bridge.requests.parse import request_schema

#: request fields a job tool takes (in this order), and the one it adds
JOB_FIELDS = ("id", "project", "items", "options")
WAIT_FIELD = "wait"
#: the option of jsfx_insert that carries checked code instead of a file
CODE_OPTION = "code"
CODE_JOB = "jsfx_insert"
MAX_CODE_CHARS = 1_000_000
#: the tools that are not jobs
FIXED_TOOLS = ("project_info", "find_items", "jsfx_check", "job_status", "cancel")


@dataclass(frozen=True)
class ToolSpec:
    """One tool as the server lists it."""

    name: str
    description: str
    input_schema: dict[str, Any]
    read_only: bool = False


def _first_paragraph(text: str | None) -> str:
    paragraphs = [" ".join(p.split()) for p in (text or "").strip().split("\n\n")]
    return paragraphs[0].replace("``", "") if paragraphs and paragraphs[0] else ""


def _refs(node: Any) -> set[str]:
    """Names of the ``$defs`` a schema fragment refers to directly."""
    found: set[str] = set()
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            found.add(ref.removeprefix("#/$defs/"))
        for value in node.values():
            found |= _refs(value)
    elif isinstance(node, list):
        for value in node:
            found |= _refs(value)
    return found


def _reachable(fragments: list[Any], defs: dict[str, Any]) -> dict[str, Any]:
    """Every ``$defs`` entry the fragments need, followed transitively."""
    wanted, todo = {}, set().union(*(_refs(f) for f in fragments))
    while todo:
        name = todo.pop()
        if name in wanted or name not in defs:
            continue
        wanted[name] = defs[name]
        todo |= _refs(defs[name])
    return dict(sorted(wanted.items()))


def _model_schema(job: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """A job's request schema and the ``$defs`` it lives among (``reabridge requests schema``)."""
    cls = REQUEST_TYPES[job]
    schema = request_schema()
    defs = schema.get("$defs", {})
    if cls.__name__ in defs:
        return defs[cls.__name__], defs
    from pydantic import TypeAdapter  # a model not (yet) in the union: its own schema, same generator

    own = TypeAdapter(cls).json_schema()
    own_defs = own.pop("$defs", {})
    return own, {**own_defs, cls.__name__: own}


def describe(job: str) -> str:
    """What a job tool does and what lands in the project."""
    cls = REQUEST_TYPES[job]
    options = cls.model_fields["options"].annotation
    spec = JOBS.get(job)
    parts = [_first_paragraph(cls.__doc__)]
    option_doc = _first_paragraph(getattr(options, "__doc__", None))
    if option_doc:
        parts.append(f"Options: {option_doc}")
    title = spec.undo_name if spec is not None else f"reabridge: {job}"
    parts.append(
        f"What lands: on a project, everything the job adds is one undo step '{title}' in the project REAPER has "
        "open (when REAPER runs with reabridge's server), otherwise it is written into the .RPP (the previous "
        "version kept as .RPP-bak); running it again on the same items replaces reabridge's own earlier result, "
        "nothing else is removed. On plain files it writes the files named in options.")
    parts.append("Returns when the job is done: what was added to the project, the files written, notes and "
                 "skipped items. wait: false returns the request id at once (follow it with job_status, stop it "
                 "with cancel). A repeated id is the same request, done once.")
    if job == CODE_JOB:
        parts.append("options.code may replace options.effect: JSFX text that passed jsfx_check (exactly that text; "
                     "it is installed under REAPER's Effects/reabridge folder).")
    return " ".join(p for p in parts if p)


def job_schema(job: str) -> dict[str, Any]:
    """The tool's input schema for one job (see the module documentation)."""
    model, defs = _model_schema(job)
    props = model.get("properties", {})
    properties = {name: copy.deepcopy(props[name]) for name in JOB_FIELDS if name in props}
    properties[WAIT_FIELD] = {"type": "boolean", "default": True, "title": "Wait",
                              "description": "true: return when the job is done, with its result; false: return "
                                             "the request id at once (job_status and cancel follow it)"}
    required = [name for name in model.get("required", []) if name in properties and name != "id"]
    needed = _reachable(list(properties.values()), defs)
    if job == CODE_JOB:
        needed = copy.deepcopy(needed)
        ref = properties.get("options", {}).get("$ref", "")
        options = needed.get(ref.removeprefix("#/$defs/"))
        if options is not None:
            options.setdefault("properties", {})[CODE_OPTION] = {
                "type": "string", "minLength": 1, "maxLength": MAX_CODE_CHARS, "title": "Code",
                "description": "JSFX source that passed jsfx_check, in place of options.effect"}
            options["required"] = [r for r in options.get("required", []) if r != "effect"]
    schema: dict[str, Any] = {"type": "object", "properties": properties, "additionalProperties": False}
    if required:
        schema["required"] = required
    if needed:
        schema["$defs"] = needed
    return schema


def job_tools() -> list[ToolSpec]:
    """One tool per job in :data:`REQUEST_TYPES`, in its order."""
    return [ToolSpec(job, describe(job), job_schema(job)) for job in REQUEST_TYPES]


_PATH = {"type": "string", "minLength": 1, "maxLength": 4096, "description": "the project's .RPP file (absolute)"}
_ID = {"type": "string", "pattern": r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$", "description": "the request id a job "
       "tool returned"}


def fixed_tools() -> list[ToolSpec]:
    """The tools that are not jobs."""
    return [
        ToolSpec("project_info", "The project as reabridge reads it (what 'reabridge project info --json' prints): "
                 "tracks with GUIDs, volume, pan, FX; items with GUIDs, positions, takes and sources; the tempo "
                 "map; markers and regions; missing media. Read from REAPER when it has the project open, else "
                 "from the .RPP. Changes nothing.",
                 {"type": "object", "properties": {"path": _PATH}, "required": ["path"],
                  "additionalProperties": False}, read_only=True),
        ToolSpec("find_items", "Items of a project matching every condition given: track name, item (active "
                 "take) name, overlapping a time range in seconds, selected in REAPER. Returns each item's GUID, "
                 "track, name, position, length, and 'items': {\"guids\": [...]} ready to pass to a job tool. "
                 "Names match case-insensitively as substrings. Changes nothing.",
                 {"type": "object", "properties": {
                     "path": _PATH,
                     "track": {"type": "string", "maxLength": 1024, "description": "part of the track's name"},
                     "name": {"type": "string", "maxLength": 1024, "description": "part of the item's name"},
                     "start": {"type": "number", "minimum": 0, "description": "seconds: items ending after this"},
                     "end": {"type": "number", "minimum": 0, "description": "seconds: items starting before this"},
                     "selected": {"type": "boolean", "description": "only items selected (true) or not (false)"}},
                  "required": ["path"], "additionalProperties": False}, read_only=True),
        ToolSpec("jsfx_check", "Compile a JSFX effect (desc:, sliders, @init/@slider/@block/@sample) with "
                 "reabridge's EEL2 runner and render 2 s each of silence, an impulse, a sine sweep and noise "
                 "through it at its default slider values. Returns ok, every error with line, column, our message "
                 "and REAPER's own wording where known, the sliders parsed, pins, latency, and per signal: "
                 "NaN/Inf, denormals, DC offset, clipping, peak and level versus the input, whether it is silent "
                 "or passes audio unchanged, and warnings. Iterate until ok is true and the warnings are what you "
                 "intend; only code that passed can be inserted (jsfx_insert with options.code). Effects that "
                 "import files or read files (file_open) are not run. Installs nothing.",
                 {"type": "object", "properties": {"code": {"type": "string", "minLength": 1,
                                                            "maxLength": MAX_CODE_CHARS,
                                                            "description": "the whole JSFX file's text"}},
                  "required": ["code"], "additionalProperties": False}, read_only=True),
        ToolSpec("job_status", "Where a job stands: queued (position), running (stage, progress, message), done "
                 "(its result: what was added, files, notes), error (the one line why) or cancelled.",
                 {"type": "object", "properties": {"id": _ID}, "required": ["id"], "additionalProperties": False},
                 read_only=True),
        ToolSpec("cancel", "Cancel a queued or running job: a running job stops and leaves nothing behind; a "
                 "finished one is left as it is (its state is returned).",
                 {"type": "object", "properties": {"id": _ID}, "required": ["id"], "additionalProperties": False}),
    ]


def all_tools() -> list[ToolSpec]:
    """Every tool: the jobs, then the fixed ones."""
    return job_tools() + fixed_tools()


def schema_text(tool: ToolSpec) -> str:
    """A tool's input schema as compact JSON (for the log and the tests)."""
    return json.dumps(tool.input_schema, sort_keys=True)
