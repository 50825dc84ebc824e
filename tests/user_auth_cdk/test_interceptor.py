"""The user gateway's REQUEST interceptor, loaded from its asset directory as Lambda loads it.

Events follow the AgentCore gateway interceptor contract, version 1.0 (developer guide,
"Gateway interceptors": ``mcp.gatewayRequest`` with ``headers`` when ``passRequestHeaders`` is
on, ``body`` as the parsed JSON-RPC request; the answer is ``interceptorOutputVersion`` +
``mcp.transformedGatewayRequest``).
"""

from __future__ import annotations

import copy
import importlib.util
import json

import pytest

from mcp_constructs.user_gateway import INTERCEPTOR_DIR

HEADER = "X-Amzn-Bedrock-AgentCore-Runtime-Custom-Caller-Jwt"
JWT = "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJvdV8xIn0.c2lnbmF0dXJl"
BODY = {
    "jsonrpc": "2.0",
    "id": 7,
    "method": "tools/call",
    "params": {"name": "lark___list_events", "arguments": {"calendar_id": "primary"}},
}


@pytest.fixture(scope="module")
def handler():
    """`caller_jwt.handler` imported from the asset directory alone (no repo imports)."""
    spec = importlib.util.spec_from_file_location("caller_jwt", INTERCEPTOR_DIR / "caller_jwt.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.CALLER_JWT_HEADER == HEADER
    return module.handler


def _event(headers):
    return {
        "interceptorInputVersion": "1.0",
        "mcp": {
            "rawGatewayRequest": {"body": json.dumps(BODY)},
            "gatewayRequest": {
                "path": "/mcp",
                "httpMethod": "POST",
                "headers": headers,
                "body": copy.deepcopy(BODY),
            },
        },
    }


def _out(handler, headers):
    result = handler(_event(headers), None)
    assert result["interceptorOutputVersion"] == "1.0"
    request = result["mcp"]["transformedGatewayRequest"]
    assert request["body"] == BODY  # the JSON-RPC request passes unchanged
    return request["headers"]


def _named(headers, name):
    return [v for k, v in headers.items() if k.lower() == name.lower()]


def test_copies_the_bearer_token_into_the_caller_jwt_header(handler):
    headers = _out(handler, {"Authorization": f"Bearer {JWT}", "Content-Type": "application/json"})
    assert headers[HEADER] == JWT
    assert headers["Content-Type"] == "application/json"


@pytest.mark.parametrize("spoofed_name", [HEADER, HEADER.lower(), HEADER.upper()])
def test_a_client_sent_caller_jwt_is_always_overwritten(handler, spoofed_name):
    headers = _out(handler, {"authorization": f"bearer {JWT}", spoofed_name: "forged.jwt.value"})
    assert _named(headers, HEADER) == [JWT]


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Basic dXNlcjpwYXNz", "Bearer", "Bearer not-a-jwt", f"Bearer {JWT} extra"],
)
def test_without_a_bearer_jwt_the_header_is_removed(handler, authorization):
    incoming = {HEADER: "forged.jwt.value", "Accept": "application/json"}
    if authorization is not None:
        incoming["Authorization"] = authorization
    headers = _out(handler, incoming)
    assert _named(headers, HEADER) == []
    assert headers["Accept"] == "application/json"


def test_an_oversized_token_is_not_forwarded(handler):
    """The runtime takes header values up to 4 KB; a larger one is dropped, not truncated."""
    big = "a" * 3000 + "." + "b" * 1200 + ".c"
    assert _named(_out(handler, {"Authorization": f"Bearer {big}"}), HEADER) == []


def test_an_event_without_headers_passes_the_body_and_sets_nothing(handler):
    """passRequestHeaders off (or a service change): never invent a caller."""
    event = _event({})
    del event["mcp"]["gatewayRequest"]["headers"]
    request = handler(event, None)["mcp"]["transformedGatewayRequest"]
    assert request == {"headers": {}, "body": BODY}


def test_the_asset_holds_only_plain_python(handler):
    files = sorted(p.name for p in INTERCEPTOR_DIR.iterdir() if p.suffix == ".py")
    assert files == ["caller_jwt.py"]
    source = (INTERCEPTOR_DIR / "caller_jwt.py").read_text()
    imports = {
        line.split()[1] for line in source.splitlines() if line.startswith(("import", "from"))
    }
    assert imports <= {"__future__", "typing"}
    assert "print(" not in source and "logging" not in source  # never logs a token
