"""``reabridge mcp``: the MCP server for LLM clients (stdio)."""

from __future__ import annotations

from pathlib import Path

import typer


def mcp(
    spool: Path | None = typer.Option(None, "--spool", help="Spool folder of the daemon the jobs go through "
                                      "(default: <REAPER resource path>/reabridge/spool, the REAPER actions' own)."),
    allow: list[Path] | None = typer.Option(None, "--allow", help="Another folder projects may be read from and "
                                            "results written to (repeatable; as 'reabridge serve --allow')."),
) -> None:
    """Serve reabridge's jobs to an LLM client over MCP (stdio; no port).

    The client starts this command and talks to it on stdin/stdout.
    Tools: one per job (transcribe, tempo, amp_render, master, jsfx_insert,
    ...), project_info, find_items, jsfx_check, job_status and cancel.
    Jobs run in the daemon serving the spool (started when none does,
    stopped when the client leaves). Paths are confined as for daemon
    requests: your home folder, other drives, the temporary folder,
    REAPER's resource path and --allow folders. Every call is logged in
    the spool's daemon.log.

    Claude Desktop (claude_desktop_config.json) or any stdio MCP client:

    [bold]{"mcpServers": {"reabridge": {"command": "reabridge",
    "args": ["mcp", "--allow", "/home/me/Music"]}}}[/bold]

    VS Code (.vscode/mcp.json): the same under "servers", with
    "type": "stdio". Give the full path of reabridge when the client does
    not start it from your shell.

    Example: [bold]reabridge mcp --allow /mnt/projects[/bold]
    """
    from bridge.daemon.spool import Spool
    from bridge.mcp.server import serve

    serve(Spool(spool), [p.expanduser().absolute() for p in allow or []])
