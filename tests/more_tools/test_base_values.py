"""Base value conversion, filter mapping and base references: the pure functions, directly."""

from __future__ import annotations

import datetime as dt
import json

import jsonschema
import pytest

from lark_mcp_server.base_query import (
    FILTER_FORM,
    FILTER_SCHEMA,
    OPS,
    map_filter,
    map_sort,
    parse_base,
    parse_filter,
)
from lark_mcp_server.base_values import BaseField, BaseInputError, from_lark, parse_offset, to_lark

CST = dt.timezone(dt.timedelta(hours=8))


def _field(name: str, ftype: int, ui: str, **prop: object) -> BaseField:
    return BaseField.from_lark(
        {"field_name": name, "type": ftype, "ui_type": ui, "property": prop or None}
    )


FIELDS = {
    f.name: f
    for f in [
        _field("Name", 1, "Text"),
        _field("Mail", 1, "Email"),
        _field("Estimate", 2, "Number"),
        _field("Status", 3, "SingleSelect", options=[{"name": "Open"}, {"name": "Done"}]),
        _field("Tags", 4, "MultiSelect", options=[{"name": "a"}, {"name": "b"}]),
        _field("Due", 5, "DateTime"),
        _field("Done", 7, "Checkbox"),
        _field("Owner", 11, "User", multiple=True),
        _field("Chat", 23, "GroupChat"),
        _field("Site", 15, "Url"),
        _field("Files", 17, "Attachment"),
        _field("Parent", 18, "SingleLink"),
        _field("Where", 22, "Location"),
        _field("Score", 20, "Formula"),
        _field("Created", 1001, "CreatedTime"),
        _field("No", 1005, "AutoNumber"),
    ]
}


def test_field_summary_names_types_readably():
    summaries = {name: f.summary() for name, f in FIELDS.items()}
    assert summaries["Mail"]["type"] == "email"
    assert summaries["Status"]["type"] == "single_select"
    assert summaries["Status"]["options"] == ["Open", "Done"]
    assert summaries["Due"]["type"] == "date"
    assert summaries["Owner"] == {
        "name": "Owner",
        "type": "person",
        "options": [],
        "primary": None,
        "read_only": None,
        "multiple": True,
        "description": "",
    }
    assert summaries["Score"]["read_only"] is True
    assert summaries["Created"]["type"] == "created_time"


def test_to_lark_converts_each_type():
    values = {
        "Name": "Ship it",
        "Mail": "a@example.com",
        "Estimate": "2.5",
        "Status": "Done",
        "Tags": "a",
        "Due": "2026-12-01T09:00:00.250+08:00",
        "Done": "true",
        "Owner": ["ou_alice", {"id": "ou_bob", "name": "Bob"}],
        "Chat": "oc_general",
        "Site": "https://example.com",
        "Files": ["boxcnA"],
        "Parent": ["recA"],
        "Where": "116.397755, 39.903179",
    }
    assert to_lark(FIELDS, values) == {
        "Name": "Ship it",
        "Mail": "a@example.com",
        "Estimate": 2.5,
        "Status": "Done",
        "Tags": ["a"],
        "Due": int(dt.datetime(2026, 12, 1, 1, 0, 0, 250000, dt.UTC).timestamp() * 1000),
        "Done": True,
        "Owner": [{"id": "ou_alice"}, {"id": "ou_bob"}],
        "Chat": [{"id": "oc_general"}],
        "Site": {"text": "https://example.com", "link": "https://example.com"},
        "Files": [{"file_token": "boxcnA"}],
        "Parent": ["recA"],
        "Where": "116.397755,39.903179",
    }


def test_to_lark_accepts_a_json_string_and_null_clears():
    assert to_lark(FIELDS, '{"Estimate": 3, "Due": null}') == {"Estimate": 3, "Due": None}


def test_to_lark_reports_every_misfit_with_its_form():
    with pytest.raises(BaseInputError) as caught:
        to_lark(
            FIELDS,
            {
                "Estimate": "lots",
                "Due": "2026-12-01",
                "Done": "maybe",
                "Owner": 5,
                "Score": 1,
                "Nope": "x",
            },
        )
    text = str(caught.value)
    assert "'Estimate' (number) takes a number" in text
    assert "'Due' (date) takes an ISO 8601 time with a UTC offset" in text
    assert "has no time and UTC offset" in text
    assert "'Done' (checkbox) takes true or false" in text
    assert "'Owner' (person) takes a list of user open_ids" in text
    assert "'Score' (formula) takes nothing: a formula field is computed by Lark" in text
    assert "'Nope' is not a field of this table (fields: Name, Mail," in text


