"""As whom a tool call runs: the signed-in person named by the caller JWT, or the bot.

A request that carries the caller-JWT header (set only by the user gateway's interceptor)
runs as that person or not at all: a header that does not verify, a server without user
sign-in configured, a person with no stored Lark token are each a tool error telling them to
sign in again, never a call as the bot. A request without the header runs as the bot, as it
always has. The header is read from the MCP request context (`Context.headers`, the HTTP
request the streamable-HTTP transport hands to every handler), so no extra ASGI layer and no
context variable are involved.
"""

from __future__ import annotations

from collections.abc import Mapping

from .caller_jwt import (
    CALLER_JWT_HEADER,
    RECONNECT,
    CallerRejected,
    CallerVerifier,
    IssuerUnavailable,
)
from .config import Settings
from .lark_client import CredentialGetter, LarkClient, LarkError, SignInRequired, User
from .user_tokens import UserTokenSource

NOT_CONFIGURED = (
    "This Lark server is not set up to act as a signed-in person (LARK_USER_AUTH_ISSUER, "
    "LARK_USER_AUTH_CLIENTS, LARK_USER_AUTH_AUDIENCE and USER_TOKEN_STORE are not set), and it "
    "does not fall back to the "
    "bot for a signed-in request. Ask the administrator to finish the user sign-in setup."
)


class UserAuth:
    """Verifies caller JWTs and hands out the named person's Lark tokens."""

    def __init__(self, settings: Settings, lark: LarkClient, credentials: CredentialGetter) -> None:
        assert settings.user_auth_issuer and settings.user_token_store
        assert settings.user_auth_audience
        self.verifier = CallerVerifier(
            settings.user_auth_issuer,
            settings.user_auth_clients,
            settings.user_auth_audience,
            http_timeout=min(settings.http_timeout, 5.0),
        )
        self.tokens = UserTokenSource(
            settings.user_token_store,
            lark.http,
            credentials,
            http_timeout=settings.http_timeout,
        )

    async def user_for(self, jwt: str) -> User:
        try:
            caller = await self.verifier.verify(jwt)
        except CallerRejected as exc:
            raise SignInRequired(
                f"Your sign-in could not be verified: {exc}. {RECONNECT}"
            ) from None
        except IssuerUnavailable as exc:
            raise LarkError(
                f"Your sign-in could not be checked right now: {exc}. Try again in a minute; if "
                "it keeps failing, tell the administrator."
            ) from None
        return User(open_id=caller.open_id, tokens=self.tokens)

    async def aclose(self) -> None:
        await self.verifier.aclose()


async def caller(users: UserAuth | None, headers: Mapping[str, str] | None) -> User | None:
    """The person this request acts as, None for the bot; raises when it must not run."""
    jwt = headers.get(CALLER_JWT_HEADER) if headers is not None else None
    if jwt is None:
        return None
    if users is None:
        raise SignInRequired(NOT_CONFIGURED)
    return await users.user_for(jwt)
