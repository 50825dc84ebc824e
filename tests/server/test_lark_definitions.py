"""Every request the server sends fits Lark's own definition of the endpoint.

Each tool from `tools/list` is called with seeded arguments (ids the fake knows, so calls reach
Lark) as the bot, and as a signed-in person in tests/user_tools; every request the fake Lark
receives is then checked against the request definition Lark publishes for that endpoint
(`tests/lark_fake/definitions.py`): query parameters it takes, their types and enums, required
ones, the JSON body against its schema, and the kind of token. A request to an endpoint with no
definition fails too, so a new tool cannot skip the check.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.lark_fake import FakeLark
from tests.lark_fake.definitions import definitions, problems, route_key

from .generated import EXAMPLES, Probe, probing, run_examples, seeded_args
from .harness import ServerProcess, rpc


@pytest.fixture
def probe(server: ServerProcess, fresh_lark: FakeLark) -> Iterator[Probe]:
    with probing(server, fresh_lark) as probe:
        yield probe


def check_requests_against_definitions(probe: Probe, tools: list[dict[str, Any]]) -> set[str]:
    """Seeded calls to every tool; then every request Lark received against its definition."""
    found: list[str] = []
    checked: set[str] = set()
    for tool in tools:
        probe.fake.reset()
        run_examples(probe, tool, seeded_args(tool["inputSchema"], bend="never"), EXAMPLES + 4)
        for request in probe.fake.requests:
            for problem in problems(request):
                found.append(f"{tool['name']}: {problem}")
            if request.route:
                checked.add(route_key(request.method, request.route))
    assert not found, "\n".join(sorted(set(found)))
    return checked


@pytest.mark.timeout(300)
def test_every_request_fits_larks_definition_of_its_endpoint(probe: Probe, server: ServerProcess):
    tools = rpc(server, "tools/list").json()["result"]["tools"]
    checked = check_requests_against_definitions(probe, tools)
    # The calls reached most endpoints the server uses (the user-only ones are checked as a
    # signed-in person in tests/user_tools/test_approvals.py and friends).
    assert len(checked & set(definitions())) >= 30, sorted(checked)


def test_the_definitions_cover_every_endpoint_the_code_calls():
    from pathlib import Path

    from tests.server.generated import code_routes

    used = set().union(*code_routes(Path(__file__).parents[2] / "lark_mcp_server").values())
    assert used - set(definitions()) == set()
