"""Reading requests from JSON or plain data, with one-line errors naming the field; the JSON Schema."""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import TypeAdapter, ValidationError

from bridge.errors import ReabridgeError
from bridge.requests.models import GUID_PATTERN, ID_PATTERN, REQUEST_TYPES, VERSION, AnyRequest, Request

_ADAPTER: TypeAdapter[Any] = TypeAdapter(Request)


class RequestError(ReabridgeError):
    """A request is malformed: not JSON, an unknown job, or a field with a wrong value.

    Attributes
    ----------
    field : str or None
        The dotted name of the field at fault (``options.onset_threshold``), when there is one.
    """

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field
        self.reason = message


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _reason(error: dict[str, Any]) -> str:
    kind, ctx, got = error["type"], error.get("ctx") or {}, error.get("input")
    simple = {
        "extra_forbidden": "unknown field",
        "missing": "is required",
        "finite_number": f"must be a finite number, not {_shown(got)}",
        "float_type": f"must be a number, not {_shown(got)}",
        "float_parsing": f"must be a number, not {_shown(got)}",
        "int_type": f"must be a whole number, not {_shown(got)}",
        "int_from_float": f"must be a whole number, not {_shown(got)}",
        "bool_type": f"must be true or false, not {_shown(got)}",
        "string_type": f"must be text, not {_shown(got)}",
        "list_type": f"must be a list, not {_shown(got)}",
        "dict_type": f"must be an object, not {_shown(got)}",
        "model_type": f"must be an object, not {_shown(got)}",
        "model_attributes_type": f"must be an object, not {_shown(got)}",
    }
    if kind in simple:
        return simple[kind]
    bounds = {"less_than_equal": ("at most", "le"), "greater_than_equal": ("at least", "ge"),
              "less_than": ("below", "lt"), "greater_than": ("above", "gt")}
    if kind in bounds:
        words, key = bounds[kind]
        return f"must be {words} {ctx.get(key)}, not {_shown(got)}"
    if kind == "literal_error":
        return f"must be one of {ctx.get('expected')}, not {_shown(got)}"
    if kind == "string_pattern_mismatch":
        pattern = ctx.get("pattern")
        if pattern == GUID_PATTERN:
            return f"must be a GUID like {{8C1D2E3F-0000-4000-8000-00000000ABCD}}, not {_shown(got)}"
        if pattern == ID_PATTERN:
            return ("must be 1 to 100 letters, digits, '.', '_' or '-' (starting with a letter or digit), "
                    f"not {_shown(got)}")
        return f"has characters that are not allowed here: {_shown(got)}"
    if kind in ("too_long", "string_too_long"):
        return f"is too long (at most {ctx.get('max_length')})"
    if kind == "string_too_short":
        return "must not be empty"
    message = str(error.get("msg", "is not valid"))
    return message.removeprefix("Value error, ").removeprefix("Assertion failed, ")


_UNION_MEMBER = re.compile(r"^(constrained-)?(float|str|int|bool|list|dict)$|[\[\]]")


def _location(loc: tuple[Any, ...], job: str | None) -> str:
    parts = list(loc)
    if parts and parts[0] == job:  # the request union's tag
        parts = parts[1:]
    return ".".join(str(p) for p in parts if not (isinstance(p, str) and _UNION_MEMBER.search(p)))


#: the deepest nesting a request may have (one needs about five levels) and its largest size
MAX_DEPTH = 32
MAX_BYTES = 8 << 20
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)


def json_depth(data: bytes) -> int:
    """How deeply ``[`` and ``{`` nest in JSON text (strings ignored), without parsing it.

    Cheap enough to run before :func:`json.loads`, whose recursion a crafted file could exhaust.
    """
    import numpy as np

    bare = np.frombuffer(_STRING.sub(b'""', data), dtype=np.uint8)
    if bare.size == 0:
        return 0
    step = (bare == ord("[")).astype(np.int32) + (bare == ord("{"))
    step -= (bare == ord("]")).astype(np.int32) + (bare == ord("}"))
    return int(np.cumsum(step).max(initial=0))


def check_json_shape(data: bytes, *, max_bytes: int = MAX_BYTES, max_depth: int = MAX_DEPTH) -> None:
    """Refuse JSON text that is too big or nests too deeply, before it is parsed.

    Raises
    ------
    RequestError
        Naming the limit.
    """
    if len(data) > max_bytes:
        raise RequestError(f"the request is {len(data):,} bytes; at most {max_bytes:,} are read")
    depth = json_depth(data)
    if depth > max_depth:
        raise RequestError(f"the request nests {depth} levels deep; at most {max_depth} are read")


def parse_request(data: Any) -> AnyRequest:
    """A validated request from JSON text/bytes or plain data.

    Raises
    ------
    RequestError
        Naming the first field at fault and what it must be.
    """
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogatepass")
    if isinstance(data, (bytes, bytearray)):
        check_json_shape(bytes(data))
        try:
            data = bytes(data).decode("utf-8")
        except UnicodeDecodeError:
            raise RequestError("the request is not UTF-8 text") from None
        try:
            data = json.loads(data)
        except json.JSONDecodeError as exc:
            raise RequestError(f"the request is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") \
                from None
    if not isinstance(data, dict):
        raise RequestError(f"a request must be a JSON object, not {type(data).__name__}")
    job = data.get("job")
    if job not in REQUEST_TYPES:
        known = ", ".join(REQUEST_TYPES)
        raise RequestError(f"must be one of {known}, not {_shown(job)}" if "job" in data else
                           f"is required (one of {known})", "job")
    version = data.get("version", VERSION)
    if version != VERSION:
        raise RequestError(f"this reabridge reads requests of version {VERSION}, not {_shown(version)}; "
                           "update the side that wrote it", "version")
    try:
        return _ADAPTER.validate_python(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = _location(tuple(error["loc"]), job)
        raise RequestError(_reason(error), where or None) from None


def request_schema() -> dict[str, Any]:
    """The JSON Schema of every request type (what ``reabridge requests schema`` prints)."""
    schema = _ADAPTER.json_schema()
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://reabridge.invalid/schema/request-v1.json",
        "title": "reabridge request",
        "description": "One job for the reabridge daemon (spool file requests/<id>.json) or the command line.",
        **schema,
    }
