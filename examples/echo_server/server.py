"""A second MCP server in a few lines: one `echo` tool, served the way AgentCore Runtime expects.

AgentCore Runtime (protocol MCP) forwards to `0.0.0.0:8000/mcp`, stateless, so this is all a
containerised MCP server needs. It exists to prove (and show) that the CDK constructs host a
second server beside the Lark one: see docs/extra-servers.md.
"""

import os

import uvicorn
from mcp.server.mcpserver import MCPServer
from mcp.types import ToolAnnotations

server = MCPServer(name="echo", instructions="Echoes text back; a template for new servers.")


@server.tool(
    title="Echo",
    annotations=ToolAnnotations(readOnlyHint=True, idempotentHint=True, openWorldHint=False),
)
def echo(text: str) -> str:
    """Return the text unchanged (useful to check the chain end to end)."""
    return text


app = server.streamable_http_app(
    streamable_http_path="/mcp", stateless_http=True, json_response=True, host="0.0.0.0"
)

if __name__ == "__main__":
    uvicorn.run(
        app, host=os.environ.get("HOST", "0.0.0.0"), port=int(os.environ.get("PORT", "8000"))
    )
