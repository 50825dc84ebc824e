"""Messaging as the caller (the signed-in person, or the bot): send, reply, chats, history."""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any, Literal

from pydantic import Field

from .formatting import (
    PageToken,
    iso_from_unix,
    message_text,
    page,
    page_size_arg,
    time_arg,
    unix_seconds,
)
from .lark_client import LarkCall
from .paths import CHAT_ID, MESSAGE_ID, OPEN_ID, IdShape, opaque, printable
from .registry import ToolSet

TOOLS = ToolSet()

MessageText = Annotated[
    str,
    Field(
        min_length=1,
        max_length=30000,
        description='Message text (plain text; @ mentions as <at user_id="ou_...">Name</at>).',
    ),
]


def _message(item: dict[str, Any], tz: dt.tzinfo | None = None) -> dict[str, Any]:
    """A Lark message as the few fields an agent reads; the usual values (a person's plain
    text message) go unsaid: `sender_type` only when not a user, `type` only when not text."""
    sender = item.get("sender") or {}
    msg_type = item.get("msg_type")
    sender_type = sender.get("sender_type")
    return {
        "message_id": item.get("message_id"),
        "chat_id": item.get("chat_id"),
        "time": iso_from_unix(item.get("create_time"), tz, millis=True),
        "sender": sender.get("id"),
        "sender_type": sender_type if sender_type != "user" else None,
        "type": msg_type if msg_type != "text" else None,
        "text": message_text(msg_type, (item.get("body") or {}).get("content")),
        "reply_to": item.get("parent_id"),
        "thread_id": item.get("thread_id"),
        "deleted": item.get("deleted") or None,
    }


def _sent(item: dict[str, Any], *, repeat: bool) -> dict[str, Any]:
    """A message just sent: what the request did not already say (its id, chat and time)."""
    return {
        "message_id": item.get("message_id"),
        "chat_id": None if repeat else item.get("chat_id"),
        "time": iso_from_unix(item.get("create_time"), None, millis=True),
    }


def _chat(item: dict[str, Any]) -> dict[str, Any]:
    """A Lark chat as the fields an agent needs to pick one and address it."""
    return {
        "chat_id": item.get("chat_id"),
        "name": item.get("name"),
        "description": item.get("description"),
        "external": item.get("external") or None,
    }


def _text_content(text: str) -> str:
    return json.dumps({"text": text}, ensure_ascii=False)


# What receive_id must look like for each receive_id_type (emails: checked for control chars).
_RECEIVERS: dict[str, IdShape] = {
    "chat_id": CHAT_ID,
    "open_id": OPEN_ID,
    "union_id": IdShape(
        "union_id",
        "a union_id",
        r"on_[A-Za-z0-9_-]{1,125}",
        "on_ then letters/digits",
        "on_94a1ee5551019f18cd73d9f111898cf2",
    ),
    "user_id": opaque("user_id", "a user_id"),
}


@TOOLS.tool(
    title="Send message",
    description="Send a text message to a chat or a person: as you when signed in, else as the "
    "bot (which must be in the chat).",
    read_only=False,
)
async def send_message(
    lark: LarkCall,
    receive_id: Annotated[
        str, Field(min_length=1, description="Who receives it: a chat_id (oc_...) by default.")
    ],
    text: MessageText,
    receive_id_type: Annotated[
        Literal["chat_id", "open_id", "user_id", "union_id", "email"],
        Field(description="What receive_id is."),
    ] = "chat_id",
) -> dict[str, Any]:
    shape = _RECEIVERS.get(receive_id_type)
    if shape is not None:
        receive_id = shape.check("receive_id", receive_id)
    else:
        receive_id = printable("receive_id", receive_id.strip(), what="an email address")
    data = await lark.post(
        "/open-apis/im/v1/messages",
        params={"receive_id_type": receive_id_type},
        json={
            "receive_id": receive_id,
            "msg_type": "text",
            "content": _text_content(text),
            "uuid": lark.new_key(),
        },
        idempotent=True,
    )
    return _sent(data, repeat=receive_id_type == "chat_id")


