"""docs/user-auth.md's deploy sections say what the code does (read from the docs file)."""

from __future__ import annotations

import re
from pathlib import Path

DOC = (Path(__file__).resolve().parents[2] / "docs" / "user-auth.md").read_text()


def _section(title: str) -> str:
    start = DOC.index(f"\n## {title}\n")
    end = DOC.find("\n## ", start + 1)
    return DOC[start : end if end != -1 else None]


def test_deploy_section_covers_lark_console_to_quick_suite():
    text = _section("Deploying with userAuth")
    for needed in (
        "offline_access",
        "Redirect URL",
        "LarkRedirectUrl",
        "make quicksuite USER_AUTH=1",
        "SHOW_SECRET=1",
        "User authentication",
        "Authorization URL",
        "make setup",
    ):
        assert needed in text, needed


def test_every_context_key_is_documented():
    from stacks import user_auth_config

    keys = re.findall(r"``(\w+)`` \(", user_auth_config.__doc__)
    assert len(keys) == 6
    table = _section("Deploying with userAuth")
    for key in keys:
        assert f"| `{key}` |" in table, key


def test_every_item_to_verify_says_how():
    rows = [
        line
        for line in _section("To verify on first deploy").splitlines()
        if line.startswith("| ") and not line.startswith(("| what", "|---"))
    ]
    assert len(rows) >= 10
    for row in rows:
        what, how = [cell.strip() for cell in row.strip("|").split(" | ", 1)]
        assert what and ("`" in how or "Quick Suite" in how), row
