"""The fake's signed-in people: user access tokens, the refresh grant, and user-only APIs.

A user access token (`u-...`) lives in the same token table as tenant tokens (so the gateway
check in `fake.py` treats both alike) with the `open_id` it acts for. Refresh tokens are
single-use and rotate, as Lark's: a second use answers HTTP 400 `invalid_grant` / 20064.

User-only APIs answer as the person whose token they carry: the primary calendar
(`POST /calendar/v4/calendars/primary`, created on first ask), document search (seeded
documents whose title or text has the query) and "my tasks" (tasks the person is assigned).
Called with a tenant token they answer 99991668, as Lark does for a wrong token type.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import LarkError, field_error
from .paging import page_size, paginate
from .routing import Call, Endpoint

if TYPE_CHECKING:
    from .fake import FakeLark

OAUTH_TOKEN_PATH = "/open-apis/authen/v2/oauth/token"
USER_TOKEN_INVALID = 99991668  # "Invalid access token for authorization" (user token APIs)
REFRESH_REVOKED = 20064  # "The refresh token has been revoked" (used once already)
REFRESH_INVALID = 20026
REFRESH_EXPIRED = 20037


@dataclass
class RefreshToken:
    value: str
    open_id: str
    expires_at: float
    scopes: tuple[str, ...]
    used: bool = False


def issue_user_tokens(
    fake: FakeLark,
    open_id: str,
    *,
    access_ttl: int = 7200,
    refresh_ttl: int = 30 * 86400,
    scopes: tuple[str, ...] = (),
) -> dict[str, Any]:
    """A fresh user access + refresh token pair for `open_id`, as Lark's token endpoint
    answers it (also what tests seed the token store with)."""
    from .fake import _Token

    now = time.time()
    access = "u-" + secrets.token_hex(20)
    fake._tokens[access] = _Token(access, now + access_ttl)
    fake.user_of[access] = open_id
    refresh = "ur-" + secrets.token_hex(20)
    fake.refresh_tokens[refresh] = RefreshToken(refresh, open_id, now + refresh_ttl, scopes)
    return {
        "code": 0,
        "access_token": access,
        "expires_in": access_ttl,
        "refresh_token": refresh,
        "refresh_token_expires_in": refresh_ttl,
        "scope": " ".join(scopes),
        "token_type": "Bearer",
    }


def caller(fake: FakeLark, call: Call) -> str:
    """The open_id a user token acts for; a tenant token on a user-only API is refused."""
    token = call.headers.get("authorization", "").partition(" ")[2].strip()
    open_id = fake.user_of.get(token)
    if open_id is None:
        raise LarkError(
            USER_TOKEN_INVALID,
            "Invalid access token for authorization. This API takes a user_access_token.",
            status=400,
        )
    return open_id


async def oauth_token(fake: FakeLark, call: Call) -> dict[str, Any]:
    """`grant_type=refresh_token`: single-use, rotating refresh tokens (RFC 6749 errors)."""
    body = call.body
    fake.user_refreshes.append(str(body.get("refresh_token") or ""))
    if body.get("client_id") != fake.app_id or body.get("client_secret") != fake.app_secret:
        return _oauth_error(fake, 20002, "invalid_client", "client_id or client_secret invalid")
    if body.get("grant_type") != "refresh_token":
        return _oauth_error(fake, 20003, "unsupported_grant_type", "only refresh_token here")
    old = fake.refresh_tokens.get(str(body.get("refresh_token") or ""))
    if old is None:
        return _oauth_error(fake, REFRESH_INVALID, "invalid_grant", "The refresh token is invalid.")
    if old.used:
        return _oauth_error(
            fake,
            REFRESH_REVOKED,
            "invalid_grant",
            "The refresh token has been revoked. Please note that a refresh token can only be "
            "used once.",
        )
    if old.expires_at <= time.time():
        return _oauth_error(fake, REFRESH_EXPIRED, "invalid_grant", "The refresh token expired.")
    old.used = True
    return issue_user_tokens(fake, old.open_id, access_ttl=fake.user_token_ttl, scopes=old.scopes)


def _oauth_error(fake: FakeLark, code: int, error: str, description: str) -> dict[str, Any]:
    """The OAuth endpoint's errors are RFC 6749 bodies (plus Lark's code), not the envelope."""
    raise LarkError(
        code,
        description,
        status=400,
        raw={"code": code, "error": error, "error_description": description},
    )


async def primary_calendar(fake: FakeLark, call: Call) -> dict[str, Any]:
    open_id = caller(fake, call)
    user = fake.user(open_id)
    calendar_id = user["primary_calendar_id"]
    calendar = next((c for c in fake.calendars if c["calendar_id"] == calendar_id), None)
    if calendar is None:
        calendar = {
            "calendar_id": calendar_id,
            "summary": user["name"],
            "description": "",
            "permissions": "private",
            "color": -1,
            "type": "primary",
            "summary_alias": "",
            "is_deleted": False,
            "is_third_party": False,
            "role": "owner",
        }
        fake.calendars.append(calendar)
    return {"calendars": [{"calendar": calendar, "user_id": open_id}]}


async def search_doc_wiki(fake: FakeLark, call: Call) -> dict[str, Any]:
    caller(fake, call)
    query = call.body.get("query")
    if not isinstance(query, str) or not query.strip():
        raise field_error("query", "query is required")
    if "doc_filter" not in call.body and "wiki_filter" not in call.body:
        raise field_error("doc_filter", "doc_filter or wiki_filter is required")
    size = page_size({"page_size": str(call.body.get("page_size") or 10)}, default=10, maximum=20)
    needle = query.strip().lower()
    hits = []
    for token, doc in fake.documents.items():
        title = str(doc.get("title") or "")
        text = str(doc.get("raw_content") or doc.get("content") or "")
        if needle in title.lower() or needle in text.lower():
            hits.append(
                {
                    "entity_type": "DOC",
                    "title_highlighted": title.replace(query, f"<em>{query}</em>"),
                    "summary_highlighted": text[:80],
                    "result_meta": {
                        "token": token,
                        "doc_types": "DOCX",
                        "url": f"https://example.feishu.cn/docx/{token}",
                        "update_time": 1764000000,
                    },
                }
            )
    query_page = {"page_size": str(size), "page_token": call.body.get("page_token")}
    items, more, next_token = paginate(hits, query_page, scope="doc_wiki", maximum=20)
    return {"res_units": items, "has_more": more, "page_token": next_token, "total": len(hits)}


async def my_tasks(fake: FakeLark, call: Call) -> dict[str, Any]:
    open_id = caller(fake, call)
    if call.query.get("type", "my_tasks") != "my_tasks":
        raise field_error("type", "only my_tasks is supported")
    completed = call.query.get("completed")
    mine = [
        t
        for t in fake.tasks
        if any(m.get("id") == open_id and m.get("role") == "assignee" for m in t["members"])
    ]
    if completed is not None:
        want = completed == "true"
        mine = [t for t in mine if (str(t.get("completed_at") or "0") != "0") == want]
    items, more, next_token = paginate(mine, call.query, scope=f"tasks:{open_id}", maximum=100)
    return {"items": items, "has_more": more, "page_token": next_token}


def endpoints() -> list[Endpoint]:
    return [
        Endpoint("POST", OAUTH_TOKEN_PATH, oauth_token, authenticated=False, raw=True),
        Endpoint("POST", "/open-apis/calendar/v4/calendars/primary", primary_calendar),
        Endpoint("POST", "/open-apis/search/v2/doc_wiki/search", search_doc_wiki),
        Endpoint("GET", "/open-apis/task/v2/tasks", my_tasks),
    ]
