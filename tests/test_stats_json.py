"""serviceStats rows built as JSON by PostgreSQL equal the resolvers' rows, byte for byte.

With compiled reads on, PostgreSQL adds up the pieces of the figures, labels the rows and writes
their JSON (schema/domain/service.py `rows_json`); the resolvers (compiled reads off) are the
reference: the same requests on the same database give the same response text. The rates are
rounded half up from the exact ratio on both paths (`stats.rounded`).
"""

from __future__ import annotations

import itertools
import random

import orjson
import pytest
from tortoise import connections

from api import db
from api.db import StatementLog
from api.services import stats
from api.settings import Settings
from schema.domain.service import ROW_JSON
from schema.generator.compiler import COUNTERS
from schema.generator.execution import ROWS_JSON
from tests.conftest import DB_KIND, serving

ON_POSTGRES = pytest.mark.skipif(DB_KIND != "postgres", reason="the rows' JSON is built by PostgreSQL only")

FIGURES = """key label accepted completed completedOnTime completedLate overdueOpen overdue dueSoon paused
  tripsSaved averageWorkingDays completionRate onTimeRate"""
QUERY = f"""query($by: StatsDimension!, $from: Date, $to: Date, $asOf: Date, $soon: Int!) {{
  rows: serviceStats(by: $by, from: $from, to: $to, asOf: $asOf, soonDays: $soon) {{ {FIGURES} }}
  again: serviceStats(by: $by, from: $from, to: $to) {{
    __typename r: completionRate k: key ...F accepted @skip(if: true) paused @include(if: true) }}
}}
fragment F on ServiceStatsRow {{ onTimeRate key label averageWorkingDays }}"""
PERIODS = [
    (None, None),
    ("2017-06-01", "2017-11-30"),  # whole months: the rollups alone
    ("2017-06-15", "2018-02-10"),  # cut inside months: the ends counted apart
    ("2017-07-04", "2017-07-04"),  # one day
    (None, "2017-08-20"),
    ("2030-01-01", None),  # no case
]
CALLERS = ("admin", "supervisor", "hall_clerk", "clerk", "agent")


def test_rates_are_rounded_half_up_from_the_exact_ratio():
    assert stats.rounded(1, 32) == 0.0313  # 0.03125: a float's round() gives 0.0312
    assert stats.rounded(1, 3) == 0.3333 and stats.rounded(2, 3) == 0.6667
    assert stats.rounded(5, 5) == 1.0 and stats.rounded(0, 7) == 0.0
    assert stats.rounded(3, 0) is None
    assert stats.rounded(10**9 + 1, 3) == 333333333.6667


@ON_POSTGRES
async def test_the_database_writes_each_rate_as_the_resolvers_do(fresh_url):
    """ROW_JSON's rates over every ratio of small counts, the ties at the fifth decimal and large
    sums, against `stats.rounded` through orjson (what the resolvers' response holds)."""
    pairs = [(n, d) for d in range(0, 130) for n in range(0, d + 3)]
    pairs += [(k, 2 * 10**5) for k in range(1, 2 * 10**5, 997)]  # k / 200000: ties when k is odd
    pairs += [(k, 32) for k in range(0, 97)] + [(k, 160) for k in range(0, 161)]
    generator = random.Random(18)
    pairs += [(generator.randrange(10**10), generator.randrange(1, 10**7)) for _ in range(2000)]
    values = ",".join(f"({n}, {d})" for n, d in pairs)
    expression = ROW_JSON["completion_rate"]
    async with db.database(Settings(database_url=fresh_url)):
        _, rows = await connections.get("default").execute_query(
            f'SELECT m."completed", m."accepted", {expression} AS "text" '
            f'FROM (VALUES {values}) AS m("completed", "accepted")'
        )
    wrong = [
        (row["completed"], row["accepted"], row["text"])
        for row in rows
        if row["text"] != orjson.dumps(stats.rounded(row["completed"], row["accepted"])).decode()
    ]
    assert len(rows) == len(pairs) and not wrong, wrong[:10]


@ON_POSTGRES
async def test_service_stats_built_by_the_database_equal_the_resolvers_rows(seeded_url):
    compared = 0
    async with serving(seeded_url) as built, serving(seeded_url, compiled_reads=False) as resolved:
        for who in CALLERS:
            fast, slow = await built.sign_in(who), await resolved.sign_in(who)
            for by, (first, last), (as_of, soon) in itertools.product(
                [d.value for d in stats.Dimension],
                PERIODS,
                [(None, 3), ("2017-09-01", 0), ("2017-09-01", 30)],
            ):
                variables = {"by": by, "from": first, "to": last, "asOf": as_of, "soon": soon}
                body = {"query": QUERY, "variables": variables}
                before = COUNTERS[ROWS_JSON]
                answers = [
                    await client.http.post(
                        "/graphql", json=body, headers={"Authorization": f"Bearer {client.token}"}
                    )
                    for client in (fast, slow)
                ]
                built_by_database = COUNTERS[ROWS_JSON] - before
                what = f"{who}, {variables}"
                assert answers[0].status_code == answers[1].status_code == 200, what
                assert "errors" not in answers[1].json(), what
                assert answers[0].text == answers[1].text, what
                # TAG's rows are added up in Python (an item with two tags counts in both).
                assert built_by_database == (0 if by == "TAG" else 2), what
                compared += len(orjson.loads(answers[1].text)["data"]["rows"])
    assert compared > 5_000  # rows with figures, not only empty lists


@ON_POSTGRES
async def test_the_pieces_run_apart_are_read_without_parallel_workers(seeded_url):
    """PostgreSQL's parallel workers cost the statistics' pieces more CPU than they save (api/db.py
    `serial`): on the resolvers' path they run in a transaction that turns them off; the one
    statement that builds the rows' JSON, as fast either way, runs alone."""
    async with serving(seeded_url) as built, serving(seeded_url, compiled_reads=False) as resolved:
        for client, apart in ((resolved, True), (built, False)):
            admin = await client.sign_in("admin")
            with StatementLog.capture() as log:
                await admin.data(QUERY, {"by": "ORGANIZATION", "from": "2017-06-15", "soon": 3})
            seen = [sql for sql, _ in log.seen]
            turned_off = [i for i, sql in enumerate(seen) if "max_parallel_workers_per_gather = 0" in sql]
            figures = [i for i, sql in enumerate(seen) if 'AS "trips_saved"' in sql]
            assert figures, seen
            if apart:  # per field (rows, again): the setting, then that field's statements
                assert len(turned_off) == 2 and all(any(t < f for t in turned_off) for f in figures), seen
            else:
                assert not turned_off and len(figures) == 2, seen


@ON_POSTGRES
async def test_a_bad_argument_is_refused_as_the_resolvers_refuse_it(seeded_url):
    async with serving(seeded_url) as built, serving(seeded_url, compiled_reads=False) as resolved:
        for client in (built, resolved):
            admin = await client.sign_in("admin")
            error = await admin.error(QUERY, {"by": "ORGANIZATION", "soon": 31})
            assert (error["extensions"]["code"], error["path"]) == ("VALIDATION_FAILED", ["rows"])
