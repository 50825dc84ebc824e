"""The seeded tenant: deterministic users, chats, messages, docs, wiki, drive, calendars,
a Base and tasks. Ids are readable but carry Lark's real prefixes (ou_, oc_, om_, ...).

Every list holds more than a few items so that `page_size=2` walks several pages.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

CST = timezone(timedelta(hours=8))  # Lark tenants in China: event times seeded in +08:00


def ts(year: int, month: int, day: int, hour: int = 0, minute: int = 0, tz: timezone = UTC) -> int:
    """Unix seconds of a wall-clock time."""
    return int(datetime(year, month, day, hour, minute, tzinfo=tz).timestamp())


USERS = [
    # name, short id, email, mobile
    ("Alice Wang", "alice", "alice@example.com", "+8613800000001"),
    ("Bob Li", "bob", "bob@example.com", "+8613800000002"),
    ("Carol Zhang", "carol", "carol@example.com", "+8613800000003"),
    ("Dave Chen", "dave", "dave@example.com", "+8613800000004"),
    ("Erin Liu", "erin", "erin@example.com", "+8613800000005"),
    ("Frank Zhao", "frank", "frank@example.com", "+8613800000006"),
]


def _users(tenant_key: str) -> list[dict[str, Any]]:
    return [
        {
            "name": name,
            "en_name": name,
            "open_id": f"ou_{short}",
            "user_id": short,
            "union_id": f"on_{short}",
            "email": email,
            "mobile": mobile,
            "tenant_key": tenant_key,
            "primary_calendar_id": f"cal_{short}@primary.calendar.feishu.cn",
        }
        for name, short, email, mobile in USERS
    ]


CHATS = [
    # chat_id, name, description, owner, members
    ("oc_general", "General", "Company-wide announcements", "alice", USERS),
    (
        "oc_engineering",
        "Engineering",
        "Backend and infra engineering",
        "bob",
        [u for u in USERS if u[1] in ("alice", "bob", "carol", "dave")],
    ),
    (
        "oc_design",
        "Design Review",
        "Weekly design critique",
        "carol",
        [u for u in USERS if u[1] in ("carol", "erin")],
    ),
    (
        "oc_sales",
        "Sales Team",
        "Pipeline and deals",
        "dave",
        [u for u in USERS if u[1] in ("dave", "frank")],
    ),
    (
        "oc_support",
        "Customer Support",
        "Escalations from customers",
        "erin",
        [u for u in USERS if u[1] in ("erin", "frank", "alice")],
    ),
    ("oc_random", "Random", "Off-topic chatter", "frank", USERS),
    (
        "oc_launch",
        "Launch War Room",
        "Launch day coordination for the MCP server",
        "alice",
        [u for u in USERS if u[1] in ("alice", "bob", "erin")],
    ),
]


def _chats(tenant_key: str) -> tuple[list[dict[str, Any]], dict[str, list[str]]]:
    chats, members = [], {}
    for chat_id, name, description, owner, people in CHATS:
        chats.append(
            {
                "chat_id": chat_id,
                "avatar": f"https://example.com/avatar/{chat_id}.png",
                "name": name,
                "description": description,
                "owner_id": f"ou_{owner}",
                "owner_id_type": "open_id",
                "external": False,
                "tenant_key": tenant_key,
                "chat_status": "normal",
            }
        )
        members[chat_id] = [f"ou_{p[1]}" for p in people]
    return chats, members


def _post(title: str, *paragraphs: list[dict[str, Any]]) -> str:
    return json.dumps({"title": title, "content": list(paragraphs)}, ensure_ascii=False)


def _text(text: str) -> str:
    return json.dumps({"text": text}, ensure_ascii=False)


def _messages(app_id: str, tenant_key: str) -> list[dict[str, Any]]:
    start = ts(2026, 11, 20, 1, 0)  # 2026-11-20T09:00+08:00
    seeds: list[tuple[str, str, str, str]] = [
        # chat, sender (short id or "app"), msg_type, content
        ("oc_engineering", "bob", "text", _text("Morning! Deploy of the MCP server is at 3pm.")),
        (
            "oc_engineering",
            "alice",
            "post",
            _post(
                "Release checklist",
                [
                    {"tag": "text", "text": "Please review the "},
                    {
                        "tag": "a",
                        "text": "runbook",
                        "href": "https://example.feishu.cn/wiki/wikRunbooks",
                    },
                    {"tag": "text", "text": " before the deploy."},
                ],
                [
                    {"tag": "at", "user_id": "ou_bob", "user_name": "Bob Li"},
                    {"tag": "text", "text": " owns the rollback plan."},
                ],
            ),
        ),
        ("oc_engineering", "carol", "text", _text("Load test finished: p99 is 420 ms.")),
        ("oc_engineering", "dave", "image", json.dumps({"image_key": "img_v2_fake_loadtest"})),
        ("oc_engineering", "app", "text", _text("Build #128 passed.")),
        ("oc_engineering", "bob", "text", _text("Rolling out to 10% now.")),
        (
            "oc_engineering",
            "alice",
            "post",
            _post(
                "Post-deploy notes",
                [
                    {"tag": "text", "text": "Error rate is flat. Dashboard: "},
                    {"tag": "a", "text": "Grafana", "href": "https://grafana.example.com/d/mcp"},
                ],
            ),
        ),
        ("oc_general", "alice", "text", _text("Welcome to the new office, everyone!")),
        ("oc_general", "frank", "text", _text("Lunch is on the 5th floor today.")),
        ("oc_general", "erin", "text", _text("Reminder: all-hands on Thursday.")),
        ("oc_launch", "erin", "text", _text("Launch checklist is in the Project Plan doc.")),
    ]
    messages = []
    for i, (chat_id, sender, msg_type, content) in enumerate(seeds, start=1):
        created_ms = str((start + i * 15 * 60) * 1000)
        if sender == "app":
            who = {
                "id": app_id,
                "id_type": "app_id",
                "sender_type": "app",
                "tenant_key": tenant_key,
            }
        else:
            who = {
                "id": f"ou_{sender}",
                "id_type": "open_id",
                "sender_type": "user",
                "tenant_key": tenant_key,
            }
        mentions = []
        if '"tag": "at"' in content:
            mentions = [
                {
                    "key": "@_user_1",
                    "id": "ou_bob",
                    "id_type": "open_id",
                    "name": "Bob Li",
                    "tenant_key": tenant_key,
                }
            ]
        messages.append(
            {
                "message_id": f"om_seed{i:04d}",
                "root_id": "",
                "parent_id": "",
                "thread_id": "",
                "msg_type": msg_type,
                "create_time": created_ms,
                "update_time": created_ms,
                "deleted": False,
                "updated": False,
                "chat_id": chat_id,
                "sender": who,
                "body": {"content": content},
                "mentions": mentions,
            }
        )
    return messages


def _text_block(block_id: str, parent: str, text: str, block_type: int = 2) -> dict[str, Any]:
    key = BLOCK_KEYS[block_type]
    return {
        "block_id": block_id,
        "parent_id": parent,
        "block_type": block_type,
        key: {"elements": [{"text_run": {"content": text, "text_element_style": {}}}], "style": {}},
    }


# docx block_type -> the key holding its text (the ones that carry text elements).
BLOCK_KEYS: dict[int, str] = {
    2: "text",
    **{3 + i: f"heading{i + 1}" for i in range(9)},
    12: "bullet",
    13: "ordered",
    14: "code",
    15: "quote",
    17: "todo",
}


def _document(doc_id: str, title: str, lines: list[tuple[int, str]]) -> dict[str, Any]:
    blocks = [
        _text_block(f"{doc_id}_b{n}", doc_id, text, bt) for n, (bt, text) in enumerate(lines, 1)
    ]
    return {
        "document_id": doc_id,
        "title": title,
        "revision_id": 1 + len(blocks),
        "blocks": blocks,
        "folder_token": "",
    }


def _documents() -> dict[str, dict[str, Any]]:
    docs = [
        _document(
            "doxProjectPlan",
            "Project Plan",
            [
                (3, "Goals"),
                (2, "Ship the Lark MCP server on AgentCore by December."),
                (12, "Messaging, docs and calendar tools first"),
                (12, "Base and task tools second"),
                (3, "Risks"),
                (2, "Rate limits on the Lark OpenAPI during the launch demo."),
            ],
        ),
        _document(
            "doxMeetingNotes",
            "Weekly Meeting Notes",
            [
                (4, "2026-11-19"),
                (2, "Decided to use Streamable HTTP in stateless mode."),
                (17, "Bob: write the rollback plan"),
            ],
        ),
        _document(
            "doxWikiOnboarding",
            "Onboarding Guide",
            [
                (2, "Welcome! Start with the tools list and the first-week plan."),
            ],
        ),
    ]
    for token, title in WIKI_DOCS:
        docs.append(_document(f"dox{token[3:]}", title, [(2, f"{title}: seeded wiki page.")]))
    return {d["document_id"]: d for d in docs}


WIKI_SPACES = [
    ("7450000000000000001", "Engineering Wiki", "How we build and run things"),
    ("7450000000000000002", "HR Handbook", "Policies and benefits"),
    ("7450000000000000003", "Product", "Specs and roadmaps"),
]

# Wiki nodes in the Engineering space: (node_token, title, parent_node_token).
WIKI_TREE = [
    ("wikOnboarding", "Onboarding Guide", ""),
    ("wikArchitecture", "Architecture", ""),
    ("wikRunbooks", "Runbooks", ""),
    ("wikAPIGuide", "API Guide", ""),
    ("wikGlossary", "Glossary", ""),
    ("wikFirstWeek", "Your First Week", "wikOnboarding"),
    ("wikTools", "Tools We Use", "wikOnboarding"),
    ("wikAccounts", "Accounts and Access", "wikOnboarding"),
]
WIKI_DOCS = [(token, title) for token, title, _ in WIKI_TREE if token != "wikOnboarding"]


def _wiki(tenant_key: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    spaces = [
        {
            "space_id": sid,
            "name": name,
            "description": desc,
            "space_type": "team",
            "visibility": "private",
            "open_sharing": "closed",
        }
        for sid, name, desc in WIKI_SPACES
    ]
    eng = WIKI_SPACES[0][0]
    created = str(ts(2026, 10, 1))
    nodes = []
    for token, title, parent in WIKI_TREE:
        obj = "doxWikiOnboarding" if token == "wikOnboarding" else f"dox{token[3:]}"
        nodes.append(
            {
                "space_id": eng,
                "node_token": token,
                "obj_token": obj,
                "obj_type": "docx",
                "parent_node_token": parent,
                "node_type": "origin",
                "origin_node_token": token,
                "origin_space_id": eng,
                "has_child": any(p == token for _, _, p in WIKI_TREE),
                "title": title,
                "obj_create_time": created,
                "obj_edit_time": created,
                "node_create_time": created,
                "creator": "ou_alice",
                "owner": "ou_alice",
                "node_creator": "ou_alice",
            }
        )
    # One page in the HR space too, so spaces are not all empty but one.
    nodes.append(
        {
            **nodes[4],
            "space_id": WIKI_SPACES[1][0],
            "node_token": "wikLeavePolicy",
            "obj_token": "doxMeetingNotes",
            "title": "Leave Policy",
            "has_child": False,
            "origin_node_token": "wikLeavePolicy",
            "origin_space_id": WIKI_SPACES[1][0],
        }
    )
    return spaces, nodes


ROOT_FOLDER = "fldRootFake"


def _drive(base_url_host: str = "example.feishu.cn") -> dict[str, list[dict[str, Any]]]:
    def item(token: str, name: str, kind: str, parent: str, day: int) -> dict[str, Any]:
        path = {
            "folder": "drive/folder",
            "docx": "docx",
            "bitable": "base",
            "sheet": "sheets",
            "file": "file",
        }[kind]
        when = str(ts(2026, 11, day))
        return {
            "token": token,
            "name": name,
            "type": kind,
            "parent_token": parent,
            "url": f"https://{base_url_host}/{path}/{token}",
            "created_time": when,
            "modified_time": when,
            "owner_id": "ou_alice",
        }

    return {
        ROOT_FOLDER: [
            item("fldProjects", "Projects", "folder", ROOT_FOLDER, 1),
            item("doxProjectPlan", "Project Plan", "docx", ROOT_FOLDER, 2),
            item("doxMeetingNotes", "Weekly Meeting Notes", "docx", ROOT_FOLDER, 3),
            item("bascnTeamTracker", "Team Tracker", "bitable", ROOT_FOLDER, 4),
            item("shtBudget2026", "Budget 2026", "sheet", ROOT_FOLDER, 5),
            item("boxQ3Report", "q3-report.pdf", "file", ROOT_FOLDER, 6),
        ],
        "fldProjects": [
            item("fldArchive", "Archive", "folder", "fldProjects", 7),
            item("doxWikiOnboarding", "Onboarding Guide", "docx", "fldProjects", 8),
            item("boxDiagram", "architecture.png", "file", "fldProjects", 9),
        ],
        "fldArchive": [],
    }


CALENDARS = [
    # calendar_id, summary, type, role, description
    (
        "cal_app@primary.calendar.feishu.cn",
        "Fake App",
        "primary",
        "owner",
        "The bot's own calendar",
    ),
    (
        "cal_engineering@group.calendar.feishu.cn",
        "Engineering",
        "shared",
        "owner",
        "Standups, reviews and planning",
    ),
    ("cal_launch@group.calendar.feishu.cn", "Launch", "shared", "writer", "Launch milestones"),
    ("cal_holidays@group.calendar.feishu.cn", "Holidays", "shared", "reader", "Public holidays"),
    (
        "cal_interviews@group.calendar.feishu.cn",
        "Interviews",
        "shared",
        "free_busy_reader",
        "Candidate interviews",
    ),
]


def _calendars() -> list[dict[str, Any]]:
    return [
        {
            "calendar_id": cid,
            "summary": summary,
            "description": desc,
            "permissions": "private" if kind == "primary" else "show_only_free_busy",
            "color": -1,
            "type": kind,
            "summary_alias": "",
            "is_deleted": False,
            "is_third_party": False,
            "role": role,
        }
        for cid, summary, kind, role, desc in CALENDARS
    ]


ENG_CAL = CALENDARS[1][0]

EVENTS = [
    # event_id, calendar, summary, start (CST wall clock), minutes, attendees (short ids)
    (
        "evt_standup_1124_0",
        ENG_CAL,
        "Daily standup",
        (2026, 11, 24, 10, 0),
        15,
        ["alice", "bob", "carol"],
    ),
    (
        "evt_design_1124_0",
        ENG_CAL,
        "Design review: MCP tools",
        (2026, 11, 24, 14, 0),
        60,
        ["alice", "carol"],
    ),
    (
        "evt_standup_1125_0",
        ENG_CAL,
        "Daily standup",
        (2026, 11, 25, 10, 0),
        15,
        ["alice", "bob", "carol"],
    ),
    (
        "evt_planning_1125_0",
        ENG_CAL,
        "Sprint planning",
        (2026, 11, 25, 15, 0),
        90,
        ["alice", "bob", "carol", "dave"],
    ),
    (
        "evt_standup_1126_0",
        ENG_CAL,
        "Daily standup",
        (2026, 11, 26, 10, 0),
        15,
        ["alice", "bob", "carol"],
    ),
    ("evt_retro_1127_0", ENG_CAL, "Retrospective", (2026, 11, 27, 16, 0), 60, ["bob", "dave"]),
    (
        "evt_launch_1201_0",
        CALENDARS[2][0],
        "Launch day",
        (2026, 12, 1, 9, 0),
        480,
        ["alice", "bob", "erin"],
    ),
]


LAUNCH_CAL = CALENDARS[2][0]
RECURRING = [
    # event_id ({uid}_0 for a series), calendar, summary, first start (CST), minutes, RRULE
    (
        "evt_launch_sync_0",
        LAUNCH_CAL,
        "Launch sync",
        (2026, 11, 2, 11, 0),
        30,
        "FREQ=WEEKLY;BYDAY=MO",
    ),
    (
        "evt_launch_checkin_0",
        LAUNCH_CAL,
        "Launch check-in",
        (2026, 11, 23, 9, 30),
        15,
        "FREQ=DAILY;UNTIL=20261231T235959Z",
    ),
]
LAUNCH_SYNC_MOVED = ts(2026, 11, 30, 11, 0, CST)
"""The 30 Nov Launch sync moved to 1 Dec 14:00: an exception `{uid}_{original start}`."""
LAUNCH_SYNC_CANCELLED = ts(2026, 12, 7, 11, 0, CST)
"""The 7 Dec Launch sync is cancelled: an exception with status cancelled."""


def _events(tenant_key: str) -> tuple[list[dict[str, Any]], dict[str, list[dict[str, Any]]]]:
    events, attendees = [], {}
    created = str(ts(2026, 11, 1))
    for event_id, cal, summary, start, minutes, people in EVENTS:
        begin = ts(*start, tz=CST)
        events.append(
            _event(
                event_id,
                cal,
                summary,
                begin,
                begin + minutes * 60,
                created,
                organizer=people[0],
                location="Room 5F-Orion",
                reminders=[{"minutes": 5}],
            )
        )
        attendees[event_id] = [_attendee(event_id, f"ou_{p}", i == 0) for i, p in enumerate(people)]
    for event_id, cal, summary, start, minutes, rule in RECURRING:
        begin = ts(*start, tz=CST)
        events.append(
            _series_event(event_id, cal, summary, begin, begin + minutes * 60, created, rule)
        )
        attendees[event_id] = [_attendee(event_id, "ou_alice", True)]
    master = events[-2]
    moved = ts(2026, 12, 1, 14, 0, CST)
    for original, begin, status in (
        (LAUNCH_SYNC_MOVED, moved, "confirmed"),
        (LAUNCH_SYNC_CANCELLED, LAUNCH_SYNC_CANCELLED, "cancelled"),
    ):
        exception = _series_event(
            f"evt_launch_sync_{original}", LAUNCH_CAL, "Launch sync", begin, begin + 1800, created
        )
        exception.update(is_exception=True, recurring_event_id=master["event_id"], status=status)
        events.append(exception)
    return events, attendees


def _series_event(
    event_id: str, cal: str, summary: str, begin: int, end: int, created: str, rule: str = ""
) -> dict[str, Any]:
    """An event of Alice's recurring Launch series (a master with `rule`, or an exception)."""
    return _event(
        event_id,
        cal,
        summary,
        begin,
        end,
        created,
        organizer="alice",
        location="Launch room",
        reminders=[],
        rule=rule,
    )


