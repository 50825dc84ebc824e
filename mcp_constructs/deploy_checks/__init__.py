"""Deploys that prove themselves: the tool-sync and smoke-test custom resources.

`GatewayToolSync` and `GatewaySmokeTest` live in `constructs.py`; they are imported lazily so
that `runtime/` (the Lambda code, also used by `python -m mcp_constructs.verify`) loads without
aws-cdk-lib.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .constructs import GatewaySmokeTest, GatewayToolSync, fingerprint

__all__ = ["GatewaySmokeTest", "GatewayToolSync", "fingerprint"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from . import constructs

        return getattr(constructs, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
