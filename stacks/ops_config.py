"""Context for operations: monitoring, alarm e-mail and extra MCP servers, parsed and checked.

Kept apart from `stacks/config.py` (the core app's settings) so the ops features stay optional
and self-contained. Same conventions: every key is optional, values may arrive as strings from
`-c key=value` (JSON for lists), and a wrong value stops synth with a message that says which
key, what was wrong and a value that works.

| key | default | meaning |
|---|---|---|
| `monitoring` | `true` | deploy the `<prefix>-Monitoring` stack (dashboard + alarms) |
| `alarmEmail` | unset | e-mail address the alarms notify (via an encrypted SNS topic) |
| `extraServers` | `[]` | more containerised MCP servers behind the same gateway |

An `extraServers` entry: `{"name": "jira", "directory": "examples/echo_server",
"tools": ["echo"]}` plus optionally `"readOnlyTools": [...]` (the tools read-only teams may
call too; default none), `"environment": {"KEY": "value"}` and `"toolLogs": true` (the server
writes the same JSON tool-call lines as the Lark server, so the dashboard graphs its tool
errors too).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stacks.config import ConfigError, parse_bool

REPO_ROOT = Path(__file__).resolve().parents[1]

DEFAULTS: Mapping[str, Any] = {"monitoring": True, "alarmEmail": None, "extraServers": []}

# A gateway target name allows letters, digits and single hyphens; a runtime name letters,
# digits and `_`. Lower-case letters, digits and single inner hyphens satisfy both (the runtime
# name swaps `-` for `_`).
_SERVER_NAME = re.compile(r"^[a-z](?:[a-z0-9]|-(?=[a-z0-9])){0,31}$")
_TOOL_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")  # as the gateway's tool policies
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_EXAMPLE = (
    '-c extraServers=\'[{"name": "jira", "directory": "examples/echo_server", "tools": ["echo"]}]\''
)


class OpsConfigError(ConfigError):
    """A context value the ops features cannot use; the message says which key and how to fix it.

    A ConfigError, so `app.py` reports it the same way: one line, no traceback.
    """


@dataclass(frozen=True)
class ExtraServer:
    """One more MCP server: built from `directory`'s Dockerfile, run on its own AgentCore
    runtime, and added to the gateway as target `name` (agents see `<name>___<tool>`)."""

    name: str
    directory: Path
    tools: tuple[str, ...]
    environment: Mapping[str, str] = field(default_factory=dict)
    tool_logs: bool = False
    read_only_tools: tuple[str, ...] = ()

    @property
    def runtime_suffix(self) -> str:
        """The name as AgentCore runtime names allow it (letters, digits, `_`)."""
        return self.name.replace("-", "_")


@dataclass(frozen=True)
class OpsConfig:
    monitoring: bool = True
    alarm_email: str | None = None
    extra_servers: tuple[ExtraServer, ...] = ()


def load_ops_config(get: Callable[[str], Any], root: Path = REPO_ROOT) -> OpsConfig:
    """Build the ops settings from a context getter (`app.node.try_get_context`).

    Relative `directory` values are taken from `root` (the repository), so `cdk synth` works
    from any working directory.
    """

    def value(key: str) -> Any:
        raw = get(key)
        return DEFAULTS[key] if raw is None else raw

    return OpsConfig(
        monitoring=parse_bool(value("monitoring"), "monitoring", OpsConfigError),
        alarm_email=_email(value("alarmEmail")),
        extra_servers=_extra_servers(value("extraServers"), root),
    )


def _email(raw: Any) -> str | None:
    if raw in (None, ""):
        return None
    if not isinstance(raw, str) or not _EMAIL.match(raw.strip()):
        raise OpsConfigError(
            f"context 'alarmEmail'={raw!r} is not an e-mail address: "
            "use e.g. -c alarmEmail=ops@example.com, or leave it out for no notifications"
        )
    return raw.strip()


def _extra_servers(raw: Any, root: Path) -> tuple[ExtraServer, ...]:
    if isinstance(raw, str):
        try:
            raw = json.loads(raw) if raw.strip() else []
        except ValueError as err:
            raise OpsConfigError(
                f"context 'extraServers' is not valid JSON ({err}). Example: {_EXAMPLE}"
            ) from None
    if not isinstance(raw, list):
        raise OpsConfigError(
            f"context 'extraServers' must be a list of objects, got {raw!r}. Example: {_EXAMPLE}"
        )
    servers = tuple(_extra_server(entry, index, root) for index, entry in enumerate(raw))
    names = [server.name for server in servers]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise OpsConfigError(
            f"context 'extraServers' uses the name {', '.join(duplicates)} more than once; "
            "each server is a gateway target and needs its own name"
        )
    return servers


def _extra_server(entry: Any, index: int, root: Path) -> ExtraServer:
    where = f"context 'extraServers'[{index}]"
    if not isinstance(entry, dict):
        raise OpsConfigError(f"{where} must be an object, got {entry!r}. Example: {_EXAMPLE}")
    keys = {"name", "directory", "tools", "readOnlyTools", "environment", "toolLogs"}
    unknown = sorted(set(entry) - keys)
    if unknown:
        raise OpsConfigError(f"{where} has unknown keys {unknown}: use {', '.join(sorted(keys))}")
    name = entry.get("name")
    if not isinstance(name, str) or not _SERVER_NAME.match(name):
        raise OpsConfigError(
            f"{where}.name={name!r} is not valid: use 1-32 lower-case letters, digits and single "
            "hyphens, starting with a letter (it names the gateway target and the runtime), "
            "e.g. 'jira'"
        )
    directory = entry.get("directory")
    if not isinstance(directory, str) or not directory:
        raise OpsConfigError(
            f"{where}.directory must be the server's build context (a folder with a "
            "Dockerfile), e.g. 'examples/echo_server'"
        )
    path = Path(directory)
    path = path if path.is_absolute() else root / path
    if not (path / "Dockerfile").is_file():
        raise OpsConfigError(
            f"{where}.directory={directory!r} has no Dockerfile "
            f"(looked for {path / 'Dockerfile'}); point it at the folder the image is built "
            "from, e.g. 'examples/echo_server'"
        )
    tools = entry.get("tools")
    if (
        not isinstance(tools, list)
        or not tools
        or not all(isinstance(t, str) and _TOOL_NAME.match(t) for t in tools)
    ):
        raise OpsConfigError(
            f"{where}.tools={tools!r} must list the tool names the server serves (the deploy's "
            'smoke test checks they are listed through the gateway), e.g. ["echo"]'
        )
    read_only = entry.get("readOnlyTools", [])
    if not isinstance(read_only, list) or not set(read_only) <= set(tools):
        raise OpsConfigError(
            f"{where}.readOnlyTools={read_only!r} must be a list of names from its tools "
            f"{tools!r} (the tools read-only teams may call)"
        )
    environment = entry.get("environment", {})
    if not isinstance(environment, dict) or not all(
        isinstance(k, str) and _ENV_NAME.match(k) and isinstance(v, str)
        for k, v in environment.items()
    ):
        raise OpsConfigError(
            f"{where}.environment must map variable names to strings, got {environment!r}; "
            "secrets do not belong here (they would be in the template)"
        )
    return ExtraServer(
        name=name,
        directory=path.resolve(),
        tools=tuple(tools),
        environment=dict(environment),
        tool_logs=parse_bool(
            entry.get("toolLogs", False), f"extraServers[{index}].toolLogs", OpsConfigError
        ),
        read_only_tools=tuple(read_only),
    )
