"""The MCP server: the tools, the resources and the log, on the official SDK's low-level server over stdio.

Nothing listens on a port: the client starts ``reabridge mcp`` and talks to it through
its standard input and output. Every call is logged with its arguments in the spool's
log (``daemon.log``, beside the daemon's own lines; JSFX text is logged as its hash and
length). A failure is a tool error (``isError``) whose text is one line a person can act
on; no traceback reaches the client.
"""

from __future__ import annotations

import json
import logging
import logging.handlers
import os
import time
from pathlib import Path
from typing import Any

import anyio
import mcp_types as types
from mcp.server.lowlevel import Server
from mcp.server.stdio import stdio_server
from mcp.shared.exceptions import MCPError

from bridge import __version__
from bridge.daemon.spool import Spool
from bridge.errors import ReabridgeError
from bridge.mcp.jobs import Jobs, ToolError, daemon_environment
from bridge.mcp.jsfx_check import PassedStore, check_code, code_hash
from bridge.mcp.project_tools import URI_TEMPLATE, ProjectReader, project_uri, uri_path
from bridge.mcp.tools import CODE_JOB, CODE_OPTION, WAIT_FIELD, ToolSpec, all_tools
from bridge.reaper.paths import default_resource_path

log = logging.getLogger("reabridge.mcp")

RESOURCE_NOT_FOUND = -32002
LOGGED_ARGUMENTS = 4000  # characters of a call's arguments kept in the log
INSTRUCTIONS = (
    "reabridge runs machine-learning audio jobs on REAPER projects (.RPP files) and adds the results to them. "
    "Start with project_info or find_items to get item GUIDs, then call a job tool with "
    "{\"project\": {\"path\": ...}, \"items\": {\"guids\": [...]}, \"options\": {...}}. A job returns what it added "
    "(one undo step in REAPER when REAPER has the project open, else written into the .RPP). For an effect you "
    "write yourself: jsfx_check the JSFX text until ok is true, then jsfx_insert with options.code set to exactly "
    "that text.")


def _shown_arguments(arguments: dict[str, Any]) -> str:
    """A call's arguments for the log: JSFX text as its hash and size, the rest as JSON (bounded)."""
    def shown(value: Any, key: str = "") -> Any:
        if key == CODE_OPTION and isinstance(value, str):
            return f"<JSFX sha256 {code_hash(value)[:16]}, {len(value)} characters>"
        if isinstance(value, dict):
            return {k: shown(v, k) for k, v in value.items()}
        return value

    text = json.dumps(shown(arguments), ensure_ascii=False, sort_keys=True)
    return text if len(text) <= LOGGED_ARGUMENTS else text[:LOGGED_ARGUMENTS] + f"... ({len(text)} characters)"


def _one_line(text: str) -> str:
    return " ".join(text.split())[:2000]


def _validate(tool: ToolSpec, arguments: dict[str, Any]) -> None:
    """Check a fixed tool's arguments against its schema (the first problem, on one line)."""
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import best_match

    error = best_match(Draft202012Validator(tool.input_schema).iter_errors(arguments))
    if error is not None:
        where = ".".join(str(p) for p in error.absolute_path)
        raise ToolError(f"{where}: {error.message}" if where else error.message)


