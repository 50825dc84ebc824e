"""Lark IM tools (being written)."""

from .registry import ToolSet

TOOLS = ToolSet()
