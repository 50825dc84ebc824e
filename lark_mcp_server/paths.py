"""Lark ids, and the only way a tool argument becomes part of a request path.

Arguments come from a model that reads text anyone can write, so an id is hostile until shown
otherwise: `../zz?x=1#` pasted into `/messages/{message_id}/reply` would send the request to
another endpoint, past the gateway's per-tool policy. Hence:

- A path is a template literal with `{name}` placeholders (`"/open-apis/im/v1/messages/
  {message_id}/reply"`) plus one `Segment` per placeholder. `LarkCall.get/post/...` accept
  nothing else, `build()` rejects a template that is not a plain literal, and
  tests/server/test_paths.py fails on any f-string or concatenation that builds one.
- A `Segment` comes only from `IdShape.segment(arg, value)`: the value must have the shape
  Lark documents for that id (else a `ToolError` naming the argument and the expected shape,
  and Lark is not called), and it is percent-encoded as exactly one path segment anyway.
- `check_text()` refuses what no JSON or URL can carry (unpaired UTF-16 surrogates) in any
  argument; `registry` runs it on every call, so text never crashes the HTTP client.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import SplitResult, quote, urlsplit

from mcp.server.mcpserver.exceptions import ToolError

_SHOWN = 60  # characters of a bad value quoted back in an error


def shown(value: Any) -> str:
    """A value quoted for an error message: escaped (no control characters), and short."""
    text = repr(value) if not isinstance(value, str) else ascii(value)[1:-1]
    if len(text) > _SHOWN:
        text = text[: _SHOWN - 3] + "..."
    return f"'{text}'"


@dataclass(frozen=True)
class Segment:
    """One validated, percent-encoded path segment for the placeholder `param`."""

    param: str
    encoded: str


@dataclass(frozen=True)
class IdShape:
    """The form of one kind of Lark id.

    `param` is Lark's name for it: the placeholder it fills in a path template. `pattern`
    must match the whole value; `shape` says in words what it looks like for the error.
    """

    param: str
    what: str
    pattern: str
    shape: str
    example: str
    max_length: int = 128

    def check(self, arg: str, value: Any) -> str:
        """The id, stripped of surrounding whitespace, or a ToolError that says what is wrong."""
        if not isinstance(value, str):
            raise ToolError(
                f"{arg} must be a string: {self.what} ({self.shape}, e.g. {self.example})."
            )
        text = value.strip()
        if not text:
            raise ToolError(
                f"{arg} is empty; give {self.what} ({self.shape}, e.g. {self.example})."
            )
        if len(text) > self.max_length or not _compiled(self.pattern).fullmatch(text):
            raise ToolError(
                f"{arg} {shown(text)} is not {self.what}: expected {self.shape}, e.g. "
                f"{self.example}."
            )
        return text

    def segment(self, arg: str, value: Any) -> Segment:
        """The checked id as the path segment for `{param}`."""
        return Segment(self.param, quote(self.check(arg, value), safe="@"))

    def describe(self) -> str:
        return f"{self.what} ({self.shape}, e.g. {self.example})"


@lru_cache(maxsize=64)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


# -- the ids the tools take ------------------------------------------------------------------
# Shapes as Lark documents them (prefixes and examples from the OpenAPI reference: message
# and chat ids, open_ids, Base tables and records, task GUIDs, calendar and event ids); for
# tokens Lark gives no grammar for, letters and digits of a bounded length, which every token
# Lark hands out fits.

_TAIL = "[A-Za-z0-9_-]"

MESSAGE_ID = IdShape(
    "message_id",
    "a message id",
    rf"om_{_TAIL}{{1,125}}",
    "om_ then letters/digits",
    "om_934be5776f5a87239a298af9e74c0f72",
)
CHAT_ID = IdShape(
    "chat_id",
    "a chat id",
    rf"oc_{_TAIL}{{1,125}}",
    "oc_ then letters/digits",
    "oc_a0553eda9014c201e6969b478895c230",
)
OPEN_ID = IdShape(
    "open_id",
    "a user's open_id",
    rf"ou_{_TAIL}{{1,125}}",
    "ou_ then letters/digits",
    "ou_2cefb2f014f8d0c6c2d2eb7bafb0e54f",
)
DOCUMENT_ID = IdShape(
    "document_id",
    "a docx document id",
    r"[A-Za-z0-9]{8,64}",
    "8-64 letters/digits",
    "doxcnePuYufKa49ISjhD8Ih0ikh",
)
BLOCK_ID = IdShape(
    "block_id",
    "a docx block id",
    r"[A-Za-z0-9]{8,64}",
    "8-64 letters/digits",
    "doxcnePuYufKa49ISjhD8Ih0ikh",
)
WIKI_SPACE_ID = IdShape(
    "space_id",
    "a wiki space id",
    r"[0-9]{1,32}",
    "digits only (list_wiki_spaces lists them)",
    "6946843325487906839",
)
WIKI_NODE_TOKEN = IdShape(
    "node_token",
    "a wiki node token",
    r"[A-Za-z0-9]{8,64}",
    "8-64 letters/digits",
    "wikcnpJLIzbAptN4cMQrQoewaLc",
)
FOLDER_TOKEN = IdShape(
    "folder_token",
    "a Drive folder token",
    r"[A-Za-z0-9]{8,64}",
    "8-64 letters/digits",
    "fldcnqquW1svRIYVT2Np6IuLCKd",
)
APP_TOKEN = IdShape(
    "app_token",
    "a Base app_token",
    r"[A-Za-z0-9]{8,64}",
    "8-64 letters/digits",
    "appbcbWCzen6D8dezhoCH2RpMAh",
)
TABLE_ID = IdShape(
    "table_id",
    "a Base table id",
    r"tbl[A-Za-z0-9]{1,61}",
    "tbl then letters/digits",
    "tblsRc9GRRXKqhvW",
)
RECORD_ID = IdShape(
    "record_id",
    "a Base record id",
    r"rec[A-Za-z0-9]{1,61}",
    "rec then letters/digits",
    "recPGfZZ13",
)
TASK_GUID = IdShape(
    "task_guid",
    "a task GUID",
    r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}",
    "a UUID (8-4-4-4-12 hex digits)",
    "e297ddff-06ca-4166-b917-4ce57cd3a7a0",
)
CALENDAR_ID = IdShape(
    "calendar_id",
    "a calendar id",
    r"[A-Za-z0-9._-]{1,200}@[A-Za-z0-9.-]{1,100}",
    "name@domain from list_calendars",
    "feishu.cn_xxxxxxxxxx@group.calendar.feishu.cn",
    max_length=256,
)
EVENT_ID = IdShape(
    "event_id",
    "an event id",
    rf"[A-Za-z0-9]{_TAIL}{{0,127}}",
    "letters, digits, '-' and '_'",
    "75d28f9b-e35c-4230-8a83-4a2a5b6b5e9c_0",
)


SPREADSHEET_TOKEN = IdShape(
    "spreadsheet_token",
    "a spreadsheet token",
    r"[A-Za-z0-9]{8,64}",
    "8-64 letters/digits",
    "Iow7sNNEphp3WbtnbCscPqabcef",
)
SHEET_ID = IdShape(
    "sheet_id",
    "a sheet id",
    r"[A-Za-z0-9]{1,32}",
    "1-32 letters/digits (list_sheets lists them)",
    "Q7PlXT",
)
SHEET_RANGE = IdShape(
    "range",
    "a sheet range",
    r"[A-Za-z0-9]{1,32}![A-Z]{1,3}[0-9]{1,7}:[A-Z]{1,3}[0-9]{1,7}",
    "<sheet_id>!<first cell>:<last cell>",
    "Q7PlXT!A1:C10",
)
APPROVAL_INSTANCE = IdShape(
    "instance_id",
    "an approval instance code",
    r"[A-Za-z0-9][A-Za-z0-9-]{0,63}",
    "letters, digits and '-' (list_approval_tasks gives it)",
    "81D31358-93AF-92D6-7425-01A5D67C4E71",
)
APPROVAL_TASK_ID = IdShape(
    "task_id",
    "an approval task id",
    r"[0-9]{1,32}",
    "digits (list_approval_tasks gives it)",
    "7110153401253494803",
)
DOCUMENT_FILE = IdShape(
    "file_token",
    DOCUMENT_ID.what,
    DOCUMENT_ID.pattern,
    DOCUMENT_ID.shape,
    DOCUMENT_ID.example,
)
"""A docx document id in a Drive `{file_token}` path placeholder (comments)."""
USER_OPEN_ID = IdShape("user_id", OPEN_ID.what, OPEN_ID.pattern, OPEN_ID.shape, OPEN_ID.example)
"""An open_id in a `{user_id}` path placeholder (contact/v3 users/{user_id})."""


def opaque(param: str, what: str, max_length: int = 128) -> IdShape:
    """An id Lark documents no form for: a conservative printable charset, bounded length."""
    return IdShape(
        param,
        what,
        rf"[A-Za-z0-9][A-Za-z0-9._~-]{{0,{max_length - 1}}}",
        "letters, digits, '.', '_', '~' or '-'",
        "abc123",
        max_length=max_length,
    )


# -- path templates ----------------------------------------------------------------------------

# A template is a literal: lower-case words separated by '/', or whole-segment placeholders.
_TEMPLATE = re.compile(r"/open-apis(?:/(?:[a-z0-9_]+|\{[a-z_]+\}))+")
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


@lru_cache(maxsize=256)
def _placeholders(template: str) -> tuple[str, ...]:
    if not _TEMPLATE.fullmatch(template):
        raise ValueError(
            f"path template {template!r} is not a literal '/open-apis/...' path; put each "
            "argument in a {placeholder} segment and pass it as a paths.Segment"
        )
    return tuple(_PLACEHOLDER.findall(template))


def build(template: str, segments: Iterable[Segment] = ()) -> str:
    """The request path: each `{name}` replaced by its segment, in order, exactly once.

    A mismatch is a programming error (ValueError/TypeError), never the caller's fault.
    """
    names = _placeholders(template)
    given = tuple(segments)
    for seg in given:
        if not isinstance(seg, Segment):
            raise TypeError(f"path segments must be paths.Segment, got {type(seg).__name__}")
    if tuple(seg.param for seg in given) != names:
        raise ValueError(
            f"path template {template!r} takes {list(names)}, got {[s.param for s in given]}"
        )
    parts = iter(given)
    return _PLACEHOLDER.sub(lambda _: next(parts).encoded, template)


# -- any argument ------------------------------------------------------------------------------

# Unpaired UTF-16 surrogates: valid in a JSON string escape, impossible to encode as UTF-8.
_SURROGATE = re.compile("[\ud800-\udfff]")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def check_text(arguments: Mapping[str, Any]) -> None:
    """Refuse arguments no request to Lark can carry: lone surrogates anywhere in them."""

    def walk(arg: str, value: Any) -> None:
        if isinstance(value, str):
            if _SURROGATE.search(value):
                raise ToolError(
                    f"{arg} contains an unpaired UTF-16 surrogate ({shown(value)}), which is "
                    "not valid Unicode text; send the text without it."
                )
        elif isinstance(value, Mapping):
            for key, item in value.items():
                walk(arg, key)
                walk(arg, item)
        elif isinstance(value, list | tuple):
            for item in value:
                walk(arg, item)

    for name, value in arguments.items():
        walk(name, value)


def printable(arg: str, value: str, *, what: str) -> str:
    """A free-form value bound for a query string or a JSON body: no control characters."""
    if _CONTROL.search(value):
        raise ToolError(f"{arg} {shown(value)} contains control characters; {what} has none.")
    return value


def split_url(arg: str, value: str) -> SplitResult:
    """urlsplit, with a malformed URL (e.g. an unclosed '[') as a ToolError naming the argument."""
    try:
        return urlsplit(value if "://" in value else "https://" + value)
    except ValueError as exc:
        raise ToolError(f"{arg} {shown(value)} is not a valid URL ({exc}).") from None