class ReabridgeMcp:
    """The server's state: the spool, the tools, the readers.

    Parameters
    ----------
    spool : Spool
    allow : list of Path
        ``--allow`` folders (for projects and outputs, as ``reabridge serve --allow``).
    resource_path : Path, optional
        REAPER's resource path (default: ``$REAPER_RESOURCE_PATH`` or REAPER's default).
    """

    def __init__(self, spool: Spool, allow: list[Path], resource_path: Path | None = None) -> None:
        self.spool = spool.create()
        resource = (resource_path or default_resource_path()).absolute()
        self.jobs = Jobs(self.spool, allow, resource, daemon_environment())
        # the checks render seconds of test signals: never worth a minutes-long native compile of draft code
        os.environ.setdefault("REABRIDGE_JSFX_NATIVE", "never")
        self.reader = ProjectReader(self.jobs.policy, resource)
        self.passed = PassedStore(self.spool.root / "mcp" / "jsfx")
        self.tools = {t.name: t for t in all_tools()}
        self.check_limit = anyio.CapacityLimiter(1)
        self._log_handler: logging.Handler | None = None

    # -- logging ---------------------------------------------------------------------------
    def open_log(self) -> None:
        """Log into the spool's log (reopened when the daemon rotates it)."""
        handler = logging.handlers.WatchedFileHandler(self.spool.log, encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root = logging.getLogger("reabridge")
        root.setLevel(logging.INFO)
        root.addHandler(handler)
        self._log_handler = handler

    def close(self) -> None:
        """Stop the daemon this server started; close the log."""
        self.jobs.stop_daemon()
        if self._log_handler is not None:
            logging.getLogger("reabridge").removeHandler(self._log_handler)
            self._log_handler.close()
            self._log_handler = None

    # -- the SDK's handlers ------------------------------------------------------------------
    def listed_tools(self) -> list[types.Tool]:
        """The tools as the SDK lists them."""
        out = []
        for spec in self.tools.values():
            hints = types.ToolAnnotations(read_only_hint=spec.read_only, destructive_hint=False,
                                          idempotent_hint=True, open_world_hint=False)
            out.append(types.Tool(name=spec.name, description=spec.description, input_schema=spec.input_schema,
                                  annotations=hints))
        return out

    async def call(self, name: str, arguments: dict[str, Any], report: Any) -> types.CallToolResult:
        """One tool call, logged; failures become one-line tool errors."""
        started = time.monotonic()
        log.info("mcp call %s %s", name, _shown_arguments(arguments))
        try:
            result = await self.dispatch(name, arguments, report)
        except (ReabridgeError, OSError) as exc:
            message = exc.strerror + f": {exc.filename}" if isinstance(exc, OSError) and exc.strerror else str(exc)
            line = _one_line(message)
            log.info("mcp call %s refused or failed (%.2f s): %s", name, time.monotonic() - started, line)
            return types.CallToolResult(content=[types.TextContent(type="text", text=line)], is_error=True)
        except Exception as exc:  # a defect of ours: one line to the client, the traceback to the log
            log.exception("mcp call %s: internal error", name)
            line = _one_line(f"internal error in reabridge ({type(exc).__name__}: {exc}); the details are in "
                             f"{self.spool.log}")
            return types.CallToolResult(content=[types.TextContent(type="text", text=line)], is_error=True)
        log.info("mcp call %s done (%.2f s)%s", name, time.monotonic() - started,
                 f": {result.get('summary')}" if result.get("summary") else "")
        text = json.dumps(result, indent=1, ensure_ascii=False)
        return types.CallToolResult(content=[types.TextContent(type="text", text=text)], structured_content=result)

    async def dispatch(self, name: str, arguments: dict[str, Any], report: Any) -> dict[str, Any]:
        """Run the tool ``name``."""
        tool = self.tools.get(name)
        if tool is None:
            raise ToolError(f"no tool named {name!r}; the tools are {', '.join(self.tools)}")
        if name in ("project_info", "find_items", "jsfx_check", "job_status", "cancel"):
            _validate(tool, arguments)
        if name == "project_info":
            return await anyio.to_thread.run_sync(self.reader.info, arguments["path"])
        if name == "find_items":
            options = {k: arguments.get(k) for k in ("track", "name", "start", "end", "selected")}
            return await anyio.to_thread.run_sync(lambda: self.reader.find(arguments["path"], **options))
        if name == "jsfx_check":
            return await self.check(arguments["code"])
        if name == "job_status":
            return await anyio.to_thread.run_sync(self.jobs.status, arguments["id"])
        if name == "cancel":
            return await anyio.to_thread.run_sync(self.jobs.cancel, arguments["id"])
        return await self.job(name, arguments, report)

    async def check(self, code: str) -> dict[str, Any]:
        """``jsfx_check``; code that passed is kept in the spool for ``jsfx_insert``."""
        report = await anyio.to_thread.run_sync(check_code, code, limiter=self.check_limit)
        if report["ok"]:
            await anyio.to_thread.run_sync(self.passed.record, code, report.get("desc"))
        return report

    async def job(self, name: str, arguments: dict[str, Any], report: Any) -> dict[str, Any]:
        """A job tool: build the request, submit it, follow it."""
        wait = arguments.get(WAIT_FIELD, True)
        if not isinstance(wait, bool):
            raise ToolError(f"wait: must be true or false, not {wait!r}")
        code_file = None
        options = arguments.get("options")
        if name == CODE_JOB and isinstance(options, dict) and CODE_OPTION in options:
            code = options[CODE_OPTION]
            if not isinstance(code, str) or not code:
                raise ToolError("options.code: must be the JSFX text that passed jsfx_check")
            if "effect" in options:
                raise ToolError("options: give effect (a file) or code (checked text), not both")
            code_file = await anyio.to_thread.run_sync(self.passed.find, code)
            if code_file is None:
                raise ToolError(f"options.code: this text (sha256 {code_hash(code)[:16]}) has not passed jsfx_check; "
                                "run jsfx_check on exactly this text until ok is true; nothing was inserted")
        request = await anyio.to_thread.run_sync(lambda: self.jobs.build(name, arguments, code_file))
        return await self.jobs.run(request, wait=wait, progress=report)

    def resources(self) -> list[types.Resource]:
        """Projects REAPER has open and projects read this session."""
        return [types.Resource(name=Path(p).name, uri=project_uri(p), mime_type="application/json",
                               description=f"{p}: tracks, items with GUIDs, takes, FX, tempo map, markers")
                for p in self.reader.known()]

    def read(self, uri: str) -> str:
        """A ``reaper://project/...`` resource: the project's ``project_info`` as JSON text."""
        try:
            return json.dumps(self.reader.info(uri_path(uri)), indent=1, ensure_ascii=False)
        except ReabridgeError as exc:
            raise MCPError(RESOURCE_NOT_FOUND, _one_line(str(exc))) from None


def build_server(state: ReabridgeMcp) -> Server[Any]:
    """The SDK's server with reabridge's handlers."""
    async def list_tools(ctx: Any, params: Any) -> types.ListToolsResult:
        return types.ListToolsResult(tools=state.listed_tools())

    async def call_tool(ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
        last = [0.0]

        async def report(fraction: float | None, message: str) -> None:
            value = fraction if fraction is not None and fraction > last[0] else last[0] + 1e-4
            last[0] = value
            await ctx.session.report_progress(value, 1.0 if fraction is not None else None, message)

        return await state.call(params.name, dict(params.arguments or {}), report)

    async def list_resources(ctx: Any, params: Any) -> types.ListResourcesResult:
        return types.ListResourcesResult(resources=await anyio.to_thread.run_sync(state.resources))

    async def list_templates(ctx: Any, params: Any) -> types.ListResourceTemplatesResult:
        template = types.ResourceTemplate(
            name="project", uri_template=URI_TEMPLATE, mime_type="application/json",
            description="A REAPER project as project_info reads it; {path} is the .RPP's absolute path, "
                        "percent-encoded (/ as %2F)")
        return types.ListResourceTemplatesResult(resource_templates=[template])

    async def read_resource(ctx: Any, params: types.ReadResourceRequestParams) -> types.ReadResourceResult:
        uri = str(params.uri)
        log.info("mcp read %s", uri)
        text = await anyio.to_thread.run_sync(state.read, uri)
        return types.ReadResourceResult(contents=[types.TextResourceContents(uri=uri, mime_type="application/json",
                                                                             text=text)])

    return Server("reabridge", version=__version__, instructions=INSTRUCTIONS, on_list_tools=list_tools,
                  on_call_tool=call_tool, on_list_resources=list_resources,
                  on_list_resource_templates=list_templates, on_read_resource=read_resource)


def serve(spool: Spool, allow: list[Path]) -> None:
    """Serve MCP over stdin/stdout until the client closes them."""
    state = ReabridgeMcp(spool, allow)
    state.open_log()
    log.info("mcp server %s started (spool %s, allowed %s)", __version__, state.spool.root,
             ", ".join(str(p) for p in allow) or "none")
    server = build_server(state)

    async def main() -> None:
        async with stdio_server() as (read_stream, write_stream):
            await server.run(read_stream, write_stream, server.create_initialization_options())

    try:
        anyio.run(main)
    finally:
        log.info("mcp server stopped")
        state.close()
