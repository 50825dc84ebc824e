"""DNS-rebinding protection over real HTTP: strict on loopback, Origin-only in the container.

A web page can point a rebinding domain at 127.0.0.1 and make the browser POST to `make local`;
the browser then sends that domain as Host and the page's origin as Origin. On loopback both
must name the bound address. Bound to 0.0.0.0 (the container) the runtime's Host is accepted,
but a browser Origin that `ALLOWED_ORIGINS` does not list is refused.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx2
import pytest

from lark_mcp_server.config import ConfigError, Settings
from tests.lark_fake import FakeLark

from .harness import ACCEPT, ServerProcess, run_server, server_env

LIST = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
APP = "https://agent-console.example.com"


def post(server: ServerProcess, **headers: str) -> httpx2.Response:
    return httpx2.post(server.mcp_url, json=LIST, headers={"Accept": ACCEPT, **headers}, timeout=30)


def port_of(server: ServerProcess) -> int:
    return urlsplit(server.url).port or 80


@pytest.fixture(scope="module")
def loopback(lark_fake: FakeLark) -> Iterator[ServerProcess]:
    env = server_env(lark_fake.base_url, ALLOWED_ORIGINS=APP)
    with run_server(env) as process:
        yield process


@pytest.fixture(scope="module")
def container(lark_fake: FakeLark) -> Iterator[ServerProcess]:
    env = server_env(lark_fake.base_url, ALLOWED_ORIGINS=f"{APP},http://localhost:*")
    with run_server(env, host="0.0.0.0") as process:
        yield process


def test_loopback_refuses_a_rebinding_host(loopback: ServerProcess):
    response = post(loopback, Host="evil.example.com", Origin="http://evil.example.com")
    assert response.status_code == 421, response.text
    response = post(loopback, Host=f"evil.example.com:{port_of(loopback)}")
    assert response.status_code == 421, response.text


def test_loopback_refuses_a_foreign_origin_even_with_a_local_host(loopback: ServerProcess):
    response = post(loopback, Origin="http://evil.example.com")
    assert response.status_code == 403, response.text


@pytest.mark.parametrize("name", ["127.0.0.1", "localhost"])
def test_loopback_accepts_its_own_address_and_origin(loopback: ServerProcess, name: str):
    here = f"{name}:{port_of(loopback)}"
    response = post(loopback, Host=here, Origin=f"http://{here}")
    assert response.status_code == 200, response.text
    assert response.json()["result"]["tools"]


def test_loopback_accepts_an_allowlisted_origin(loopback: ServerProcess):
    assert post(loopback, Origin=APP).status_code == 200


def test_loopback_health_is_not_guarded(loopback: ServerProcess):
    """Health answers whatever the Host: it reads nothing and changes nothing."""
    response = httpx2.get(f"{loopback.url}/ping", headers={"Host": "evil.example.com"})
    assert response.status_code == 200


def test_container_accepts_the_runtimes_host(container: ServerProcess):
    response = post(container, Host="bedrock-agentcore.us-east-1.amazonaws.com")
    assert response.status_code == 200, response.text
    assert response.json()["result"]["tools"]


@pytest.mark.parametrize("origin", ["http://evil.example.com", "null", f"{APP}.evil.com"])
def test_container_refuses_a_browser_origin_not_allowlisted(container: ServerProcess, origin: str):
    response = post(container, Host="runtime.internal", Origin=origin)
    assert response.status_code == 403, response.text
    assert "ALLOWED_ORIGINS" in response.json()["error"]["message"]
    get = httpx2.get(container.mcp_url, headers={"Accept": ACCEPT, "Origin": origin})
    assert get.status_code == 403


@pytest.mark.parametrize("origin", [APP, "http://localhost:6274"])
def test_container_accepts_allowlisted_origins(container: ServerProcess, origin: str):
    assert post(container, Host="runtime.internal", Origin=origin).status_code == 200


@pytest.mark.parametrize(
    "value", ["example.com", "ftp://example.com", "https://example.com/path", "https://"]
)
def test_a_malformed_allowed_origin_stops_startup(value: str):
    with pytest.raises(ConfigError, match="ALLOWED_ORIGINS"):
        Settings.from_env({"ALLOWED_ORIGINS": value})
