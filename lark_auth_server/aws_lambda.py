"""Lambda entry point: `lark_auth_server.aws_lambda.handler` (payload format 2.0).

The core is built on the first request (cold start imports only the standard library here).
"""

from __future__ import annotations

from typing import Any


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    from . import lambda_adapter  # lazy: keeps the init phase short

    return lambda_adapter.handle(event)
