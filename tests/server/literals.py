"""The strings a module's source fixes: literals, module-level constants and sums of them.

Both source scans of the server use it: which `/open-apis/...` routes a tool's code can ask
for (generated.py) and that no path is built by hand (test_paths.py).
"""

from __future__ import annotations

import ast


def module_constants(tree: ast.Module) -> dict[str, str]:
    """Module-level `NAME = "..."` string constants (and sums of them), in source order."""
    found: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign):
            value = constant(node.value, found)
            if value is not None:
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        found[target.id] = value
    return found


def constant(node: ast.expr, names: dict[str, str]) -> str | None:
    """The string an expression always has, if it is built from literals and `names` only."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Name):
        return names.get(node.id)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = constant(node.left, names), constant(node.right, names)
        return left + right if left is not None and right is not None else None
    return None
