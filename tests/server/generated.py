"""Generated tool arguments, and a probe that judges each answer (test_generated_input.py).

Arguments come from three places, for every tool `tools/list` names (so a new tool is covered
without touching this file):

- its `inputSchema` (hypothesis-jsonschema): what a well-behaved model sends;
- the same, with string arguments swapped for ids the fake Lark knows (so calls get past
  validation and reach Lark) or for those ids made hostile (`/`, `..`, `?`, `#`, `%`, unicode
  look-alikes, control characters, lone surrogates): what a prompt injection sends;
- arbitrary JSON as `arguments`, shaped like an object with the schema's keys or not at all.

The probe sends each as a bare JSON-RPC `tools/call` over loopback HTTP and reports every way
the answer is wrong: HTTP 5xx, a JSON-RPC internal error, a `crash` or ERROR log line, or a
Lark request that went to another route than the one the tool meant. Given a caller JWT
(`probing(..., headers=..., user_token=...)`) it calls as that signed-in person and also
reports every Lark request made without the person's token (a fall back to the bot).

`check_generated_input` and `check_routes` are the two properties, run by
tests/server/test_generated_input.py as the bot and by
tests/user_tools/test_generated_input_as_user.py as a signed-in person.
"""

from __future__ import annotations

import ast
import inspect
import json
import os
import re
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema

from tests.lark_fake import FakeLark
from tests.lark_fake.seed import build_seed

from .harness import ACCEPT, ServerProcess
from .literals import constant, module_constants

TOKEN_PATH = FakeLark.TOKEN_PATH
USER_TOKEN_PATH = "/open-apis/authen/v2/oauth/token"  # a person's token refreshed (oauth.py)
INTERNAL_ERROR = -32603
EXAMPLES = int(os.environ.get("LARK_FUZZ_EXAMPLES", "6"))  # per tool and source of arguments

# -- values the fake Lark knows ----------------------------------------------------------------


def _id_key(key: str) -> bool:
    return key.endswith(("_id", "token", "guid", "_code")) or key in ("email", "mobile")


def _seed_ids() -> dict[str, list[str]]:
    """Every id-like string in the fake's seed, by the key Lark names it with."""
    found: dict[str, set[str]] = {}

    def walk(value: Any, key: str | None) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, k)
        elif isinstance(value, list):
            for v in value:
                walk(v, key)
        elif isinstance(value, str) and value and key and _id_key(key):
            found.setdefault(key, set()).add(value)

    walk(build_seed("cli_fake_app", "fake_tenant_1"), None)
    return {key: sorted(values) for key, values in found.items()}


SEED_IDS = _seed_ids()
# Base field names of the seeded tables, for `fields` objects that get past the name check.
FIELD_NAMES = sorted(
    {
        field["field_name"]
        for base in build_seed("cli_fake_app", "fake_tenant_1")["bases"].values()
        for table in base["tables"].values()
        for field in table["fields"]
    }
)
_BASE = SEED_IDS["app_token"][0]
# Tool argument names that carry one of the seed's ids under another name.
ALIASES = {
    "task_guid": ["guid"],
    "base": ["app_token"],
    "document": ["document_id", "obj_token"],
    "user_id": ["open_id"],
    "receive_id": ["chat_id", "open_id", "email"],
    "parent_node_token": ["node_token"],
    "folder_token": ["parent_token", "root_folder_token"],
    "emails": ["email"],
    "mobiles": ["mobile"],
    "assignees": ["open_id"],
    "attendees": ["open_id", "email"],
    "spreadsheet": ["spreadsheet_token"],
    "user": ["open_id", "email", "user_id"],
}
# Valid forms the seed does not spell out, and hostile forms that only make sense for URLs.
URLS = {
    "base": [f"https://acme.feishu.cn/base/{_BASE}?table=tblTasks"],
    "document": [
        "https://acme.feishu.cn/docx/doxMeetingNotes",
        "https://acme.feishu.cn/wiki/wikArchitecture",
    ],
    "folder_token": ["https://acme.feishu.cn/drive/folder/fldProjects"],
    "spreadsheet": ["https://acme.feishu.cn/sheets/shtcnBudget2026Plan?sheet=Hd7c2A"],
    "range": ["Q7PlXT!A1:C5", "A1:B3", "Budget!A:C", "Hd7c2A", "B2"],
}
BAD_URLS = {
    "base": [
        f"https://acme.feishu.cn/base/{_BASE}?table=tblTasks%2F..%2Fx",
        f"https://acme.feishu.cn/base/{_BASE}?table=tbl%0aX",
        f"https://acme.feishu.cn/base/{_BASE}%2F..%2Fx",
        "https://acme.feishu.cn/wiki/wikOnboarding#",
        "https://[acme.feishu.cn/base/x",
    ],
    "document": [
        "https://acme.feishu.cn/docx/dox%2F..%2Fx",
        "https://acme.feishu.cn/docx/doxMeetingNotes/../../im/v1/chats",
        "https://acme.feishu.cn/wiki/wik%3Fx%3D1",
        "https://[acme.feishu.cn/docx/x",
    ],
    "folder_token": ["https://[x/drive/folder/y", "https://acme.feishu.cn/drive/folder/%2e%2e"],
    "spreadsheet": [
        "https://acme.feishu.cn/sheets/shtcnBudget2026Plan?sheet=Q7%2F..",
        "https://acme.feishu.cn/sheets/sht%2F..%2Fx",
        "https://[acme.feishu.cn/sheets/x",
    ],
}
ALL_IDS = sorted({v for values in SEED_IDS.values() for v in values})


