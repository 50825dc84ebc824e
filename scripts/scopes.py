"""The Lark scopes to enable, ready to paste, derived from docs/tools.md's scope table.

`python scripts/scopes.py` prints three space-separated lists: the app (bot) scopes for
every tool, the app scopes for the read-only tools alone (``larkReadOnly``, read teams), and the
user scopes for "Lark as me" (the Lark console's user-token column and ``larkUserScopes``).
docs/getting-started.md shows exactly this output; tests/docs/test_getting_started.py keeps it
so.

How a row of the table is read (``| `tool` | Lark call | scopes |``):

- the scopes before the first ``;`` or ``(+`` are alternatives ("any one of"); the first one
  that covers the most still-uncovered tools is chosen;
- scopes after it (``group chats also ...``, ``(+ ... for the read)``) are needed as well;
- a cell starting with ``user scope`` is a tool only a signed-in person can call: its scopes go
  in the user list only;
- for the user list, app-only scopes (``..._as_bot``, ``..._as_app``) are left out, and so are
  tools whose call says ``app token`` (they run with the app's token even for a person).
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TOOLS_DOC = REPO / "docs" / "tools.md"
MANIFEST = REPO / "lark_mcp_server" / "tools_manifest.json"
TABLE_HEADING = "## The tools and their Lark scopes"
_ROW = re.compile(r"^\| `([a-z_]+)` \| (.*?) \| (.*?) \|$", re.M)
_SCOPE = re.compile(r"`([A-Za-z0-9:._-]+)`")
_APP_ONLY = ("_as_bot", "_as_app")


@dataclass(frozen=True)
class ToolScopes:
    """One row of the table."""

    tool: str
    alternatives: tuple[str, ...]  # any one of these
    also: tuple[str, ...]  # and each of these
    user_only: bool  # only a signed-in person can call it
    app_token: bool  # runs with the app's token even for a signed-in person


def parse_table(text: str) -> list[ToolScopes]:
    """The rows of docs/tools.md's scope table."""
    section = text.split(TABLE_HEADING, 1)[1].split("\n## ", 1)[0].split("\n### ", 1)[0]
    rows = []
    for tool, call, cell in _ROW.findall(section):
        head = re.split(r";|\(\+", cell, maxsplit=1)[0]
        tail = cell[len(head) :]
        rows.append(
            ToolScopes(
                tool=tool,
                alternatives=tuple(_SCOPE.findall(head)),
                also=tuple(_SCOPE.findall(tail)),
                user_only=cell.strip().startswith("user scope"),
                app_token="app token" in call,
            )
        )
    return rows


def cover(rows: Sequence[tuple[tuple[str, ...], tuple[str, ...]]]) -> list[str]:
    """A short list holding every row's `also` scopes and one of each row's alternatives:
    greedily the alternative that covers the most rows not yet covered (ties: listed first)."""
    chosen: list[str] = []
    for _, also in rows:
        chosen += [s for s in also if s not in chosen]
    uncovered = [alts for alts, _ in rows if alts and not set(alts) & set(chosen)]
    while uncovered:
        candidates = list(dict.fromkeys(s for alts in uncovered for s in alts))
        best = max(
            candidates,
            key=lambda s: (sum(s in alts for alts in uncovered), -candidates.index(s)),
        )
        chosen.append(best)
        uncovered = [alts for alts in uncovered if best not in alts]
    return sorted(chosen)


def bot_scopes(rows: Sequence[ToolScopes], only: set[str] | None = None) -> list[str]:
    """App scopes for every tool the bot can call (``only``: just these tools)."""
    return cover(
        [
            (r.alternatives, r.also)
            for r in rows
            if not r.user_only and (only is None or r.tool in only)
        ]
    )


def user_scopes(rows: Sequence[ToolScopes]) -> list[str]:
    """User scopes for every tool a signed-in person calls with their own token."""

    def personal(scopes: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(s for s in scopes if not s.endswith(_APP_ONLY))

    return cover(
        [
            (personal(r.alternatives), personal(r.also))
            for r in rows
            if r.user_only or not r.app_token
        ]
    )


def read_only_tools(manifest: Path = MANIFEST) -> set[str]:
    tools = json.loads(manifest.read_text(encoding="utf-8"))["tools"]
    return {t["name"] for t in tools if t.get("read_only")}


def render(tools_doc: Path = TOOLS_DOC, manifest: Path = MANIFEST) -> str:
    """The three lists as docs/getting-started.md shows them."""
    rows = parse_table(tools_doc.read_text(encoding="utf-8"))
    return "\n".join(
        [
            "# app (bot) scopes, every tool",
            " ".join(bot_scopes(rows)),
            "# app (bot) scopes, read-only tools only (a deployment with larkReadOnly)",
            " ".join(bot_scopes(rows, read_only_tools(manifest))),
            '# user scopes for "Lark as me" (also the larkUserScopes context key)',
            " ".join(user_scopes(rows)),
        ]
    )


def main() -> int:
    print(render())
    return 0


if __name__ == "__main__":
    sys.exit(main())
