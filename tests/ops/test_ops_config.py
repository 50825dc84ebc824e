"""Ops context (`monitoring`, `alarmEmail`, `extraServers`): parsed, or refused with a reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stacks.ops_config import ExtraServer, OpsConfig, OpsConfigError, load_ops_config

ROOT = Path(__file__).resolve().parents[2]
ECHO = {"name": "jira", "directory": "examples/echo_server", "tools": ["echo"]}


def load(**context: object) -> OpsConfig:
    return load_ops_config(context.get, root=ROOT)


def test_defaults_monitor_without_mail_or_extra_servers() -> None:
    assert load() == OpsConfig(monitoring=True, alarm_email=None, extra_servers=())


def test_values_from_the_command_line_arrive_as_strings() -> None:
    config = load(monitoring="false", alarmEmail="ops@example.com", extraServers=json.dumps([ECHO]))

    assert config.monitoring is False
    assert config.alarm_email == "ops@example.com"
    assert config.extra_servers == (
        ExtraServer(
            name="jira",
            directory=(ROOT / "examples" / "echo_server").resolve(),
            tools=("echo",),
        ),
    )


def test_an_extra_server_may_set_environment_and_tool_logs() -> None:
    entry = {
        **ECHO,
        "name": "wiki-search",
        "environment": {"LOG_LEVEL": "DEBUG"},
        "toolLogs": True,
        "readOnlyTools": ["echo"],
    }

    (server,) = load(extraServers=[entry]).extra_servers

    assert server.environment == {"LOG_LEVEL": "DEBUG"} and server.tool_logs is True
    assert server.read_only_tools == ("echo",)
    assert server.runtime_suffix == "wiki_search"


@pytest.mark.parametrize(
    ("context", "message"),
    [
        ({"monitoring": "maybe"}, "'monitoring'='maybe' is not a boolean"),
        ({"alarmEmail": "ops"}, "not an e-mail address"),
        ({"extraServers": "[{"}, "not valid JSON"),
        ({"extraServers": {"name": "jira"}}, "must be a list of objects"),
        ({"extraServers": [{**ECHO, "name": "Jira_1"}]}, r"\[0\].name='Jira_1' is not valid"),
        ({"extraServers": [{**ECHO, "directory": "examples"}]}, "has no Dockerfile"),
        ({"extraServers": [{**ECHO, "tools": []}]}, "must list the tool names"),
        ({"extraServers": [{**ECHO, "tool": ["echo"]}]}, r"unknown keys \['tool'\]"),
        ({"extraServers": [{**ECHO, "environment": {"A": 1}}]}, "map variable names to strings"),
        ({"extraServers": [ECHO, ECHO]}, "name jira more than once"),
        ({"extraServers": [{**ECHO, "readOnlyTools": ["nope"]}]}, "names from its tools"),
    ],
)
def test_bad_values_are_refused_with_the_key_and_a_fix(context: dict, message: str) -> None:
    with pytest.raises(OpsConfigError, match=message):
        load(**context)
