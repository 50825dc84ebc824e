"""The README and docs/ say what the code does: links resolve, tables match the code.

The README is a short first-reader page; reference material lives in docs/. These tests keep
the two honest as the code moves: every relative link (and its #anchor) resolves, the tool
table in docs/tools.md lists exactly the manifest's tools, every `make` target the README quotes
exists, and docs/benchmark.md is exactly what `python -m bench.run --docs` renders from
bench/results.json. Context keys, outputs and variables: test_configuration.py.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from bench.run import docs_page

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
PAGES = [README, *sorted(DOCS.glob("*.md")), ROOT / "bench" / "README.md"]
MANIFEST = ROOT / "lark_mcp_server" / "tools_manifest.json"

#: The README stays a ten-minute read.
README_MAX_LINES = 350

_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
_FENCE = re.compile(r"^```.*?^```", re.M | re.S)


def _prose(text: str) -> str:
    """The page without fenced code blocks (their `#` lines are comments, not headings)."""
    return _FENCE.sub("", text)


def _anchors(page: Path) -> set[str]:
    """GitHub's heading anchors: lowercase, punctuation dropped, spaces to hyphens, -N repeats."""
    seen: dict[str, int] = {}
    anchors = set()
    for line in _prose(page.read_text()).splitlines():
        m = re.match(r"^#{1,6} (.+?)\s*$", line)
        if not m:
            continue
        slug = re.sub(r"[^\w\- ]", "", m.group(1).lower()).replace(" ", "-")
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        anchors.add(slug if n == 0 else f"{slug}-{n}")
    return anchors


def _links(page: Path) -> list[str]:
    return [m.group(1) for m in _LINK.finditer(_prose(page.read_text()))]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_and_anchor_resolves(page: Path) -> None:
    broken = []
    for link in _links(page):
        if re.match(r"^[a-z]+:", link):  # https:, mailto:
            continue
        path, _, anchor = link.partition("#")
        target = (page.parent / path).resolve() if path else page
        if not target.exists():
            broken.append(f"{link} (no file {target.relative_to(ROOT)})")
        elif anchor and target.suffix == ".md" and anchor not in _anchors(target):
            broken.append(f"{link} (no heading with anchor #{anchor} in {target.name})")
    assert not broken, f"{page.relative_to(ROOT)} has broken links: {broken}"


def test_readme_is_a_short_first_reader_page_linking_every_doc() -> None:
    text = README.read_text()
    lines = text.count("\n")
    assert lines <= README_MAX_LINES, (
        f"README.md has {lines} lines; keep it under {README_MAX_LINES} and move reference "
        "material into docs/"
    )
    assert "make deploy" in text and "make test" in text
    linked = {(README.parent / link.partition("#")[0]).resolve() for link in _links(README)}
    unlinked = [p.name for p in sorted(DOCS.glob("*.md")) if p.resolve() not in linked]
    assert not unlinked, f"docs/ pages the README does not link: {unlinked}"


def test_make_targets_quoted_in_the_readme_exist() -> None:
    makefile = (ROOT / "Makefile").read_text()
    targets = set(re.findall(r"^([a-z][a-z0-9-]*):", makefile, re.M))
    quoted = set(re.findall(r"\bmake ([a-z][a-z0-9-]*)", README.read_text()))
    assert quoted, "the README quotes no make command"
    missing = quoted - targets
    assert not missing, f"README quotes make targets the Makefile lacks: {sorted(missing)}"


def _tool_table(text: str) -> list[str]:
    """Tool names in the first column of the table under '## The tools and their Lark scopes'."""
    section = text.split("## The tools and their Lark scopes", 1)[1].split("\n## ", 1)[0]
    section = section.split("\n### ", 1)[0]
    return re.findall(r"^\| `([a-z_]+)` \|", section, re.M)


def test_tools_doc_lists_exactly_the_manifest_tools_with_scopes() -> None:
    manifest = [t["name"] for t in json.loads(MANIFEST.read_text())["tools"]]
    documented = _tool_table((DOCS / "tools.md").read_text())
    assert len(documented) == len(set(documented)), f"listed twice: {documented}"
    assert set(documented) == set(manifest), (
        "docs/tools.md's scope table and lark_mcp_server/tools_manifest.json disagree; "
        f"add a row for {sorted(set(manifest) - set(documented))}, "
        f"remove {sorted(set(documented) - set(manifest))}"
    )


def test_benchmark_page_is_the_rendering_of_results_json() -> None:
    results = json.loads((ROOT / "bench" / "results.json").read_text())
    assert (DOCS / "benchmark.md").read_text() == docs_page(results), (
        "docs/benchmark.md does not match bench/results.json; regenerate it with "
        "`.venv/bin/python -m bench.run --docs > docs/benchmark.md`"
    )


#: Pages longer than this open with a table of contents.
TOC_MIN_LINES = 200


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_long_pages_open_with_a_table_of_contents(page: Path) -> None:
    text = page.read_text()
    if text.count("\n") <= TOC_MIN_LINES:
        return
    prose = _prose(text)
    head = prose.split("\n## ", 1)[0]
    linked = {link.partition("#")[2] for link in _LINK.findall(head) if link.startswith("#")}
    sections = [
        anchor
        for anchor, line in zip(
            _ordered_anchors(page), re.findall(r"^#{1,6} .+$", prose, re.M), strict=True
        )
        if line.startswith("## ")
    ]
    missing = [anchor for anchor in sections if anchor not in linked]
    assert not missing, (
        f"{page.relative_to(ROOT)} is over {TOC_MIN_LINES} lines: list every '## ' section in a "
        f"table of contents before the first one (missing: {missing})"
    )


def _ordered_anchors(page: Path) -> list[str]:
    """Every heading's anchor, in page order (as `_anchors` computes them)."""
    seen: dict[str, int] = {}
    anchors = []
    for line in _prose(page.read_text()).splitlines():
        m = re.match(r"^#{1,6} (.+?)\s*$", line)
        if not m:
            continue
        slug = re.sub(r"[^\w\- ]", "", m.group(1).lower()).replace(" ", "-")
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        anchors.append(slug if n == 0 else f"{slug}-{n}")
    return anchors


def test_readme_says_what_leaves_the_account() -> None:
    """The first page a reader sees must not promise that everything stays in the account."""
    text = " ".join(README.read_text().split())
    assert "Every byte stays" not in text
    for claim in (
        "Tool results leave it",
        "Every call goes to Lark",
        "everyone who uses the bot integration sees everything the bot can see",
    ):
        assert claim in text, f"README.md no longer says: {claim!r}"
