"""The Lark client's HTTP behaviour against a real socket on loopback that misbehaves on cue:
drops the connection after reading a request, never answers, redirects, or acts as a proxy.

What it proves: a request that may have reached Lark is never sent twice unless it is
idempotent (aiohttp's own retry of PUT/DELETE is off), a connection that was never made is
retried, the query string is the one httpx2 (the previous client) sent, and the proxy from
the environment is used.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lark_mcp_server.lark_client import (
    TOKEN_PATH,
    LarkClient,
    LarkError,
    encode_query,
    env_proxy,
)

Behaviour = Callable[["Seen"], Awaitable[bytes | None]]


@dataclass
class Seen:
    """One request as it arrived on the socket."""

    method: str
    target: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Loopback:
    """An HTTP/1.1 server on 127.0.0.1 whose answer to each API request is scripted."""

    script: list[str]
    requests: list[Seen] = field(default_factory=list)
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def api_requests(self) -> list[Seen]:
        return [r for r in self.requests if not r.target.endswith(TOKEN_PATH)]

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                line = await reader.readline()
                if not line:
                    return
                method, target, _ = line.decode().split(" ", 2)
                headers: dict[str, str] = {}
                while (raw := await reader.readline()) not in (b"\r\n", b""):
                    name, _, value = raw.decode().partition(":")
                    headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                seen = Seen(method, target, headers, body)
                self.requests.append(seen)
                if target.endswith(TOKEN_PATH):
                    answer = {"code": 0, "tenant_access_token": "t-loopback", "expire": 7200}
                    writer.write(_response(200, answer))
                    await writer.drain()
                    continue
                step = self.script.pop(0) if self.script else "ok"
                if step == "drop":  # read the request, then hang up without a word
                    writer.close()
                    return
                if step == "silent":  # read the request, never answer
                    await asyncio.sleep(30)
                    return
                if step == "redirect":
                    writer.write(
                        b"HTTP/1.1 302 Found\r\nLocation: /elsewhere\r\nContent-Length: 0\r\n\r\n"
                    )
                else:
                    writer.write(_response(200, {"code": 0, "data": {"echo": target}}))
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            writer.close()


def _response(status: int, body: dict[str, Any]) -> bytes:
    data = json.dumps(body).encode()
    head = f"HTTP/1.1 {status} OK\r\nContent-Type: application/json\r\n"
    return head.encode() + f"Content-Length: {len(data)}\r\n\r\n".encode() + data


@asynccontextmanager
async def loopback(*script: str) -> AsyncIterator[Loopback]:
    lb = Loopback(list(script))
    server = await asyncio.start_server(lb.handle, "127.0.0.1", 0)
    lb.port = server.sockets[0].getsockname()[1]
    try:
        yield lb
    finally:
        server.close()


async def _credentials() -> tuple[str, str]:
    return "cli_test", "secret"


def client(domain: str, **kw: Any) -> LarkClient:
    kw = {"http_timeout": 2.0, "call_deadline": 10.0, "retry_base": 0.01} | kw
    return LarkClient(domain, _credentials, **kw)


def run(coro: Awaitable[Any]) -> Any:
    return asyncio.run(coro)  # type: ignore[arg-type]


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
def test_a_write_without_key_is_sent_once_when_the_connection_drops_after_it(method: str):
    async def scenario() -> None:
        async with loopback("drop", "drop") as lb:
            lark = client(lb.url)
            try:
                with pytest.raises(LarkError, match="may or may not have taken effect"):
                    await lark.request(
                        lark.start_call("t"),
                        method,
                        "/open-apis/x",
                        json={"a": 1} if method != "DELETE" else None,
                        idempotent=False,
                    )
            finally:
                await lark.aclose()
            assert [r.method for r in lb.api_requests()] == [method]

    run(scenario())


def test_an_idempotent_request_is_sent_again_after_a_drop():
    async def scenario() -> None:
        async with loopback("drop", "ok") as lb:
            lark = client(lb.url)
            try:
                call = lark.start_call("t")
                data = await lark.request(call, "POST", "/open-apis/x", json={}, idempotent=True)
            finally:
                await lark.aclose()
            assert data == {"echo": "/open-apis/x"}
            assert len(lb.api_requests()) == 2
            assert call.attempts == 3  # token, the dropped request, the answered one

    run(scenario())


def test_a_write_that_gets_no_answer_times_out_without_a_second_send():
    async def scenario() -> None:
        async with loopback("silent") as lb:
            lark = client(lb.url, http_timeout=0.5)
            try:
                with pytest.raises(LarkError, match="may or may not have taken effect"):
                    await lark.request(lark.start_call("t"), "POST", "/open-apis/x", json={})
            finally:
                await lark.aclose()
            assert len(lb.api_requests()) == 1

    run(scenario())


def test_a_refused_connection_is_retried_then_named():
    async def scenario() -> None:
        async with loopback() as lb:
            url = lb.url
        lark = client(url)  # the port is closed now: every connection is refused
        call = lark.start_call("t")
        try:
            with pytest.raises(LarkError, match=r"Could not connect to .* 4 attempts"):
                await lark.request(call, "POST", "/open-apis/x", json={}, idempotent=False)
        finally:
            await lark.aclose()

    run(scenario())


def test_headers_query_and_no_redirects():
    async def scenario() -> None:
        async with loopback("ok", "redirect") as lb:
            lark = client(lb.url)
            try:
                params = {"flag": True, "off": False, "ids": ["a b", "c&d"], "none": None, "n": 5}
                await lark.request(lark.start_call("t"), "GET", "/open-apis/x", params=params)
                with pytest.raises(LarkError, match="HTTP 302"):
                    await lark.request(lark.start_call("t"), "GET", "/open-apis/y")
            finally:
                await lark.aclose()
            first, second = lb.api_requests()
            assert first.target == "/open-apis/x?flag=true&off=false&ids=a+b&ids=c%26d&n=5"
            assert first.headers["user-agent"] == "lark-mcp-server"
            assert first.headers["authorization"] == "Bearer t-loopback"
            assert "cookie" not in first.headers
            assert second.target == "/open-apis/y"  # the redirect was not followed
            assert len(lb.requests) == 3

    run(scenario())


def test_a_json_body_is_encoded_as_httpx2_did():
    async def scenario() -> None:
        async with loopback("ok") as lb:
            lark = client(lb.url)
            try:
                body = {"text": "你好 ✓", "skip": None, "n": [1, 2]}
                await lark.request(lark.start_call("t"), "POST", "/open-apis/x", json=body)
            finally:
                await lark.aclose()
            (seen,) = lb.api_requests()
            assert seen.body == '{"text":"你好 ✓","n":[1,2]}'.encode()
            assert seen.headers["content-type"] == "application/json"

    run(scenario())


def test_the_proxy_from_the_environment_is_used(monkeypatch: pytest.MonkeyPatch):
    async def scenario(proxy: Loopback) -> None:
        lark = client("http://lark.example.invalid")
        try:
            await lark.request(lark.start_call("t"), "GET", "/open-apis/x")
        finally:
            await lark.aclose()

    async def with_proxy() -> Loopback:
        async with loopback("ok") as proxy:
            monkeypatch.setenv("HTTP_PROXY", proxy.url)
            monkeypatch.delenv("NO_PROXY", raising=False)
            monkeypatch.delenv("no_proxy", raising=False)
            await scenario(proxy)
            return proxy

    proxy = run(with_proxy())
    # A proxy is asked for the absolute URL.
    assert [r.target for r in proxy.api_requests()] == ["http://lark.example.invalid/open-apis/x"]


def test_which_proxy_the_environment_names(monkeypatch: pytest.MonkeyPatch):
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    lark = "https://open.feishu.cn"
    assert env_proxy(lark) is None
    monkeypatch.setenv("ALL_PROXY", "http://all.proxy:3128")
    assert env_proxy(lark) == "http://all.proxy:3128"
    monkeypatch.setenv("HTTPS_PROXY", "http://tls.proxy:3128")
    assert env_proxy(lark) == "http://tls.proxy:3128"
    assert env_proxy("http://lark.example.invalid") == "http://all.proxy:3128"
    monkeypatch.setenv("NO_PROXY", "localhost,.feishu.cn")
    assert env_proxy(lark) is None
    monkeypatch.delenv("NO_PROXY")
    monkeypatch.delenv("HTTPS_PROXY")
    monkeypatch.setenv("ALL_PROXY", "socks5://socks.proxy:1080")  # not a proxy aiohttp speaks
    assert env_proxy(lark) is None


params_values = st.one_of(
    st.text(max_size=8),
    st.integers(),
    st.booleans(),
    st.lists(st.one_of(st.text(max_size=5), st.integers(), st.booleans(), st.none()), max_size=3),
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(min_size=1, max_size=6), params_values, max_size=4))
def test_query_encoding_matches_httpx2(params: dict[str, Any]):
    expected = httpx2.URL("http://x/p", params=params).query.decode()
    assert encode_query(params) == expected
