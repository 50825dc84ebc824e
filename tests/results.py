"""Reading a tool's result the way a consumer does: header-row tables back into records.

The server sends every top-level list of records as a table (`formatting.table`): a header
row of field names, then one row per record. Tests compare records, so they read it back here.
A spreadsheet's cell grid (`values`) is data, not a table of records, and stays as it is.
"""

from __future__ import annotations

from typing import Any

GRIDS = frozenset({"values"})


def records(rows: list[list[Any]]) -> list[dict[str, Any]]:
    """A header-row table as records; a null cell is a field the record does not have."""
    header, *body = rows
    assert all(isinstance(name, str) for name in header), header
    assert all(len(row) == len(header) for row in body), rows
    return [{k: v for k, v in zip(header, row, strict=True) if v is not None} for row in body]


def is_table(key: str, value: Any) -> bool:
    return (
        key not in GRIDS
        and isinstance(value, list)
        and len(value) >= 2
        and isinstance(value[0], list)
        and all(isinstance(row, list) for row in value)
    )


def decode(data: dict[str, Any]) -> dict[str, Any]:
    """A result payload with each table read back as records."""
    return {k: records(v) if is_table(k, v) else v for k, v in data.items()}
