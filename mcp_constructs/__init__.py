"""Reusable CDK constructs for MCP servers on Amazon Bedrock AgentCore.

Named `mcp_constructs`, not `constructs`: a top-level `constructs` package would shadow the
`constructs` library that aws_cdk imports (`No module named 'constructs._jsii'`).

The constructs are imported on first use (PEP 562), so the command-line tools in this package
(`python -m mcp_constructs.verify`, `.quicksuite`, `.doctor`, `.stale_refs`) start without
loading aws_cdk and its jsii runtime, which they do not use: seconds on every `make verify`.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mcp_constructs.gateway import (
        JwtAuthorizer,
        McpGateway,
        McpServerTarget,
        runtime_invocation_url,
    )
    from mcp_constructs.m2m_auth import M2MAuth
    from mcp_constructs.runtime import DEFAULT_IMAGE_EXCLUDES, McpServerRuntime

#: Each public name and the module that defines it.
_EXPORTS = {
    "DEFAULT_IMAGE_EXCLUDES": "mcp_constructs.runtime",
    "JwtAuthorizer": "mcp_constructs.gateway",
    "M2MAuth": "mcp_constructs.m2m_auth",
    "McpGateway": "mcp_constructs.gateway",
    "McpServerRuntime": "mcp_constructs.runtime",
    "McpServerTarget": "mcp_constructs.gateway",
    "runtime_invocation_url": "mcp_constructs.gateway",
}

__all__ = [
    "DEFAULT_IMAGE_EXCLUDES",
    "JwtAuthorizer",
    "M2MAuth",
    "McpGateway",
    "McpServerRuntime",
    "McpServerTarget",
    "runtime_invocation_url",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