def _knows(name: str) -> bool:
    return any(key in SEED_IDS for key in ALIASES.get(name, [name]))


def known_values(name: str) -> list[str]:
    """Seed ids that fit an argument of this name; every seed id for a name we do not know."""
    keys = ALIASES.get(name, [name])
    values = [v for key in keys for v in SEED_IDS.get(key, [])] + URLS.get(name, [])
    return values or ALL_IDS


# How an attacker bends an id: path traversal, query and fragment injection, encoded
# separators, control characters, look-alike and bidi unicode, lone surrogates, whitespace.
HOSTILE_FORMS = (
    "{v}/../zz",
    "../{v}",
    "..",
    "{v}/",
    "{v}?x=1",
    "{v}#",
    "../zz?x=1#",
    "{v}%2F..%2Fzz",
    "{v}%",
    "%00",
    "{v}\x00",
    "{v}\x01",
    "{v}\n",
    "\t{v}",
    "{v}\x7f",
    "{v}\u202e",
    "{v}\u200b",
    "\uff4f\uff4d_{v}",
    "{v}\ud800",
    "{v} x",
    "{v}é",
    " ",
    "",
    "{v}" * 40,
)


# Times at the edges: the first and last instants Python can show, in the widest offsets
# (a result in another offset may fall outside years 1-9999), the epoch, and near misses.
# Windows a tool accepts: a week, and one longer than instance_view's 40-day limit.
WINDOWS = (
    ("2026-11-23T00:00:00+08:00", "2026-11-30T00:00:00+08:00"),
    ("2026-11-01T00:00:00Z", "2027-01-15T00:00:00Z"),
)
EDGE_TIMES = (
    "0001-01-01T00:00:00+14:00",
    "0001-01-01T00:00:00-12:00",
    "9999-12-31T23:59:59-14:00",
    "9999-12-31T23:59:59+12:00",
    "1970-01-01T00:00:00Z",
    "1969-12-31T23:59:59.999999+00:00",
    "2026-11-24T10:00:00+08:00",
    "2026-11-24T10:00:00+08:00",  # twice: a sensible time is the common case
    "2026-11-24T10:00:00",
    "2026-02-30T10:00:00+08:00",
    "2026-11-24T10:00:00+24:00",
    "today",
)


def hostile(name: str) -> st.SearchStrategy[str]:
    bent = st.builds(
        lambda form, value: form.format(v=value),
        st.sampled_from(HOSTILE_FORMS),
        st.sampled_from(known_values(name)),
    )
    return bent | st.sampled_from(BAD_URLS[name]) if name in BAD_URLS else bent


def _takes_strings(prop: dict[str, Any]) -> bool:
    """A free string argument: ids and text (not times, not enums: the schema generates those)."""
    if "format" in prop or "enum" in prop:
        return False
    types = prop.get("type")
    branches = prop.get("anyOf") or []
    return types == "string" or any(b.get("type") == "string" for b in branches)


