"""Lambda proxy events (payload format 2.0: HTTP API or function URL) to `AuthServer.handle`.

Settings, secrets and the KMS public key are loaded once per execution environment, on the
first request. The issuer is `AUTH_ISSUER`, else `https://<requestContext.domainName>`: the
domain AWS routed the request to, never the client's Host header. Cookies travel in the
event's own `cookies` lists both ways (payload format 2.0 takes them out of the headers).
"""

from __future__ import annotations

import base64
import logging
from typing import Any

from lark_user_store import StoreError

from .config import ConfigError, from_aws_env
from .core import AuthServer, HttpRequest
from .keys import SigningKeyError

log = logging.getLogger("lark_auth_server")
logging.getLogger().setLevel(logging.INFO)

_server: AuthServer | None = None


def _get_server() -> AuthServer:
    global _server
    if _server is None:
        _server = AuthServer.from_settings(from_aws_env())
    return _server


def handle(event: dict[str, Any], server: AuthServer | None = None) -> dict[str, Any]:
    try:
        server = server or _get_server()
    except (ConfigError, StoreError, SigningKeyError) as exc:
        log.error("authorization server misconfigured: %s", exc)
        return {
            "statusCode": 500,
            "headers": {"Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store"},
            "body": "The sign-in service is misconfigured; its administrator can see why in the "
            "function's logs.",
            "isBase64Encoded": False,
        }
    context = event.get("requestContext") or {}
    http = context.get("http") or {}
    body = event.get("body") or ""
    raw = base64.b64decode(body) if event.get("isBase64Encoded") else body.encode()
    issuer = server.settings.issuer or f"https://{context.get('domainName', '')}"
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    cookies = [c for c in event.get("cookies") or [] if isinstance(c, str)]
    if cookies:
        headers["cookie"] = "; ".join([*cookies, *filter(None, [headers.get("cookie")])])
    response = server.handle(
        HttpRequest(
            method=str(http.get("method", "GET")).upper(),
            path=event.get("rawPath") or http.get("path") or "/",
            query=event.get("rawQueryString") or "",
            headers=headers,
            body=raw,
            issuer=issuer,
            source=str(http.get("sourceIp", "")),
        )
    )
    answer_headers = dict(response.headers)
    set_cookie = answer_headers.pop("Set-Cookie", None)
    return {
        "statusCode": response.status,
        "headers": answer_headers,
        **({"cookies": [set_cookie]} if set_cookie else {}),
        "body": response.body.decode(),
        "isBase64Encoded": False,
    }
