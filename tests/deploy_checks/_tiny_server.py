"""TEMPORARY stand-in for lark_mcp_server until it serves tools/list (removed before the end)."""

import os

import uvicorn
from mcp.server.mcpserver import MCPServer
from starlette.responses import JSONResponse
from starlette.routing import Route

NAMES = [
    "send_message",
    "reply_message",
    "list_chats",
    "list_messages",
    "create_document",
    "get_document",
    "append_to_document",
    "list_calendars",
    "list_events",
    "create_event",
    "get_freebusy",
    "find_users",
]
server = MCPServer(name="tiny")
for _name in NAMES:

    def _tool(text: str = "") -> str:
        """A placeholder tool."""
        return text

    server.tool(name=_name)(_tool)

app = server.streamable_http_app(
    streamable_http_path="/mcp", stateless_http=True, json_response=True, host="0.0.0.0"
)
app.router.routes.append(Route("/health", lambda r: JSONResponse({"ok": True})))

if __name__ == "__main__":
    uvicorn.run(app, host=os.environ["HOST"], port=int(os.environ["PORT"]), log_level="warning")
