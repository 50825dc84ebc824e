"""The fake's own tricky parts, exercised over real loopback HTTP the way the server meets them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest

from .fake import FakeLark
from .runner import run_fake_lark

TOKEN_PATH = "/open-apis/auth/v3/tenant_access_token/internal"
MESSAGES = "/open-apis/im/v1/messages"
BASE = "/open-apis/bitable/v1/apps/bascnTeamTracker/tables/tblTasks"


def _token(client: httpx2.Client, fake: FakeLark) -> str:
    answer = client.post(TOKEN_PATH, json={"app_id": fake.app_id, "app_secret": fake.app_secret})
    assert answer.status_code == 200, answer.text
    return answer.json()["tenant_access_token"]


@pytest.fixture
def api(fresh_lark: FakeLark) -> Iterator[httpx2.Client]:
    """A client holding a valid tenant token for the freshly reset fake."""
    with httpx2.Client(base_url=fresh_lark.base_url, timeout=10) as client:
        client.headers["Authorization"] = f"Bearer {_token(client, fresh_lark)}"
        yield client


def _text(text: str) -> str:
    return json.dumps({"text": text})


@pytest.fixture
def new_lark() -> Iterator[FakeLark]:
    """A fake of its own: the shared one keeps tokens across resets, so their `expire` shrinks."""
    with run_fake_lark(FakeLark()) as fake:
        yield fake


def test_token_is_required_and_checked(new_lark: FakeLark) -> None:
    fresh_lark = new_lark
    with httpx2.Client(base_url=fresh_lark.base_url) as client:
        bad = client.post(TOKEN_PATH, json={"app_id": fresh_lark.app_id, "app_secret": "wrong"})
        assert (bad.status_code, bad.json()["code"]) == (400, 10014)
        good = client.post(
            TOKEN_PATH, json={"app_id": fresh_lark.app_id, "app_secret": fresh_lark.app_secret}
        ).json()
        assert good["code"] == 0 and good["tenant_access_token"].startswith("t-")
        assert good["expire"] == 7200 and "data" not in good

        missing = client.get("/open-apis/im/v1/chats")
        assert (missing.status_code, missing.json()["code"]) == (400, 99991661)
        unknown = client.get("/open-apis/im/v1/chats", headers={"Authorization": "Bearer t-nope"})
        assert (unknown.status_code, unknown.json()["code"]) == (400, 99991663)
        ok = client.get(
            "/open-apis/im/v1/chats",
            headers={"Authorization": f"Bearer {good['tenant_access_token']}"},
        )
        assert ok.json()["code"] == 0
    assert fresh_lark.token_fetches == 2


def test_revoked_tokens_answer_invalid_token_until_fetched_again(
    fresh_lark: FakeLark, api: httpx2.Client
) -> None:
    fresh_lark.revoke_tokens()
    revoked = api.get("/open-apis/im/v1/chats")
    assert (revoked.status_code, revoked.json()["code"]) == (400, 99991663)
    api.headers["Authorization"] = f"Bearer {_token(api, fresh_lark)}"
    assert api.get("/open-apis/im/v1/chats").json()["code"] == 0


LISTS = [
    # (method, path, params, body, items key, token key, expected count)
    ("GET", "/open-apis/im/v1/chats", {}, None, "items", "page_token", 7),
    (
        "GET",
        MESSAGES,
        {"container_id_type": "chat", "container_id": "oc_engineering"},
        None,
        "items",
        "page_token",
        7,
    ),
    ("GET", "/open-apis/im/v1/chats/oc_general/members", {}, None, "items", "page_token", 6),
    ("GET", "/open-apis/calendar/v4/calendars", {}, None, "calendar_list", "page_token", 5),
    (
        "GET",
        "/open-apis/calendar/v4/calendars/cal_engineering@group.calendar.feishu.cn/events",
        {},
        None,
        "items",
        "page_token",
        6,
    ),
    (
        "GET",
        "/open-apis/wiki/v2/spaces/7450000000000000001/nodes",
        {},
        None,
        "items",
        "page_token",
        5,
    ),
    ("GET", "/open-apis/drive/v1/files", {}, None, "files", "next_page_token", 6),
    ("GET", f"{BASE}/fields", {}, None, "items", "page_token", 8),
    ("POST", f"{BASE}/records/search", {}, {}, "items", "page_token", 7),
]


@pytest.mark.parametrize(
    "method,path,params,body,key,token_key,count",
    LISTS,
    ids=[p[1].rsplit("/", 1)[-1] for p in LISTS],
)
def test_page_size_two_walks_every_item_once(
    api: httpx2.Client,
    method: str,
    path: str,
    params: dict[str, str],
    body: Any,
    key: str,
    token_key: str,
    count: int,
) -> None:
    seen: list[str] = []
    token, pages = "", 0
    while True:
        query = {**params, "page_size": "2", **({"page_token": token} if token else {})}
        data = api.request(method, path, params=query, json=body).json()["data"]
        seen += [json.dumps(item, sort_keys=True) for item in data[key]]
        pages += 1
        if not data["has_more"]:
            break
        token = data[token_key]
    assert len(seen) == len(set(seen)) == count
    assert pages == (count + 1) // 2


def test_rate_limit_answers_429_with_the_reset_header(
    fresh_lark: FakeLark, api: httpx2.Client
) -> None:
    fresh_lark.inject(path="/open-apis/im/", rate_429=1.0, ratelimit_reset=3)
    limited = api.get("/open-apis/im/v1/chats")
    assert limited.status_code == 429
    assert limited.headers["x-ogw-ratelimit-reset"] == "3"
    assert limited.json()["code"] == 99991400
    assert api.get("/open-apis/calendar/v4/calendars").status_code == 200  # other paths unharmed
    fresh_lark.clear_faults()
    assert api.get("/open-apis/im/v1/chats").status_code == 200


WRITES = [
    # kind, method, path, params, body (each carries its idempotency key)
    (
        "message",
        MESSAGES,
        {"receive_id_type": "chat_id"},
        {"receive_id": "oc_engineering", "msg_type": "text", "content": _text("hi"), "uuid": "u-1"},
    ),
    (
        "event",
        "/open-apis/calendar/v4/calendars/cal_engineering@group.calendar.feishu.cn/events",
        {"idempotency_key": "k-1"},
        {
            "summary": "Sync",
            "start_time": {"timestamp": "1795500000"},
            "end_time": {"timestamp": "1795503600"},
        },
    ),
    (
        "block",
        "/open-apis/docx/v1/documents/doxProjectPlan/blocks/doxProjectPlan/children",
        {"client_token": "c-1"},
        {"children": [{"block_type": 2, "text": {"elements": [{"text_run": {"content": "x"}}]}}]},
    ),
    ("record", f"{BASE}/records", {"client_token": "c-1"}, {"fields": {"Name": "New"}}),
    ("task", "/open-apis/task/v2/tasks", {}, {"summary": "Do it", "client_token": "c-1"}),
]


@pytest.mark.parametrize("kind,path,params,body", WRITES, ids=[w[0] for w in WRITES])
def test_write_committed_before_a_5xx_is_not_doubled_by_the_retry(
    fresh_lark: FakeLark,
    api: httpx2.Client,
    kind: str,
    path: str,
    params: dict[str, str],
    body: dict[str, Any],
) -> None:
    fresh_lark.inject(path=path, rate_5xx=1.0, after_commit=True)
    failed = api.post(path, params=params, json=body)
    assert failed.status_code in (500, 502, 503)
    assert len(fresh_lark.writes(kind)) == len(body.get("children", [None]))
    fresh_lark.clear_faults()
    first = api.post(path, params=params, json=body).json()
    again = api.post(path, params=params, json=body).json()
    assert first["code"] == 0 and first == again
    assert len(fresh_lark.writes(kind)) == len(body.get("children", [None]))


def test_appended_blocks_show_up_in_raw_content(api: httpx2.Client) -> None:
    doc = api.post("/open-apis/docx/v1/documents", json={"title": "Notes"}).json()["data"]
    doc_id = doc["document"]["document_id"]
    child = {"block_type": 2, "text": {"elements": [{"text_run": {"content": "second line"}}]}}
    path = f"/open-apis/docx/v1/documents/{doc_id}/blocks/{doc_id}/children"
    assert api.post(path, json={"children": [child], "index": -1}).json()["code"] == 0
    raw = api.get(f"/open-apis/docx/v1/documents/{doc_id}/raw_content").json()["data"]
    assert raw["content"] == "Notes\nsecond line\n"


def test_denied_path_names_the_missing_scopes(fresh_lark: FakeLark, api: httpx2.Client) -> None:
    fresh_lark.deny(MESSAGES, ["im:message", "im:message:send_as_bot"])
    denied = api.post(
        MESSAGES,
        params={"receive_id_type": "chat_id"},
        json={"receive_id": "oc_general", "msg_type": "text", "content": _text("x")},
    )
    assert denied.status_code == 400
    body = denied.json()
    assert body["code"] == 99991672
    assert "[im:message, im:message:send_as_bot]" in body["msg"]
    assert [v["subject"] for v in body["error"]["permission_violations"]] == [
        "im:message",
        "im:message:send_as_bot",
    ]
    assert fresh_lark.writes("message") == []


def test_schema_violation_is_99992402_naming_the_field(api: httpx2.Client) -> None:
    answer = api.post(
        MESSAGES,
        params={"receive_id_type": "chat_id"},
        json={"msg_type": "text", "content": _text("x")},
    )
    assert answer.status_code == 400
    assert answer.json()["code"] == 99992402
    assert answer.json()["error"]["field_violations"][0]["field"] == "receive_id"


FILTERS = [
    ({"field_name": "Status", "operator": "is", "value": ["Done"]}, ["recTask02", "recTask06"]),
    (
        {"field_name": "Status", "operator": "isNot", "value": ["To do"]},
        ["recTask01", "recTask02", "recTask03", "recTask06"],
    ),
    ({"field_name": "Name", "operator": "contains", "value": ["test"]}, ["recTask05"]),
    ({"field_name": "Tags", "operator": "contains", "value": ["docs"]}, ["recTask04", "recTask06"]),
    (
        {"field_name": "Tags", "operator": "doesNotContain", "value": ["infra", "backend"]},
        ["recTask04", "recTask06", "recTask07"],
    ),
    (
        {"field_name": "Notes", "operator": "isEmpty", "value": []},
        ["recTask02", "recTask04", "recTask06"],
    ),
    (
        {"field_name": "Owner", "operator": "isNotEmpty", "value": []},
        ["recTask01", "recTask02", "recTask03", "recTask05", "recTask06", "recTask07"],
    ),
    (
        {"field_name": "Estimate", "operator": "isGreater", "value": ["5"]},
        ["recTask01", "recTask03"],
    ),
    (
        {"field_name": "Due", "operator": "isLess", "value": ["ExactDate", "1795536000000"]},
        ["recTask02", "recTask06"],
    ),  # before 2026-11-25 (+08:00)
    ({"field_name": "Done", "operator": "is", "value": ["true"]}, ["recTask02", "recTask06"]),
    ({"field_name": "Owner", "operator": "is", "value": ["ou_alice"]}, ["recTask06"]),
]


@pytest.mark.parametrize(
    "condition,expected", FILTERS, ids=[f"{c['field_name']}-{c['operator']}" for c, _ in FILTERS]
)
def test_record_search_filters(
    api: httpx2.Client, condition: dict[str, Any], expected: list[str]
) -> None:
    body = {"filter": {"conjunction": "and", "conditions": [condition]}}
    data = api.post(f"{BASE}/records/search", params={"page_size": 50}, json=body).json()["data"]
    assert [item["record_id"] for item in data["items"]] == expected


def test_record_search_reads_back_lark_encodings(api: httpx2.Client) -> None:
    body = {
        "filter": {
            "conjunction": "or",
            "conditions": [{"field_name": "Name", "operator": "is", "value": ["Load test"]}],
        },
        "field_names": ["Name", "Owner", "Due", "Done"],
    }
    (item,) = api.post(f"{BASE}/records/search", json=body).json()["data"]["items"]
    assert item["fields"]["Name"] == [{"text": "Load test", "type": "text"}]
    assert [p["name"] for p in item["fields"]["Owner"]] == ["Carol Zhang", "Erin Liu"]
    assert item["fields"]["Due"] == 1795708800000 and item["fields"]["Done"] is False
    assert set(item["fields"]) == {"Name", "Owner", "Due", "Done"}


def test_fault_dice_replay_with_the_same_seed() -> None:
    def outcomes(seed: int) -> list[int]:
        fake = FakeLark(seed=seed)
        fake.inject(rate_5xx=0.5)
        with run_fake_lark(fake), httpx2.Client(base_url=fake.base_url) as client:
            return [client.get("/open-apis/im/v1/chats").status_code for _ in range(12)]

    first = outcomes(7)
    assert first == outcomes(7)
    assert {500, 502, 503} & set(first) and 400 in first  # 400: no token, the dice said no fault


def test_control_plane_drives_a_standalone_fake(fresh_lark: FakeLark) -> None:
    with httpx2.Client(base_url=fresh_lark.base_url) as client:
        bad = client.post("/_fake/inject", json={"rate_429": 1.0, "oops": 1})
        assert bad.status_code == 400 and "oops" in bad.json()["error"]
        client.post("/_fake/inject", json={"path": "/open-apis/im/", "rate_429": 1.0})
        assert client.get("/open-apis/im/v1/chats").status_code == 429
        client.post("/_fake/clear_faults")
        stats = client.get("/_fake/stats").json()
        assert stats["by_status"] == {"429": 1} and stats["token_fetches"] == 0
        assert client.get("/_fake/writes/message").json() == {"items": []}


def test_requests_record_the_route_they_matched(fresh_lark: FakeLark, api: httpx2.Client) -> None:
    # What the route test compares with the template the server meant; an encoded '/' in an id
    # does not match the one-segment placeholder, and a path Lark does not serve matches nothing.
    api.get("/open-apis/im/v1/chats/oc_general/members")
    api.get("/open-apis/im/v1/chats/oc_general%2F..%2Fx/members")
    api.post("/open-apis/im/v1/zz", json={})
    routes = [(r.path, r.route) for r in fresh_lark.requests if r.path != TOKEN_PATH]
    assert routes == [
        ("/open-apis/im/v1/chats/oc_general/members", "/open-apis/im/v1/chats/{chat_id}/members"),
        ("/open-apis/im/v1/chats/oc_general/../x/members", None),
        ("/open-apis/im/v1/zz", None),
    ]
