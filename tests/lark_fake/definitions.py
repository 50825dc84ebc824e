"""Lark's published request definitions, and a check of a recorded request against them.

`lark_definitions.json` holds, for every endpoint `lark_mcp_server` calls, the request
definition Lark generates its SDKs and its official MCP server from: query `params`, body
`data` and `path` as JSON Schema, and which `accessTokens` it takes. It is extracted from
`@larksuiteoapi/lark-mcp` (`extract_definitions.mjs`, descriptions dropped). Lark publishes no
such definition for the `sheets/v2` values endpoints and `search/v2/doc_wiki/search`; those
are written out below from Lark's reference pages (request fields, enums, required).

`problems(request)` names every way a request the fake received departs from its definition:
an endpoint without one, a query parameter the endpoint does not take or of the wrong type or
enum, a required one missing, a body that does not validate, or a kind of token it does not take.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

_FILE = Path(__file__).with_name("lark_definitions.json")
_TOKEN_PATHS = ("/open-apis/auth/", "/open-apis/authen/")

_VALUE_RANGE = {
    "type": "object",
    "properties": {
        "valueRange": {
            "type": "object",
            "properties": {
                "range": {"type": "string"},
                "values": {"type": "array", "items": {"type": "array"}},
            },
            "required": ["range", "values"],
            "additionalProperties": False,
        }
    },
    "required": ["valueRange"],
    "additionalProperties": False,
}
# From open.feishu.cn/document/server-docs/docs/sheets-v3/data-operation/{reading-a-single-range,
# write-data-to-a-single-range, append-data} and .../search-v2/suite-search/search_doc_wiki.
HAND_WRITTEN: dict[str, dict[str, Any]] = {
    "GET /open-apis/sheets/v2/spreadsheets/{}/values/{}": {
        "accessTokens": ["tenant", "user"],
        "params": {
            "type": "object",
            "properties": {
                "valueRenderOption": {
                    "type": "string",
                    "enum": ["ToString", "FormattedValue", "Formula", "UnformattedValue"],
                },
                "dateTimeRenderOption": {"type": "string", "enum": ["FormattedString"]},
                "user_id_type": {"type": "string", "enum": ["open_id", "union_id"]},
            },
            "additionalProperties": False,
        },
    },
    "PUT /open-apis/sheets/v2/spreadsheets/{}/values": {
        "accessTokens": ["tenant", "user"],
        "data": _VALUE_RANGE,
    },
    "POST /open-apis/sheets/v2/spreadsheets/{}/values_append": {
        "accessTokens": ["tenant", "user"],
        "params": {
            "type": "object",
            "properties": {
                "insertDataOption": {"type": "string", "enum": ["OVERWRITE", "INSERT_ROWS"]}
            },
            "additionalProperties": False,
        },
        "data": _VALUE_RANGE,
    },
    "POST /open-apis/search/v2/doc_wiki/search": {
        "accessTokens": ["user"],
        "data": {
            "type": "object",
            "properties": {
                "query": {"type": "string"},
                "doc_filter": {"type": "object"},
                "wiki_filter": {"type": "object"},
                "page_token": {"type": "string"},
                "page_size": {"type": "integer", "maximum": 20},
            },
            "required": ["query"],
            "additionalProperties": False,
        },
    },
}


@cache
def definitions() -> dict[str, dict[str, Any]]:
    published = json.loads(_FILE.read_text(encoding="utf-8"))["endpoints"]
    return {**published, **HAND_WRITTEN}


_PLACEHOLDER = re.compile(r"\{[^}]*\}")


def route_key(method: str, route: str) -> str:
    return method.upper() + " " + _PLACEHOLDER.sub("{}", route)


def _fits(value: str, prop: dict[str, Any]) -> bool:
    """A query-string value against a definition's property (query values are strings)."""
    if "enum" in prop:
        return value in [str(v) for v in prop["enum"]]
    kind = prop.get("type")
    if kind in ("number", "integer"):
        return (
            re.fullmatch(r"-?[0-9]+(\.[0-9]+)?" if kind == "number" else r"-?[0-9]+", value)
            is not None
        )
    if kind == "boolean":
        return value in ("true", "false")
    return True


def problems(request: Any) -> list[str]:
    """How a `RecordedRequest` departs from Lark's definition of its endpoint."""
    if request.path.startswith(_TOKEN_PATHS) or request.route is None:
        return []
    key = route_key(request.method, request.route)
    found = definitions().get(key)
    if found is None:
        return [f"{key}: no published definition to check it against"]
    out = []
    params = found.get("params") or {"type": "object", "properties": {}}
    props = params.get("properties") or {}
    for name, value in request.query.items():
        if name not in props:
            out.append(f"{key}: query parameter {name!r} is not in Lark's definition")
        elif not _fits(value, props[name]):
            out.append(f"{key}: query {name}={value!r} does not fit {props[name]}")
    for name in params.get("required") or []:
        if name not in request.query:
            out.append(f"{key}: required query parameter {name!r} is missing")
    data = found.get("data")
    if request.json is not None or (data and data.get("required")):
        if data is None:
            out.append(f"{key}: sends a body, Lark's definition takes none")
        else:
            for error in Draft202012Validator(data).iter_errors(request.json):
                where = "/".join(str(p) for p in error.absolute_path) or "body"
                out.append(f"{key}: {where}: {error.message[:200]}")
    token = request.headers.get("authorization", "")
    kind = "user" if token.startswith("Bearer u-") else "tenant"
    if kind not in (found.get("accessTokens") or ["tenant", "user"]):
        out.append(f"{key}: sent with a {kind} token; Lark takes {found.get('accessTokens')}")
    return out
