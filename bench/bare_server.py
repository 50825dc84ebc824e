"""The floor: a bare `mcp` server with one trivial tool, served the way ours is served.

Any server built on the Python SDK starts from this (same transport settings as
lark_mcp_server: stateless Streamable HTTP, JSON responses, uvicorn), so its cold start,
memory and tools/list size are the baseline the benchmark compares ours against.
Run: `HOST=127.0.0.1 PORT=8100 python -m bench.bare_server`. BARE_SSE=1 answers with
text/event-stream and BARE_STATEFUL=1 requires an initialize handshake: the harness's own tests
use them to exercise the paths the Node server and session-bound servers need.
"""

import os

import uvicorn
from mcp.server.mcpserver import MCPServer

server = MCPServer(name="bare")


@server.tool(description="Return the text it is given.")
def echo(text: str) -> str:
    """Echo, so a tools/call does the SDK's full work (validation, result) and nothing else."""
    return text


def main() -> None:
    """Serve POST /mcp on HOST:PORT until stopped."""
    serve(server)


def serve(server: MCPServer) -> None:
    """Serve `server` on HOST:PORT until stopped, with the transport settings ours uses."""
    app = server.streamable_http_app(
        streamable_http_path="/mcp",
        stateless_http=os.environ.get("BARE_STATEFUL") != "1",
        json_response=os.environ.get("BARE_SSE") != "1",
        host="0.0.0.0",
    )
    # No logging config and no access log, as ours runs: the floor should not carry costs
    # (uvicorn's dictConfig import and setup) that ours does not.
    uvicorn.run(
        app,
        host=os.environ.get("HOST", "127.0.0.1"),
        port=int(os.environ.get("PORT", "8100")),
        log_config=None,
        access_log=False,
    )


if __name__ == "__main__":
    main()
