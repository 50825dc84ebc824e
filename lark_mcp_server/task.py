"""Tasks (task v2): create a task for people, and change or complete it."""

from __future__ import annotations

import datetime as dt
import time
from typing import Annotated, Any

from mcp.server.mcpserver.exceptions import ToolError
from pydantic import Field

from .formatting import iso_from_unix, time_arg
from .lark_client import LarkCall
from .paths import OPEN_ID, TASK_GUID
from .registry import ToolSet

TOOLS = ToolSet()

TASKS = "/open-apis/task/v2/tasks"

Summary = Annotated[str, Field(min_length=1, max_length=3000, description="Task title.")]
Description = Annotated[str | None, Field(max_length=3000, description="Details.")]


def _due(moment: dt.datetime) -> dict[str, Any]:
    """Lark's due time: milliseconds as a string, not all-day."""
    return {"timestamp": str(round(moment.timestamp() * 1000)), "is_all_day": False}


def _task(task: dict[str, Any], tz: dt.tzinfo | None) -> dict[str, Any]:
    due = task.get("due") or {}
    completed_at = str(task.get("completed_at") or "0")
    return {
        "task_guid": task.get("guid"),
        "summary": task.get("summary"),
        "description": task.get("description"),
        "due": iso_from_unix(due.get("timestamp"), tz, millis=True),
        "assignees": [
            m.get("id") for m in task.get("members") or [] if m.get("role") == "assignee"
        ],
        "completed": completed_at != "0",
        "completed_at": iso_from_unix(completed_at, tz, millis=True),
        "url": task.get("url"),
    }


@TOOLS.tool(
    title="Create task",
    description="Create a Lark task, optionally with a due time and assignees (open_ids).",
    read_only=False,
)
async def create_task(
    lark: LarkCall,
    summary: Summary,
    description: Description = None,
    due: time_arg("When it is due", optional=True) = None,
    assignees: Annotated[
        list[str] | None,
        Field(max_length=50, description="People responsible: open_ids (ou_...)."),
    ] = None,
) -> dict[str, Any]:
    people = list(
        dict.fromkeys(OPEN_ID.check("assignees", a) for a in assignees or [] if a.strip())
    )
    body: dict[str, Any] = {
        "summary": summary,
        "description": description,
        "members": [{"id": p, "type": "user", "role": "assignee"} for p in people] or None,
        "due": _due(due) if due else None,
        "client_token": lark.new_key(),
    }
    data = await lark.post(
        TASKS,
        params={"user_id_type": "open_id"},
        json={k: v for k, v in body.items() if v is not None},
        idempotent=True,  # the client_token makes Lark answer a retry with the first task
    )
    return _task(data.get("task") or {}, due.tzinfo if due else None)


@TOOLS.tool(
    title="Update task",
    description="Change a task's title, description or due time, or mark it completed or not.",
    read_only=False,
    idempotent=True,
)
async def update_task(
    lark: LarkCall,
    task_guid: Annotated[str, Field(min_length=1, description="The task's task_guid.")],
    summary: Annotated[
        str | None, Field(min_length=1, max_length=3000, description="New title.")
    ] = None,
    description: Description = None,
    due: time_arg("New due time", optional=True) = None,
    completed: Annotated[
        bool | None, Field(description="true: mark done now; false: reopen.")
    ] = None,
) -> dict[str, Any]:
    task = TASK_GUID.segment("task_guid", task_guid)
    changes: dict[str, Any] = {}
    if summary is not None:
        changes["summary"] = summary
    if description is not None:
        changes["description"] = description
    if due is not None:
        changes["due"] = _due(due)
    if completed is not None:
        changes["completed_at"] = str(int(time.time() * 1000)) if completed else "0"
    if not changes:
        raise ToolError("Nothing to change: give summary, description, due or completed.")
    # Setting the same values again leaves the same task: safe to retry.
    data = await lark.patch(
        TASKS + "/{task_guid}",
        task,
        params={"user_id_type": "open_id"},
        json={"task": changes, "update_fields": list(changes)},
        idempotent=True,
    )
    return _task(data.get("task") or {}, due.tzinfo if due else None)
