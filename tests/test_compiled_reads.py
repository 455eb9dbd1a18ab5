"""Compiled reads answer exactly what the resolvers answer, for every caller, in one statement.

The resolver path (SANJI_COMPILED_READS=false) is the reference: random read operations from the
served schema run as each caller of the authorization matrix through both paths, on the same
database, and must give the same JSON (floats to 1e-9) and the same error codes at the same paths.
"""

from __future__ import annotations

import base64
import json
import math
from collections import Counter
from typing import Any

import pytest_asyncio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strawberry.utils.str_converters import to_camel_case

from api import db
from api.models.audit import AuditEntry
from api.settings import Settings
from schema.build import app_schema
from schema.generator.compiler import COUNTERS
from schema.generator.execution import FLAT, ROWS_JSON, Plans
from schema.generator.ids import to_global_id
from schema.limits import Limits
from tests.conftest import serving
from tests.read_queries import operations
from tests.test_authorization_matrix import CALLERS, Matrix
from tests.test_statement_count import counting

REGISTRY_SCHEMA = app_schema(Limits(), False, Settings.timezone)
REGISTRY = REGISTRY_SCHEMA.registry
# Generated read fields that still run on the resolvers (by design or not yet compiled); the goal
# is an empty list. Each entry: (root field kind, why).
# A compiled statement is kept for every caller of one role and area: saved reports, whose rows
# are each user's own and those shared with them, run on the resolvers (schema/generator/compiler.py).
FALLBACKS: dict[str, str] = {
    "reports": "fallback: reports are read per user",
    "report": "fallback: reports are read per user",
    "reportsAggregate": "fallback: reports are read per user",
}


class Paths:
    """Each caller signed in on a compiled server and on a resolver server of the same database."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.callers: dict[str, tuple[Any, Any]] = {}


@pytest_asyncio.fixture(scope="module")
async def paths(databases, seeded_template):
    url = databases.url(await databases.create(template=seeded_template))
    matrix = Matrix(url)
    await matrix.setup()
    out = Paths(url)
    async with serving(url) as compiled, serving(url, compiled_reads=False) as resolved:
        for who in CALLERS:
            out.callers[who.label] = (await matrix.client(compiled, who), await matrix.client(resolved, who))
        yield out


def same(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return isinstance(a, int | float) and isinstance(b, int | float) and math.isclose(a, b, rel_tol=1e-9)
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def errors(body: dict) -> list[tuple[str, str | None]]:
    return sorted(
        (json.dumps(e.get("path")), (e.get("extensions") or {}).get("code")) for e in body.get("errors", [])
    )


def failures() -> int:
    return sum(n for (_field, outcome), n in COUNTERS.items() if outcome == "error")


async def compare(paths: Paths, label: str, query: str, variables: dict | None = None) -> dict:
    fast, slow = paths.callers[label]
    before = failures()
    try:
        got, expected = await fast(query, variables), await slow(query, variables)
    except BaseException as error:  # a crash (not an answer) must still name the query
        raise AssertionError(f"{label} crashed on {query} {variables}: {error!r}") from error
    assert failures() == before, f"a compiled statement failed for {label}: {query}"
    assert errors(got) == errors(expected), f"{label}: {query}\ncompiled: {got}\nresolvers: {expected}"
    assert same(got.get("data"), expected.get("data")), (
        f"{label}: {query}\ncompiled: {json.dumps(got)[:3000]}\nresolvers: {json.dumps(expected)[:3000]}"
    )
    return got


def cursors(data: Any) -> list[tuple[str, str, str]]:
    """(root field, cursor name, cursor) of each root connection's page info."""
    out = []
    for key, value in (data or {}).items():
        info = (value or {}).get("pageInfo") if isinstance(value, dict) else None
        for name in ("endCursor", "startCursor"):
            if info and info.get(name):
                out.append((key, name, info[name]))
    return out


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(who=st.sampled_from([w.label for w in CALLERS]), query=operations(REGISTRY))
async def test_compiled_reads_equal_the_resolvers(paths, who, query):
    got = await compare(paths, who, query)
    # A cursor from the compiled answer pages on, through both paths, to the same rows.
    for key, name, cursor in cursors(got.get("data"))[:2]:
        variable = ("a" if name == "endCursor" else "b") + key.removeprefix("r")
        await compare(paths, who, query, {variable: cursor})


