"""`/_fake/...`: a small control plane for a fake run as its own process (bench, developer).

In-process tests call the FakeLark methods directly; these routes expose the same knobs over
HTTP. They are not Lark paths, need no token, and are not recorded in `fake.requests`.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

if TYPE_CHECKING:
    from .fake import FakeLark

OAUTH_KEYS = {"signed_in", "no_access", "deny_consent"}
INJECT_KEYS = {
    "path",
    "methods",
    "rate_429",
    "rate_5xx",
    "latency",
    "ratelimit_reset",
    "after_commit",
}


def _unknown_keys(body: dict[str, Any], allowed: set[str]) -> JSONResponse | None:
    """A 400 naming the keys of `body` a control route does not know, else None."""
    unknown = set(body) - allowed
    if not unknown:
        return None
    return JSONResponse(
        {"error": f"unknown keys {sorted(unknown)}; allowed: {sorted(allowed)}"}, status_code=400
    )


def routes(fake: FakeLark) -> list[Route]:
    async def stats(_: Request) -> JSONResponse:
        return JSONResponse(
            {
                "token_fetches": fake.token_fetches,
                "requests": len(fake.requests),
                "by_path": Counter(f"{r.method} {r.path}" for r in fake.requests),
                "by_status": Counter(str(r.status) for r in fake.requests),
            }
        )

    async def writes(request: Request) -> JSONResponse:
        return JSONResponse({"items": fake.writes(request.path_params["kind"])})

    async def reset(_: Request) -> JSONResponse:
        fake.reset()
        return JSONResponse({"ok": True})

    async def inject(request: Request) -> JSONResponse:
        body: dict[str, Any] = await request.json()
        refused = _unknown_keys(body, INJECT_KEYS)
        if refused:
            return refused
        if "methods" in body:
            body["methods"] = tuple(body["methods"])
        fake.inject(**body)
        return JSONResponse({"ok": True})

    async def clear_faults(_: Request) -> JSONResponse:
        fake.clear_faults()
        return JSONResponse({"ok": True})

    async def revoke(_: Request) -> JSONResponse:
        fake.revoke_tokens()
        return JSONResponse({"ok": True})

    async def oauth_knobs(request: Request) -> JSONResponse:
        """Who is signed in to Feishu, who has no access to the app, whether consent is denied."""
        body: dict[str, Any] = await request.json()
        refused = _unknown_keys(body, OAUTH_KEYS)
        if refused:
            return refused
        if "signed_in" in body:
            fake.oauth.signed_in = str(body["signed_in"])
        if "no_access" in body:
            fake.oauth.no_access = set(body["no_access"])
        if "deny_consent" in body:
            fake.oauth.deny_consent = bool(body["deny_consent"])
        return JSONResponse({"ok": True, "refreshes": fake.oauth.refreshes})

    return [
        Route("/_fake/oauth", oauth_knobs, methods=["POST"]),
        Route("/_fake/stats", stats, methods=["GET"]),
        Route("/_fake/writes/{kind}", writes, methods=["GET"]),
        Route("/_fake/reset", reset, methods=["POST"]),
        Route("/_fake/inject", inject, methods=["POST"]),
        Route("/_fake/clear_faults", clear_faults, methods=["POST"]),
        Route("/_fake/revoke_tokens", revoke, methods=["POST"]),
    ]
