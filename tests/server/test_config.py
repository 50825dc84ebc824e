"""Configuration: missing credentials, LARK_TOOLS, LARK_READ_ONLY, LARK_SECRET_ARN."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from mcp.client import Client

from lark_mcp_server.config import ConfigError, Settings
from lark_mcp_server.server import build_server
from tests.lark_fake import FakeLark

from .harness import REPO, server_env

MANIFEST = json.loads((REPO / "lark_mcp_server" / "tools_manifest.json").read_text())["tools"]
SECRET_ARN = "arn:aws:secretsmanager:us-west-2:111122223333:secret:lark-app-AbCdEf"


@pytest.mark.anyio
async def test_missing_credentials_list_works_call_says_what_to_set(fresh_lark: FakeLark):
    server = build_server(Settings(lark_domain=fresh_lark.base_url))
    async with Client(server) as client:
        listed = await client.list_tools()
        result = await client.call_tool("list_chats", {})
    assert len(listed.tools) == len(MANIFEST)
    assert result.is_error
    for variable in ("LARK_APP_ID", "LARK_APP_SECRET", "LARK_SECRET_ARN"):
        assert variable in result.content[0].text
    assert fresh_lark.requests == []


def test_unknown_tool_in_allowlist_stops_startup_naming_it():
    env = server_env(None, LARK_TOOLS="send_message,send_fax,list_chatz", PORT="0")
    done = subprocess.run(
        [sys.executable, "-m", "lark_mcp_server"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2
    assert "send_fax" in done.stderr and "list_chatz" in done.stderr
    assert "send_message" not in done.stderr.split("Known tools")[0].split(":", 2)[-1]


def test_bad_numbers_in_config_are_startup_errors():
    with pytest.raises(ConfigError, match="PORT"):
        Settings.from_env({"PORT": "eighty"})
    with pytest.raises(ConfigError, match="LARK_DOMAIN"):
        Settings.from_env({"LARK_DOMAIN": "open.feishu.cn"})


@pytest.mark.anyio
async def test_read_only_hides_every_write():
    server = build_server(Settings(read_only=True))
    async with Client(server) as client:
        listed = await client.list_tools()
        result = await client.call_tool("send_message", {"receive_id": "oc_x", "text": "x"})
    names = {t.name for t in listed.tools}
    assert names == {t["name"] for t in MANIFEST if t["read_only"]}
    assert all(t.annotations.read_only_hint for t in listed.tools)
    assert result.is_error and "send_message" in result.content[0].text


@pytest.mark.anyio
async def test_allowlist_limits_the_tools():
    server = build_server(Settings(tools=("send_message", "list_chats", "find_users")))
    async with Client(server) as client:
        names = [t.name for t in (await client.list_tools()).tools]
    assert names == ["send_message", "list_chats", "find_users"]
    combined = build_server(Settings(tools=("send_message", "list_chats"), read_only=True))
    async with Client(combined) as client:
        assert [t.name for t in (await client.list_tools()).tools] == ["list_chats"]


# -- LARK_SECRET_ARN ---------------------------------------------------------------------------


@contextmanager
def fake_aws(secret: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Secrets Manager's GetSecretValue plus a container credentials endpoint, on loopback."""
    seen: dict[str, Any] = {"secret_calls": [], "credential_calls": []}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _json(self, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/x-amz-json-1.1")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:  # container credentials endpoint
            seen["credential_calls"].append(dict(self.headers))
            self._json(
                {
                    "AccessKeyId": "ASIACONTAINER",
                    "SecretAccessKey": "container-secret-key",
                    "Token": "container-session-token",
                    "Expiration": "2099-01-01T00:00:00Z",
                }
            )

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            seen["secret_calls"].append({"headers": dict(self.headers), "body": body})
            self._json({"ARN": SECRET_ARN, "SecretString": json.dumps(secret)})

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    seen["url"] = f"http://127.0.0.1:{httpd.server_address[1]}"
    try:
        yield seen
    finally:
        httpd.shutdown()
        httpd.server_close()


def _botocore_signature(request: dict[str, Any], url: str, creds: Credentials) -> str:
    """What botocore signs for the same request at the same instant."""
    headers = request["headers"]
    aws = AWSRequest(
        method="POST",
        url=url + "/",
        data=request["body"],
        headers={
            "Content-Type": headers["Content-Type"],
            "X-Amz-Target": headers["X-Amz-Target"],
            "X-Amz-Date": headers["X-Amz-Date"],
            **(
                {"X-Amz-Security-Token": headers["X-Amz-Security-Token"]}
                if "X-Amz-Security-Token" in headers
                else {}
            ),
        },
    )
    signer = SigV4Auth(creds, "secretsmanager", "us-west-2")
    signer._modify_request_before_signing = lambda r: None  # keep our exact header set
    aws.context["timestamp"] = headers["X-Amz-Date"]
    aws.headers["host"] = headers["Host"]
    return signer.signature(signer.string_to_sign(aws, signer.canonical_request(aws)), aws)


@pytest.mark.anyio
@pytest.mark.parametrize("source", ["env", "container"])
async def test_secret_arn_is_read_once_with_a_valid_sigv4_signature(
    lark_fake: FakeLark, monkeypatch: pytest.MonkeyPatch, source: str
):
    lark_fake.reset()
    with fake_aws({"app_id": lark_fake.app_id, "app_secret": lark_fake.app_secret}) as aws:
        for name in list(__import__("os").environ):
            if name.startswith(("AWS_", "LARK_")):
                monkeypatch.delenv(name)
        monkeypatch.setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", aws["url"])
        if source == "env":
            monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAENVIRONMENT")
            monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "env-secret-key")
            creds = Credentials("AKIAENVIRONMENT", "env-secret-key")
        else:
            monkeypatch.setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", aws["url"] + "/creds")
            monkeypatch.setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "container-auth")
            creds = Credentials("ASIACONTAINER", "container-secret-key", "container-session-token")
        server = build_server(Settings(lark_domain=lark_fake.base_url, secret_arn=SECRET_ARN))
        async with Client(server) as client:
            for _ in range(3):
                result = await client.call_tool("list_chats", {"page_size": 1})
                assert not result.is_error, result.content[0].text

    [request] = aws["secret_calls"]
    assert json.loads(request["body"]) == {"SecretId": SECRET_ARN}
    assert request["headers"]["X-Amz-Target"] == "secretsmanager.GetSecretValue"
    authorization = request["headers"]["Authorization"]
    assert f"Credential={creds.access_key}/" in authorization
    assert "/us-west-2/secretsmanager/aws4_request" in authorization
    signature = authorization.rsplit("Signature=", 1)[1]
    assert signature == _botocore_signature(request, aws["url"], creds)
    if source == "container":
        assert aws["credential_calls"][0]["Authorization"] == "container-auth"
        assert request["headers"]["X-Amz-Security-Token"] == "container-session-token"