async def test_a_page_of_an_area_reached_two_ways_reads_each_ways_first_rows(paths):
    """A hall clerk's cases are those filed or handled in the hall's area: the page takes the first
    rows of each way (by its own index) and merges them, forwards and backwards, in any order."""
    fast, _slow = paths.callers["clerk@hall"]
    with counting() as statements:
        body = await fast("{ cases(first: 7) { nodes { number } } }")
    (read,) = [s for s in statements.statements if "json_" in s]
    assert read.count(" UNION ") == 1 and read.count("LIMIT 8") == 3, read
    assert len(body["data"]["cases"]["nodes"]) == 7
    for order in ("", "orderBy: [{submittedAt: DESC}]", "orderBy: [{completedAt: ASC}]"):
        for page in ("first: 7", "last: 7"):
            info = "pageInfo { startCursor endCursor hasNextPage hasPreviousPage }"
            query = f"{{ cases({page} {order}) {{ totalCount nodes {{ number }} {info} }} }}"
            got = await compare(paths, "clerk@hall", query)
            for _key, name, cursor in cursors(got["data"]):
                more = "after" if name == "endCursor" else "before"
                await compare(paths, "clerk@hall", query.replace(f"{page} ", f'{page} {more}: "{cursor}" '))


async def test_the_domain_s_figures_compile_to_the_resolvers_answers(paths):
    """办结率, 限时办结率, overdue and 满意率 per group, ordered and kept by them, in one statement."""
    figures = "figures { accepted completed completionRate onTimeRate overdue }"
    queries = [
        f"{{ casesAggregate {{ count {figures} }} }}",
        f"""{{ casesAggregate(groupBy: [{{handlingOrganizationCode: true}}, {{acceptedOn: MONTH}}],
          having: {{onTimeRate: {{gte: 0.5}}, overdue: {{lt: 1000}}}}, orderBy: [{{completionRate: ASC}}]) {{
            {figures} groups {{ keys {{ handlingOrganizationCode acceptedOn }} count {figures} }} }} }}""",
        """{ evaluationsAggregate(groupBy: [{ratedAt: MONTH}], orderBy: [{satisfactionRate: DESC}]) {
            figures { satisfactionRate bad }
            groups { keys { ratedAt } figures { satisfactionRate bad } } } }""",
    ]
    fast, _slow = paths.callers["admin@district"]
    for query in queries:
        with counting() as statements:
            body = await fast(query)
        assert "errors" not in body, body
        assert len([s for s in statements.statements if "json_" in s]) == 1
        for who in ("admin@district", "clerk@hall"):
            await compare(paths, who, query)


async def test_enum_filters_are_literals_in_the_statement(paths):
    """Enum values (a closed set GraphQL checked) are written into the statement, so PostgreSQL
    can keep one plan of it; the answer is the resolvers' (compare)."""
    fast, _slow = paths.callers["admin@district"]
    query = """{ organizations(where: {tier: {in: [HALL, ROOM]}, constructionStatus: {ne: PLANNED}}) {
      totalCount nodes { code } } }"""
    with counting() as statements:
        await fast(query)
    (read,) = [s for s in statements.statements if "json_" in s]
    assert "('HALL','ROOM')" in read and "'PLANNED'" in read, read
    await compare(paths, "admin@district", query)
    await compare(paths, "admin@district", "{ cases(where: {status: {in: []}}) { totalCount } }")


async def test_every_generated_read_compiles(paths):
    """Every list, lookup and aggregate, with every scalar and derived field, is compiled, but for the
    committed FALLBACKS (the root fields the resolvers still answer, and why)."""
    fields = []
    for node in REGISTRY.nodes.values():
        e = node.exposure
        names = [to_camel_case(s.name) for s in node.scalars] + [to_camel_case(d.name) for d in e.derived]
        every = " ".join(["id", *names])
        fields.append(
            (e.plural, f"{e.plural}(first: 2) {{ totalCount nodes {{ {every} }} pageInfo {{ endCursor }} }}")
        )
        fields.append((e.singular, f'{e.singular}(id: "{_gid(e.type_name)}") {{ {every} }}'))
        fields.append((f"{e.plural}Aggregate", f"{e.plural}Aggregate {{ count }}"))
    before = Counter(COUNTERS)
    for _name, field in fields:
        await compare(paths, "admin@district", f"{{ {field} }}")
    outcomes = Counter(COUNTERS) - before
    fallen = {name: outcome for (name, outcome) in outcomes if outcome != "compiled"}
    assert fallen.keys() == FALLBACKS.keys(), f"generated reads answered by the resolvers: {fallen}"
    assert sum(outcomes.values()) == len(fields)


def _gid(type_name: str) -> str:
    return to_global_id(type_name, 1)


