"""The OpenID Connect ID token, for clients that ask for scope `openid`.

The server publishes an OpenID discovery document (the AgentCore gateway's CUSTOM_JWT
authorizer reads `/.well-known/openid-configuration`), so a client may fairly ask for `openid`
and expect an `id_token` (OIDC Core 3.1.3.3). It is signed by the same key as the access tokens
(RS256, `kid`), names the person (`sub` = Lark `open_id`) for the client (`aud` = its client
id), and carries the authorize request's `nonce`. It is not an access token: its `aud` is a
client id, never the MCP URL, so the user gateway and the MCP server refuse it.
"""

from __future__ import annotations

from typing import Any

from .keys import Signer

ID_TOKEN_TTL = 3600
MAX_NONCE = 255  # longer nonces are not echoed (a client's own nonce check then fails)


def wants_id_token(scope: str) -> bool:
    return "openid" in scope.split()


def id_token(
    signer: Signer,
    *,
    issuer: str,
    open_id: str,
    client_id: str,
    now: int,
    code: dict[str, Any] | None,
) -> str:
    """A signed ID token; `code` is the authorization code's record (None on a refresh)."""
    claims: dict[str, Any] = {
        "iss": issuer,
        "sub": open_id,
        "aud": client_id,
        "azp": client_id,
        "iat": now,
        "exp": now + ID_TOKEN_TTL,
    }
    if code is not None:
        claims["auth_time"] = int(code.get("auth_time") or now)
        nonce = code.get("nonce")
        if isinstance(nonce, str) and 0 < len(nonce) <= MAX_NONCE:
            claims["nonce"] = nonce
    return signer.sign_jwt(claims)
