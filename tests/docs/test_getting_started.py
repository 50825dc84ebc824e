"""docs/getting-started.md: the scope lists to paste are what the tools need, and stay so.

The lists are derived from docs/tools.md's scope table by `python scripts/scopes.py`;
the page must show exactly its output, and the output must cover every tool: for each tool one
of its alternative scopes and every scope it also needs, bot tools in the app list, every tool
a person calls with their own token in the user list.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from scripts import scopes

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "getting-started.md"
BLOCK = re.compile(r"<!-- scopes:begin -->\n```text\n(.*?)\n```\n<!-- scopes:end -->", re.S)


def _lists() -> dict[str, set[str]]:
    lines = scopes.render().splitlines()
    return {
        "bot": set(lines[1].split()),
        "read_only": set(lines[3].split()),
        "user": set(lines[5].split()),
    }


def test_the_page_shows_the_command_output() -> None:
    match = BLOCK.search(PAGE.read_text())
    assert match, "docs/getting-started.md lost its <!-- scopes:begin --> block"
    done = subprocess.run(
        [sys.executable, "scripts/scopes.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert match.group(1) == done.stdout.strip(), (
        "the scope lists in docs/getting-started.md are not what docs/tools.md needs now; "
        "paste the output of `.venv/bin/python scripts/scopes.py` between the "
        "scopes:begin/end markers"
    )


def test_every_tool_of_the_manifest_has_a_scope_row() -> None:
    rows = {row.tool for row in scopes.parse_table(scopes.TOOLS_DOC.read_text())}
    manifest = {t["name"] for t in json.loads(scopes.MANIFEST.read_text())["tools"]}
    assert rows == manifest
    assert all(row.alternatives for row in scopes.parse_table(scopes.TOOLS_DOC.read_text()))


def test_each_list_covers_its_tools() -> None:
    rows = scopes.parse_table(scopes.TOOLS_DOC.read_text())
    lists = _lists()
    read_only = scopes.read_only_tools()
    for row in rows:
        if not row.user_only:
            assert set(row.alternatives) & lists["bot"], row
            assert set(row.also) <= lists["bot"], row
        if not row.user_only and row.tool in read_only:
            assert set(row.alternatives) & lists["read_only"], row
            assert set(row.also) <= lists["read_only"], row
        if row.user_only or not row.app_token:
            personal = {s for s in row.alternatives if not s.endswith(("_as_bot", "_as_app"))}
            assert personal & lists["user"], row
    assert not any(s.endswith(("_as_bot", "_as_app")) for s in lists["user"])


def test_a_row_is_read_as_the_table_means_it() -> None:
    text = """## The tools and their Lark scopes

| tool | Lark call | scope (any one of) |
|---|---|---|
| `a` | `GET /x` | `s:read`, `s:all`; group chats also `g:msg` |
| `b` | `POST /y` | `s:all` |
| `c` | `GET /z` (+ `GET /w`) (signed-in person only; app token) | `t:x` (+ `t:y` for the read) |
| `d` | `GET /v` (signed-in person only) | user scope `u:read`, `u:all` |
| `e` | `POST /send` | `m:send_as_bot`, `m:all` |
"""
    rows = scopes.parse_table(text)
    assert [(r.tool, r.alternatives, r.also, r.user_only, r.app_token) for r in rows] == [
        ("a", ("s:read", "s:all"), ("g:msg",), False, False),
        ("b", ("s:all",), (), False, False),
        ("c", ("t:x",), ("t:y",), False, True),
        ("d", ("u:read", "u:all"), (), True, False),
        ("e", ("m:send_as_bot", "m:all"), (), False, False),
    ]
    # s:all covers a and b at once; m:send_as_bot is listed first for e.
    assert scopes.bot_scopes(rows) == ["g:msg", "m:send_as_bot", "s:all", "t:x", "t:y"]
    assert scopes.user_scopes(rows) == ["g:msg", "m:all", "s:all", "u:read"]