def _event(
    event_id: str,
    cal: str,
    summary: str,
    begin: int,
    end: int,
    created: str,
    *,
    organizer: str,
    location: str,
    reminders: list[dict[str, int]],
    rule: str = "",
) -> dict[str, Any]:
    """A calendar event as Lark returns it; `organizer` is a seeded person (``alice``)."""
    return {
        "event_id": event_id,
        "organizer_calendar_id": cal,
        "summary": summary,
        "description": f"{summary} (seeded)",
        "need_notification": True,
        "start_time": {"timestamp": str(begin), "timezone": "Asia/Shanghai"},
        "end_time": {"timestamp": str(end), "timezone": "Asia/Shanghai"},
        "vchat": {"vc_type": "vc"},
        "visibility": "default",
        "attendee_ability": "can_see_others",
        "free_busy_status": "busy",
        "location": {"name": location},
        "color": -1,
        "reminders": reminders,
        "recurrence": rule,
        "status": "confirmed",
        "is_exception": False,
        "recurring_event_id": "",
        "create_time": created,
        "app_link": f"https://applink.feishu.cn/client/calendar/event/detail?eventId={event_id}",
        "event_organizer": {"user_id": f"ou_{organizer}", "display_name": organizer.title()},
    }


def _attendee(event_id: str, open_id: str, organizer: bool = False) -> dict[str, Any]:
    short = open_id.removeprefix("ou_")
    return {
        "type": "user",
        "attendee_id": f"user_{event_id}_{short}",
        "rsvp_status": "accept" if organizer else "needs_action",
        "is_optional": False,
        "is_organizer": organizer,
        "is_external": False,
        "display_name": short.title(),
        "user_id": open_id,
    }


