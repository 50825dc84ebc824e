"""docs/configuration.md lists exactly what the code reads and writes, derived from the code.

Three lists, each taken from the code rather than from a list someone keeps:

- context keys: every key the app asks CDK for while it synthesizes with every feature on
  (teams, an extra client, an extra server, monitoring, sign-in), recorded at the construct
  library's `Node.try_get_context`;
- stack outputs: every `Outputs` entry of that synthesis (less CDK's own `PublishOutput*`
  cross-stack plumbing);
- environment variables: every name the servers' packages read from their environment (an
  AST scan of `env.get("X")`, `env["X"]`, `os.environ.get("X")`, `helper(env, "X")`), plus every
  variable the templates give the runtime and the authorization server Lambda.

Each must have a row in its table in docs/configuration.md (with a Required column; outputs: a
Present column), and each row must name something the code still reads or writes, so the page
cannot drift either way.
"""

from __future__ import annotations

import ast
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

#: The first test pays for one synthesis of the whole app with every feature on.
pytestmark = pytest.mark.timeout(600)

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "configuration.md"

#: Packages whose environment reads the page documents, and the heading (under
#: "## Environment variables") of the table each one's variables belong in.
ENV_PACKAGES = {
    "lark_mcp_server": "MCP server",
    "lark_auth_server": "Authorization server",
    "lark_user_store": "Token store and AWS access",
    "local_gateway": "Local gateway stand-in",
}
#: Template resources whose environment the page documents, by the table it belongs in.
TEMPLATE_ENV = {
    "AWS::BedrockAgentCore::Runtime": "MCP server",
    "AuthServer": "Authorization server",  # the Lambda whose logical id contains this
}

_ENV_NAMES = {"env", "environ", "environment"}
_VAR = re.compile(r"^[A-Z][A-Z0-9_]{2,}$")
_PLACEHOLDER = re.compile(r"<[A-Za-z]+>")


# --- what the code reads -------------------------------------------------------------------


def _is_env(node: ast.AST) -> bool:
    if isinstance(node, ast.Name):
        return node.id in _ENV_NAMES
    return isinstance(node, ast.Attribute) and node.attr in _ENV_NAMES


def _name(node: ast.AST) -> str | None:
    """A variable name in a string constant, or `PREFIX_<...>` for an f-string starting so."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and _VAR.match(node.value):
        return node.value
    if isinstance(node, ast.JoinedStr) and node.values:
        head = node.values[0]
        if isinstance(head, ast.Constant) and re.match(r"^[A-Z][A-Z0-9_]+_$", str(head.value)):
            return f"{head.value}<"
    return None


def env_reads(source: str) -> set[str]:
    """Variable names a module reads: `env.get("X")`, `env["X"]`, `os.environ.get("X")`,
    `os.getenv("X")`, and `helper(env, "X", ...)` (a name after an `env` argument)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        candidates: list[ast.AST] = []
        if isinstance(node, ast.Subscript) and _is_env(node.value):
            candidates = [node.slice]
        elif isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Attribute) and func.attr in ("get", "pop"):
                if _is_env(func.value):
                    candidates = node.args[:1]
            elif isinstance(func, ast.Attribute) and func.attr == "getenv":
                candidates = node.args[:1]
            env_at = [i for i, arg in enumerate(node.args) if _is_env(arg)]
            if env_at:
                candidates += node.args[env_at[0] + 1 :]
        found.update(name for name in map(_name, candidates) if name)
    return found


def package_env_reads() -> dict[str, set[str]]:
    """Table heading -> variables the packages documented under it read."""
    reads: dict[str, set[str]] = {}
    for package, heading in ENV_PACKAGES.items():
        for path in sorted((ROOT / package).rglob("*.py")) if (ROOT / package).is_dir() else []:
            reads.setdefault(heading, set()).update(env_reads(path.read_text()))
    return reads


@dataclass(frozen=True)
class Synthesis:
    context_keys: frozenset[str]
    outputs: frozenset[tuple[str, str]]  # (stack name with "<prefix>-", output id)
    template_env: dict[str, set[str]]  # table heading -> variables the templates set


