"""``reabridge mcp``: an MCP server (stdio) over the request schema, for LLM clients.

One tool per job, generated at start-up from :data:`bridge.requests.models.REQUEST_TYPES`
(:mod:`bridge.mcp.tools`); calls go through the daemon (:mod:`bridge.mcp.jobs`). The project
can be read (:mod:`bridge.mcp.project_tools`), and JSFX an LLM writes is compiled and rendered
through test signals before it may be inserted (:mod:`bridge.mcp.jsfx_check`).
:mod:`bridge.mcp.server` ties them to the official ``mcp`` SDK.
"""
