"""Ids reach a Lark path only through lark_mcp_server/paths.py, checked and encoded.

The source scan below fails on any f-string, concatenation or `.format` that puts a value into
an `/open-apis/...` path, in every module of the server (so a new area module is covered too);
`paths.build` refuses templates that are not literals and segments that did not come from an
`IdShape`; and the issue's own attack (`../zz?x=1#` as a message id) is refused, naming the
argument and the shape, before anything is sent.
"""

from __future__ import annotations

import ast
from pathlib import Path
from urllib.parse import unquote

import pytest
from mcp.server.mcpserver.exceptions import ToolError

from lark_mcp_server import paths
from tests.lark_fake import FakeLark

from .harness import ServerProcess, call, error_text
from .literals import constant, module_constants

PACKAGE = Path(paths.__file__).parent
HOSTILE = ["../zz?x=1#", "a/b", "..", "%2F", "x\x00y", "x\ny", "ｏｍ_x", "a b", "x\u202e", "é"]


# -- no hand-built paths -------------------------------------------------------------------------


def _mentions_api(node: ast.AST, names: dict[str, str]) -> bool:
    """Whether a path (a string starting /open-apis, literal or named) is part of it."""
    for child in ast.walk(node):
        if isinstance(child, ast.Constant) and isinstance(child.value, str):
            if child.value.startswith("/open-apis"):
                return True
        elif isinstance(child, ast.Name) and names.get(child.id, "").startswith("/open-apis"):
            return True
    return False


def hand_built_paths(source: str) -> list[str]:
    """Places where a value is put into an /open-apis path other than through paths.build."""
    tree = ast.parse(source)
    names = module_constants(tree)
    problems = []
    for node in ast.walk(tree):
        built = (
            isinstance(node, ast.JoinedStr)
            or (isinstance(node, ast.BinOp) and constant(node, names) is None)
            or (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("format", "join", "replace")
            )
        )
        if built and _mentions_api(node, names):
            problems.append(f"line {node.lineno}: {ast.unparse(node)[:120]}")
    return problems


def test_no_module_builds_a_lark_path_by_hand():
    found = {
        module.name: problems
        for module in sorted(PACKAGE.rglob("*.py"))
        if (problems := hand_built_paths(module.read_text(encoding="utf-8")))
    }
    assert not found, (
        "Build Lark paths as a literal template plus paths.Segment values "
        f"(lark.get('/open-apis/.../{{id}}', SHAPE.segment('arg', value))): {found}"
    )


@pytest.mark.parametrize(
    "source",
    [
        'lark.get(f"/open-apis/im/v1/chats/{chat_id}/members")',
        'X = "/open-apis/task/v2/tasks"\nlark.patch(f"{X}/{guid}")',
        'X = "/open-apis/task/v2/tasks"\nlark.patch(X + "/" + guid)',
        'lark.get("/open-apis/docx/v1/documents/{}/raw_content".format(doc))',
        'lark.get("/open-apis/wiki/v2/spaces/%s/nodes" % space)',
    ],
)
def test_the_scan_catches_each_way_of_building_a_path(source: str):
    assert hand_built_paths(source)


def test_the_scan_accepts_templates_and_constant_sums():
    source = (
        'T = "/open-apis/bitable/v1/apps/{app_token}/tables/{table_id}"\n'
        'lark.get(T + "/fields", *segments)\n'
        'lark.post("/open-apis/im/v1/messages/{message_id}/reply", seg)\n'
    )
    assert hand_built_paths(source) == []


# -- building paths ------------------------------------------------------------------------------


def test_a_segment_is_one_encoded_segment_whatever_it_holds():
    # Even a shape that let everything through could not add a segment, query or fragment.
    anything = paths.IdShape("chat_id", "anything", r"(?s).+", "anything", "x", max_length=999)
    for value in HOSTILE:
        path = paths.build(
            "/open-apis/im/v1/chats/{chat_id}/members", [anything.segment("c", f"q{value}q")]
        )
        head, segment, tail = path.rsplit("/", 2)
        assert head == "/open-apis/im/v1/chats" and tail == "members", path
        assert not set(segment) & set("/?#\x00\n ") and unquote(segment) == f"q{value}q"


def test_valid_ids_are_sent_as_lark_documents_them():
    path = paths.build(
        "/open-apis/calendar/v4/calendars/{calendar_id}/events/{event_id}/attendees",
        [
            paths.CALENDAR_ID.segment("calendar_id", "feishu.cn_xx@group.calendar.feishu.cn"),
            paths.EVENT_ID.segment("event_id", "75d28f9b-e35c-4230-8a83-4a2a5b6b5e9c_0"),
        ],
    )
    assert path == (
        "/open-apis/calendar/v4/calendars/feishu.cn_xx@group.calendar.feishu.cn/events/"
        "75d28f9b-e35c-4230-8a83-4a2a5b6b5e9c_0/attendees"
    )


@pytest.mark.parametrize(
    "template",
    [
        "/open-apis/bitable/v1/apps/bascnX7/tables",  # an id (mixed case) in the template
        "/open-apis/im/v1/messages/{message_id}/reply?x=1",
        "/open-apis/im/v1/../chats",
        "/open-apis/im/v1/chats/oc_{chat_id}",  # a placeholder must be a whole segment
        "https://evil.example/open-apis/im/v1/chats",
    ],
)
def test_build_refuses_templates_that_are_not_literals(template: str):
    segment = paths.MESSAGE_ID.segment("message_id", "om_1")
    with pytest.raises(ValueError, match="not a literal"):
        paths.build(template, [segment] if "{" in template else [])


