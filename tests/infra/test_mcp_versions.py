"""The MCP protocol versions agree: gateway, smoke test, and the server that answers.

- The gateway pins `ProtocolConfiguration.Mcp.SupportedVersions` (a gateway answers only the
  versions it lists, and the list cannot be extended after creation);
- the smoke test sends a version the gateway lists;
- the server's MCP SDK speaks every version the gateway accepts, and the real server answers
  the smoke test's bare `tools/list` of that version on loopback with every tool.
"""

from __future__ import annotations

from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS, KNOWN_PROTOCOL_VERSIONS

from mcp_constructs.deploy_checks.runtime import mcp_smoke
from mcp_constructs.gateway import MCP_SUPPORTED_VERSIONS
from mcp_constructs.manifest import load_manifest
from tests.server.harness import run_server, server_env

#: What AgentCore Gateway documents as supported ("Use an AgentCore gateway": 2026-07-28,
#: 2025-11-25, 2025-06-18 and 2025-03-26; docs.aws.amazon.com/bedrock-agentcore/latest/
#: devguide/gateway-using.html, read 2026-11-29).
AGENTCORE_GATEWAY_VERSIONS = {"2025-03-26", "2025-06-18", "2025-11-25", "2026-07-28"}


def test_gateway_lists_only_versions_agentcore_documents():
    assert set(MCP_SUPPORTED_VERSIONS) <= AGENTCORE_GATEWAY_VERSIONS
    assert len(set(MCP_SUPPORTED_VERSIONS)) == len(MCP_SUPPORTED_VERSIONS)


def test_server_sdk_speaks_every_version_the_gateway_accepts():
    assert set(MCP_SUPPORTED_VERSIONS) <= set(KNOWN_PROTOCOL_VERSIONS)


def test_smoke_test_version_is_one_the_gateway_accepts_without_initialize():
    version = mcp_smoke.DEFAULT_PROTOCOL_VERSION
    assert version in MCP_SUPPORTED_VERSIONS
    # The smoke test sends a bare tools/list: only initialize-era versions allow that (the
    # 2026-07-28 revision needs its `_meta` envelope on every request).
    assert version in HANDSHAKE_PROTOCOL_VERSIONS


def test_gateway_template_pins_the_versions(templates):
    templates["Gateway"].has_resource_properties(
        "AWS::BedrockAgentCore::Gateway",
        {"ProtocolConfiguration": {"Mcp": {"SupportedVersions": list(MCP_SUPPORTED_VERSIONS)}}},
    )


def test_smoke_test_resource_sends_the_pinned_version(synth):
    smoke = [
        r
        for r in synth.raw["Gateway"]["Resources"].values()
        if r["Type"] == "Custom::GatewaySmokeTest"
    ]
    assert smoke
    assert {r["Properties"]["ProtocolVersion"] for r in smoke} == {
        mcp_smoke.DEFAULT_PROTOCOL_VERSION
    }


def test_real_server_answers_the_smoke_tests_request_on_loopback():
    """The smoke test's own code, its default version, against the real server process."""
    with run_server(server_env(None)) as server:
        config = mcp_smoke.SmokeConfig(url=server.mcp_url)
        assert config.protocol_version == mcp_smoke.DEFAULT_PROTOCOL_VERSION
        names, pages = mcp_smoke.list_tools(config, token=None)
    assert pages == 1
    assert sorted(names) == sorted(tool.name for tool in load_manifest())