def _busy() -> dict[str, list[tuple[int, int]]]:
    """Busy time outside the seeded events (e.g. a personal calendar), per open_id."""
    return {"ou_alice": [(ts(2026, 11, 24, 12, 0, CST), ts(2026, 11, 24, 13, 0, CST))]}


BASE_TOKEN = "bascnTeamTracker"


def _field(
    fid: str, name: str, ftype: int, primary: bool = False, options: list[str] | None = None
) -> dict[str, Any]:
    ui = {
        1: "Text",
        2: "Number",
        3: "SingleSelect",
        4: "MultiSelect",
        5: "DateTime",
        7: "Checkbox",
        11: "User",
    }[ftype]
    prop: dict[str, Any] | None = None
    if options is not None:
        prop = {
            "options": [
                {"id": f"opt{fid[3:]}{i}", "name": o, "color": i} for i, o in enumerate(options)
            ]
        }
    elif ftype == 2:
        prop = {"formatter": "0"}
    elif ftype == 5:
        prop = {"date_formatter": "yyyy/MM/dd", "auto_fill": False}
    elif ftype == 11:
        prop = {"multiple": True}
    return {
        "field_id": fid,
        "field_name": name,
        "type": ftype,
        "property": prop,
        "description": "",
        "is_primary": primary,
        "ui_type": ui,
    }


