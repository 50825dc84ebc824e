"""The official MCP conformance suite against the real server on loopback, with the Lark fake.

`@modelcontextprotocol/conformance` (pinned in package.json, run with the Node 22 that the
`node` npm package provides) drives the server over HTTP. We run the server scenarios that
apply to a stateless JSON server without the suite's fixture tools, at both wire versions the
SDK speaks; docs/server.md lists every scenario left out and why. A scenario fails this test
when any of its checks fails, unless expected-failures.yaml names that check (fixture-only
checks); the suite itself also fails the run when such an entry starts passing.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.lark_fake import FakeLark
from tests.server.harness import REPO, ServerProcess, run_server, server_env

NODE = REPO / "node_modules" / "node" / "bin" / "node"
SUITE = REPO / "node_modules" / "@modelcontextprotocol" / "conformance" / "dist" / "index.js"
BASELINE = Path(__file__).with_name("expected-failures.yaml")

SCENARIOS = [
    # 2025-11-25: the stateful wire (initialize first); our stateless server answers it too.
    ("2025-11-25", "server-initialize"),
    ("2025-11-25", "ping"),
    ("2025-11-25", "tools-list"),
    ("2025-11-25", "resources-list"),
    ("2025-11-25", "prompts-list"),
    ("2025-11-25", "dns-rebinding-protection"),
    # 2026-07-28: the stateless wire (per-request _meta, server/discover).
    ("2026-07-28", "server-stateless"),
    ("2026-07-28", "tools-list"),
    ("2026-07-28", "resources-list"),
    ("2026-07-28", "prompts-list"),
    ("2026-07-28", "sep-2164-resource-not-found"),
    ("2026-07-28", "dns-rebinding-protection"),
    ("2026-07-28", "caching"),
    ("2026-07-28", "http-header-validation"),
    ("2026-07-28", "input-required-result-unsupported-methods"),
]
BASELINED = {
    line.strip().removeprefix("- ")
    for line in BASELINE.read_text().splitlines()
    if line.strip().startswith("- ")
}


@pytest.fixture(scope="module")
def server(lark_fake: FakeLark) -> Iterator[ServerProcess]:
    if not (NODE.exists() and SUITE.exists()):
        pytest.fail("the conformance suite is not installed: run `make setup` (npm ci)")
    with run_server(server_env(lark_fake.base_url)) as process:
        yield process


@pytest.mark.parametrize(("version", "scenario"), SCENARIOS, ids=lambda v: v)
def test_conformance_scenario(server: ServerProcess, tmp_path: Path, version: str, scenario: str):
    run = subprocess.run(
        [
            str(NODE),
            str(SUITE),
            "server",
            "--url",
            server.mcp_url,
            "--scenario",
            scenario,
            "--spec-version",
            version,
            "--expected-failures",
            str(BASELINE),
            "--timeout",
            "20000",
            "--output-dir",
            str(tmp_path),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    reports = list(tmp_path.glob("*/checks.json"))
    assert len(reports) == 1, run.stdout + run.stderr
    checks = json.loads(reports[0].read_text())
    failed = [
        f"{c['id']}: {c.get('errorMessage', '')}"
        for c in checks
        if c["status"] == "FAILURE" and f"{scenario}:{c['id']}" not in BASELINED
    ]
    assert not failed, "\n".join(failed)
    assert any(c["status"] == "SUCCESS" for c in checks), checks
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert server.alive()


def test_every_server_scenario_is_run_or_explained():
    """docs/server.md names each server scenario of the pinned suite: run, or left out and why."""
    if not (NODE.exists() and SUITE.exists()):
        pytest.fail("the conformance suite is not installed: run `make setup` (npm ci)")
    listing = subprocess.run(
        [str(NODE), str(SUITE), "list", "--server"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    names = [line.split()[1] for line in listing.splitlines() if line.startswith("  - ")]
    assert len(names) > 30, listing
    doc = (REPO / "docs" / "server.md").read_text()
    words = [w.rstrip(",") for w in doc.split()]
    wildcards = [w.strip("`*") for w in words if w.startswith("`") and w.endswith("*`")]
    missing = [
        name
        for name in names
        if f"`{name}`" not in doc and not any(name.startswith(w) for w in wildcards)
    ]
    assert not missing, f"docs/server.md does not account for: {missing}"
    for _, scenario in SCENARIOS:
        assert f"`{scenario}`" in doc