def _takes_string_list(prop: dict[str, Any]) -> bool:
    return prop.get("type") == "array" and (prop.get("items") or {}).get("type") == "string"


def _value(name: str, prop: dict[str, Any], bent: bool) -> st.SearchStrategy[Any]:
    """An id the fake knows (or, when `bent`, one an attacker bent) for a string or list."""
    one = hostile(name) if bent else st.sampled_from(known_values(name))
    if _takes_string_list(prop):
        return st.lists(one, min_size=1, max_size=3)
    return one


def schema_args(schema: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """Arguments valid under the tool's own inputSchema.

    Without extra keys: generating arbitrary JSON for them is slow, and `arbitrary_args`
    sends plenty.
    """
    return from_schema({**schema, "additionalProperties": False})


def seeded_args(
    schema: dict[str, Any], bend: str = "sometimes"
) -> st.SearchStrategy[dict[str, Any]]:
    """Schema-valid arguments with string arguments set to ids the fake knows, so calls get
    past validation and reach Lark; then one of them bent by an attacker in every other call
    (`bend="sometimes"`), in every call (`"always"`) or in none (`"never"`)."""
    properties = schema.get("properties") or {}
    swappable = [
        name
        for name, prop in properties.items()
        if (_takes_strings(prop) or _takes_string_list(prop)) and name != "page_token"
    ]

    valid = schema_args(schema)

    # Ids the fake knows go where an argument's name says which kind it takes; other
    # strings (sort keys, offsets, text) keep their schema-generated values.
    ids = [name for name in swappable if _knows(name)]
    times = [name for name, prop in properties.items() if prop.get("format") == "date-time"]

    # With nothing bent, every call is meant to get past validation and reach Lark.
    good = bend == "never"

    @st.composite
    def build(draw: st.DrawFn) -> dict[str, Any]:
        args = dict(draw(valid))
        for name in ids:
            if name in args or good or draw(st.booleans()):
                args[name] = draw(_value(name, properties[name], bent=False))
        for name in times:
            if (name in args or draw(st.booleans())) and draw(st.booleans()):
                args[name] = draw(st.sampled_from(EDGE_TIMES))
        if {"start_time", "end_time"} <= set(properties) and (good or draw(st.booleans())):
            # A window the tool accepts, so the call goes on to Lark (recurring events too).
            args["start_time"], args["end_time"] = draw(st.sampled_from(WINDOWS))
        if "page_token" in args and (good or draw(st.booleans())):
            del args["page_token"]  # a made-up token is refused before Lark
        if "fields" in properties and properties["fields"].get("type") == "object":
            args["fields"] = draw(_fields_value())
        bent = bend == "always" or (bend == "sometimes" and draw(st.booleans()))
        if swappable and bent:
            name = draw(st.sampled_from(swappable))
            args[name] = draw(_value(name, properties[name], bent=True))
        return args

    return build()


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


def _fields_value() -> st.SearchStrategy[dict[str, Any]]:
    """A Base record: seeded field names, values of any JSON kind (text, dates, ids...)."""
    value = st.one_of(
        JSON_VALUES,
        st.sampled_from(ALL_IDS),
        st.sampled_from(["2026-11-24", "Done", "1e309", "nan", "-0", *EDGE_TIMES]),
    )
    return st.dictionaries(st.sampled_from(FIELD_NAMES), value, min_size=1, max_size=3)


def arbitrary_args(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Any JSON as `arguments`: objects with the schema's keys and any values, or not objects."""
    keys = list((schema.get("properties") or {}).keys()) or ["x"]
    keyed = st.dictionaries(st.sampled_from(keys), JSON_VALUES, max_size=len(keys))
    return st.one_of(keyed, JSON_VALUES)


# -- the probe -----------------------------------------------------------------------------------

_PLACEHOLDER = re.compile(r"\{[^}]*\}")


def route_key(method: str, template: str) -> str:
    """`POST /a/{message_id}/b` and `POST /a/{id}/b` as the same route."""
    return f"{method.upper()} {_PLACEHOLDER.sub('{}', template)}"


@dataclass
class ToolTally:
    calls: int = 0
    results: int = 0
    tool_errors: int = 0
    rpc_errors: int = 0
    lark_requests: int = 0
    problems: Counter[str] = field(default_factory=Counter)
    as_user: int = 0  # calls the server logged as run for a signed-in person


@dataclass
class Probe:
    """Calls tools on a running server and records every wrong answer."""

    server: ServerProcess
    fake: FakeLark
    http: httpx2.Client
    headers: Mapping[str, str | bytes] = field(default_factory=dict)
    """Sent with every call: the caller-JWT header makes the calls a signed-in person's."""
    user_token: str | None = None
    """That person's Lark access token: every Lark request must carry it (no bot call)."""
    app_only: frozenset[str] = frozenset()
    """Tools Lark serves to the app's token only: they may use the tenant token as a person."""
    tally: dict[str, ToolTally] = field(default_factory=dict)
    routes: dict[str, set[str]] = field(default_factory=dict)  # by tool: "METHOD /route"
    problems: list[str] = field(default_factory=list)
    kinds: Counter[str] = field(default_factory=Counter)
    _log_offset: int = 0
    _next_id: int = 0

    def __post_init__(self) -> None:
        self._log_offset = self.server.log_path.stat().st_size

    def _new_log_lines(self) -> list[dict[str, Any]]:
        with open(self.server.log_path, "rb") as log:
            log.seek(self._log_offset)
            chunk = log.read()
        # Only whole lines; a partial last line is read next time.
        end = chunk.rfind(b"\n") + 1
        self._log_offset += end
        lines = []
        for raw in chunk[:end].splitlines():
            try:
                lines.append(json.loads(raw))
            except ValueError:
                text = raw.decode("utf-8", "replace")
                # Not our JSON logging: a traceback or error printed straight to the output.
                if "Traceback" in text or "Error" in text:
                    lines.append({"level": "RAW", "message": text})
        return lines

    def _problem(self, tool: str, kind: str, arguments: Any, detail: str) -> None:
        self.kinds[kind] += 1
        self.tally[tool].problems[kind] += 1
        if len(self.problems) < 40:
            self.problems.append(
                f"{tool} {kind}: {detail[:400]}\n    arguments: {repr(arguments)[:300]}"
            )

    def call(
        self, tool: str, arguments: Any, *, headers: Mapping[str, str | bytes] | None = None
    ) -> dict[str, Any] | None:
        """tools/call; returns the JSON-RPC body (None when the answer was not JSON).

        `headers` replace the probe's own for this call (e.g. another caller JWT)."""
        tally = self.tally.setdefault(tool, ToolTally())
        tally.calls += 1
        self._next_id += 1
        first_request = len(self.fake.requests)
        # json.dumps escapes lone surrogates (\\ud800), which httpx's own encoder refuses.
        body = json.dumps(
            {
                "jsonrpc": "2.0",
                "id": self._next_id,
                "method": "tools/call",
                "params": {"name": tool, "arguments": arguments},
            }
        )
        response = self.http.post(
            self.server.mcp_url,
            content=body.encode(),
            headers={
                "Accept": ACCEPT,
                "Content-Type": "application/json",
                **(self.headers if headers is None else headers),
            },
        )
        answer: dict[str, Any] | None = None
        if response.status_code >= 500:
            self._problem(
                tool, "http_5xx", arguments, f"HTTP {response.status_code} {response.text}"
            )
        else:
            try:
                answer = response.json()
            except ValueError:
                self._problem(tool, "not_json", arguments, response.text)
        if answer is not None:
            error = answer.get("error")
            if error is not None:
                tally.rpc_errors += 1
                if error.get("code") == INTERNAL_ERROR:
                    self._problem(tool, "internal_error", arguments, json.dumps(error))
            elif (answer.get("result") or {}).get("isError"):
                tally.tool_errors += 1
                text = answer["result"]["content"][0]["text"]
                if text.rstrip(": ").endswith(f"Error executing tool {tool}"):
                    self._problem(tool, "opaque_error", arguments, text)
            else:
                tally.results += 1
        self._check_logs(tool, arguments)
        self._check_routes(tool, arguments, first_request)
        return answer

    def _check_logs(self, tool: str, arguments: Any) -> None:
        self._calls_logged: list[dict[str, Any]] = []
        for line in self._new_log_lines():
            if line.get("message") == "tool call":
                self._calls_logged.append(line)
                if line.get("as") == "user":
                    self.tally[tool].as_user += 1
                if line.get("status") == "crash":
                    self._problem(tool, "crash", arguments, json.dumps(line))
            elif line.get("level") in ("ERROR", "CRITICAL", "RAW"):
                self._problem(tool, "error_log", arguments, json.dumps(line)[:600])

    def _check_routes(self, tool: str, arguments: Any, first_request: int) -> None:
        """Every request Lark got went to a route the tool's code names, with its method."""
        meant = {
            route_key(*endpoint.split(" ", 1))
            for line in self._calls_logged
            for endpoint in line.get("endpoints") or []
        }
        for request in self.fake.requests[first_request:]:
            if self.user_token is not None and tool not in self.app_only:
                self._check_token(tool, arguments, request)
            if request.path in (TOKEN_PATH, USER_TOKEN_PATH):
                continue
            self.tally[tool].lark_requests += 1
            got = route_key(request.method, request.route) if request.route else None
            self.routes.setdefault(tool, set()).add(got or f"{request.method} {request.path}")
            if got is None or got not in meant:
                self._problem(
                    tool,
                    "route" if got else "unknown_route",
                    arguments,
                    f"{request.method} {request.path} matched {request.route!r}; "
                    f"the tool meant {sorted(meant)}",
                )

    def _check_token(self, tool: str, arguments: Any, request: Any) -> None:
        """As a person: no tenant token fetched, no request without the person's token."""
        if request.path == USER_TOKEN_PATH:
            return  # renewing the person's own token
        if request.path == TOKEN_PATH:
            self._problem(tool, "bot_call", arguments, "fetched a tenant token")
        elif request.headers.get("authorization") != f"Bearer {self.user_token}":
            shown = request.headers.get("authorization", "")[:9] or "no token"
            self._problem(
                tool, "bot_call", arguments, f"{request.method} {request.path} with {shown}..."
            )

    def summary(self) -> str:
        user = self.user_token is not None
        rows = [
            f"{'tool':<22}{'calls':>6}{'ok':>5}{'tool_err':>9}{'rpc_err':>8}{'lark_req':>9}"
            + (f"{'as_user':>8}" if user else "")
            + "  problems"
        ]
        for name, t in sorted(self.tally.items()):
            rows.append(
                f"{name:<22}{t.calls:>6}{t.results:>5}{t.tool_errors:>9}{t.rpc_errors:>8}"
                f"{t.lark_requests:>9}"
                + (f"{t.as_user:>8}" if user else "")
                + f"  {dict(t.problems) or ''}"
            )
        total = sum(t.calls for t in self.tally.values())
        rows.append(f"{len(self.tally)} tools, {total} calls, problems: {dict(self.kinds) or 0}")
        return "\n".join(rows)


@contextmanager
def probing(
    server: ServerProcess,
    fake: FakeLark,
    *,
    headers: Mapping[str, str | bytes] | None = None,
    user_token: str | None = None,
    app_only: frozenset[str] = frozenset(),
) -> Iterator[Probe]:
    """A probe on `server` (as the bot, or as the person whose caller JWT `headers` carries);
    checks afterwards that the server survived."""
    with httpx2.Client(timeout=60) as http:
        yield Probe(
            server,
            fake,
            http,
            headers=dict(headers or {}),
            user_token=user_token,
            app_only=app_only,
        )
    assert server.alive(), f"the server died:\n{server.output()[-3000:]}"


# -- the two properties ---------------------------------------------------------------------------


def fuzz_settings(examples: int) -> settings:
    return settings(
        max_examples=examples,
        derandomize=True,  # the same examples every run: CI is reproducible
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],  # problems are collected, not shrunk
        suppress_health_check=list(HealthCheck),
    )


def run_examples(
    probe: Probe, tool: dict[str, Any], strategy: st.SearchStrategy[Any], n: int
) -> None:
    """Call `tool` with `n` (derandomized) examples of `strategy`."""

    @fuzz_settings(n)
    @given(arguments=strategy)
    def check(arguments: Any) -> None:
        probe.call(tool["name"], arguments)

    check()


def reached_lark(probe: Probe) -> list[str]:
    return [name for name, t in probe.tally.items() if t.lark_requests]


def check_generated_input(
    probe: Probe, tools: list[dict[str, Any]], examples: int = EXAMPLES
) -> None:
    """Schema, seeded (sometimes bent) and arbitrary arguments for every tool: no crash, no
    5xx, no internal error, no request on a route the tool did not mean."""
    for tool in tools:
        schema = tool["inputSchema"]
        probe.fake.reset()
        run_examples(probe, tool, schema_args(schema), examples)
        run_examples(probe, tool, seeded_args(schema), 2 * examples)
        run_examples(probe, tool, arbitrary_args(schema), examples // 2)
    print("\n" + probe.summary())
    assert not probe.problems, probe.summary() + "\n\n" + "\n".join(probe.problems)
    # The generated calls got past validation often enough to exercise the Lark side too.
    reached = reached_lark(probe)
    assert len(reached) >= len(tools) * 3 // 4, f"only {reached} reached Lark"


def check_routes(
    probe: Probe,
    tools: list[dict[str, Any]],
    allowed: dict[str, set[str]],
    examples: int = EXAMPLES,
) -> None:
    """Good ids, then bent ones: every request Lark gets is a method and route in `allowed`
    (the tool's code, `tool_routes`) and the one the tool meant for that call."""
    for tool in tools:
        schema = tool["inputSchema"]
        probe.fake.reset()
        run_examples(probe, tool, seeded_args(schema, bend="never"), examples - 2)
        run_examples(probe, tool, seeded_args(schema, bend="always"), examples + 2)
    print("\n" + probe.summary())
    assert not probe.problems, probe.summary() + "\n\n" + "\n".join(probe.problems)
    steered = {
        name: sorted(seen - allowed.get(name, set()))
        for name, seen in probe.routes.items()
        if seen - allowed.get(name, set())
    }
    assert not steered, f"requests on routes the tool's code does not name: {steered}"
    reached = reached_lark(probe)
    assert len(reached) >= len(tools) * 3 // 4, f"only {reached} reached Lark"


# -- the routes a tool's code can ask for ---------------------------------------------------------

_VERBS = ("get", "post", "put", "patch", "delete")


def code_routes(package: Path) -> dict[str, set[str]]:
    """For every function in the package, the `METHOD /route` pairs it and the functions it
    calls (by name, transitively) write as `x.get/post/...("/open-apis/...")` literals.

    A static over-approximation: what a tool's code can request, whatever its arguments.
    """
    direct: dict[str, set[str]] = {}
    calls: dict[str, set[str]] = {}
    trees = {m.stem: ast.parse(m.read_text(encoding="utf-8")) for m in package.rglob("*.py")}
    constants = {stem: module_constants(tree) for stem, tree in trees.items()}
    for stem, tree in trees.items():
        names = {**_imported_constants(tree, constants), **constants[stem]}
        for fn in tree.body:
            if not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            pairs, callees = direct.setdefault(fn.name, set()), calls.setdefault(fn.name, set())
            for node in ast.walk(fn):
                if not isinstance(node, ast.Call):
                    continue
                func = node.func
                name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
                if name:
                    callees.add(name)
                if isinstance(func, ast.Attribute) and func.attr in _VERBS and node.args:
                    template = constant(node.args[0], names)
                    if template and template.startswith("/open-apis"):
                        pairs.add(route_key(func.attr, template))
    closed: dict[str, set[str]] = {}
    for start in direct:
        seen, todo, routes = {start}, [start], set()
        while todo:
            name = todo.pop()
            routes |= direct.get(name, set())
            for callee in calls.get(name, set()) - seen:
                if callee in direct:
                    seen.add(callee)
                    todo.append(callee)
        closed[start] = routes
    return closed


def _imported_constants(tree: ast.Module, constants: dict[str, dict[str, str]]) -> dict[str, str]:
    """String constants a module takes from its siblings (`from .task import TASKS`)."""
    found: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module in constants:
            for alias in node.names:
                value = constants[node.module].get(alias.name)
                if value is not None:
                    found[alias.asname or alias.name] = value
    return found


def tool_routes(specs: list[Any], package: Path) -> dict[str, set[str]]:
    """Each tool's possible `METHOD /route` pairs, from the function behind it."""
    routes = code_routes(package)
    return {spec.name: routes.get(spec.fn.__name__, set()) for spec in specs}


def package_of(obj: Any) -> Path:
    return Path(inspect.getfile(obj)).parent