def _people(*shorts: str) -> list[dict[str, Any]]:
    return [{"id": f"ou_{s}"} for s in shorts]


def _day_ms(day: int) -> int:
    return ts(2026, 11, day, 0, 0, CST) * 1000


TASK_ROWS = [
    # Name, Estimate, Status, Tags, Due day, Done, Owner, Notes
    ("Write MCP server", 8, "In progress", ["backend"], 28, False, ["bob"], "Streamable HTTP"),
    ("Fake Lark API", 5, "Done", ["backend", "infra"], 24, True, ["carol"], None),
    ("CDK stacks", 13, "In progress", ["infra"], 30, False, ["dave"], "Gateway + Runtime"),
    ("README", 2, "To do", ["docs"], None, False, [], None),
    ("Load test", 3, "To do", ["infra"], 27, False, ["carol", "erin"], "Target p99 < 500 ms"),
    ("Design review", 1, "Done", ["frontend", "docs"], 24, True, ["alice"], None),
    ("Launch demo", None, "To do", [], 1, False, ["alice", "erin"], "Live on Dec 1"),
]


def _bases() -> dict[str, dict[str, Any]]:
    tasks_fields = [
        _field("fldName", "Name", 1, primary=True),
        _field("fldEstimate", "Estimate", 2),
        _field("fldStatus", "Status", 3, options=["To do", "In progress", "Done"]),
        _field("fldTags", "Tags", 4, options=["backend", "frontend", "infra", "docs"]),
        _field("fldDue", "Due", 5),
        _field("fldDone", "Done", 7),
        _field("fldOwner", "Owner", 11),
        _field("fldNotes", "Notes", 1),
    ]
    records = []
    for i, (name, est, status, tags, due, done, owner, notes) in enumerate(TASK_ROWS, 1):
        fields: dict[str, Any] = {"Name": name, "Status": status, "Done": done}
        if est is not None:
            fields["Estimate"] = est
        if tags:
            fields["Tags"] = tags
        if due is not None:
            fields["Due"] = _day_ms(due) if due > 1 else ts(2026, 12, 1, 0, 0, CST) * 1000
        if owner:
            fields["Owner"] = _people(*owner)
        if notes:
            fields["Notes"] = notes
        records.append({"record_id": f"recTask{i:02d}", "fields": fields})
    people_fields = [
        _field("fldPName", "Name", 1, primary=True),
        _field("fldTeam", "Team", 3, options=["Engineering", "Design", "Sales", "Support"]),
        _field("fldPerson", "Person", 11),
    ]
    team = {
        "alice": "Engineering",
        "bob": "Engineering",
        "carol": "Engineering",
        "dave": "Sales",
        "erin": "Support",
        "frank": "Sales",
    }
    people = [
        {
            "record_id": f"recPerson{i:02d}",
            "fields": {"Name": name, "Team": team[short], "Person": _people(short)},
        }
        for i, (name, short, _, _) in enumerate(USERS, 1)
    ]
    milestone_fields = [
        _field("fldMName", "Milestone", 1, primary=True),
        _field("fldMDate", "Date", 5),
    ]
    milestones = [
        {"record_id": "recMilestone01", "fields": {"Milestone": "Beta", "Date": _day_ms(24)}},
        {
            "record_id": "recMilestone02",
            "fields": {"Milestone": "GA", "Date": ts(2026, 12, 1, 0, 0, CST) * 1000},
        },
    ]
    return {
        BASE_TOKEN: {
            "app_token": BASE_TOKEN,
            "name": "Team Tracker",
            "tables": {
                "tblTasks": {
                    "table_id": "tblTasks",
                    "name": "Tasks",
                    "revision": 1,
                    "fields": tasks_fields,
                    "records": records,
                },
                "tblPeople": {
                    "table_id": "tblPeople",
                    "name": "People",
                    "revision": 1,
                    "fields": people_fields,
                    "records": people,
                },
                "tblMilestones": {
                    "table_id": "tblMilestones",
                    "name": "Milestones",
                    "revision": 1,
                    "fields": milestone_fields,
                    "records": milestones,
                },
            },
        }
    }


