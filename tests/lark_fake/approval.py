"""approval/v4: a person's task list, instance details, and approve / reject.

As Lark serves them: `tasks/query` to a tenant or user token (`user_id` and `topic` required:
1 pending, 2 done, 3 started, 17/18 notices); `instances/{instance_id}` and the decisions to
the tenant token only (a user token answers 99991668), the decision naming the approver in
`user_id` with `approval_code`, `instance_code` and `task_id`, all required. A task that is not
the approver's, or no longer pending, is refused.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import LarkError, field_error, user_id_type
from .paging import paginate
from .routing import Call, Endpoint
from .user_api import USER_TOKEN_INVALID

if TYPE_CHECKING:
    from .fake import FakeLark

PARAM_INVALID = 1390001  # "param is invalid"
INSTANCE_NOT_FOUND = 1390003  # "instance code not found"
TASK_NOT_PENDING = 1390015  # "task has been done"  (a decided task)
NOT_APPROVER = 1390016  # "user is not the approver of the task"

_PROCESS = {"PENDING": "1", "APPROVED": "2", "REJECTED": "3", "CANCELED": "4"}


def _tenant_only(call: Call) -> None:
    if call.user is not None:
        raise LarkError(
            USER_TOKEN_INVALID,
            "Invalid access token for authorization. This API takes a tenant_access_token.",
        )


def _instance(fake: FakeLark, code: Any) -> dict[str, Any]:
    for inst in fake.approvals:
        if inst["instance_code"] == code:
            return inst
    raise LarkError(INSTANCE_NOT_FOUND, "instance code not found")


def _query_item(fake: FakeLark, inst: dict[str, Any], task: dict[str, Any] | None, topic: str):
    initiator = fake.user(inst["open_id"])
    status = "1" if task is not None and task["status"] == "PENDING" else "2"
    return {
        "topic": topic,
        "user_id": initiator["user_id"],
        "title": inst["title"],
        "urls": {
            "helpdesk": "",
            "mobile": f"https://applink.feishu.cn/client/mini_program/open?code={inst['instance_code']}",
            "pc": f"https://www.feishu.cn/approval/client/detail?instance={inst['instance_code']}",
        },
        "process_external_id": "",
        "task_external_id": "",
        "status": status if topic != "3" else "",
        "process_status": _PROCESS.get(inst["status"], "0"),
        "definition_code": inst["approval_code"],
        "initiators": [initiator["user_id"]],
        "initiator_names": [initiator["name"]],
        "task_id": task["task_id"] if task is not None else "",
        "process_id": inst["instance_code"][:8],
        "process_code": inst["instance_code"],
        "definition_group_id": "7000000000000000001",
        "definition_group_name": "HR",
        "definition_id": inst["approval_code"][:8],
        "definition_name": inst["approval_name"],
    }


async def query_tasks(fake: FakeLark, call: Call) -> dict[str, Any]:
    kind = user_id_type(call.query)
    user_id, topic = call.query.get("user_id"), call.query.get("topic")
    if not user_id:
        raise field_error("user_id", "user_id is required")
    if topic not in ("1", "2", "3", "17", "18"):
        raise field_error("topic", "topic must be one of 1, 2, 3, 17, 18")
    person = next((u for u in fake.users if u[kind] == user_id), None)
    if person is None:
        raise LarkError(PARAM_INVALID, "param is invalid: user_id")
    if call.user is not None and call.user != person["open_id"]:
        raise LarkError(PARAM_INVALID, "param is invalid: a user token queries its own tasks")
    me = person["open_id"]
    items = []
    for inst in fake.approvals:
        if topic == "3":
            if inst["open_id"] == me:
                items.append(_query_item(fake, inst, None, topic))
            continue
        for task in inst["task_list"]:
            pending = task["status"] == "PENDING"
            if task["open_id"] == me and (
                pending if topic == "1" else topic == "2" and not pending
            ):
                items.append(_query_item(fake, inst, task, topic))
    page, more, token = paginate(items, call.query, scope=f"approvals:{me}:{topic}", maximum=200)
    return {"tasks": page, "has_more": more, "page_token": token,
            "count": {"total": len(items), "has_more": more}}  # fmt: skip


async def get_instance(fake: FakeLark, call: Call) -> dict[str, Any]:
    _tenant_only(call)
    kind = user_id_type(call.query)
    inst = _instance(fake, call.params["instance_id"])
    initiator = fake.user(inst["open_id"])
    return {
        "approval_name": inst["approval_name"],
        "approval_code": inst["approval_code"],
        "instance_code": inst["instance_code"],
        "start_time": inst["start_time"],
        "end_time": "0",
        "user_id": initiator[kind],
        "open_id": initiator["open_id"],
        "serial_number": inst["serial_number"],
        "department_id": "",
        "status": inst["status"],
        "uuid": inst["instance_code"][:8],
        "form": "[]",
        "task_list": [
            {
                "id": t["task_id"],
                "user_id": fake.user(t["open_id"])[kind],
                "open_id": t["open_id"],
                "status": t["status"],
                "node_id": "46e6d96cfa756980907209209ec03b64",
                "node_name": t["node_name"],
                "custom_node_id": "",
                "type": "AND",
                "start_time": t["start_time"],
                "end_time": t.get("end_time", "0"),
            }
            for t in inst["task_list"]
        ],
        "comment_list": inst["comments"],
        "timeline": [],
    }


def _decide(outcome: str):
    async def handler(fake: FakeLark, call: Call) -> dict[str, Any]:
        _tenant_only(call)
        kind = user_id_type(call.query)
        body = call.body
        for name in ("approval_code", "instance_code", "user_id", "task_id"):
            if not isinstance(body.get(name), str) or not body[name]:
                raise field_error(name, f"{name} is required")
        comment = body.get("comment")
        if comment is not None and not isinstance(comment, str):
            raise field_error("comment", "comment must be a string")
        inst = _instance(fake, body["instance_code"])
        if inst["approval_code"] != body["approval_code"]:
            raise LarkError(PARAM_INVALID, "param is invalid: approval_code")
        task = next((t for t in inst["task_list"] if t["task_id"] == body["task_id"]), None)
        if task is None:
            raise LarkError(PARAM_INVALID, "param is invalid: task_id")
        if fake.user(task["open_id"])[kind] != body["user_id"]:
            raise LarkError(NOT_APPROVER, "user is not the approver of the task")
        if task["status"] != "PENDING":
            raise LarkError(TASK_NOT_PENDING, "task has been done")
        task["status"] = outcome
        inst["status"] = outcome
        if comment:
            inst["comments"].append({"user_id": task["open_id"], "comment": comment})
        fake.record_write(
            "approval_decision",
            {
                "task_id": task["task_id"],
                "outcome": outcome,
                "by": task["open_id"],
                "comment": comment,
            },
        )
        return {}

    return handler


def endpoints() -> list[Endpoint]:
    v4 = "/open-apis/approval/v4"
    return [
        Endpoint("GET", f"{v4}/tasks/query", query_tasks),
        Endpoint("GET", f"{v4}/instances/{{instance_id}}", get_instance),
        Endpoint("POST", f"{v4}/tasks/approve", _decide("APPROVED")),
        Endpoint("POST", f"{v4}/tasks/reject", _decide("REJECTED")),
    ]
