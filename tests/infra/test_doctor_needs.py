"""What `make doctor` reads from the real synthesized app: its resource types, no reservation."""

from __future__ import annotations

from mcp_constructs.doctor import AppNeeds


def test_the_doctor_asks_the_region_for_every_agentcore_type(synth) -> None:
    needs = AppNeeds.read(synth.outdir)
    assert needs is not None
    assert {
        "AWS::BedrockAgentCore::Gateway",
        "AWS::BedrockAgentCore::GatewayTarget",
        "AWS::BedrockAgentCore::Runtime",
        "AWS::Cognito::UserPoolDomain",
        "AWS::Lambda::Function",
    } <= needs.resource_types
    assert not any(t.startswith(("Custom::", "AWS::CDK::")) for t in needs.resource_types)
    # A new account (Lambda concurrency 10) refuses any reservation: the app makes none.
    assert needs.reservations == ()
