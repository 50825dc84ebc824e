"""The redirect policy of self-registered clients, and loopback matching on any port."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lark_auth_server.redirects import (
    DEFAULT_ALLOW,
    QUICK_SUITE_REGIONS,
    PolicyError,
    RedirectPolicy,
    RedirectRefused,
    matches,
    shown_host,
)
from mcp_constructs.user_auth import quicksuite_redirect_uri

DEFAULTS = RedirectPolicy.parse(None)


def test_defaults_allow_quick_suite_in_every_region_and_the_common_clients():
    for region in QUICK_SUITE_REGIONS:
        assert DEFAULTS.allows(quicksuite_redirect_uri(region))
    for uri in (
        "https://claude.ai/api/mcp/auth_callback",
        "https://claude.com/api/mcp/auth_callback",
        "https://vscode.dev/redirect",
        "https://insiders.vscode.dev/redirect",
        "vscode://vscode.github-authentication/did-authenticate",
        "cursor://anysphere.cursor-retrieval/oauth/user-lark/callback",
        "http://127.0.0.1:33418/",
        "http://localhost:6274/oauth/callback",
        "http://[::1]:8080/cb",
    ):
        assert DEFAULTS.allows(uri), uri


@pytest.mark.parametrize(
    "uri",
    [
        "https://evil.example/cb",
        "https://claude.ai.evil.example/cb",
        "https://evil.example/claude.ai",
        "http://claude.ai/cb",
        "http://127.0.0.1.evil.example/cb",
        "https://claude.ai@evil.example/cb",
        "http://user@127.0.0.1/cb",
        "https://claude.ai/cb#frag",
        "javascript://claude.ai/%0aalert(1)",
        "data:text/html,hi",
        "file:///etc/passwd",
        "myapp://cb",
        "https://claude.ai/a b",
        "https://claude.ai/\x00",
        "//claude.ai/cb",
        "http://127.0.0.1:99999/",
        "",
    ],
)
def test_outside_the_defaults_is_refused(uri: str):
    with pytest.raises(RedirectRefused):
        DEFAULTS.check(uri)


def test_an_allow_list_replaces_the_defaults_and_defaults_extends_them():
    only = RedirectPolicy.parse("apps.example.com, https://two.example.com/ myapp:")
    assert only.hosts == {"apps.example.com", "two.example.com"}
    assert only.schemes == {"myapp"}
    assert not only.allows("https://claude.ai/api/mcp/auth_callback")
    assert only.allows("http://127.0.0.1:1/")  # loopback needs no entry
    more = RedirectPolicy.parse("defaults apps.example.com")
    assert more.hosts >= DEFAULTS.hosts | {"apps.example.com"}
    assert len(DEFAULT_ALLOW) == len(DEFAULTS.hosts) + len(DEFAULTS.schemes)


@pytest.mark.parametrize("entry", ["http", "https:", "javascript", "file", "data", "a_b.example"])
def test_an_entry_that_is_not_a_host_or_an_app_scheme_is_refused(entry: str):
    with pytest.raises(PolicyError, match=entry.rstrip(":")):
        RedirectPolicy.parse(entry)


def test_loopback_matches_on_any_port_and_nothing_else_does():
    assert matches("http://127.0.0.1/", "http://127.0.0.1:59656/")
    assert matches("http://127.0.0.1:33418", "http://127.0.0.1:1/")
    assert matches("http://localhost:1/cb?x=1", "http://localhost:2/cb?x=1")
    assert not matches("http://127.0.0.1/cb", "http://127.0.0.1:5/other")
    assert not matches("http://localhost/cb", "http://127.0.0.1:5/cb")
    assert not matches("http://127.0.0.1/cb", "http://127.0.0.1:5/cb#x")
    assert not matches("https://claude.ai/cb", "https://claude.ai:444/cb")
    assert not matches("http://127.0.0.1/cb", "http://127.0.0.1:x/cb")


def test_the_consent_page_names_where_the_code_goes():
    assert shown_host("https://claude.ai/api/mcp/auth_callback") == "claude.ai"
    assert "your own computer" in shown_host("http://127.0.0.1:4000/cb")
    assert "cursor:" in shown_host("cursor://anysphere.cursor-retrieval/cb")


@given(st.text(max_size=60) | st.from_regex(r"[a-z]{1,6}://[^\s]{0,40}", fullmatch=True))
def test_any_string_is_allowed_or_refused_with_a_reason(uri: str):
    try:
        DEFAULTS.check(uri)
    except RedirectRefused as refused:
        assert str(refused)
        return
    parts = urlsplit(uri)
    assert "#" not in uri and "@" not in parts.netloc
    if parts.scheme == "http":
        assert parts.hostname in ("127.0.0.1", "localhost", "::1")
    elif parts.scheme == "https":
        assert parts.hostname in DEFAULTS.hosts
    else:
        assert parts.scheme in DEFAULTS.schemes
