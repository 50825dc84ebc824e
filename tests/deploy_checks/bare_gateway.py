"""A bare AgentCore gateway and MCP targets on a test stack: the least the gateway-side
constructs (tool sync, smoke test, tool policies) need, without the app's stacks."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Stack
from aws_cdk import aws_bedrockagentcore as agentcore
from aws_cdk import aws_iam as iam

DISCOVERY_URL = "https://cognito-idp.us-east-1.amazonaws.com/x/.well-known/openid-configuration"


def bare_gateway(
    stack: Stack, *, allowed_clients: Sequence[str]
) -> tuple[iam.Role, agentcore.CfnGateway]:
    """Role ``GatewayRole`` and JWT-authorized gateway ``Gateway`` (named ``lark-mcp``)."""
    role = iam.Role(
        stack, "GatewayRole", assumed_by=iam.ServicePrincipal("bedrock-agentcore.amazonaws.com")
    )
    gateway = agentcore.CfnGateway(
        stack,
        "Gateway",
        name="lark-mcp",
        protocol_type="MCP",
        authorizer_type="CUSTOM_JWT",
        role_arn=role.role_arn,
        authorizer_configuration={
            "customJwtAuthorizer": {
                "discoveryUrl": DISCOVERY_URL,
                "allowedClients": list(allowed_clients),
            }
        },
    )
    return role, gateway


def mcp_target(
    stack: Stack, construct_id: str, gateway: agentcore.CfnGateway, *, name: str, endpoint: str
) -> agentcore.CfnGatewayTarget:
    """An MCP-server target ``name`` at ``endpoint``, signed with the gateway's role."""
    return agentcore.CfnGatewayTarget(
        stack,
        construct_id,
        name=name,
        gateway_identifier=gateway.attr_gateway_identifier,
        target_configuration={"mcp": {"mcpServer": {"endpoint": endpoint}}},
        credential_provider_configurations=[{"credentialProviderType": "GATEWAY_IAM_ROLE"}],
    )