async def test_a_compiled_read_is_one_statement_whatever_the_depth(paths):
    """Per request: the session check, the caller's area, then one statement per root field."""
    nested = """{ organizations(first: 10, where: {tier: {eq: HALL}}) { totalCount nodes {
      code parent { code }
      children(first: 20, orderBy: [{code: ASC}]) { totalCount nodes {
        code parent { code }
        submittedCases(first: 5, orderBy: [{submittedAt: DESC}]) {
          totalCount nodes {
            number item { name type } handlingOrganization { code } events(first: 3) { nodes { action } }
          }
        }
      } }
    } } }"""
    fast, _slow = paths.callers["admin@district"]
    with counting() as statements:
        body = await fast(nested)
    assert "errors" not in body
    reads = [s for s in statements.statements if "json_" in s]
    assert len(reads) == 1, "\n".join(s[:200] for s in statements.statements)
    assert len(statements.statements) <= 3, "\n".join(s[:200] for s in statements.statements)
    with counting() as two:
        body = await fast(
            "{ a: organizations(first: 1) { totalCount } b: cases(first: 3) { nodes { number } } }"
        )
    assert len([s for s in two.statements if "json_" in s]) == 2


async def test_a_repeated_query_reuses_its_statement_but_never_across_callers(paths):
    plans = REGISTRY_SCHEMA.execution_context_class.compiled_plans
    # myPermissions runs on the resolvers: the request goes through the schema every time.
    query = """query($n: Int) { myPermissions { role }
      cases(first: $n) { totalCount nodes { number applicantPhone } } }"""
    hall, _ = paths.callers["clerk@hall"]
    admin, _ = paths.callers["admin@district"]
    await hall(query, {"n": 2})
    hits = plans.hits
    first = await hall(query, {"n": 2})
    assert plans.hits == hits + 1
    # Another caller, other variables: other statements, other answers.
    wider = await admin(query, {"n": 2})
    assert plans.hits == hits + 1
    assert first["data"]["cases"]["totalCount"] < wider["data"]["cases"]["totalCount"]
    third = await hall(query, {"n": 3})
    assert len(third["data"]["cases"]["nodes"]) == 3 and plans.hits == hits + 1
    await compare(paths, "clerk@hall", query, {"n": 2})


def test_the_statement_cache_is_bounded_and_keyed_by_the_operation_itself():
    plans = Plans(size=2)
    one, two = object(), object()
    plans.keep(("a",), one, "A")
    plans.keep(("b",), one, "B")
    assert plans.compiled(("a",), one) == "A"
    plans.keep(("c",), one, "C")  # "b" was used least recently
    assert plans.compiled(("b",), one) is None and plans.compiled(("a",), one) == "A"
    assert plans.compiled(("c",), two) is None  # a different document under a recycled id


async def test_an_error_in_one_branch_does_not_crash_another_waiting_on_the_same_rows(paths):
    """`b` is nulled by its refused page while its `origin` waits on the rows `a` loads too: both
    paths answer (once the resolvers crashed the request with CancelledError)."""
    query = """{ agencyBatchCases(first: 1) { nodes {
      a: batch { origin { code } } b: batch { origin { code } batchCases(first: 501) { nodes { id } } }
    } } }"""
    body = await compare(paths, "admin@district", query)
    assert body["data"]["agencyBatchCases"]["nodes"][0]["b"] is None
    assert body["data"]["agencyBatchCases"]["nodes"][0]["a"]["origin"]["code"]
    assert [e["extensions"]["code"] for e in body["errors"]] == ["VALIDATION_FAILED"]


async def test_a_repeated_request_runs_its_statements_alone_and_answers_the_same(paths):
    """The second time a caller sends a query with the same variables, it skips the schema (parse,
    validation, execution): still the same answer, still the caller's own rows, still audited."""
    query = """query($n: Int) { cases(first: $n, orderBy: [{submittedAt: DESC}]) {
      totalCount edges { cursor node { number applicantIdNumber submittedAt } } } }"""
    fast, _slow = paths.callers["clerk@hall"]
    prepared = fast.client.http._transport.app.state.prepared
    url = paths.url
    async with db.database(Settings(database_url=url)):
        audited = await AuditEntry.filter(action="READ_PII", actor_role="CLERK").count()
    first = await compare(paths, "clerk@hall", query, {"n": 3})
    hits = prepared.hits
    again = await compare(paths, "clerk@hall", query, {"n": 3})
    assert prepared.hits == hits + 1 and again == first
    other = await compare(paths, "admin@district", query, {"n": 3})  # its own statement, its own rows
    assert other["data"]["cases"]["totalCount"] > first["data"]["cases"]["totalCount"]
    async with db.database(Settings(database_url=url)):
        # the clerk reads ID numbers in clear: 3 cases audited per request, on both paths, each time
        clerk = await AuditEntry.filter(action="READ_PII", actor_role="CLERK").count()
        assert clerk - audited == 3 * 4