@pytest.fixture(scope="module")
def synthesis() -> Iterator[Synthesis]:
    """Synthesize the app with every feature on, recording each context key it asks for."""
    import constructs

    from app import build_app
    from tests.infra.app_contexts import FULL
    from tests.infra.conftest import cdk_context

    asked: set[str] = set()
    original = constructs.Node.try_get_context

    def recording(self, key: str):
        asked.add(key)
        return original(self, key)

    context = cdk_context() | FULL | {"userAuth": True, "larkUserScopes": "contact:user:search"}
    constructs.Node.try_get_context = recording
    try:
        with tempfile.TemporaryDirectory() as outdir:
            assembly = build_app(context, outdir=outdir, environ={}).synth()
            stacks = {stack.stack_name: stack.template for stack in assembly.stacks}
    finally:
        constructs.Node.try_get_context = original
    outputs = set()
    template_env: dict[str, set[str]] = {}
    for stack_name, template in stacks.items():
        stack = stack_name.replace("LarkMcp-", "<prefix>-", 1)
        outputs.update(
            (stack, output)
            for output in template.get("Outputs", {})
            if not output.startswith("PublishOutput")  # CDK's weak cross-stack references
        )
        for logical_id, resource in template["Resources"].items():
            props = resource.get("Properties", {})
            for key, heading in TEMPLATE_ENV.items():
                if resource["Type"] == key or (
                    key in logical_id and resource["Type"] == "AWS::Lambda::Function"
                ):
                    env = props.get("EnvironmentVariables") or props.get("Environment", {}).get(
                        "Variables", {}
                    )
                    template_env.setdefault(heading, set()).update(env)
    # Every key cdk.json sets that is not a feature flag is asked for too.
    asked.update(key for key in cdk_context() if not key.startswith("@"))
    yield Synthesis(frozenset(asked), frozenset(outputs), template_env)


# --- what the page says --------------------------------------------------------------------


def _section(text: str, heading: str, level: int = 2) -> str:
    marks = "#" * level
    match = re.search(rf"^{marks} {re.escape(heading)}\b.*$", text, re.M)
    assert match, f"docs/configuration.md has no '{marks} {heading}' section"
    rest = text[match.end() :]
    end = re.search(rf"^#{{1,{level}}} ", rest, re.M)
    return rest[: end.start()] if end else rest


def _tables(section: str) -> list[tuple[list[str], list[list[str]]]]:
    """Every markdown table in a section: (header cells, rows of cells)."""
    tables = []
    lines = section.splitlines()
    i = 0
    while i < len(lines):
        separator = i + 1 < len(lines) and re.match(r"^\|[-| :]+\|$", lines[i + 1])
        if lines[i].startswith("|") and separator:
            header = _cells(lines[i])
            rows = []
            i += 2
            while i < len(lines) and lines[i].startswith("|"):
                rows.append(_cells(lines[i]))
                i += 1
            tables.append((header, rows))
        else:
            i += 1
    return tables


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in re.split(r"(?<!\\)\|", line.strip().strip("|"))]


def _names(cell: str) -> list[str]:
    return re.findall(r"`([^`]+)`", cell)


def documented(section: str, what: str, column: str = "required") -> list[list[str]]:
    """Rows of the section's tables, after checking each table has a `column` column (Required;
    for outputs: when the output is present)."""
    tables = _tables(section)
    assert tables, f"docs/configuration.md has no table of {what}"
    rows = []
    for header, table_rows in tables:
        lowered = [cell.lower() for cell in header]
        assert column in lowered, (
            f"docs/configuration.md: the table of {what} headed {header} has no '{column}' column"
        )
        rows += table_rows
    return rows


def _pattern(name: str) -> re.Pattern[str]:
    """`ClientId<Client>` matches `ClientIdOps`; `AWS_ENDPOINT_URL_<SERVICE>` any service."""
    parts = _PLACEHOLDER.split(name)
    return re.compile("^" + "[A-Za-z0-9_]+".join(map(re.escape, parts)) + "$")


PAGE_TEXT = PAGE.read_text()