@pytest.mark.parametrize("bad", [[], "not json", {}, 7])
def test_to_lark_wants_a_non_empty_object(bad):
    with pytest.raises(BaseInputError, match="fields"):
        to_lark(FIELDS, bad)


def test_from_lark_reads_each_type_flat():
    due = int(dt.datetime(2026, 11, 28, tzinfo=CST).timestamp() * 1000)
    lark = {
        "Name": [{"text": "Write ", "type": "text"}, {"text": "@Bob", "type": "mention"}],
        "Estimate": 8,
        "Status": "Open",
        "Tags": ["a", "b"],
        "Due": due,
        "Done": False,
        "Owner": [{"id": "ou_bob", "name": "Bob Li", "en_name": "Bob", "email": "b@x"}],
        "Site": {"link": "https://x.test", "text": "X"},
        "Files": [{"file_token": "boxA", "name": "a.pdf", "size": 3, "tmp_url": "https://t"}],
        "Parent": {"link_record_ids": ["recA", "recB"]},
        "Where": {"full_address": "Beijing", "location": "116.3,39.9"},
        "Score": {"type": 2, "value": [12.5]},
        "Created": due + 123,
        "No": "17",
    }
    assert from_lark(FIELDS, lark, CST) == {
        "Name": "Write @Bob",
        "Estimate": 8,
        "Status": "Open",
        "Tags": ["a", "b"],
        "Due": "2026-11-28T00:00:00+08:00",
        "Done": False,
        "Owner": [{"id": "ou_bob", "name": "Bob Li"}],
        "Site": {"link": "https://x.test", "text": "X"},
        "Files": [{"name": "a.pdf", "file_token": "boxA"}],
        "Parent": ["recA", "recB"],
        "Where": "Beijing",
        "Score": 12.5,
        "Created": "2026-11-28T00:00:00.123+08:00",
        "No": "17",
    }


def test_write_then_read_round_trips():
    values = {"Due": "2026-12-01T09:00:00.250+08:00", "Owner": ["ou_a"], "Name": "x"}
    written = to_lark(FIELDS, values)
    assert from_lark(FIELDS, written, CST) == {
        "Due": "2026-12-01T09:00:00.250+08:00",
        "Owner": [{"id": "ou_a", "name": None}],
        "Name": "x",
    }


def test_filter_maps_to_lark_conditions():
    parsed = parse_filter(
        {
            "or": [
                {"field": "Status", "op": "is", "value": "Open"},
                {"field": "Due", "op": "<", "value": "2026-12-01T00:00:00+08:00"},
                {"field": "Due", "op": "is", "value": "Today"},
                {"field": "Due", "op": ">", "value": "2026-11-30"},
                {"field": "Owner", "op": "contains", "value": "ou_bob"},
                {"field": "Estimate", "op": ">=", "value": 5},
                {"field": "Done", "op": "is", "value": True},
                {"field": "Tags", "op": "not_contains", "value": ["a", "b"]},
                {"field": "Name", "op": "empty"},
            ]
        }
    )
    midnight = int(dt.datetime(2026, 12, 1, tzinfo=CST).timestamp() * 1000)
    noon = int(dt.datetime(2026, 11, 30, 12, tzinfo=dt.UTC).timestamp() * 1000)
    assert map_filter(parsed, FIELDS) == {
        "conjunction": "or",
        "conditions": [
            {"field_name": "Status", "operator": "is", "value": ["Open"]},
            {"field_name": "Due", "operator": "isLess", "value": ["ExactDate", str(midnight)]},
            {"field_name": "Due", "operator": "is", "value": ["Today"]},
            {"field_name": "Due", "operator": "isGreater", "value": ["ExactDate", str(noon)]},
            {"field_name": "Owner", "operator": "contains", "value": ["ou_bob"]},
            {"field_name": "Estimate", "operator": "isGreaterEqual", "value": ["5"]},
            {"field_name": "Done", "operator": "is", "value": ["true"]},
            {"field_name": "Tags", "operator": "doesNotContain", "value": ["a", "b"]},
            {"field_name": "Name", "operator": "isEmpty", "value": []},
        ],
    }


def test_the_typed_form_and_the_earlier_forms_parse_alike():
    condition = {"field": "Status", "op": "is", "value": "Open"}
    typed = parse_filter({"conjunction": "or", "conditions": [condition]})
    assert typed == parse_filter({"or": [condition]})
    assert parse_filter({"conditions": [condition]}) == parse_filter({"and": [condition]})


