"""`.github/workflows/pr.yml` parses and runs what a developer runs: make lint/test/synth/diff.

The diff job must only run where an OIDC role is configured, with the least permissions, pinned
actions, and post one comment found again by its hidden marker (updated, never repeated).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / ".github" / "workflows" / "pr.yml"
PINNED = re.compile(r"^[\w.-]+/[\w.-]+@[0-9a-f]{40}$")


@pytest.fixture(scope="module")
def workflow() -> dict[str, Any]:
    document = yaml.safe_load(WORKFLOW.read_text())
    # YAML 1.1 reads the key `on` as True.
    document["on"] = document.pop(True, document.get("on"))
    return document


def runs(job: dict[str, Any]) -> list[str]:
    return [step["run"] for step in job["steps"] if "run" in step]


def test_every_pull_request_runs_lint_test_and_synth(workflow: dict[str, Any]) -> None:
    assert "pull_request" in workflow["on"]
    check = workflow["jobs"]["check"]
    assert [r.strip() for r in runs(check)] == ["make lint", "make test", "make synth"]
    assert workflow["permissions"] == {"contents": "read"}


def test_the_make_targets_exist(workflow: dict[str, Any]) -> None:
    makefile = (ROOT / "Makefile").read_text()
    for target in ("lint", "test", "synth", "diff"):
        assert re.search(rf"^{target}:", makefile, re.M), f"Makefile has no `{target}` target"
    # `make diff` folds asset-hash-only changes, and fails when cdk diff fails.
    diff_recipe = re.search(r"^diff:.*\n\t(.+)$", makefile, re.M)
    assert diff_recipe and "pipefail" in diff_recipe[1]
    assert "scripts/readable_diff.py" in diff_recipe[1]


def test_diff_runs_only_with_an_oidc_role_and_posts_one_updated_comment(
    workflow: dict[str, Any],
) -> None:
    diff = workflow["jobs"]["diff"]
    assert diff["needs"] == "check"
    assert "vars.AWS_DIFF_ROLE_ARN != ''" in diff["if"]
    assert "head.repo.full_name == github.repository" in diff["if"]  # no forks
    assert diff["permissions"] == {
        "contents": "read",
        "id-token": "write",
        "pull-requests": "write",
    }
    assert any("make diff" in run for run in runs(diff))
    assert any("pipefail" in run for run in runs(diff))
    credentials = next(s for s in diff["steps"] if "configure-aws-credentials" in s.get("uses", ""))
    assert credentials["with"]["role-to-assume"] == "${{ vars.AWS_DIFF_ROLE_ARN }}"
    comment = next(s for s in diff["steps"] if "github-script" in s.get("uses", ""))
    script = comment["with"]["script"]
    assert "<!-- cdk-diff -->" in script
    assert "updateComment" in script and "createComment" in script
    assert comment["if"].startswith("always()")  # a failed diff is reported too


def test_every_action_is_pinned_to_a_commit(workflow: dict[str, Any]) -> None:
    uses = [s["uses"] for job in workflow["jobs"].values() for s in job["steps"] if "uses" in s]
    assert uses
    unpinned = [u for u in uses if not PINNED.match(u)]
    assert not unpinned, (
        f"pin these to a full commit SHA (with the version as a comment): {unpinned}"
    )
    text = WORKFLOW.read_text()
    for use in uses:
        assert re.search(rf"{re.escape(use)} # v\d+\.\d+\.\d+", text), f"{use}: say its version"
