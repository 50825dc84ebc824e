"""The deployed REQUEST interceptor's own code, loaded from its file.

`mcp_constructs/interceptor/caller_jwt.py` is what the user gateway's interceptor Lambda runs
(plain Python, no imports beyond `typing`). Importing it as `mcp_constructs.interceptor...`
would first import the `mcp_constructs` package, i.e. the whole AWS CDK (seconds of start-up
and a Node.js process): the stand-in loads the one file instead, so it runs exactly the code
that is deployed.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

_PATH = Path(__file__).resolve().parents[1] / "mcp_constructs" / "interceptor" / "caller_jwt.py"
_spec = importlib.util.spec_from_file_location("local_gateway._caller_jwt_interceptor", _PATH)
assert _spec is not None and _spec.loader is not None, _PATH
caller_jwt = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(caller_jwt)

CALLER_JWT_HEADER: str = caller_jwt.CALLER_JWT_HEADER
