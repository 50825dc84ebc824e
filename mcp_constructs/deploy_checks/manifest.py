"""The server's tool manifest (`lark_mcp_server/tools_manifest.json`): what a deploy must list.

The server package writes the manifest from its own tool definitions; the smoke test, `verify`
and the read-only team checks read it, so the expected tool list lives in one place.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

DEFAULT_MANIFEST = Path(__file__).resolve().parents[2] / "lark_mcp_server" / "tools_manifest.json"


class ManifestError(ValueError):
    """The manifest is missing or not shaped as `{"tools": [{"name": ..., "read_only": ...}]}`."""


@dataclass(frozen=True)
class ManifestTool:
    name: str
    read_only: bool


def load_manifest(path: Path | str = DEFAULT_MANIFEST) -> list[ManifestTool]:
    """Every tool in the manifest, in its order; raise ManifestError saying what is wrong."""
    path = Path(path)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ManifestError(
            f"{path} does not exist; pass the expected tools with --expected instead"
        ) from None
    except ValueError as exc:
        raise ManifestError(f"{path} is not valid JSON: {exc}") from None
    tools = document.get("tools") if isinstance(document, dict) else None
    if not isinstance(tools, list) or not tools:
        raise ManifestError(f'{path} has no "tools" list')
    result: list[ManifestTool] = []
    for index, tool in enumerate(tools):
        if not isinstance(tool, dict) or not isinstance(tool.get("name"), str):
            raise ManifestError(f'{path}: tools[{index}] has no string "name"')
        result.append(ManifestTool(tool["name"], bool(tool.get("read_only", False))))
    return result


def tool_names(path: Path | str = DEFAULT_MANIFEST, *, read_only: bool = False) -> list[str]:
    """Names from the manifest; only the read-only ones when ``read_only`` is set."""
    return [t.name for t in load_manifest(path) if t.read_only or not read_only]


def expected_tool_names(
    allow: Sequence[str] | None = None,
    *,
    read_only: bool = False,
    path: Path | str = DEFAULT_MANIFEST,
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
        wanted = set(allow)
        tools = [t for t in tools if t.name in wanted]
    return [t.name for t in tools if t.read_only or not read_only]
