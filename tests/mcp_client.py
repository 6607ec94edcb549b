"""Driving ``reabridge mcp`` as an LLM client does: the official SDK's stdio client and session."""

from __future__ import annotations

import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import anyio
from conftest import REPO
from mcp import ClientSession, StdioServerParameters, stdio_client

T = TypeVar("T")


async def _session(args: list[str], env: dict[str, str], body: Callable[[ClientSession], Awaitable[T]]) -> T:
    params = StdioServerParameters(command=sys.executable, args=["-m", "bridge", "mcp", *args], env=env, cwd=str(REPO))
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        return await body(session)


def with_client(args: list[str], env: dict[str, str], body: Callable[[ClientSession], Awaitable[T]]) -> T:
    """Start ``reabridge mcp ARGS`` as a client would, run ``body(session)``, close it (the server exits)."""
    return anyio.run(_session, args, env, body)


def text(result: Any) -> str:
    """The text of a tool result (a tool error's one line, or a result's JSON)."""
    return "".join(c.text for c in result.content if getattr(c, "type", "") == "text")


def data(result: Any) -> dict[str, Any]:
    """A successful tool result's structured content (also checked against its text)."""
    assert not result.is_error, text(result)
    assert json.loads(text(result)) == result.structured_content
    return result.structured_content  # type: ignore[no-any-return]


def files_under(folder: Path) -> dict[str, bytes]:
    """Every file below ``folder`` and its bytes (to show nothing was written)."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}
