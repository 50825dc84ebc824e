"""(in progress)"""

from __future__ import annotations

from .routing import Endpoint


def endpoints() -> list[Endpoint]:
    return []
