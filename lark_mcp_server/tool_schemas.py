"""The tools' input schemas, computed once at image build so that a cold start does not.

Building a tool's pydantic argument model and its JSON schema costs ~2 ms per tool, most of
a cold start's own work with 39 tools. `python -m lark_mcp_server.tool_schemas` (run by the
Dockerfile and by `bench`) writes every tool's tidied schema to `tool_schemas.json` next to
this file; at start-up `build_server` serves `tools/list` from it and builds a tool's
argument model when the tool is first called (`registry.LazyTool`).

The file records a fingerprint of everything the schemas derive from: the package's source,
and the mcp, pydantic and Python versions. A file whose fingerprint does not match is
ignored (the server builds every tool at start, as without the file), so a stale file can
cost start-up time but never serve a wrong schema. It is not committed (`.gitignore`).
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

PACKAGE = Path(__file__).resolve().parent
PATH = PACKAGE / "tool_schemas.json"


def fingerprint(package: Path = PACKAGE) -> str:
    """A hash of the package's .py files and the library versions a schema depends on."""
    import mcp
    import pydantic
    import pydantic_core

    # The installed mcp's dist-info name carries its version (importlib.metadata would scan
    # every installed distribution: ~100 ms, more than this cache saves).
    sdk = sorted(p.name for p in Path(mcp.__file__).parent.parent.glob("mcp-*.dist-info"))
    versions = [*sdk, pydantic.VERSION, pydantic_core.__version__, sys.version]
    digest = hashlib.sha256("\n".join(versions).encode() + b"\n")
    for source in sorted(package.glob("*.py")):
        digest.update(source.name.encode() + b"\0" + source.read_bytes() + b"\0")
    return digest.hexdigest()


def load(path: Path = PATH) -> dict[str, dict[str, Any]] | None:
    """The schemas by tool name, or None when there is no file or it is stale or unreadable."""
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("fingerprint") != fingerprint(path.parent):
        return None
    schemas = data.get("schemas")
    return schemas if isinstance(schemas, dict) else None


def write(path: Path = PATH) -> int:
    """Compute every tool's schema (as `tools/list` shows it) and write the file."""
    from .server import all_tools

    schemas = {spec.name: spec.to_tool().parameters for spec in all_tools()}
    data = {"fingerprint": fingerprint(path.parent), "schemas": schemas}
    path.write_text(json.dumps(data, ensure_ascii=False) + "\n")
    return len(schemas)


def main() -> int:
    count = write()
    print(f"wrote {count} tool schemas to {PATH}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
