"""Approvals as the signed-in person: the tasks waiting for them, done by them or started by
them, and approving or rejecting one.

Lark lists a person's tasks to their own token (`tasks/query`), but reads instances and takes
decisions (`instances/{id}`, `tasks/approve`, `tasks/reject`) from the app's token only, naming
the approver in the body. So a decision is only ever made for the person whose caller JWT was
verified (`lark.acting_for`), never for an id an argument names; through the bot these tools
say they need the person. A decision is sent once: it is checked against the instance first
(already decided: said so, nothing sent), and never resent after an ambiguous failure.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from mcp.server.mcpserver.exceptions import ToolError
from pydantic import Field

from .formatting import PageToken, page, page_size_arg
from .lark_client import LarkCall
from .paths import APPROVAL_INSTANCE, APPROVAL_TASK_ID
from .registry import ToolSet

TOOLS = ToolSet()

_TOPICS = {"pending": "1", "done": "2", "started": "3"}
# tasks/query: the task's own status, and its instance's.
_TASK_STATUS = {"1": "pending", "2": "done", "17": "unread", "18": "read", "33": "processing",
                "34": "withdrawn"}  # fmt: skip
_PROCESS_STATUS = {"1": "running", "2": "approved", "3": "rejected", "4": "withdrawn",
                   "5": "terminated"}  # fmt: skip

InstanceCode = Annotated[
    str, Field(min_length=1, description="instance_code from list_approval_tasks.")
]
TaskId = Annotated[str, Field(min_length=1, description="task_id from list_approval_tasks.")]
Comment = Annotated[
    str | None, Field(max_length=2000, description="Comment shown with your decision.")
]


def _person(lark: LarkCall) -> str:
    who = lark.user.open_id if lark.user is not None else lark.acting_for
    if not who:  # registry lets only a verified person through (needs_user)
        raise ToolError("This tool acts only for a signed-in person.")
    return who


def _task(item: dict[str, Any]) -> dict[str, Any]:
    urls = item.get("urls") or {}
    status = str(item.get("process_status") or "")
    return {
        "title": item.get("title") or item.get("definition_name"),
        "approval": item.get("definition_name"),
        "instance_code": item.get("process_code"),
        "task_id": str(item["task_id"]) if item.get("task_id") not in (None, "", 0) else None,
        "from": ", ".join(n for n in item.get("initiator_names") or [] if isinstance(n, str))
        or None,
        "state": _PROCESS_STATUS.get(status) if status not in ("", "1") else None,
        "link": urls.get("pc") or urls.get("mobile"),
    }


@TOOLS.tool(
    title="List my approvals",
    description="Approval tasks waiting for you (pending), ones you decided (done), or "
    "requests you started (signed in only).",
    read_only=True,
    needs_user=True,
)
async def list_approval_tasks(
    lark: LarkCall,
    which: Annotated[
        Literal["pending", "done", "started"],
        Field(description="pending (default), done or started (by you)."),
    ] = "pending",
    page_size: page_size_arg(20, 100) = 20,
    page_token: PageToken = None,
) -> dict[str, Any]:
    data = await lark.get(
        "/open-apis/approval/v4/tasks/query",
        params={
            "user_id": _person(lark),
            "topic": _TOPICS[which],
            "user_id_type": "open_id",
            "page_size": page_size,
            "page_token": page_token,
        },
    )
    tasks = [_task(item) for item in data.get("tasks") or [] if isinstance(item, dict)]
    if which == "started":  # your own requests: no task of yours to decide
        for task in tasks:
            task.pop("task_id", None)
            task.pop("from", None)
    return page({"tasks": tasks}, data)


async def _decide(
    lark: LarkCall, action: Literal["approve", "reject"], instance_code: str, task_id: str,
    comment: str | None,
) -> dict[str, Any]:  # fmt: skip
    person = _person(lark)
    code = APPROVAL_INSTANCE.check("instance_code", instance_code)
    task_id = APPROVAL_TASK_ID.check("task_id", task_id)
    instance = await lark.get(
        "/open-apis/approval/v4/instances/{instance_id}",
        APPROVAL_INSTANCE.segment("instance_code", code),
        params={"user_id_type": "open_id"},
    )
    task = next((t for t in instance.get("task_list") or [] if str(t.get("id")) == task_id), None)
    if task is None:
        raise ToolError(
            f"The approval {code} has no task {task_id}; list_approval_tasks gives the pair."
        )
    if task.get("open_id") != person:
        raise ToolError(f"Task {task_id} is assigned to someone else, not to you.")
    done = {"approve": "APPROVED", "reject": "REJECTED"}[action]
    status = str(task.get("status") or "")
    if status == done:
        return {"instance_code": code, "task_id": task_id, "status": done.lower(),
                "note": "Already decided this way; nothing was sent again."}  # fmt: skip
    if status != "PENDING":
        raise ToolError(
            f"Task {task_id} is {status.lower() or 'not pending'}, so it cannot be "
            f"{done.lower()} now."
        )
    # Lark takes no idempotency key for a decision: the client does not resend it after an
    # ambiguous failure, and calling the tool again reads the task's state before deciding.
    body = {
        "approval_code": instance.get("approval_code"),
        "instance_code": code,
        "user_id": person,
        "task_id": task_id,
        "comment": comment or None,
    }
    query = {"user_id_type": "open_id"}
    if action == "approve":
        await lark.post("/open-apis/approval/v4/tasks/approve", params=query, json=body)
    else:
        await lark.post("/open-apis/approval/v4/tasks/reject", params=query, json=body)
    return {"instance_code": code, "task_id": task_id, "status": done.lower()}


@TOOLS.tool(
    title="Approve task",
    description="Approve an approval task assigned to you, optionally with a comment (signed "
    "in only).",
    read_only=False,
    destructive=True,
    needs_user=True,
    app_only=True,  # Lark takes decisions from the app's token, naming the approver
)
async def approve_task(
    lark: LarkCall, instance_code: InstanceCode, task_id: TaskId, comment: Comment = None
) -> dict[str, Any]:
    return await _decide(lark, "approve", instance_code, task_id, comment)


@TOOLS.tool(
    title="Reject task",
    description="Reject an approval task assigned to you, with a comment saying why (signed in "
    "only).",
    read_only=False,
    destructive=True,
    needs_user=True,
    app_only=True,
)
async def reject_task(
    lark: LarkCall,
    instance_code: InstanceCode,
    task_id: TaskId,
    comment: Annotated[
        str, Field(min_length=1, max_length=2000, description="Why it is rejected.")
    ],
) -> dict[str, Any]:
    return await _decide(lark, "reject", instance_code, task_id, comment)
