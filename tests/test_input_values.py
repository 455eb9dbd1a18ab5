"""Values no row can hold are refused with a code, and text filters mean the same on both databases."""

from __future__ import annotations

import base64
import logging

import pytest

from schema.generator.pagination import ID_KEY, SortDirection, decode_cursor, encode_cursor, sort_key

ORGS_AFTER = "query($after: String) { organizations(after: $after, orderBy: [{name: ASC}]) { totalCount } }"
ORGS = "query($where: OrganizationWhere) { organizations(where: $where) { totalCount } }"


def cursor(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode()


@pytest.mark.parametrize(
    "after",
    [
        cursor('["a", 1e400]'),  # infinity where the id goes
        cursor('["a", 123456789012345678901]'),  # past 64 bits
        cursor('["a\\u0000", 1]'),  # a NUL in the name
        cursor('[["a"], 1]'),  # a list where text goes
        cursor('["a", true]'),  # a boolean where the id goes
        cursor("[null, 1]"),  # the name is never missing
        cursor('["a", NaN]'),
        cursor("[" * 500 + "]" * 500),
        cursor('["a", 1]') * 200_000,
        "not base64 at all %%%",
    ],
    ids=["infinity", "huge", "NUL", "list", "boolean", "null", "NaN", "nested", "over 1 MiB", "garbage"],
)
async def test_a_cursor_that_no_row_could_have_made_is_refused(api, after):
    error = await api.error(ORGS_AFTER, {"after": after})
    assert error["extensions"] == {"code": "VALIDATION_FAILED", "field": "after"}
    assert error["message"] == "`after` is not a cursor of this list with this ordering"


@pytest.mark.parametrize("text", ["办理流程" * 500, "a" * 50_000], ids=["long Chinese", "long ASCII"])
def test_a_cursor_carries_any_text_a_row_holds(text):
    keys = [sort_key("conditions", "string", False, SortDirection.ASC), ID_KEY]
    cursor_text = encode_cursor([text, 7], keys)
    assert decode_cursor(cursor_text, keys, "after") == [text, 7]


async def test_cursors_of_time_ordered_pages_still_lead_on(admin_api):
    query = """query($after: String) { cases(first: 3, after: $after, orderBy: [{submittedAt: DESC}]) {
      pageInfo { endCursor } nodes { number submittedAt } } }"""
    first = (await admin_api.data(query))["cases"]
    second = (await admin_api.data(query, {"after": first["pageInfo"]["endCursor"]}))["cases"]
    assert second["nodes"][0]["submittedAt"] <= first["nodes"][-1]["submittedAt"]
    assert not {n["number"] for n in first["nodes"]} & {n["number"] for n in second["nodes"]}


@pytest.mark.parametrize(
    ("query", "variables", "message"),
    [
        (
            "query($d: Date) { calendarDays(where: {day: {eq: $d}}) { totalCount } }",
            {"d": "2024-02-30"},
            "day is out of range for month",
        ),
        (
            "query($d: Date) { calendarDays(where: {day: {eq: $d}}) { totalCount } }",
            {"d": "10000-01-01"},
            "Invalid isoformat string",
        ),
        (
            "query($t: DateTime) { cases(where: {submittedAt: {gt: $t}}) { totalCount } }",
            {"t": "0001-01-01T00:00:00+14:00"},
            "is outside years 1 to 9999 once taken to UTC",
        ),
        (
            "query($t: DateTime) { cases(where: {submittedAt: {lt: $t}}) { totalCount } }",
            {"t": "9999-12-31T23:59:59-14:00"},
            "is outside years 1 to 9999 once taken to UTC",
        ),
        ("query($n: Int) { organizations(first: $n) { totalCount } }", {"n": 1.5}, "Int cannot represent"),
    ],
    ids=["Feb 30", "year 10000", "before year 1 in UTC", "after year 9999 in UTC", "Int 1.5"],
)
async def test_variables_that_do_not_fit_their_type_are_refused_with_a_code(
    admin_api, query, variables, message
):
    error = await admin_api.error(query, variables)
    assert error["extensions"] == {"code": "VALIDATION_FAILED"}
    assert message in error["message"]


@pytest.mark.parametrize(
    ("where", "count"),
    [
        ({"code": {"contains": "QJL"}}, 44),
        ({"code": {"contains": "qjl"}}, 0),  # case-sensitive, on SQLite too
        ({"code": {"startsWith": "QJL-H1"}}, 11),  # the hall and its rooms
        ({"code": {"startsWith": "qjl-h1"}}, 0),
        ({"code": {"icontains": "qjl-h1"}}, 11),
        ({"code": {"contains": "%"}}, 0),  # no wildcard: the text itself
        ({"code": {"contains": "_"}}, 0),
        ({"name": {"contains": "x" * 1_000_000}}, 0),  # past SQLite's LIKE pattern limit
    ],
    ids=[
        "contains",
        "contains other case",
        "startsWith",
        "startsWith other case",
        "icontains",
        "%",
        "_",
        "1 MB",
    ],
)
async def test_text_filters_give_the_same_rows_on_both_databases(api, where, count):
    assert (await api.data(ORGS, {"where": where}))["organizations"]["totalCount"] == count


async def test_a_refused_variable_is_logged_as_a_refusal_not_a_failure(admin_api, caplog):
    query = "query($d: Date) { calendarDays(where: {day: {eq: $d}}) { totalCount } }"
    with caplog.at_level(logging.INFO):
        await admin_api.error(query, {"d": "2024-02-30"})
    assert not [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert any("[VALIDATION_FAILED]" in r.getMessage() for r in caplog.records)