def documented_context_keys() -> set[str]:
    rows = documented(_section(PAGE_TEXT, "CDK context"), "context keys")
    return {name for row in rows for name in _names(row[0])}


def documented_outputs() -> set[tuple[str, str]]:
    rows = documented(_section(PAGE_TEXT, "Stack outputs"), "stack outputs", "present")
    return {(stack, out) for row in rows for stack in _names(row[0]) for out in _names(row[1])}


def documented_env() -> dict[str, set[str]]:
    section = _section(PAGE_TEXT, "Environment variables")
    found = {}
    for heading in {*ENV_PACKAGES.values()}:
        if not re.search(rf"^### {re.escape(heading)}\b", section, re.M):
            continue
        rows = documented(_section(section, heading, 3), f"{heading} variables")
        found[heading] = {name for row in rows for name in _names(row[0])}
    return found


# --- the tests -----------------------------------------------------------------------------


def test_every_context_key_the_app_reads_has_a_row(synthesis: Synthesis) -> None:
    rows = documented_context_keys()
    missing = sorted(synthesis.context_keys - rows)
    assert not missing, (
        f"the app reads context keys docs/configuration.md has no row for: {missing}; "
        "add them to the table under '## CDK context' (default, required, meaning)"
    )
    stale = sorted(rows - synthesis.context_keys)
    assert not stale, f"docs/configuration.md documents context keys the app never reads: {stale}"


def test_every_stack_output_has_a_row(synthesis: Synthesis) -> None:
    rows = documented_outputs()
    patterns = [(stack, _pattern(out)) for stack, out in rows]
    missing = sorted(
        f"{stack} {out}"
        for stack, out in synthesis.outputs
        if not any(s == stack and p.match(out) for s, p in patterns)
    )
    assert not missing, (
        f"stacks have outputs docs/configuration.md has no row for: {missing}; add them to "
        "the table under '## Stack outputs'"
    )
    stale = sorted(
        f"{stack} {out}"
        for stack, out in rows
        if not any(s == stack and _pattern(out).match(o) for s, o in synthesis.outputs)
    )
    assert not stale, f"docs/configuration.md documents outputs no stack has: {stale}"


def test_every_environment_variable_the_servers_read_has_a_row(synthesis: Synthesis) -> None:
    docs = documented_env()
    needed = package_env_reads()
    for heading, names in synthesis.template_env.items():
        needed.setdefault(heading, set()).update(names)
    problems = []
    for heading, names in sorted(needed.items()):
        rows = docs.get(heading, set())
        for name in sorted(names):
            if name.endswith("<"):  # an f-string prefix: a row `PREFIX_<SOMETHING>`
                if not any(row.startswith(name) for row in rows):
                    problems.append(f"{name}...> (### {heading})")
            elif name not in rows:
                problems.append(f"{name} (### {heading})")
    assert not problems, (
        f"variables the code reads or the templates set, without a row in docs/configuration.md: "
        f"{problems}; add them under '## Environment variables'"
    )
    stale = []
    for heading, rows in docs.items():
        read = needed.get(heading, set())
        for row in rows:
            if "<" in row:
                if not any(name.endswith("<") and row.startswith(name) for name in read):
                    stale.append(f"{row} (### {heading})")
            elif row not in read:
                stale.append(f"{row} (### {heading})")
    assert not stale, f"docs/configuration.md documents variables no code reads: {sorted(stale)}"


def test_the_scan_finds_every_form_of_read() -> None:
    """The AST scan itself: each way this code base reads a variable is seen, and nothing
    that only looks like one (a service id passed before `env`)."""
    source = """
import os
def f(env, environ):
    a = env.get("ONE")
    b = env["TWO"]
    c = os.environ.get("THREE", "x")
    d = os.getenv("FOUR")
    e = _need(env, "FIVE", "what it is")
    g = endpoint_for("NOT_A_VARIABLE", "dynamodb", "eu-west-1", env)
    h = env.get(f"PREFIX_{name}")
    i = environ.pop("SIX", None)
"""
    assert env_reads(source) == {"ONE", "TWO", "THREE", "FOUR", "FIVE", "PREFIX_<", "SIX"}
