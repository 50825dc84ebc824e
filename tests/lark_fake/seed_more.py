"""Seeded spreadsheets, approvals, document comments and people's profiles (issue 19's areas).

Kept apart from seed.py so each area's data sits next to its shape; `build_seed` merges them.
Ids carry the forms Lark documents: spreadsheet tokens, 6-letter sheet ids, approval codes in
UUID form, 19-digit task and comment ids.
"""

from __future__ import annotations

from typing import Any

from .seed import CST, ts

SPREADSHEET = "shtcnBudget2026Plan"
BUDGET_SHEET = "Q7PlXT"

_TEAMS = ("Backend", "Frontend", "Design", "Sales", "Support")
_OWNERS = ("ou_alice", "ou_bob", "ou_carol", "ou_dave", "ou_erin")
_STATUS = ("Planned", "Approved", "Spent", "Cancelled")


def _budget_rows() -> list[list[Any]]:
    rows: list[list[Any]] = [["Item", "Team", "Owner", "Q1", "Q2", "Status", "Due"]]
    for i in range(1, 21):
        rows.append(
            [
                f"Budget line {i:02d}",
                _TEAMS[i % len(_TEAMS)],
                [
                    {
                        "type": "mention",
                        "text": f"@{_OWNERS[i % 5][3:].title()}",
                        "mentionType": 0,
                        "token": _OWNERS[i % 5],
                    }
                ],
                1000 * i + 250,
                1200 * i,
                _STATUS[i % len(_STATUS)],
                f"2026/{(i % 12) + 1:02d}/15",
            ]
        )
    rows.append(["Total", None, None, {"type": "formula", "text": "=SUM(D2:D21)"}, None, None])
    return rows


def spreadsheets() -> dict[str, dict[str, Any]]:
    return {
        SPREADSHEET: {
            "spreadsheet_token": SPREADSHEET,
            "title": "Budget 2026",
            "revision": 7,
            "sheets": [
                {
                    "sheet_id": BUDGET_SHEET,
                    "title": "Budget",
                    "hidden": False,
                    "rows": 200,
                    "columns": 20,
                    "values": _budget_rows(),
                },
                {
                    "sheet_id": "Hd7c2A",
                    "title": "Headcount",
                    "hidden": False,
                    "rows": 50,
                    "columns": 4,
                    "values": [["Team", "People"], ["Backend", 6], ["Frontend", 4], ["Design", 2]],
                },
                {
                    "sheet_id": "Zz0Arc",
                    "title": "Archive",
                    "hidden": True,
                    "rows": 10,
                    "columns": 3,
                    "values": [],
                },
            ],
        }
    }


# -- approvals -------------------------------------------------------------------------------------

LEAVE = "7C468A54-8745-2245-9675-08B7C63E7A85"
EXPENSE = "B1B6A4C7-2D1F-4E8B-9C3A-5F6E7D8C9B0A"
DEFINITIONS = {LEAVE: "Leave request", EXPENSE: "Expense claim"}


def _instance(
    code: str, approval: str, initiator: str, approver: str, task_id: str, status: str,
    started: int, title: str,
) -> dict[str, Any]:  # fmt: skip
    return {
        "instance_code": code,
        "approval_code": approval,
        "approval_name": DEFINITIONS[approval],
        "title": title,
        "open_id": initiator,
        "status": "PENDING" if status == "PENDING" else status,
        "start_time": str(started * 1000),
        "serial_number": code[:6],
        "task_list": [
            {
                "task_id": task_id,
                "open_id": approver,
                "status": status,
                "node_name": "Manager",
                "start_time": str(started * 1000),
            }
        ],
        "comments": [],
    }


def approvals() -> list[dict[str, Any]]:
    day = ts(2026, 11, 20, 9, 0, CST)
    return [
        _instance("81D31358-93AF-92D6-7425-01A5D67C4E71", LEAVE, "ou_bob", "ou_alice",
                  "7110153401253494803", "PENDING", day, "Bob: 3 days leave, Dec 1-3"),
        _instance("92E42469-04B0-43E7-8536-12B6E78D5F82", EXPENSE, "ou_carol", "ou_alice",
                  "7110153401253494804", "PENDING", day + 3600, "Carol: conference travel"),
        _instance("A3F5357A-15C1-54F8-9647-23C7F89E6093", EXPENSE, "ou_dave", "ou_alice",
                  "7110153401253494805", "APPROVED", day - 86400, "Dave: team lunch"),
        _instance("B406468B-26D2-6509-A758-34D80A0F71A4", LEAVE, "ou_alice", "ou_bob",
                  "7110153401253494806", "PENDING", day + 7200, "Alice: 1 day leave, Dec 8"),
    ]  # fmt: skip


# -- document comments -----------------------------------------------------------------------------


def _reply(reply_id: str, user: str, text: str, at: int) -> dict[str, Any]:
    return {
        "reply_id": reply_id,
        "user_id": user,
        "create_time": at,
        "update_time": at,
        "content": {"elements": [{"type": "text_run", "text_run": {"text": text}}]},
        "extra": {},
    }


def comments() -> dict[str, list[dict[str, Any]]]:
    """Comments by docx token; each comment's first reply is its text."""
    at = ts(2026, 11, 21, 10, 0, CST)
    return {
        "doxProjectPlan": [
            {
                "comment_id": "6916106822734578184",
                "user_id": "ou_bob",
                "create_time": at,
                "update_time": at + 600,
                "is_solved": False,
                "is_whole": True,
                "has_more": False,
                "reply_list": {
                    "replies": [
                        _reply("6916106822734594568", "ou_bob", "Can we move the launch?", at),
                        _reply("6916106822734594569", "ou_alice", "Yes, to January.", at + 600),
                    ]
                },
            },
            {
                "comment_id": "6916106822734578185",
                "user_id": "ou_carol",
                "create_time": at + 3600,
                "update_time": at + 3600,
                "is_solved": True,
                "solved_time": at + 7200,
                "solver_user_id": "ou_alice",
                "is_whole": False,
                "quote": "Milestones",
                "has_more": False,
                "reply_list": {
                    "replies": [
                        _reply("6916106822734594570", "ou_carol", "Add the design review.", at)
                    ]
                },
            },
        ]
    }


# -- people's profiles ------------------------------------------------------------------

DEPARTMENTS = {
    "od-engineering": "Engineering",
    "od-design": "Design",
    "od-sales": "Sales",
    "od-support": "Support",
}

PROFILES = {
    "ou_alice": ("od-engineering", "Engineering Manager"),
    "ou_bob": ("od-engineering", "Backend Engineer"),
    "ou_carol": ("od-design", "Product Designer"),
    "ou_dave": ("od-sales", "Account Executive"),
    "ou_erin": ("od-support", "Support Lead"),
    "ou_frank": ("od-sales", ""),
}
