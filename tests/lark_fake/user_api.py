"""APIs Lark serves to user tokens only, answering as the person whose token they carry.

The primary calendar (`POST /calendar/v4/calendars/primary`, created on first ask), document
search (`POST /search/v2/doc_wiki/search`: seeded documents whose title or text has the
query) and "my tasks" (`GET /task/v2/tasks`: tasks the person is assigned). Called with a
tenant token they answer 99991668, as Lark does for the wrong kind of token. User tokens
themselves come from the fake Feishu OAuth (`oauth.py`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import LarkError, field_error
from .paging import page_size, paginate
from .routing import Call, Endpoint

if TYPE_CHECKING:
    from .fake import FakeLark

USER_TOKEN_INVALID = 99991668  # "Invalid access token for authorization" (user token APIs)


def caller(call: Call) -> str:
    """The open_id the call's user token acts for; a tenant token is refused."""
    if call.user is None:
        raise LarkError(
            USER_TOKEN_INVALID,
            "Invalid access token for authorization. This API takes a user_access_token.",
        )
    return call.user


async def primary_calendar(fake: FakeLark, call: Call) -> dict[str, Any]:
    open_id = caller(call)
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
    caller(call)
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
    open_id = caller(call)
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
        Endpoint("POST", "/open-apis/calendar/v4/calendars/primary", primary_calendar),
        Endpoint("POST", "/open-apis/search/v2/doc_wiki/search", search_doc_wiki),
        Endpoint("GET", "/open-apis/task/v2/tasks", my_tasks),
    ]
