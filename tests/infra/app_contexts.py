"""App configurations the whole-app checks run on: the default, and one using every option
that adds resources (teams of both access levels, an extra client, an extra MCP server,
monitoring with e-mail alarms)."""

from __future__ import annotations

import json

DEFAULT: dict = {}
FULL: dict = {
    "teams": json.dumps([{"name": "sales", "access": "read"}, {"name": "ops", "access": "write"}]),
    "extraClients": "reporting",
    "extraServers": json.dumps(
        [{"name": "jira", "directory": "examples/echo_server", "tools": ["echo"]}]
    ),
    "alarmEmail": "ops@example.com",
}
