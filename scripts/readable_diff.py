"""Make `cdk diff` output readable in review: fold changes that only move asset hashes.

Every rebuild of a Docker image or Lambda zip changes a 64-hex asset hash in several places
(image URI, S3 key, `aws:asset:path` metadata, outputs). `cdk diff` prints each as a `[-]`/`[+]`
pair, which buries the changes a reviewer must judge. This filter reads `cdk diff` text on
stdin and writes it back with every pair that differs only in asset hashes removed, emptied
parent nodes pruned (tree connectors redrawn), and one note per resource saying which asset
moved ("image asset changed: 7c965b26…→5fb58ccd…"). Everything else passes through unchanged,
so IAM/security tables and real property changes stay exactly as `cdk diff` printed them.

Usage: `cdk diff 2>&1 | python scripts/readable_diff.py` (what `make diff` runs; `cdk diff`
writes to stderr, so both streams go through the filter).
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field

ASSET_HASH = re.compile(r"[0-9a-f]{64}")
ANSI = re.compile(r"\x1b\[[0-9;]*m")
# A tree line: drawing characters, then a change marker (`[~]`, `[+]`, `[-]`, `[ ]`) or a hunk.
TREE_LINE = re.compile(r"^(?P<prefix>[ │├└─]*)(?P<marker>\[[-+~ ]\]|@@ )")
SINGLE_LINE_CHANGE = re.compile(r"^(?P<head>\[~\] .*?: )(?P<old>.*) to (?P<new>.*)$")
IMAGE_HINTS = (".dkr.ecr.", "container-assets", "ContainerUri", "ImageUri")
STEP = 4  # each tree level is drawn 4 columns to the right of its parent


@dataclass
class _Node:
    """One line of the `cdk diff` resource tree, with the lines nested under it."""

    index: int
    column: int
    marker: str
    hunk_body: bool = False
    parent: _Node | None = None
    children: list[_Node] = field(default_factory=list)
    hidden: bool = False
    note: str | None = None  # a line this filter adds instead of one `cdk diff` printed


@dataclass
class AssetMove:
    """One asset whose hash changed: shown as `<kind> asset changed: <old8>…→<new8>…`."""

    old: str
    new: str
    kind: str = "asset"

    def describe(self) -> str:
        kind = "asset" if self.kind == "asset" else f"{self.kind} asset"
        return f"{kind} changed: {self.old[:8]}…→{self.new[:8]}…"


def _normalise(text: str) -> str:
    return ASSET_HASH.sub("<asset-hash>", text)


def _is_hash_only(old: str, new: str) -> bool:
    return old != new and _normalise(old) == _normalise(new)


def _kind(*texts: str) -> str:
    if any(hint in text for text in texts for hint in IMAGE_HINTS):
        return "image"
    return "file" if any(".zip" in text or "asset." in text for text in texts) else "asset"


def _record(moves: list[AssetMove], old_text: str, new_text: str) -> None:
    """Remember the hash pairs of one hash-only change (each asset once, its kind if known)."""
    kind = _kind(old_text, new_text)
    for old, new in zip(ASSET_HASH.findall(old_text), ASSET_HASH.findall(new_text), strict=True):
        if old == new:
            continue
        known = next((m for m in moves if (m.old, m.new) == (old, new)), None)
        if known is None:
            moves.append(AssetMove(old, new, kind))
        elif known.kind == "asset" or (known.kind == "file" and kind == "image"):
            known.kind = kind


def _parse_tree(lines: list[str], start: int) -> tuple[_Node, int]:
    """Parse the resource block that starts at `lines[start]`; returns it and the next index."""
    root = _Node(start, 0, TREE_LINE.match(lines[start])["marker"])
    stack = [root]
    hunk: _Node | None = None
    index = start + 1
    while index < len(lines):
        match = TREE_LINE.match(lines[index])
        if match is None or match.start("marker") == 0:
            break
        column = match.start("marker")
        marker = match["marker"].strip()
        if "─" not in match["prefix"] and hunk is not None and column == hunk.column:
            node = _Node(index, column, marker, hunk_body=True, parent=hunk)
            hunk.children.append(node)
        else:
            while stack[-1].column >= column:
                stack.pop()
            node = _Node(index, column, marker, parent=stack[-1])
            stack[-1].children.append(node)
            stack.append(node)
            hunk = node if marker == "@@" else None
        index += 1
    return root, index


def _walk(node: _Node):
    yield node
    for child in node.children:
        yield from _walk(child)


def _hide_hash_only_pairs(node: _Node, lines: list[str], moves: list[AssetMove]) -> int:
    """Hide runs of `[-]` lines followed by as many `[+]` lines that differ only in hashes."""
    hidden = 0
    kids = node.children
    i = 0
    while i < len(kids):
        j = i
        while j < len(kids) and kids[j].marker == "[-]" and not kids[j].children:
            j += 1
        k = j
        while k < len(kids) and kids[k].marker == "[+]" and not kids[k].children:
            k += 1
        removed, added = kids[i:j], kids[j:k]
        pairs = [
            (_body(lines[a.index]), _body(lines[b.index]))
            for a, b in zip(removed, added, strict=False)
        ]
        if removed and len(removed) == len(added) and all(_is_hash_only(*p) for p in pairs):
            for old, new in pairs:
                _record(moves, old, new)
            for n in removed + added:
                n.hidden = True
            hidden += len(pairs)
            i = k
        else:
            i += 1
    for child in kids:
        hidden += _hide_hash_only_pairs(child, lines, moves)
    return hidden


def _body(line: str) -> str:
    match = TREE_LINE.match(line)
    return line[match.end("marker") :] if match else line


def _prune(node: _Node) -> bool:
    """Hide nodes left with nothing to show; returns whether `node` still shows a change."""
    if node.hidden:
        return False
    if not node.children:
        return node.marker != "[ ]"
    alive = [_prune(child) for child in node.children]
    if node.marker == "@@":
        shows = any(c.marker in ("[-]", "[+]") and not c.hidden for c in node.children)
        if not shows:
            for child in node.children:
                child.hidden = True
    else:
        shows = any(alive)
    if not shows and node.parent is not None:
        node.hidden = True
    return shows


def _has_next_sibling(node: _Node) -> bool:
    if node.parent is None or node.hunk_body:
        return False
    siblings = [s for s in node.parent.children if not s.hidden and not s.hunk_body]
    return bool(siblings) and siblings[-1] is not node


def _redraw(line: str, node: _Node) -> str:
    """Redraw the connector columns of one line after some of its siblings were hidden."""
    chars = list(line)
    ancestors = []
    walker = node.parent
    while walker is not None and walker.parent is not None:
        ancestors.append(walker)
        walker = walker.parent
    for ancestor in ancestors:
        col = ancestor.column - STEP + 1
        if 0 <= col < len(chars) and chars[col] in "│ ├└":
            chars[col] = "│" if _has_next_sibling(ancestor) else " "
    if not node.hunk_body and node.parent is not None:
        col = node.column - STEP + 1
        if 0 <= col < len(chars) and chars[col] in "├└":
            chars[col] = "├" if _has_next_sibling(node) else "└"
    return "".join(chars)


def _render_block(lines: list[str], root: _Node, moves: list[AssetMove], hidden: int) -> list[str]:
    if hidden:
        plural = "s" if hidden != 1 else ""
        notes = "; ".join(move.describe() for move in moves)
        text = f"{notes} ({hidden} asset-hash-only change{plural} hidden)"
        root.children.append(_Node(-1, STEP, "note", parent=root, note=text))
    out = []
    for node in _walk(root):
        if node.hidden:
            continue
        if node is root:
            out.append(lines[node.index])
        elif node.note is not None:
            out.append(f" {'├' if _has_next_sibling(node) else '└'}─ {node.note}")
        else:
            out.append(_redraw(lines[node.index], node))
    return out


def filter_diff(text: str) -> str:
    """Return `cdk diff` text with asset-hash-only changes folded into one-line notes."""
    lines = ANSI.sub("", text).splitlines()
    out: list[str] = []
    total_hidden = 0
    index = 0
    while index < len(lines):
        line = lines[index]
        match = TREE_LINE.match(line)
        if match and match.start("marker") == 0:
            single = SINGLE_LINE_CHANGE.match(line)
            if single and _is_hash_only(single["old"], single["new"]):
                moves: list[AssetMove] = []
                _record(moves, single["old"], single["new"])
                out.append(single["head"] + "; ".join(m.describe() for m in moves))
                total_hidden += 1
                index += 1
                continue
            root, index = _parse_tree(lines, index)
            moves = []
            hidden = _hide_hash_only_pairs(root, lines, moves)
            if hidden:
                _prune(root)
            total_hidden += hidden
            out.extend(_render_block(lines, root, moves, hidden))
            continue
        if total_hidden and line.startswith("✨  Number of stacks with differences"):
            out.append(
                f"({total_hidden} asset-hash-only change{'s' if total_hidden != 1 else ''} "
                "folded by scripts/readable_diff.py; `cdk diff` alone prints them in full)"
            )
            total_hidden = 0
        out.append(line)
        index += 1
    if total_hidden:
        out.append(f"({total_hidden} asset-hash-only changes folded by scripts/readable_diff.py)")
    return "\n".join(out) + ("\n" if text.endswith("\n") or out else "")


def main() -> int:
    sys.stdout.write(filter_diff(sys.stdin.read()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