def test_build_refuses_raw_strings_and_mismatched_segments():
    template = "/open-apis/im/v1/messages/{message_id}/reply"
    with pytest.raises(TypeError):
        paths.build(template, ["om_1"])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="takes"):
        paths.build(template, [paths.CHAT_ID.segment("chat_id", "oc_1")])
    with pytest.raises(ValueError, match="takes"):
        paths.build(template, [])


# -- what the agent reads ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("shape", "good"),
    [
        (paths.MESSAGE_ID, "om_934be5776f5a87239a298af9e74c0f72"),
        (paths.CHAT_ID, "oc_a0553eda9014c201e6969b478895c230"),
        (paths.OPEN_ID, "ou_2cefb2f014f8d0c6c2d2eb7bafb0e54f"),
        (paths.TABLE_ID, "tblsRc9GRRXKqhvW"),
        (paths.RECORD_ID, "recPGfZZ13"),
        (paths.APP_TOKEN, "appbcbWCzen6D8dezhoCH2RpMAh"),
        (paths.APP_TOKEN, "bascnCMII2ORej2RItqpZZUNMIe"),
        (paths.TASK_GUID, "83912691-2E43-47fc-94a4-d512e03984fa"),
        (paths.CALENDAR_ID, "larksuite.com_HF9U2MbibE8PPpjro6xjqa@group.calendar.larksuite.com"),
        (paths.EVENT_ID, "00592a0e-7edf-4678-bc9d-1b77383ef08e_0"),
        (paths.WIKI_SPACE_ID, "6946843325487906839"),
        (paths.WIKI_NODE_TOKEN, "wikcnpJLIzbAptN4cMQrQoewaLc"),
        (paths.DOCUMENT_ID, "doxcnePuYufKa49ISjhD8Ih0ikh"),
    ],
)
def test_lark_documented_examples_pass_and_hostile_variants_do_not(shape: paths.IdShape, good):
    assert shape.check("arg", f" {good} ") == good
    assert shape.check("arg", shape.example) == shape.example
    for bad in [*HOSTILE, good + "/..", good + "?x=1", good + "#", good + "%2F", good + "\x01"]:
        with pytest.raises(ToolError) as refused:
            shape.check("the_arg", bad)
        text = str(refused.value)
        # Names the argument and the expected shape; the bad value is shown escaped.
        assert text.startswith("the_arg ") and shape.example in text
        assert not set(text) & {"\x00", "\x01", "\n", "\u202e"}


def test_not_a_string_and_empty_are_refused_by_name():
    with pytest.raises(ToolError, match=r"^task_guid must be a string"):
        paths.TASK_GUID.check("task_guid", 12)
    with pytest.raises(ToolError, match=r"^chat_id is empty"):
        paths.CHAT_ID.check("chat_id", "  ")


def test_lone_surrogates_are_refused_anywhere_in_the_arguments():
    paths.check_text({"text": "fine 文字 🙂", "items": ["a", {"k": "v"}]})
    for arguments in ({"text": "a\ud800"}, {"fields": {"Name": ["x", "\udfff"]}}):
        with pytest.raises(ToolError, match="surrogate"):
            paths.check_text(arguments)


# -- over the wire ---------------------------------------------------------------------------------


def test_the_issue_attack_is_refused_before_lark(server: ServerProcess, lark: FakeLark):
    before = len(lark.requests)
    text = error_text(call(server, "reply_message", {"message_id": "../zz?x=1#", "text": "hi"}))
    assert "message_id '../zz?x=1#' is not a message id" in text and "om_" in text
    assert len(lark.requests) == before  # Lark was not called at all


@pytest.mark.parametrize(
    ("tool", "arguments", "named"),
    [
        ("get_chat_members", {"chat_id": "oc_x/../../messages"}, "chat_id"),
        ("list_wiki_nodes", {"space_id": "1/../../spaces"}, "space_id"),
        ("list_base_fields", {"base": "bascnTeamTracker", "table_id": "tbl?x=1"}, "table_id"),
        (
            "list_base_fields",
            {"base": "https://x.feishu.cn/base/bascnTeamTracker?table=tbl%2F..%2Fx"},
            "base",
        ),
        ("update_task", {"task_guid": "x\x01", "summary": "s"}, "task_guid"),
        (
            "update_base_record",
            {"base": "bascnTeamTracker", "table_id": "tblTasks", "record_id": "rec#", "fields": {}},
            "record_id",
        ),
        (
            "create_event",
            {
                "calendar_id": "cal\x00@group.calendar.feishu.cn",
                "summary": "s",
                "start_time": "2026-11-24T10:00:00+08:00",
                "end_time": "2026-11-24T11:00:00+08:00",
            },
            "calendar_id",
        ),
        ("get_document", {"document": "https://x.feishu.cn/docx/dox%2F..%2Fim"}, "document"),
        ("list_drive_files", {"folder_token": "https://[x/drive/folder/y"}, "folder_token"),
    ],
)
def test_bad_ids_are_tool_errors_naming_the_argument(
    server: ServerProcess, lark: FakeLark, tool: str, arguments: dict, named: str
):
    before = len(lark.requests)
    text = error_text(call(server, tool, arguments))
    assert text.startswith(f"Error executing tool {tool}: {named}"), text
    assert len(lark.requests) == before
