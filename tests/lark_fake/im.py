"""im/v1: send, reply and list messages; list, search and inspect chats."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

from .errors import LarkError, field_error, require
from .paging import paginate
from .routing import Call, Endpoint

if TYPE_CHECKING:
    from .fake import FakeLark

INVALID_PARAM = 230001  # "Your request contains an invalid request parameter."
BOT_NOT_IN_CHAT = 230002
USER_UNREACHABLE = 230013  # "Bot has NO availability to this user."
CONTENT_TOO_LONG = 230025

RECEIVE_ID_TYPES = ("chat_id", "open_id", "user_id", "union_id", "email")
MSG_TYPES = (
    "text",
    "post",
    "image",
    "file",
    "audio",
    "media",
    "sticker",
    "interactive",
    "share_chat",
    "share_user",
    "system",
)
LOCALES = ("zh_cn", "en_us", "ja_jp")


def _invalid(what: str) -> LarkError:
    return LarkError(
        INVALID_PARAM,
        f"Your request contains an invalid request parameter, ext={what}",
    )


def _normalise_content(msg_type: str, content: Any) -> str:
    """Validate `content` (a JSON string) as Lark does; return what a later read shows."""
    if not isinstance(content, str):
        raise field_error("content", "content must be a string holding JSON")
    limit = 30 * 1024 if msg_type in ("post", "interactive") else 150 * 1024
    if len(content.encode()) > limit:
        raise LarkError(CONTENT_TOO_LONG, "The length of the message content reaches its limit.")
    try:
        parsed = json.loads(content)
    except ValueError as err:
        raise _invalid("content is not a string in json format") from err
    if not isinstance(parsed, dict):
        raise _invalid("content is not a json object")
    if msg_type == "text":
        if not isinstance(parsed.get("text"), str) or not parsed["text"]:
            raise _invalid('text content must be {"text": "<non-empty string>"}')
        return content
    if msg_type == "post":
        # Sent as {"zh_cn": {"title", "content"}}; read back without the locale wrapper.
        body = next((parsed[k] for k in LOCALES if isinstance(parsed.get(k), dict)), parsed)
        paragraphs = body.get("content")
        if not isinstance(paragraphs, list) or not all(isinstance(p, list) for p in paragraphs):
            raise _invalid("post content must be {locale: {title, content: [[element, ...]]}}")
        for paragraph in paragraphs:
            for element in paragraph:
                if not isinstance(element, dict) or "tag" not in element:
                    raise _invalid("every post element needs a tag")
        return json.dumps(
            {"title": body.get("title", ""), "content": paragraphs}, ensure_ascii=False
        )
    required = {
        "image": "image_key",
        "file": "file_key",
        "share_chat": "chat_id",
        "share_user": "user_id",
        "audio": "file_key",
        "media": "file_key",
        "sticker": "file_key",
    }.get(msg_type)
    if required and not parsed.get(required):
        raise _invalid(f"{msg_type} content needs {required}")
    return content


def _chat(fake: FakeLark, chat_id: str) -> dict[str, Any]:
    for chat in fake.chats:
        if chat["chat_id"] == chat_id:
            return chat
    if chat_id in fake.p2p_chats:
        return fake.p2p_chats[chat_id]
    raise _invalid(f"chat {chat_id} not found")


def _target_chat(fake: FakeLark, receive_id_type: str, receive_id: str) -> str:
    if receive_id_type == "chat_id":
        return _chat(fake, receive_id)["chat_id"]
    key = {"open_id": "open_id", "user_id": "user_id", "union_id": "union_id", "email": "email"}[
        receive_id_type
    ]
    for user in fake.users:
        if user[key] == receive_id:
            # A 1:1 chat between the bot and the user: readable, but not in the group lists.
            chat_id = f"oc_p2p_{user['user_id']}"
            fake.p2p_chats.setdefault(
                chat_id, {"chat_id": chat_id, "name": user["name"], "chat_mode": "p2p"}
            )
            fake.chat_members.setdefault(chat_id, [user["open_id"]])
            return chat_id
    raise LarkError(USER_UNREACHABLE, "Bot has NO availability to this user.")


def _new_message(
    fake: FakeLark, chat_id: str, msg_type: str, content: str, parent: dict[str, Any] | None = None
) -> dict[str, Any]:
    now_ms = str(int(time.time() * 1000))
    return {
        "message_id": fake.new_id("om_c"),
        "root_id": (parent.get("root_id") or parent["message_id"]) if parent else "",
        "parent_id": parent["message_id"] if parent else "",
        "thread_id": "",
        "msg_type": msg_type,
        "create_time": now_ms,
        "update_time": now_ms,
        "deleted": False,
        "updated": False,
        "chat_id": chat_id,
        "sender": {
            "id": fake.app_id,
            "id_type": "app_id",
            "sender_type": "app",
            "tenant_key": fake.tenant_key,
        },
        "body": {"content": content},
        "mentions": [],
    }


def _msg_type(body: dict[str, Any]) -> str:
    msg_type = require(body, "msg_type")
    if msg_type not in MSG_TYPES:
        raise field_error("msg_type", f"msg_type must be one of {', '.join(MSG_TYPES)}")
    return msg_type


def _uuid(body: dict[str, Any]) -> str | None:
    key = body.get("uuid")
    if key is not None and (not isinstance(key, str) or len(key) > 50):
        raise field_error("uuid", "uuid must be a string of at most 50 characters")
    return key or None


async def send(fake: FakeLark, call: Call) -> dict[str, Any]:
    id_type = call.query.get("receive_id_type", "")
    if id_type not in RECEIVE_ID_TYPES:
        raise field_error(
            "receive_id_type", f"receive_id_type must be one of {', '.join(RECEIVE_ID_TYPES)}"
        )
    receive_id = require(call.body, "receive_id")
    msg_type = _msg_type(call.body)
    content = _normalise_content(msg_type, call.body.get("content"))
    key = _uuid(call.body)
    if (hit := fake.remembered("message", key)) is not None:
        return hit
    message = _new_message(fake, _target_chat(fake, id_type, receive_id), msg_type, content)
    fake.messages.append(message)
    fake.record_write("message", message)
    fake.remember("message", key, message)
    return message


async def reply(fake: FakeLark, call: Call) -> dict[str, Any]:
    message_id = call.params["message_id"]
    parent = next((m for m in fake.messages if m["message_id"] == message_id), None)
    if parent is None:
        raise _invalid(f"message_id {message_id} not found")
    msg_type = _msg_type(call.body)
    content = _normalise_content(msg_type, call.body.get("content"))
    key = _uuid(call.body)
    if (hit := fake.remembered("message", key)) is not None:
        return hit
    message = _new_message(fake, parent["chat_id"], msg_type, content, parent)
    fake.messages.append(message)
    fake.record_write("message", message)
    fake.remember("message", key, message)
    return message


def _seconds(query: dict[str, str], name: str) -> int | None:
    raw = query.get(name)
    if raw in (None, ""):
        return None
    if not raw.isdigit() or len(raw) > 11:
        raise field_error(name, f"{name} must be a Unix timestamp in seconds")
    return int(raw)


async def list_messages(fake: FakeLark, call: Call) -> dict[str, Any]:
    if call.query.get("container_id_type") not in ("chat", "thread"):
        raise field_error("container_id_type", "container_id_type must be chat or thread")
    chat_id = call.query.get("container_id") or ""
    if not chat_id:
        raise field_error("container_id", "container_id is required")
    chat = _chat(fake, chat_id)
    start, end = _seconds(call.query, "start_time"), _seconds(call.query, "end_time")
    sort = call.query.get("sort_type", "ByCreateTimeAsc")
    if sort not in ("ByCreateTimeAsc", "ByCreateTimeDesc"):
        raise field_error("sort_type", "sort_type must be ByCreateTimeAsc or ByCreateTimeDesc")
    selected = [
        m
        for m in fake.messages
        if m["chat_id"] == chat["chat_id"]
        and (start is None or int(m["create_time"]) // 1000 >= start)
        and (end is None or int(m["create_time"]) // 1000 <= end)
    ]
    selected.sort(
        key=lambda m: (int(m["create_time"]), m["message_id"]), reverse=sort == "ByCreateTimeDesc"
    )
    page, has_more, token = paginate(selected, call.query, scope=f"msg:{chat_id}", maximum=50)
    return {"has_more": has_more, "page_token": token, "items": page}


async def get_message(fake: FakeLark, call: Call) -> dict[str, Any]:
    message_id = call.params["message_id"]
    found = [m for m in fake.messages if m["message_id"] == message_id]
    if not found:
        raise _invalid(f"message_id {message_id} not found")
    return {"items": found}


async def list_chats(fake: FakeLark, call: Call) -> dict[str, Any]:
    page, has_more, token = paginate(fake.chats, call.query, scope="chats", maximum=100)
    return {"items": page, "page_token": token, "has_more": has_more}


async def search_chats(fake: FakeLark, call: Call) -> dict[str, Any]:
    query = (call.query.get("query") or "").lower()
    if len(query) > 64:
        raise field_error("query", "query must be at most 64 characters")
    hits = [
        c
        for c in fake.chats
        if not query or query in c["name"].lower() or query in c["description"].lower()
    ]
    page, has_more, token = paginate(hits, call.query, scope=f"chatsearch:{query}", maximum=100)
    return {"items": page, "page_token": token, "has_more": has_more}


async def get_chat(fake: FakeLark, call: Call) -> dict[str, Any]:
    chat = _chat(fake, call.params["chat_id"])
    return {
        **chat,
        "user_count": str(len(fake.chat_members[chat["chat_id"]])),
        "bot_count": "1",
        "chat_mode": "group",
        "chat_type": "private",
    }


async def chat_members(fake: FakeLark, call: Call) -> dict[str, Any]:
    chat = _chat(fake, call.params["chat_id"])
    id_type = call.query.get("member_id_type", "open_id")
    if id_type not in ("open_id", "user_id", "union_id"):
        raise field_error("member_id_type", "member_id_type must be open_id, user_id or union_id")
    members = []
    for open_id in fake.chat_members[chat["chat_id"]]:
        user = fake.user(open_id)
        members.append(
            {
                "member_id_type": id_type,
                "member_id": user[id_type],
                "name": user["name"],
                "tenant_key": fake.tenant_key,
            }
        )
    page, has_more, token = paginate(
        members, call.query, scope=f"members:{chat['chat_id']}", maximum=100
    )
    return {"items": page, "page_token": token, "has_more": has_more, "member_total": len(members)}


def endpoints() -> list[Endpoint]:
    base = "/open-apis/im/v1"
    return [
        Endpoint("POST", f"{base}/messages", send),
        Endpoint("GET", f"{base}/messages", list_messages),
        Endpoint("GET", f"{base}/messages/{{message_id}}", get_message),
        Endpoint("POST", f"{base}/messages/{{message_id}}/reply", reply),
        Endpoint("GET", f"{base}/chats", list_chats),
        Endpoint("GET", f"{base}/chats/search", search_chats),
        Endpoint("GET", f"{base}/chats/{{chat_id}}", get_chat),
        Endpoint("GET", f"{base}/chats/{{chat_id}}/members", chat_members),
    ]
