"""``anyllm mcp``: the Model Context Protocol server over stdio, for editors and agent apps.

The tools (services/mcp_tools.py) run on one thread that owns the library, so the stores keep
a single owner while the protocol's event loop stays free. Standard output carries only the
protocol: the SDK points file descriptor 1 at stderr while it serves, and logs go to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar

from anyllm_desktop.core.cancel import CancelToken

if TYPE_CHECKING:
    from anyllm_desktop.services.mcp_tools import McpTools

T = TypeVar("T")

INSTRUCTIONS = (
    "Search and ask the user's own document workspaces (anyllm-desktop). list_workspaces "
    "names them; search returns passages with their document and page; ask answers from a "
    "workspace's documents with citations [n] mapped to those passages."
)


def add_commands(commands: argparse._SubParsersAction) -> None:
    mcp = commands.add_parser(
        "mcp", help="serve the workspaces to MCP clients over stdio (list, search, ask)"
    )
    mcp.set_defaults(handler=_serve)


class _OneThread:
    """Runs every tool call on one thread, which opens the library on first use."""

    def __init__(self, args: argparse.Namespace) -> None:
        self._args = args
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mcp-tools")
        self._tools: McpTools | None = None

    def _open(self) -> McpTools:
        if self._tools is None:
            from anyllm_desktop.cli.session import open_library
            from anyllm_desktop.services.mcp_tools import McpTools

            self._tools = McpTools(open_library(self._args))
        return self._tools

    async def call(self, tool: Callable[[McpTools], T], cancel: CancelToken | None = None) -> T:
        """``tool`` on the library's thread; its refusals, and the library's and the disk's
        problems (as ``anyllm`` words them), become tool errors the client's model can read.
        A client that cancels the request (or leaves) sets ``cancel``: the answer stops there,
        not after its last token, and the next call does not wait for it."""
        from mcp.server.mcpserver.exceptions import ToolError

        from anyllm_desktop.cli import _storage_problem
        from anyllm_desktop.services.mcp_tools import McpToolError
        from anyllm_desktop.store.records import WorkspaceNotFoundError

        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._pool, lambda: tool(self._open()))
        except asyncio.CancelledError:
            if cancel is not None:
                cancel.cancel()
            raise
        except (McpToolError, WorkspaceNotFoundError) as exc:
            raise ToolError(str(exc)) from exc
        except Exception as exc:
            message = _storage_problem(exc, self._args)
            if message is None:
                raise  # a defect: the SDK logs its traceback on stderr
            raise ToolError(message) from exc

    def close(self) -> None:
        if self._tools is not None:
            self._pool.submit(self._tools.close).result()
        self._pool.shutdown()


def build_server(tools: _OneThread) -> Any:
    from mcp.server.mcpserver import MCPServer

    from anyllm_desktop import __version__

    server = MCPServer("anyllm-desktop", version=__version__, instructions=INSTRUCTIONS)

    @server.tool()
    async def list_workspaces() -> dict[str, Any]:
        """The workspaces: name, indexed documents, the model answering in it, local_only."""
        return {"workspaces": await tools.call(lambda t: t.list_workspaces())}

    @server.tool()
    async def search(workspace: str, query: str, k: int | None = None) -> dict[str, Any]:
        """Passages of a workspace's documents that match the query best (k: how many; default
        the workspace's setting), each with document, path, page, section, text and score."""
        return {"results": await tools.call(lambda t: t.search(workspace, query, k))}

    @server.tool()
    async def ask(workspace: str, question: str) -> dict[str, Any]:
        """An answer from a workspace's documents: the answer text with citations [n], each
        mapped to its document and page, the evidence quoted and any unsupported sentences."""
        cancel = CancelToken()
        return await tools.call(lambda t: t.ask(workspace, question, cancel), cancel)

    return server


def _serve(args: argparse.Namespace) -> int:
    logging.basicConfig(
        stream=sys.stderr, level=logging.WARNING, format="anyllm mcp: %(levelname)s %(message)s"
    )
    tools = _OneThread(args)
    try:
        build_server(tools).run("stdio")
    finally:
        tools.close()
    return 0
