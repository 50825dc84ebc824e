"""The Lambda entry point with AWS stood in by moto's server (real HTTP + SigV4): secrets from
Secrets Manager, the store in DynamoDB, tokens signed by a KMS RSA key, driven by API Gateway
payload-format-2.0 events through a whole sign-in against the fake Feishu.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx2
import pytest
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jwt
from joserfc.jwk import KeySet
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from lark_auth_server import aws_lambda, lambda_adapter
from lark_user_store import open_store
from tests.lark_fake import FakeLark
from tests.loopback import serve_in_thread
from tests.user_store.moto_aws import boto_client, create_table, moto_server

from .harness import CLIENTS, MCP_RESOURCE, QUICKSUITE_REDIRECT, browse, query_of

DOMAIN = "abc123xyz.lambda-url.eu-west-1.on.aws"
ISSUER = f"https://{DOMAIN}"


def event(
    method: str,
    path: str,
    query: str = "",
    body: bytes | None = None,
    cookies: list[str] | None = None,
    **headers: str,
):
    """An API Gateway HTTP API / function URL event, payload format 2.0."""
    evt: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": {"host": DOMAIN, "user-agent": "test", **headers},
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abc123xyz",
            "domainName": DOMAIN,
            "domainPrefix": "abc123xyz",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "192.0.2.1",
                "userAgent": "test",
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": "$default",
            "stage": "$default",
            "time": "29/Nov/2026:13:00:00 +0000",
            "timeEpoch": 1795957200000,
        },
        "isBase64Encoded": body is not None,
    }
    if body is not None:
        evt["body"] = base64.b64encode(body).decode()
    if cookies:
        evt["cookies"] = cookies
    return evt


@pytest.fixture(scope="module")
def aws() -> Iterator[dict[str, str]]:
    with moto_server() as env:
        yield env


@pytest.fixture
def deployed(aws: dict[str, str], lark_fake: FakeLark, monkeypatch: pytest.MonkeyPatch) -> dict:
    """The resources the CDK stack creates, and the Lambda's environment pointing at them."""
    suffix = uuid.uuid4().hex[:8]
    table = f"user-tokens-{suffix}"
    create_table(aws, table)
    secrets = boto_client("secretsmanager", aws)
    lark_arn = secrets.create_secret(
        Name=f"LarkMcp/lark-app-credentials-{suffix}",
        SecretString=json.dumps({"app_id": lark_fake.app_id, "app_secret": lark_fake.app_secret}),
    )["ARN"]
    clients_arn = secrets.create_secret(
        Name=f"LarkMcp/auth-clients-{suffix}", SecretString=json.dumps(CLIENTS)
    )["ARN"]
    cookie_arn = secrets.create_secret(
        Name=f"LarkMcp/auth-cookie-{suffix}", SecretString=uuid.uuid4().hex * 2
    )["ARN"]
    kms = boto_client("kms", aws)
    keys = [
        kms.create_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["Arn"]
        for _ in range(2)
    ]
    store_url = f"dynamodb://{table}?kms_key={kms.create_key()['KeyMetadata']['Arn']}"
    for name in list(__import__("os").environ):
        if name.startswith(("AWS_", "LARK_", "AUTH_", "USER_TOKEN")):
            monkeypatch.delenv(name)
    for name, value in {
        **aws,
        "USER_TOKEN_STORE": store_url,
        "LARK_DOMAIN": lark_fake.base_url,
        "LARK_USER_SCOPES": "calendar:calendar:readonly",
        "LARK_SECRET_ARN": lark_arn,
        "AUTH_CLIENTS_SECRET_ARN": clients_arn,
        "AUTH_COOKIE_SECRET_ARN": cookie_arn,
        "AUTH_AUDIENCE": MCP_RESOURCE,
        "AUTH_SIGNING_KEY": f"kms:{keys[0]}",
        "AUTH_PREVIOUS_SIGNING_KEYS": f"kms:{keys[1]}",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(lambda_adapter, "_server", None)  # a cold start for each test
    lark_fake.reset()
    return {"table": table, "keys": keys, "env": aws, "store_url": store_url}


def _call(evt: dict) -> dict:
    answer = aws_lambda.handler(evt, None)
    assert set(answer) - {"cookies"} == {"statusCode", "headers", "body", "isBase64Encoded"}
    return answer


def test_a_sign_in_through_the_lambda_handler(deployed: dict, lark_fake: FakeLark):
    meta = json.loads(_call(event("GET", "/.well-known/oauth-authorization-server"))["body"])
    assert meta["issuer"] == ISSUER and meta["token_endpoint"] == f"{ISSUER}/token"

    jwks = json.loads(_call(event("GET", "/jwks"))["body"])
    assert len(jwks["keys"]) == 2  # the current KMS key and the previous one

    verifier = "k" * 64
    challenge = create_s256_code_challenge(verifier)
    query = urlencode(
        {
            "response_type": "code",
            "client_id": "quicksuite",
            "redirect_uri": QUICKSUITE_REDIRECT,
            "state": "qs-state",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "resource": MCP_RESOURCE,
        }
    )
    start = _call(event("GET", "/authorize", query))
    assert start["statusCode"] == 302
    [cookie] = start["cookies"]  # the browser binding, in payload 2.0's own field
    assert cookie.startswith("__Host-") and "; Secure; HttpOnly; SameSite=Lax" in cookie
    # The browser visits the fake Feishu page, which sends it to our /callback (a Lambda event).
    landed = browse(start["headers"]["Location"], stop_at=f"{ISSUER}/callback")
    assert isinstance(landed, str)
    elsewhere = _call(event("GET", "/callback", urlsplit(landed).query))
    assert elsewhere["statusCode"] == 400 and "Location" not in elsewhere["headers"]
    back = _call(event("GET", "/callback", urlsplit(landed).query, cookies=[cookie.split(";")[0]]))
    assert back["statusCode"] == 302
    location = back["headers"]["Location"]
    assert location.startswith(QUICKSUITE_REDIRECT) and query_of(location)["state"] == "qs-state"
    assert query_of(location)["iss"] == ISSUER

    basic = base64.b64encode(b"quicksuite:" + CLIENTS[0]["client_secret"].encode()).decode()
    form = urlencode(
        {
            "grant_type": "authorization_code",
            "code": query_of(location)["code"],
            "redirect_uri": QUICKSUITE_REDIRECT,
            "code_verifier": verifier,
        }
    ).encode()
    answer = _call(
        event(
            "POST",
            "/token",
            body=form,
            **{
                "content-type": "application/x-www-form-urlencoded",
                "authorization": f"Basic {basic}",
            },
        )
    )
    assert answer["statusCode"] == 200, answer["body"]
    token = json.loads(answer["body"])
    decoded = jwt.decode(token["access_token"], KeySet.import_key_set(jwks), algorithms=["RS256"])
    assert decoded.header["kid"] == jwks["keys"][0]["kid"]  # signed by the current KMS key
    assert decoded.claims["iss"] == ISSUER and decoded.claims["sub"] == "ou_alice"
    assert decoded.claims["aud"] == MCP_RESOURCE

    stored = open_store(deployed["store_url"], deployed["env"]).get("ou_alice")
    assert stored is not None and stored.refresh_token

    refreshed = _call(
        event(
            "POST",
            "/token",
            body=urlencode(
                {
                    "grant_type": "refresh_token",
                    "refresh_token": token["refresh_token"],
                    "client_id": "quicksuite",
                    "client_secret": CLIENTS[0]["client_secret"],
                }
            ).encode(),
            **{"content-type": "application/x-www-form-urlencoded"},
        )
    )
    assert refreshed["statusCode"] == 200, refreshed["body"]


def test_a_misconfigured_lambda_says_so_without_details(
    deployed: dict, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("AUTH_CLIENTS_SECRET_ARN", "arn:aws:secretsmanager:eu-west-1:1:secret:x")
    answer = _call(event("GET", "/jwks"))
    assert answer["statusCode"] == 500 and "misconfigured" in answer["body"]


def test_the_lambda_code_needs_only_its_requirements_and_imports_lazily():
    """Neither boto3, the web stack (starlette/uvicorn) nor an HTTP client library is imported
    by the Lambda path; the handler module itself imports nothing heavy (cold start)."""
    script = """
import sys, importlib.abc
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split('.')[0] in ('boto3', 'botocore', 'starlette', 'uvicorn', 'httpx2',
                                  'requests', 'mcp', 'pydantic'):
            raise ImportError('blocked: ' + name)
sys.meta_path.insert(0, Block())
import lark_auth_server.aws_lambda
assert 'authlib' not in sys.modules and 'joserfc' not in sys.modules
import lark_auth_server.lambda_adapter
print('ok')
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr


class KmsOutage:
    """KMS in front of moto that can fail: `down` answers every call with KMS's own 500."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.down = False
        self.app = Starlette(routes=[Route("/", self._forward, methods=["POST"])])

    async def _forward(self, request: Request) -> Response:
        if self.down:
            body = {"__type": "KMSInternalException", "message": "We encountered an error"}
            return JSONResponse(body, status_code=500)
        async with httpx2.AsyncClient(timeout=30) as client:
            answer = await client.post(
                self.upstream + "/",
                content=await request.body(),
                headers={k: v for k, v in request.headers.items() if k.lower() != "host"},
            )
        return Response(answer.content, answer.status_code, media_type="application/json")


def test_a_signing_failure_spends_nothing(
    deployed: dict, lark_fake: FakeLark, monkeypatch: pytest.MonkeyPatch
):
    """KMS fails to sign (a 5xx): /token answers 503 with an RFC 6749 code and Retry-After,
    and the same refresh token works once KMS signs again."""
    kms = KmsOutage(deployed["env"]["AWS_ENDPOINT_URL"])
    with serve_in_thread(kms.app) as url:
        monkeypatch.setenv("AWS_ENDPOINT_URL_KMS", url)
        token = _sign_in_through_the_handler()
        kms.down = True
        failed = _call(_refresh_event(token["refresh_token"]))
        assert failed["statusCode"] == 503, failed["body"]
        assert json.loads(failed["body"])["error"] == "invalid_request"
        assert failed["headers"]["Retry-After"]
        kms.down = False
        again = _call(_refresh_event(token["refresh_token"]))
        assert again["statusCode"] == 200, again["body"]


def _refresh_event(refresh_token: str) -> dict:
    return event(
        "POST",
        "/token",
        body=urlencode(
            {
                "grant_type": "refresh_token",
                "refresh_token": refresh_token,
                "client_id": "quicksuite",
                "client_secret": CLIENTS[0]["client_secret"],
            }
        ).encode(),
        **{"content-type": "application/x-www-form-urlencoded"},
    )


def _sign_in_through_the_handler() -> dict:
    verifier = "v" * 64
    challenge = create_s256_code_challenge(verifier)
    query = urlencode(
        {
            "response_type": "code",
            "client_id": "quicksuite",
            "redirect_uri": QUICKSUITE_REDIRECT,
            "state": "s",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
    )
    start = _call(event("GET", "/authorize", query))
    landed = browse(start["headers"]["Location"], stop_at=f"{ISSUER}/callback")
    assert isinstance(landed, str)
    cookie = start["cookies"][0].split(";")[0]
    back = _call(event("GET", "/callback", urlsplit(landed).query, cookies=[cookie]))
    form = urlencode(
        {
            "grant_type": "authorization_code",
            "code": query_of(back["headers"]["Location"])["code"],
            "redirect_uri": QUICKSUITE_REDIRECT,
            "code_verifier": verifier,
            "client_id": "quicksuite",
            "client_secret": CLIENTS[0]["client_secret"],
        }
    ).encode()
    answer = _call(
        event("POST", "/token", body=form, **{"content-type": "application/x-www-form-urlencoded"})
    )
    assert answer["statusCode"] == 200, answer["body"]
    return json.loads(answer["body"])


def test_the_audience_comes_from_the_user_gateways_parameter(
    deployed: dict, monkeypatch: pytest.MonkeyPatch
):
    """As deployed: AUTH_AUDIENCE=ssm:<name>; until the UserGateway stack wrote the parameter
    the server says it is misconfigured (and tries again on the next request)."""
    name = f"/LarkMcp-{uuid.uuid4().hex[:6]}/user-gateway/mcp-url"
    monkeypatch.setenv("AUTH_AUDIENCE", f"ssm:{name}")
    assert _call(event("GET", "/jwks"))["statusCode"] == 500
    gateway_url = (
        "https://lark-user-gw-abcdefghij.gateway.bedrock-agentcore.eu-west-1.amazonaws.com/mcp"
    )
    boto_client("ssm", deployed["env"]).put_parameter(Name=name, Value=gateway_url, Type="String")
    query = urlencode(
        {
            "response_type": "code",
            "client_id": "quicksuite",
            "redirect_uri": QUICKSUITE_REDIRECT,
            "state": "s",
            "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            "code_challenge_method": "S256",
        }
    )
    accepted = _call(event("GET", "/authorize", query + "&" + urlencode({"resource": gateway_url})))
    assert accepted["statusCode"] == 302 and "cookies" in accepted
    refused = _call(event("GET", "/authorize", query + "&resource=https%3A%2F%2Fevil.example"))
    assert query_of(refused["headers"]["Location"])["error"] == "invalid_target"