def _tasks(app_id: str) -> list[dict[str, Any]]:
    created = str(ts(2026, 11, 20) * 1000)
    prefix = "5e3a7c10-6f2b-4c1d-9a8e-"  # task GUIDs are UUIDs, as Lark hands them out
    rows = [
        (prefix + "000000000001", "Prepare launch slides", "ou_alice", str(_day_ms(30))),
        (prefix + "000000000002", "Book the demo room", "ou_erin", ""),
    ]
    tasks = []
    for guid, summary, assignee, due in rows:
        tasks.append(
            {
                "guid": guid,
                "task_id": f"t{guid[-4:]}",
                "summary": summary,
                "description": "",
                "due": {"timestamp": due, "is_all_day": False} if due else None,
                "members": [{"id": assignee, "type": "user", "role": "assignee"}],
                "creator": {"id": app_id, "type": "app", "role": "creator"},
                "status": "todo",
                "completed_at": "0",
                "created_at": created,
                "updated_at": created,
                "url": f"https://applink.feishu.cn/client/todo/detail?guid={guid}",
                "mode": 2,
                "is_milestone": False,
            }
        )
    return tasks


def build_seed(app_id: str, tenant_key: str) -> dict[str, Any]:
    """A fresh copy of the whole seeded tenant (new objects every call)."""
    from . import seed_more  # it builds on this module's helpers

    chats, members = _chats(tenant_key)
    spaces, nodes = _wiki(tenant_key)
    events, attendees = _events(tenant_key)
    return {
        "users": _users(tenant_key),
        "chats": chats,
        "chat_members": members,
        "messages": _messages(app_id, tenant_key),
        "documents": _documents(),
        "wiki_spaces": spaces,
        "wiki_nodes": nodes,
        "drive_files": _drive(),
        "root_folder_token": ROOT_FOLDER,
        "calendars": _calendars(),
        "events": events,
        "attendees": attendees,
        "busy": _busy(),
        "bases": _bases(),
        "tasks": _tasks(app_id),
        "spreadsheets": seed_more.spreadsheets(),
        "approvals": seed_more.approvals(),
        "comments": seed_more.comments(),
    }
