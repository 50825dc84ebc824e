"""Twenty-item pages for the benchmark's result-size comparison (`--bench-pages`).

The seeded tenant keeps lists short for tests; `make bench` compares what ours and lark-mcp
return for one full page of 20 items. This adds, built with the seed's own helpers so every
item has exactly the shape the seed's items have: chats (to 20+), 20 messages in
`oc_benchpage` (text and rich text from several senders), 20 events on `cal_benchpage` in the
week of 2026-12-07, and Base records (to 20+ in `tblTasks`). The spreadsheet's Budget sheet
already holds a header and 20 rows.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from .seed import CST, USERS, _calendars, _event, _people, ts

if TYPE_CHECKING:
    from .fake import FakeLark

CHAT = "oc_benchpage"
CALENDAR = "cal_benchpage@group.calendar.feishu.cn"
WEEK = ("2026-12-07T00:00:00+08:00", "2026-12-14T00:00:00+08:00")
_TOPICS = ("roadmap", "hiring", "incidents", "design", "billing", "infra", "docs", "mobile")


def extend(fake: FakeLark) -> None:
    template = fake.chats[0]
    for i in range(1, 15):
        topic = _TOPICS[i % len(_TOPICS)]
        fake.chats.append(
            {
                **template,
                "chat_id": CHAT if i == 1 else f"oc_bench{i:02d}",
                "avatar": f"https://example.com/avatar/oc_bench{i:02d}.png",
                "name": f"Project {topic.title()} {i}",
                "description": f"Working group for {topic}: plans, updates and questions",
                "owner_id": f"ou_{USERS[i % len(USERS)][1]}",
            }
        )
        fake.chat_members[fake.chats[-1]["chat_id"]] = [f"ou_{u[1]}" for u in USERS]
    start = ts(2026, 12, 7, 1, 0)
    sample = fake.messages[0]
    for i in range(20):
        sender = USERS[i % len(USERS)][1]
        text = f"Update {i + 1}: the {_TOPICS[i % len(_TOPICS)]} work is on track for Friday."
        rich = i % 5 == 4
        content = (
            json.dumps(
                {"title": "Weekly notes", "content": [[{"tag": "text", "text": text}]]},
                ensure_ascii=False,
            )
            if rich
            else json.dumps({"text": text}, ensure_ascii=False)
        )
        created = str((start + i * 600) * 1000)
        fake.messages.append(
            {
                **sample,
                "message_id": f"om_bench{i:04d}",
                "msg_type": "post" if rich else "text",
                "create_time": created,
                "update_time": created,
                "chat_id": CHAT,
                "sender": {**sample["sender"], "id": f"ou_{sender}"},
                "body": {"content": content},
                "mentions": [],
            }
        )
    calendar = {**_calendars()[0], "calendar_id": CALENDAR, "summary": "Bench calendar"}
    fake.calendars.append(calendar)
    for i in range(20):
        begin = ts(2026, 12, 7 + i // 4, 9 + 2 * (i % 4), 0, CST)
        event_id = f"evtbench{i:02d}_0"
        fake.events.append(
            _event(
                event_id,
                CALENDAR,
                f"{_TOPICS[i % len(_TOPICS)].title()} review",
                begin,
                begin + 3600,
                str(ts(2026, 11, 30)),
                organizer=USERS[i % len(USERS)][1],
                location="Room 5F-Orion",
                reminders=[{"minutes": 5}],
            )
        )
        fake.attendees[event_id] = []
    records = fake.records["tblTasks"]
    for i in range(len(records) + 1, 23):
        records.append(
            {
                "record_id": f"recTask{i:02d}",
                "fields": {
                    "Name": f"Task {i}: {_TOPICS[i % len(_TOPICS)]} follow-up",
                    "Status": ("To do", "In progress", "Done")[i % 3],
                    "Done": i % 3 == 2,
                    "Estimate": i % 5 + 1,
                    "Tags": ["backend"] if i % 2 else ["docs", "infra"],
                    "Due": ts(2026, 12, 1 + i % 20, 0, 0, CST) * 1000,
                    "Owner": _people(USERS[i % len(USERS)][1]),
                    "Notes": f"Follow up with the {_TOPICS[i % len(_TOPICS)]} group.",
                },
            }
        )
