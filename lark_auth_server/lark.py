"""Feishu/Lark user OAuth, as the authorization server's client of it (stdlib HTTP).

Authorize page `<accounts origin>/open-apis/authen/v1/authorize`, token endpoint
`<open origin>/open-apis/authen/v2/oauth/token` (its request bodies and answers are
`lark_user_store.lark_oauth`'s, shared with the MCP server's refresh), user info
`<open origin>/open-apis/authen/v1/user_info` with the user's token.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlencode

from lark_user_store import lark_oauth
from lark_user_store.lark_oauth import NO_APP_ACCESS as NO_APP_ACCESS
from lark_user_store.lark_oauth import LarkGrant

_TIMEOUT = 8.0  # two calls per /callback must fit a 20 s Lambda timeout


class LarkOAuthError(Exception):
    """Lark refused an OAuth call; `code` is Lark's number (0 when the answer had none)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"Lark error {code}: {message}")
        self.code = code
        self.message = message


def accounts_origin(open_origin: str) -> str:
    """Where the authorize page lives, derived from the OpenAPI origin when not configured."""
    for open_host, accounts_host in (
        ("open.feishu.cn", "accounts.feishu.cn"),
        ("open.larksuite.com", "accounts.larksuite.com"),
    ):
        if open_host in open_origin:
            return open_origin.replace(open_host, accounts_host)
    return open_origin  # a fake or a proxy serving both


def authorize_url(
    accounts: str, *, app_id: str, redirect_uri: str, scopes: str, state: str, challenge: str
) -> str:
    query = urlencode(
        {
            "client_id": app_id,
            "response_type": "code",
            "redirect_uri": redirect_uri,
            "scope": scopes,
            "state": state,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
    )
    return f"{accounts.rstrip('/')}/open-apis/authen/v1/authorize?{query}"


def _send(
    url: str, *, body: dict[str, Any] | None = None, token: str | None = None
) -> tuple[int, Any]:
    """(HTTP status, parsed JSON answer); `LarkOAuthError` when no JSON answer came back."""
    headers = {"Content-Type": "application/json; charset=utf-8"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=_TIMEOUT) as response:
            return response.status, json.loads(response.read().decode() or "{}")
    except urllib.error.HTTPError as exc:
        try:
            return exc.code, json.loads(exc.read().decode() or "{}")
        except ValueError:
            raise LarkOAuthError(0, f"HTTP {exc.code} from {url.split('?')[0]}") from None
    except (OSError, ValueError) as exc:
        raise LarkOAuthError(0, f"cannot reach {url.split('?')[0]}: {exc}") from None


def _request(url: str, *, token: str) -> dict:
    """A Lark OpenAPI GET's answer; `LarkOAuthError` unless its `code` is 0."""
    _, answer = _send(url, token=token)
    if not isinstance(answer, dict):
        raise LarkOAuthError(0, "answer is not a JSON object")
    code = answer.get("code", 0)
    if code or answer.get("error"):
        message = answer.get("error_description") or answer.get("msg") or answer.get("error")
        raise LarkOAuthError(int(code or 0), str(message or "refused"))
    return answer


def exchange_code(
    open_origin: str,
    *,
    app_id: str,
    app_secret: str,
    code: str,
    redirect_uri: str,
    verifier: str,
) -> LarkGrant:
    now = time.time()
    status, answer = _send(
        f"{open_origin.rstrip('/')}{lark_oauth.TOKEN_PATH}",
        body=lark_oauth.code_grant(
            app_id=app_id,
            app_secret=app_secret,
            code=code,
            redirect_uri=redirect_uri,
            verifier=verifier,
        ),
    )
    try:
        return lark_oauth.read_token_answer(status, answer, now=now)
    except lark_oauth.TokenRefused as refused:
        raise LarkOAuthError(refused.code or 0, refused.message) from None


def user_info(open_origin: str, access_token: str) -> dict[str, Any]:
    answer = _request(
        f"{open_origin.rstrip('/')}/open-apis/authen/v1/user_info", token=access_token
    )
    data = answer.get("data") or {}
    if not data.get("open_id"):
        raise LarkOAuthError(0, "user_info answered without an open_id")
    return data
