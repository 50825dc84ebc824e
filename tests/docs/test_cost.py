"""docs/cost.md: the monthly figure is the output of `scripts/cost.py`, whose counts of what a
deployment creates (alarms, app clients) match the synthesized templates."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from scripts import cost

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "cost.md"
BLOCK = re.compile(r"<!-- cost:begin -->\n```text\n(.*?)\n```\n<!-- cost:end -->", re.S)


def test_the_page_shows_the_command_output() -> None:
    match = BLOCK.search(PAGE.read_text())
    assert match, "docs/cost.md lost its <!-- cost:begin --> block"
    done = subprocess.run(
        [sys.executable, "scripts/cost.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert match.group(1) == done.stdout.strip(), (
        "docs/cost.md is not what scripts/cost.py prints now; paste the output of "
        "`.venv/bin/python scripts/cost.py` between the cost:begin/end markers"
    )


@pytest.mark.timeout(600)  # one synthesis of the default app
def test_counts_match_the_synthesized_app() -> None:
    from tests.infra.physical_names import synthesized_templates

    templates = synthesized_templates({})
    alarms = [
        r
        for r in templates["LarkMcp-Monitoring"]["Resources"].values()
        if r["Type"] == "AWS::CloudWatch::Alarm"
    ]
    assert len(alarms) == cost.ALARMS, "update ALARMS in scripts/cost.py and regenerate the page"
    clients = [
        r
        for r in templates["LarkMcp-Cognito"]["Resources"].values()
        if r["Type"] == "AWS::Cognito::UserPoolClient"
    ]
    assert len(clients) == 1  # the default client; scripts/cost.py adds --teams to it


def test_more_usage_costs_more() -> None:
    small = sum(usd for _, usd, _ in cost.lines(cost.Usage()))
    large = sum(usd for _, usd, _ in cost.lines(cost.Usage(people=200, calls=100)))
    bare = sum(usd for _, usd, _ in cost.lines(cost.Usage(teams=0, user_auth=False)))
    assert bare < small < large