def test_the_schema_lists_exactly_the_ops_and_admits_the_documented_form():
    jsonschema.Draft7Validator.check_schema(FILTER_SCHEMA)
    condition = FILTER_SCHEMA["properties"]["conditions"]["items"]
    assert condition["properties"]["op"]["enum"] == list(OPS)
    example = json.loads(FILTER_FORM[: FILTER_FORM.index(" (conjunction")])
    jsonschema.validate(example, FILTER_SCHEMA)
    assert parse_filter(example)[0] == "and"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"conditions": [{"field": "S", "op": "equals"}]}, FILTER_SCHEMA)


def test_a_bare_condition_is_an_and_of_one():
    assert parse_filter({"field": "Status", "op": "is", "value": "Open"})[0] == "and"
    assert parse_filter(None) is None and parse_filter({}) is None


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        ([{"field": "Status", "op": "is", "value": "Open"}], "must be an object, not list"),
        ({"all": []}, "it takes 'conditions' (a list)"),
        ({"and": [], "or": []}, "it takes 'conditions' (a list)"),
        ({"conditions": []}, "'conditions' must be a non-empty list"),
        ({"conjunction": "xor", "conditions": [{"field": "S", "op": "empty"}]}, "'xor'"),
        ({"conditions": [{"field": "S", "op": "empty"}], "where": 1}, "unknown keys ['where']"),
        ({"conditions": [{"conditions": []}]}, "nested group"),
        ({"conditions": [{"field": "S", "op": "empty"}] * 51}, "at most 50"),
        ({"and": []}, "'and' must be a non-empty list"),
        ({"and": [{"field": "Status", "op": "equals", "value": "x"}]}, "op 'equals'"),
        ({"and": [{"field": "Status", "op": "is"}]}, "needs a 'value'"),
        ({"and": [{"or": []}]}, "nested group"),
        ({"and": [{"field": "Status", "operator": "is", "value": "x"}]}, "unknown keys"),
        ("{not json", "is not a JSON object"),
    ],
)
def test_bad_filter_shapes_show_the_form(spec, problem):
    with pytest.raises(BaseInputError) as caught:
        parse_filter(spec)
    assert problem in str(caught.value)
    assert FILTER_FORM in str(caught.value)


@pytest.mark.parametrize(
    ("cond", "problem"),
    [
        ({"field": "Due", "op": ">=", "value": "2026-12-01T00:00:00+08:00"}, "date field 'Due'"),
        ({"field": "Due", "op": "is", "value": "next week"}, "not an ISO 8601 time"),
        ({"field": "Due", "op": "is", "value": "2026-02-30"}, "is no date"),
        ({"field": "Status", "op": ">", "value": "Open"}, "compares numbers and dates"),
        ({"field": "Estimate", "op": "is", "value": "many"}, "takes one number"),
        ({"field": "Done", "op": "is", "value": "yes"}, "takes true or false"),
        ({"field": "Nope", "op": "is", "value": "x"}, "'Nope', which is not a field"),
    ],
)
def test_conditions_that_do_not_fit_their_field(cond, problem):
    with pytest.raises(BaseInputError, match=problem):
        map_filter(parse_filter({"and": [cond]}), FIELDS)


def test_sort_takes_names_with_minus_for_descending():
    assert map_sort(["-Due", "Name"], FIELDS) == [
        {"field_name": "Due", "desc": True},
        {"field_name": "Name", "desc": False},
    ]
    with pytest.raises(BaseInputError, match="'-Nope'"):
        map_sort(["-Nope"], FIELDS)


@pytest.mark.parametrize(
    ("value", "token", "table", "wiki"),
    [
        ("bascnTeamTracker", "bascnTeamTracker", None, False),
        (
            "https://acme.feishu.cn/base/bascnTeamTracker?table=tblTasks&view=vewX",
            "bascnTeamTracker",
            "tblTasks",
            False,
        ),
        ("https://acme.larksuite.com/base/bascnX1234567", "bascnX1234567", None, False),
        ("acme.feishu.cn/wiki/wikTracker?table=tblP", "wikTracker", "tblP", True),
    ],
)
def test_base_references(value, token, table, wiki):
    ref = parse_base(value)
    assert (ref.token, ref.table_id, ref.in_wiki) == (token, table, wiki)


@pytest.mark.parametrize("value", ["https://acme.feishu.cn/docx/doxABCDEFG", "no spaces here", "x"])
def test_bad_base_references_show_the_forms(value):
    with pytest.raises(BaseInputError, match=r"app_token .* or a base URL"):
        parse_base(value)


def test_offsets():
    assert parse_offset(None) is dt.UTC
    assert parse_offset("+08:00").utcoffset(None) == dt.timedelta(hours=8)
    assert parse_offset("-0530").utcoffset(None) == -dt.timedelta(hours=5, minutes=30)
    with pytest.raises(BaseInputError, match="like \\+08:00"):
        parse_offset("Asia/Shanghai")
