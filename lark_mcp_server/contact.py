"""Lark contact tools (being written)."""

from .registry import ToolSet

TOOLS = ToolSet()