@TOOLS.tool(
    title="Reply to message",
    description="Reply to a message, quoting it in its chat (as you when signed in, else the bot).",
    read_only=False,
)
async def reply_message(
    lark: LarkCall,
    message_id: Annotated[
        str, Field(min_length=1, description="The message to reply to (om_...).")
    ],
    text: MessageText,
) -> dict[str, Any]:
    data = await lark.post(
        "/open-apis/im/v1/messages/{message_id}/reply",
        MESSAGE_ID.segment("message_id", message_id),
        json={"msg_type": "text", "content": _text_content(text), "uuid": lark.new_key()},
        idempotent=True,
    )
    return _sent(data, repeat=False)


@TOOLS.tool(
    title="List chats",
    description="List the group chats you (signed in) or the bot are a member of, with chat_id.",
    read_only=True,
)
async def list_chats(
    lark: LarkCall,
    page_size: page_size_arg(20, 100) = 20,
    page_token: PageToken = None,
) -> dict[str, Any]:
    data = await lark.get(
        "/open-apis/im/v1/chats", params={"page_size": page_size, "page_token": page_token}
    )
    chats = [_chat(item) for item in data.get("items") or []]
    return page({"chats": chats}, data)


@TOOLS.tool(
    title="List messages",
    description="Read a chat's messages, newest first, optionally within a time window.",
    read_only=True,
)
async def list_messages(
    lark: LarkCall,
    chat_id: Annotated[str, Field(min_length=1, description="The chat (oc_...).")],
    start_time: time_arg("Only messages from this time on", optional=True) = None,
    end_time: time_arg("Only messages up to this time", optional=True) = None,
    page_size: page_size_arg(20, 50) = 20,
    page_token: PageToken = None,
) -> dict[str, Any]:
    tz = (start_time or end_time).tzinfo if (start_time or end_time) else None
    chat_id = CHAT_ID.check("chat_id", chat_id)
    data = await lark.get(
        "/open-apis/im/v1/messages",
        params={
            "container_id_type": "chat",
            "container_id": chat_id,
            "start_time": unix_seconds(start_time) if start_time else None,
            "end_time": unix_seconds(end_time) if end_time else None,
            "sort_type": "ByCreateTimeDesc",
            "page_size": page_size,
            "page_token": page_token,
        },
    )
    messages = [_message(item, tz) for item in data.get("items") or []]
    for message in messages:
        message.pop("chat_id", None)  # the chat asked for: not repeated on each message
    return page({"messages": messages}, data)


@TOOLS.tool(
    title="Search chats",
    description="Find group chats visible to you (or the bot) by words in name or description.",
    read_only=True,
)
async def search_chats(
    lark: LarkCall,
    query: Annotated[str, Field(min_length=1, max_length=64, description="Words to look for.")],
    page_size: page_size_arg(20, 100) = 20,
    page_token: PageToken = None,
) -> dict[str, Any]:
    data = await lark.get(
        "/open-apis/im/v1/chats/search",
        params={"query": query, "page_size": page_size, "page_token": page_token},
    )
    chats = [_chat(item) for item in data.get("items") or []]
    return page({"chats": chats}, data)


@TOOLS.tool(
    title="Get chat members",
    description="List the people in a chat, with their open_id and name.",
    read_only=True,
)
async def get_chat_members(
    lark: LarkCall,
    chat_id: Annotated[str, Field(min_length=1, description="The chat (oc_...).")],
    page_size: page_size_arg(20, 100) = 20,
    page_token: PageToken = None,
) -> dict[str, Any]:
    segment = CHAT_ID.segment("chat_id", chat_id)
    data = await lark.get(
        "/open-apis/im/v1/chats/{chat_id}/members",
        segment,
        params={"member_id_type": "open_id", "page_size": page_size, "page_token": page_token},
    )
    members = [
        {"open_id": item.get("member_id"), "name": item.get("name")}
        for item in data.get("items") or []
    ]
    result: dict[str, Any] = {"members": members}
    if isinstance(data.get("member_total"), int):
        result["member_total"] = data["member_total"]
    return page(result, data)
