"""REQUEST interceptor of the user gateway: hand the caller's JWT to the MCP server.

The gateway has already verified the caller's access token (CUSTOM_JWT on our authorization
server). The runtime behind the gateway sees only headers its target and the runtime allowlist,
and never the caller's ``Authorization`` header (the gateway signs to the runtime with SigV4), so
this function copies the bearer token into ``X-Amzn-Bedrock-AgentCore-Runtime-Custom-Caller-Jwt``.

A client must not choose that header's value itself: any client-sent copy (in any letter case)
is dropped, and the header is set only from ``Authorization: Bearer <jwt>``. Without a bearer
token the header is absent, and the server acts as no user (it never trusts the header blindly:
it verifies the JWT's signature, issuer, expiry and client).

Event and answer follow the AgentCore gateway interceptor contract (version 1.0):
``{"interceptorInputVersion": "1.0", "mcp": {"gatewayRequest": {"headers": {...}, "body":
{...}}}}`` in, ``{"interceptorOutputVersion": "1.0", "mcp": {"transformedGatewayRequest":
{"headers": {...}, "body": {...}}}}`` out; headers reach the function only with
``PassRequestHeaders`` on. Plain Python, no third-party packages; never logs a header value.
"""

from __future__ import annotations

from typing import Any

CALLER_JWT_HEADER = "X-Amzn-Bedrock-AgentCore-Runtime-Custom-Caller-Jwt"
_MAX_JWT = 4096  # AgentCore Runtime passes header values up to 4 KB


def bearer_token(headers: dict[str, Any]) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header (any letter case), else None."""
    for name, value in headers.items():
        if name.lower() == "authorization" and isinstance(value, str):
            scheme, _, token = value.strip().partition(" ")
            token = token.strip()
            well_formed = token.count(".") == 2 and " " not in token
            if scheme.lower() == "bearer" and well_formed and len(token) <= _MAX_JWT:
                return token
    return None


def transform(request: dict[str, Any]) -> dict[str, Any]:
    """The gateway request with the caller-JWT header set from Authorization (or removed)."""
    headers = request.get("headers") or {}
    if not isinstance(headers, dict):
        headers = {}
    out = {k: v for k, v in headers.items() if k.lower() != CALLER_JWT_HEADER.lower()}
    token = bearer_token(headers)
    if token is not None:
        out[CALLER_JWT_HEADER] = token
    transformed: dict[str, Any] = {"headers": out}
    if "body" in request:
        transformed["body"] = request["body"]
    return transformed


def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    """Lambda entry point (REQUEST interception point only)."""
    mcp = event.get("mcp") or {}
    request = mcp.get("gatewayRequest") or {}
    return {
        "interceptorOutputVersion": "1.0",
        "mcp": {"transformedGatewayRequest": transform(request)},
    }
