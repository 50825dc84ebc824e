"""task/v2: create, read and patch tasks (client_token in the body makes create idempotent)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from .errors import LarkError, field_error, user_id_type
from .routing import Call, Endpoint

if TYPE_CHECKING:
    from .fake import FakeLark

INVALID_PARAM = 1470400  # "invalid param"
TASK_NOT_FOUND = 1470404  # task does not exist or was deleted
UPDATABLE = (
    "summary",
    "description",
    "start",
    "due",
    "completed_at",
    "extra",
    "repeat_rule",
    "custom_complete",
    "mode",
    "is_milestone",
)


def _bad(msg: str) -> LarkError:
    return LarkError(INVALID_PARAM, f"invalid param: {msg}")


def _ms(value: Any, where: str) -> str:
    """Task timestamps are milliseconds, sent as strings (numbers are tolerated)."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.isdigit():
        raise field_error(where, f"{where} must be a Unix timestamp in milliseconds, as a string")
    if value != "0" and len(value) < 12:
        raise _bad(f"{where} looks like seconds; tasks take milliseconds")
    return value


def _due(value: Any, where: str) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict) or "timestamp" not in value:
        raise field_error(where, f"{where} must be {{timestamp: '<ms>', is_all_day: false}}")
    return {
        "timestamp": _ms(value["timestamp"], f"{where}.timestamp"),
        "is_all_day": bool(value.get("is_all_day", False)),
    }


def _text(task: dict[str, Any], name: str, limit: int, required: bool = False) -> str:
    value = task.get(name, "")
    if value is None:
        value = ""
    if not isinstance(value, str) or len(value) > limit:
        raise field_error(name, f"{name} must be a string of at most {limit} characters")
    if required and not value.strip():
        raise field_error(name, f"{name} is required")
    return value


def _members(fake: FakeLark, value: Any, id_type: str) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise field_error("members", "members must be a list of {id, type, role}")
    out = []
    for i, member in enumerate(value):
        if not isinstance(member, dict) or not isinstance(member.get("id"), str):
            raise field_error(f"members[{i}].id", "each member needs an id")
        role = member.get("role")
        if role not in ("assignee", "follower"):
            raise field_error(f"members[{i}].role", "role must be assignee or follower")
        if member.get("type", "user") != "user":
            raise field_error(f"members[{i}].type", "type must be user")
        user = next((u for u in fake.users if u[id_type] == member["id"]), None)
        if user is None:
            raise _bad(f"members[{i}].id {member['id']!r} is not a known {id_type}")
        out.append({"id": member["id"], "type": "user", "role": role, "name": user["name"]})
    return out


def _task(fake: FakeLark, guid: str) -> dict[str, Any]:
    for task in fake.tasks:
        if task["guid"] == guid:
            return task
    raise LarkError(TASK_NOT_FOUND, "task not found", status=404)


async def create_task(fake: FakeLark, call: Call) -> dict[str, Any]:
    id_type = user_id_type(call.query)
    body = call.body
    summary = _text(body, "summary", 3000, required=True)
    description = _text(body, "description", 3000)
    due = _due(body.get("due"), "due")
    start = _due(body.get("start"), "start")
    members = _members(fake, body.get("members"), id_type)
    key = body.get("client_token")
    if key is not None and (not isinstance(key, str) or not 1 <= len(key) <= 100):
        raise field_error("client_token", "client_token must be a string of 1-100 characters")
    if (hit := fake.remembered("task", key)) is not None:
        return hit
    n = fake.new_id("", 12)
    guid = f"{n[:8]}-0000-4000-8000-{n}"
    now = str(int(time.time() * 1000))
    task = {
        "guid": guid,
        "task_id": f"t{n[-6:]}",
        "summary": summary,
        "description": description,
        "due": due,
        "start": start,
        "members": members,
        "creator": {"id": fake.app_id, "type": "app", "role": "creator"},
        "status": "todo",
        "completed_at": "0",
        "created_at": now,
        "updated_at": now,
        "extra": body.get("extra", ""),
        "url": f"https://applink.feishu.cn/client/todo/detail?guid={guid}",
        "mode": body.get("mode", 2),
        "is_milestone": bool(body.get("is_milestone", False)),
    }
    fake.tasks.append(task)
    fake.record_write("task", task)
    data = {"task": task}
    fake.remember("task", key, data)
    return data


async def get_task(fake: FakeLark, call: Call) -> dict[str, Any]:
    user_id_type(call.query)
    return {"task": _task(fake, call.params["task_guid"])}


async def patch_task(fake: FakeLark, call: Call) -> dict[str, Any]:
    user_id_type(call.query)
    task = _task(fake, call.params["task_guid"])
    fields = call.body.get("update_fields")
    if not isinstance(fields, list) or not fields:
        raise field_error("update_fields", "update_fields must list the fields to change")
    unknown = [f for f in fields if f not in UPDATABLE]
    if unknown:
        raise _bad(
            f"update_fields {unknown} cannot be updated here (allowed: "
            f"{', '.join(UPDATABLE)}; members have their own API)"
        )
    new = call.body.get("task")
    if not isinstance(new, dict):
        raise field_error("task", "task must be an object holding the new values")
    changes: dict[str, Any] = {}
    for name in fields:
        if name == "summary":
            changes[name] = _text(new, "summary", 3000, required=True)
        elif name == "description":
            changes[name] = _text(new, "description", 3000)
        elif name in ("due", "start"):
            changes[name] = _due(new.get(name), name)
        elif name == "completed_at":
            stamp = _ms(new.get("completed_at", "0"), "completed_at")
            changes[name] = stamp
            changes["status"] = "todo" if stamp == "0" else "done"
        else:
            changes[name] = new.get(name)
    task.update(changes)
    task["updated_at"] = str(int(time.time() * 1000))
    fake.record_write(
        "task_update", {"guid": task["guid"], "update_fields": list(fields), "changes": changes}
    )
    return {"task": task}


def endpoints() -> list[Endpoint]:
    base = "/open-apis/task/v2/tasks"
    return [
        Endpoint("POST", base, create_task),
        Endpoint("GET", f"{base}/{{task_guid}}", get_task),
        Endpoint("PATCH", f"{base}/{{task_guid}}", patch_task),
    ]
