"""The server's tool manifest (`lark_mcp_server/tools_manifest.json`): the one list of tools.

The server package writes the manifest from its own tool definitions; the Cedar tool policies,
the smoke test, `verify` and the read-only team checks read it here, so tool names and
read-only-ness live in one place. Standard library only: `verify` runs from a laptop.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

MANIFEST_PATH = Path(__file__).resolve().parent.parent / "lark_mcp_server" / "tools_manifest.json"

_TOOL_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")


class ManifestError(ValueError):
    """The tools manifest is missing or malformed; the message says which and where."""


@dataclass(frozen=True)
class Tool:
    """One MCP tool as the manifest describes it."""

    name: str
    read_only: bool
    needs_user: bool = False
    """Only a signed-in person can use it (through the bot gateway it answers with an error)."""


def load_manifest(path: Path | str = MANIFEST_PATH) -> tuple[Tool, ...]:
    """Read ``{"tools": [{"name": ..., "read_only": ...}, ...]}`` and validate it."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ManifestError(
            f"tools manifest {path} not found; it lists every tool and whether it is read-only"
        ) from None
    except json.JSONDecodeError as exc:
        raise ManifestError(f"tools manifest {path} is not valid JSON: {exc}") from None
    return parse_manifest(data, source=str(path))


def parse_manifest(data: object, *, source: str = "tools manifest") -> tuple[Tool, ...]:
    """Validate a decoded manifest: unique tool names, a boolean ``read_only`` for each, and
    an optional boolean ``needs_user`` (tools only a signed-in person can use)."""
    entries = data.get("tools") if isinstance(data, dict) else None
    if not isinstance(entries, list) or not entries:
        raise ManifestError(f'{source}: expected {{"tools": [{{"name": ..., "read_only": ...}}]}}')
    tools: list[Tool] = []
    seen: set[str] = set()
    for index, entry in enumerate(entries):
        name = entry.get("name") if isinstance(entry, dict) else None
        read_only = entry.get("read_only") if isinstance(entry, dict) else None
        if not isinstance(name, str) or not _TOOL_RE.match(name):
            raise ManifestError(f"{source}: tools[{index}].name {name!r} is not a valid tool name")
        if not isinstance(read_only, bool):
            raise ManifestError(
                f"{source}: tools[{index}] ({name}) needs read_only: true or false, "
                f"got {read_only!r}"
            )
        needs_user = entry.get("needs_user", False)
        if not isinstance(needs_user, bool):
            raise ManifestError(
                f"{source}: tools[{index}] ({name}) needs_user must be true or false, "
                f"got {needs_user!r}"
            )
        if name in seen:
            raise ManifestError(f"{source}: tool {name!r} is listed twice")
        seen.add(name)
        tools.append(Tool(name=name, read_only=read_only, needs_user=needs_user))
    return tuple(tools)


def select_tools(tools: Iterable[Tool], served: Iterable[str]) -> tuple[Tool, ...]:
    """The manifest's tools that the server actually serves (e.g. after ``larkTools`` and
    ``larkReadOnly``), in manifest order: a policy naming a tool the target does not list
    would fail the service's validation."""
    wanted = set(served)
    return tuple(t for t in tools if t.name in wanted)


def tool_names(path: Path | str = MANIFEST_PATH, *, read_only: bool = False) -> list[str]:
    """Names from the manifest; only the read-only ones when ``read_only`` is set."""
    return [t.name for t in load_manifest(path) if t.read_only or not read_only]


def expected_tool_names(
    allow: Sequence[str] | None = None,
    *,
    read_only: bool = False,
    path: Path | str = MANIFEST_PATH,
) -> list[str]:
    """The tools a server started with ``LARK_TOOLS=allow`` / ``LARK_READ_ONLY`` will list.

    Same order of filters as the server (allowlist, then read-only); a name the manifest does
    not know is an error here, at synth, rather than a runtime that never starts.
    """
    tools = load_manifest(path)
    if allow is not None:
        known = {t.name for t in tools}
        unknown = [name for name in allow if name not in known]
        if unknown:
            raise ManifestError(
                f"unknown tool name(s) {', '.join(unknown)}; {path} knows: "
                + ", ".join(sorted(known))
            )
        tools = select_tools(tools, allow)
    return [t.name for t in tools if t.read_only or not read_only]