async def test_a_refused_page_fails_only_its_own_field_in_a_batch(paths):
    """Two rooms' case pages load in one batch on the resolvers; the refused page size of one
    (501) must not fail the other's (once it failed the whole batch, some of the time)."""
    rooms = [to_global_id("Organization", pk) for pk in (7, 8)]
    page = "... on Organization {{ submittedCases(first: {}) {{ totalCount }} }}"
    ok, bad = (
        f'node(id: "{room}") {{ {page.format(size)} }}' for room, size in zip(rooms, (1, 501), strict=True)
    )
    query = f"{{ ok: {ok} bad: {bad} }}"
    for _ in range(3):
        body = await compare(paths, "admin@district", query)
        assert body["data"]["ok"]["submittedCases"]["totalCount"] > 0 and body["data"]["bad"] is None
        assert [e["path"] for e in body["errors"]] == [["bad", "submittedCases"]]


async def test_a_flag_of_a_related_row_as_a_sort_key_writes_the_same_cursor_on_both_paths(paths):
    """SQLite gives a related row's boolean as 0 or 1: the resolvers' cursor writes it as JSON true or
    false, as the compiled statement does (found by the fuzzing above)."""
    query = (
        "{ guideRevisions(first: 3, orderBy: [{item: {code: ASC}}, {item: {tagOneVisit: ASC}}]) "
        "{ pageInfo { startCursor endCursor } nodes { id } } }"
    )
    got = await compare(paths, "public", query)
    end = got["data"]["guideRevisions"]["pageInfo"]["endCursor"]
    assert base64.urlsafe_b64decode(end + "=" * (-len(end) % 4)).decode().split(",")[1] in ("true", "false")


SERVICE = """key label accepted completed completedOnTime completedLate overdueOpen overdue dueSoon paused
  tripsSaved averageWorkingDays completionRate onTimeRate"""
RATING = """key label ratings averageScore verySatisfied satisfied basicallySatisfied dissatisfied
  veryDissatisfied satisfactionRate rectificationsOpen rectificationsOverdue rectificationsClosed"""
# Root fields that are lists of plain rows (the statistics): with compiled reads on, they are
# completed in one pass (OrderedErrors._flat) or, serviceStats on PostgreSQL, built as JSON by
# the database (RawRows); with them off, by graphql-core, field by field.
FLAT_LISTS = [
    f"{{ serviceStats(by: ORGANIZATION) {{ {SERVICE} }} }}",
    '{ s: serviceStats(by: TIER, from: "2018-03-15", to: "2018-09-10") { __typename k: key ...F '
    "accepted @include(if: true) paused @skip(if: true) } } fragment F on ServiceStatsRow "
    "{ completionRate onTimeRate key }",
    '{ serviceStats(by: MONTH, asOf: "2018-06-01") { key ... on ServiceStatsRow { accepted overdue } } '
    "tags: serviceStats(by: TAG) { key accepted tripsSaved } items: serviceStats(by: ITEM) { key label } }",
    f"{{ ratingStats(by: ORGANIZATION) {{ {RATING} }} "
    "staff: ratingStats(by: STAFF) { key satisfactionRate } }",
    "{ coverage { __typename tier total built standardized rate builtOrUnderConstructionRate formula } }",
    "{ coverageByArea { code tier organizations halls { total rate } } caseWorkflow { action roles } }",
    "query($s: Boolean!) { serviceStats(by: ITEM) { key accepted @skip(if: $s) label @include(if: $s) } }",
]


NOT_FLAT = ("coverageByArea",)  # rows holding objects: graphql-core completes them


async def test_plain_rows_completed_in_one_pass_equal_graphql_cores_completion(paths):
    for query in FLAT_LISTS:
        variables = {"s": True} if "$s" in query else None
        for who in CALLERS:
            before = COUNTERS[FLAT] + COUNTERS[ROWS_JSON]
            got = await compare(paths, who.label, query, variables)
            taken = COUNTERS[FLAT] + COUNTERS[ROWS_JSON] - before
            fast, slow = paths.callers[who.label]
            # Byte for byte, keys in the same order (compare() reads them as sets).
            assert json.dumps(await fast(query, variables)) == json.dumps(await slow(query, variables))
            if "errors" not in got and not any(name in query for name in NOT_FLAT):
                assert taken > 0, f"{who.label}: {query} was not completed in one pass"
