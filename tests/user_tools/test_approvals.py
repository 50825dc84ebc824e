"""Approvals as the signed-in person: their task list with their own token; decisions taken
with the app's token for exactly the verified person, checked first and never sent twice.

Real server process, real HTTP on loopback, the fake Lark's approval API (tenant-only
instance reads and decisions, as Lark serves them).
"""

from __future__ import annotations

from lark_mcp_server.caller_jwt import CALLER_JWT_HEADER
from tests.lark_fake import FakeLark
from tests.lark_fake.definitions import problems
from tests.server.harness import ServerProcess, call, error_text, payload

from .conftest import Person

BOB_LEAVE = {
    "instance_code": "81D31358-93AF-92D6-7425-01A5D67C4E71",
    "task_id": "7110153401253494803",
}
ALICE_LEAVE = {
    "instance_code": "B406468B-26D2-6509-A758-34D80A0F71A4",
    "task_id": "7110153401253494806",
}


def as_user(jwt: str) -> dict[str, str]:
    return {CALLER_JWT_HEADER: jwt}


def decisions(lark: FakeLark) -> list[dict]:
    return lark.writes("approval_decision")


def test_list_approval_tasks_pending_done_started(
    server: ServerProcess, lark: FakeLark, person: Person
):
    jwt, alice = person("ou_alice")
    pending = payload(call(server, "list_approval_tasks", {}, headers=as_user(jwt)))
    assert pending == {
        "tasks": [
            {
                "title": "Bob: 3 days leave, Dec 1-3",
                "approval": "Leave request",
                "instance_code": BOB_LEAVE["instance_code"],
                "task_id": BOB_LEAVE["task_id"],
                "from": "Bob Li",
                "link": "https://www.feishu.cn/approval/client/detail?instance="
                + BOB_LEAVE["instance_code"],
            },
            {
                "title": "Carol: conference travel",
                "approval": "Expense claim",
                "instance_code": "92E42469-04B0-43E7-8536-12B6E78D5F82",
                "task_id": "7110153401253494804",
                "from": "Carol Zhang",
                "link": "https://www.feishu.cn/approval/client/detail?instance="
                "92E42469-04B0-43E7-8536-12B6E78D5F82",
            },
        ],
        "has_more": False,
    }
    [query] = [r for r in lark.requests if r.path == "/open-apis/approval/v4/tasks/query"]
    assert query.headers["authorization"] == f"Bearer {alice.access_token}"
    assert query.query == {"user_id": "ou_alice", "topic": "1", "user_id_type": "open_id",
                           "page_size": "20"}  # fmt: skip
    done = payload(call(server, "list_approval_tasks", {"which": "done"}, headers=as_user(jwt)))
    assert [(t["title"], t["state"]) for t in done["tasks"]] == [("Dave: team lunch", "approved")]
    started = payload(
        call(server, "list_approval_tasks", {"which": "started"}, headers=as_user(jwt))
    )
    [mine] = started["tasks"]
    assert mine["instance_code"] == ALICE_LEAVE["instance_code"]
    assert "task_id" not in mine and "from" not in mine
    assert [p for r in lark.requests for p in problems(r)] == []


def test_approve_for_the_verified_person_once(
    server: ServerProcess, lark: FakeLark, person: Person
):
    jwt, _ = person("ou_alice")
    done = payload(
        call(server, "approve_task", {**BOB_LEAVE, "comment": "Enjoy"}, headers=as_user(jwt))
    )
    assert done == {**BOB_LEAVE, "status": "approved"}
    assert decisions(lark) == [
        {"task_id": BOB_LEAVE["task_id"], "outcome": "APPROVED", "by": "ou_alice",
         "comment": "Enjoy"}
    ]  # fmt: skip
    [post] = [r for r in lark.requests if r.path == "/open-apis/approval/v4/tasks/approve"]
    # Lark takes decisions from the app's token, naming the approver: the verified person.
    assert post.headers["authorization"].startswith("Bearer t-")
    assert post.json == {
        "approval_code": "7C468A54-8745-2245-9675-08B7C63E7A85",
        "instance_code": BOB_LEAVE["instance_code"],
        "user_id": "ou_alice",
        "task_id": BOB_LEAVE["task_id"],
        "comment": "Enjoy",
    }
    line = server.tool_logs("approve_task")[-1]
    assert line["as"] == "user" and line["open_id"] == "ou_alice" and line["token"] == "app"
    again = payload(call(server, "approve_task", BOB_LEAVE, headers=as_user(jwt)))
    assert again["status"] == "approved" and "nothing was sent again" in again["note"]
    assert len(decisions(lark)) == 1
    rejected = error_text(
        call(server, "reject_task", {**BOB_LEAVE, "comment": "no"}, headers=as_user(jwt))
    )
    assert "is approved, so it cannot be rejected" in rejected
    assert len(decisions(lark)) == 1
    # Every request fits Lark's definition: the user token for the list, the app's for the rest.
    assert [p for r in lark.requests for p in problems(r)] == []


def test_reject_needs_a_comment_and_only_the_assignees_task(
    server: ServerProcess, lark: FakeLark, person: Person
):
    jwt, _ = person("ou_alice")
    missing = error_text(call(server, "reject_task", BOB_LEAVE, headers=as_user(jwt)))
    assert "comment" in missing
    # Alice's own request waits for Bob: she cannot decide it, whatever ids she passes.
    theirs = error_text(
        call(server, "reject_task", {**ALICE_LEAVE, "comment": "x"}, headers=as_user(jwt))
    )
    assert "assigned to someone else" in theirs
    bad = error_text(
        call(server, "approve_task", {**BOB_LEAVE, "task_id": "1/../2"}, headers=as_user(jwt))
    )
    assert "task_id '1/../2' is not an approval task id" in bad
    assert decisions(lark) == []
    assert not [r for r in lark.requests if r.method == "POST" and "/approval/" in r.path]
    bob_jwt, _ = person("ou_bob")
    done = payload(
        call(
            server, "reject_task", {**ALICE_LEAVE, "comment": "Busy week"}, headers=as_user(bob_jwt)
        )
    )
    assert done["status"] == "rejected"
    assert decisions(lark)[0]["by"] == "ou_bob"


def test_an_ambiguous_failure_never_becomes_a_second_decision(
    server: ServerProcess, lark: FakeLark, person: Person
):
    jwt, _ = person("ou_alice")
    lark.inject(path="/open-apis/approval/v4/tasks/approve", rate_5xx=1.0, after_commit=True)
    text = error_text(call(server, "approve_task", BOB_LEAVE, headers=as_user(jwt)))
    assert "may or may not have taken effect" in text
    lark.clear_faults()
    again = payload(call(server, "approve_task", BOB_LEAVE, headers=as_user(jwt)))
    assert again["status"] == "approved" and "nothing was sent again" in again["note"]
    assert len(decisions(lark)) == 1
    posts = [r for r in lark.requests if r.path == "/open-apis/approval/v4/tasks/approve"]
    assert len(posts) == 1


def test_through_the_bot_approvals_need_the_person(server: ServerProcess, lark: FakeLark):
    for tool, args in (
        ("list_approval_tasks", {}),
        ("approve_task", BOB_LEAVE),
        ("reject_task", {**BOB_LEAVE, "comment": "x"}),
    ):
        text = error_text(call(server, tool, args))
        assert "signed-in person" in text and "Lark as me" in text
    assert lark.requests == []
