"""Lark docs tools (being written)."""

from .registry import ToolSet

TOOLS = ToolSet()