@pytest.mark.anyio
async def test_secret_with_wrong_shape_is_a_tool_error_saying_what_to_store(
    lark_fake: FakeLark, monkeypatch: pytest.MonkeyPatch
):
    with fake_aws({"appId": "cli_x"}) as aws:
        monkeypatch.setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", aws["url"])
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAENVIRONMENT")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "env-secret-key")
        server = build_server(Settings(lark_domain=lark_fake.base_url, secret_arn=SECRET_ARN))
        async with Client(server) as client:
            result = await client.call_tool("list_chats", {})
    assert result.is_error
    assert '"app_id"' in result.content[0].text and SECRET_ARN in result.content[0].text


def test_the_package_needs_no_boto3():
    """The image stays small: nothing in lark_mcp_server imports boto3 or botocore."""
    sources = (REPO / "lark_mcp_server").glob("*.py")
    for path in sources:
        text = Path(path).read_text()
        assert "import boto3" not in text and "botocore" not in text, path


@pytest.mark.anyio
async def test_wrong_app_secret_says_which_variables_to_check(lark_fake: FakeLark):
    server = build_server(
        Settings(lark_domain=lark_fake.base_url, app_id=lark_fake.app_id, app_secret="s3cr3t-xyz")
    )
    async with Client(server) as client:
        result = await client.call_tool("list_chats", {})
    assert result.is_error
    text = result.content[0].text
    assert "10014" in text and "LARK_APP_SECRET" in text
    assert "s3cr3t-xyz" not in text


@pytest.mark.anyio
async def test_unreachable_domain_fails_fast_naming_lark_domain():
    server = build_server(
        Settings(lark_domain="http://127.0.0.1:9", app_id="cli_x", app_secret="s", retry_base=0.01)
    )
    async with Client(server) as client:
        result = await client.call_tool("list_chats", {})
    assert result.is_error and "LARK_DOMAIN" in result.content[0].text
