"""Reusable CDK constructs for MCP servers on Amazon Bedrock AgentCore.

Named `mcp_constructs`, not `constructs`: a top-level `constructs` package would shadow the
`constructs` library that aws_cdk imports (`No module named 'constructs._jsii'`).
"""

from mcp_constructs.gateway import (
    JwtAuthorizer,
    McpGateway,
    McpServerTarget,
    runtime_invocation_url,
)
from mcp_constructs.m2m_auth import M2MAuth
from mcp_constructs.runtime import DEFAULT_IMAGE_EXCLUDES, McpServerRuntime

__all__ = [
    "DEFAULT_IMAGE_EXCLUDES",
    "JwtAuthorizer",
    "M2MAuth",
    "McpGateway",
    "McpServerRuntime",
    "McpServerTarget",
    "runtime_invocation_url",
]
