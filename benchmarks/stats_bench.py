"""The service dashboard's figures over a province: the rollups against a recount of the cases, and
the dashboard's request through the API under concurrent load.

1. Alone, in this process (Tortoise on the database): `stats.service_stats` (whole months from the
   rollups, the period's other days from the day rollup or the cases) beside `stats.recount` (the
   cases alone), for every grouping and three period shapes, for the whole province, one district
   and one hall.
2. Loaded: `sanji serve` (--workers worker processes) answering the 办件统计 page's request (total,
   rows per grouping and ratings) for the province's reader, from --concurrency autocannon
   connections for --seconds each.

    .venv/bin/python benchmarks/stats_bench.py --database-url postgres://postgres@127.0.0.1:5432/DB
        [--label province] [--runs 10] [--seconds 5] [--concurrency 8] [--workers 1,2]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import re
import shlex
import statistics
import sys
import textwrap
import time
from contextlib import ExitStack
from datetime import date
from functools import partial
from pathlib import Path

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import machine, slug, today, write_section  # noqa: E402
from benchmarks.peer_bench import (  # noqa: E402
    HALL_CLERK,
    ROOT_READER,
    access_token,
    autocannon,
    free_port,
    load_tool_arguments,
    postgres_cpu_seconds,
    require_load_tool,
    revision,
    sanji_server,
    wait_ready,
)
from benchmarks.workers_bench import tree, tree_cpu  # noqa: E402

PERIODS = {
    "all time": (None, None),
    "Jan–Jun 2026 (whole months)": (date(2026, 1, 1), date(2026, 6, 30)),
    "15 Mar–10 Sep 2026 (two partial months)": (date(2026, 3, 15), date(2026, 9, 10)),
}
AS_OF = date(2026, 12, 1)
DISTRICT = "SELECT id FROM organization WHERE kind = 'DISTRICT' ORDER BY code LIMIT 1"
HALL = "SELECT id FROM organization WHERE tier = 'HALL' ORDER BY code LIMIT 1"
TARGET_MS = 300


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


async def alone(args, url: str) -> list[dict]:
    from tortoise.expressions import Q

    from api import db
    from api.auth.permissions import area_of, in_area
    from api.models.case import Case, CaseRollup
    from api.services import stats
    from api.settings import Settings
    from schema.specs import CASE_SCOPE

    TOTAL = stats.RatingDimension.TOTAL

    rows = []
    async with db.database(Settings(database_url=url)):
        connection = Case._meta.db
        scopes = {"province": stats.Scope.all()}
        for name, sql in (("district", DISTRICT), ("hall", HALL)):
            (found,) = await connection.execute_query_dict(sql)
            area = await area_of(found["id"])
            scopes[name] = stats.Scope(
                in_area(Case, CASE_SCOPE, area, counted=True),
                in_area(CaseRollup, CASE_SCOPE, area, counted=True),
                everywhere=False,
            )
        for period_name, (first, last) in PERIODS.items():  # ratingStats of every rating
            period = stats.Period(first, last)
            timed = {}
            for side, ask in (
                ("rollup", partial(stats.rating_stats, Q(), period, TOTAL, AS_OF, everywhere=True)),
                ("recount", partial(stats.rating_recount, Q(), period, TOTAL, AS_OF)),
            ):
                timed[side] = await _timed(ask, args.runs)
            rows.append(_row("province", "ratings (TOTAL)", period_name, timed))
        for scope_name, scope in scopes.items():
            for by in stats.Dimension:
                for period_name, (first, last) in PERIODS.items():
                    period = stats.Period(first, last)
                    timed = {}
                    for side, ask in (
                        ("rollup", partial(stats.service_stats, scope, period, by, AS_OF, AS_OF)),
                        ("recount", partial(stats.recount, scope.cases, period, by, AS_OF, AS_OF)),
                    ):
                        timed[side] = await _timed(ask, args.runs)
                    rows.append(_row(scope_name, by.value, period_name, timed))
    return rows


async def _timed(ask, runs: int) -> tuple[list[float], object]:
    answers, times = [], []
    for _ in range(runs):
        started = time.perf_counter()
        answers.append(await ask())
        times.append((time.perf_counter() - started) * 1000)
    return times, answers[-1]


def _row(scope: str, by: str, period: str, timed: dict) -> dict:
    if timed["rollup"][1] != timed["recount"][1]:
        raise SystemExit(f"{scope} {by} {period}: the rollup and the recount differ")
    figures = {
        f"{side}_{name}": value
        for side, (times, _) in timed.items()
        for name, value in (("p50", statistics.median(times)), ("p95", percentile(times, 0.95)))
    }
    row = {"scope": scope, "by": by, "period": period, **figures}
    print(row, flush=True)
    return row


async def loaded(args, url: str, users: dict[str, str]) -> list[dict]:
    rows = []
    for workers in args.workers:
        rows += await _loaded(args, url, users, workers)
    return rows


async def _loaded(args, url: str, users: dict[str, str], workers: int) -> list[dict]:
    from admin_ui.views.dashboard import STATS

    port = free_port()
    rows = []
    with ExitStack() as stack:
        process = stack.enter_context(sanji_server(args, url, port, production=False, workers=workers))
        base = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=base, timeout=120) as http:
            await wait_ready("sanji serve", process, lambda: http.get("/healthz"))
            token = await access_token(http, users["province"], args.password)
            headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
            for by, (period_name, (first, last)), clients in itertools.product(
                ("TIER", "ORGANIZATION", "TAG", "MONTH"),  # TIER: the page opens on it
                PERIODS.items(),
                args.concurrency,
            ):
                variables = {
                    "by": by,
                    "from": first and first.isoformat(),
                    "to": last and last.isoformat(),
                }
                body = json.dumps({"query": STATS, "variables": variables})
                answer = await http.post("/graphql", content=body, headers=headers)
                if answer.status_code != 200 or "errors" in answer.json():
                    raise SystemExit(f"{by} {period_name}: {answer.text[:500]}")
                pids = tree(process.pid)  # the supervisor and its workers
                api, database = tree_cpu(pids), postgres_cpu_seconds()
                what = f"dashboard by {by}, {period_name}, {workers} worker(s)"
                load = argparse.Namespace(**{**vars(args), "concurrency": clients})
                summary = await autocannon(load, base + "/graphql", body, headers, args.seconds, what)
                n = summary["requests"]["total"]
                latency = summary["latency"]
                rows.append(
                    {
                        "by": by,
                        "period": period_name,
                        "workers": workers,
                        "clients": clients,
                        "rps": n / summary["duration"],
                        "p50": latency["p50"],
                        "p90": latency["p90"],
                        "p97_5": latency["p97_5"],
                        "p99": latency["p99"],
                        "api_cpu": (tree_cpu(pids) - api) / n * 1000,
                        "postgres_cpu": (postgres_cpu_seconds() - database) / n * 1000,
                    }
                )
                print(rows[-1], flush=True)
    return rows


async def run(args) -> tuple[dict, list[dict], list[dict]]:
    url = re.sub(r"^asyncpg://", "postgres://", args.database_url)
    conn = await asyncpg.connect(url)
    try:
        users = {"province": await conn.fetchval(ROOT_READER), "hall": await conn.fetchval(HALL_CLERK)}
        facts = {
            "cases": await conn.fetchval("SELECT count(*) FROM service_case"),
            "rollup": await conn.fetchval("SELECT count(*) FROM case_rollup"),
            "item_rollup": await conn.fetchval("SELECT count(*) FROM item_rollup"),
            "handling_rollup": await conn.fetchval("SELECT count(*) FROM handling_rollup"),
            "day_rollup": await conn.fetchval("SELECT count(*) FROM day_rollup"),
            "rating_rollup": await conn.fetchval("SELECT count(*) FROM rating_rollup"),
            "ratings": await conn.fetchval("SELECT count(*) FROM evaluation"),
            "organizations": await conn.fetchval("SELECT count(*) FROM organization"),
            "postgres": await conn.fetchval("SHOW server_version"),
            "users": users,
        }
    finally:
        await conn.close()
    by_itself = await alone(args, url)
    under_load = await loaded(args, url, users)
    return facts, by_itself, under_load


def report(args, facts: dict, by_itself: list[dict], under_load: list[dict]) -> None:
    command = "python benchmarks/stats_bench.py " + shlex.join(sys.argv[1:])
    clients = ", ".join(str(n) for n in args.concurrency)
    workers = " and ".join(str(n) for n in args.workers)
    lines = [
        f"## Service statistics: {args.label}",
        "",
        *textwrap.wrap(
            "The 办件统计 figures (serviceStats) from the rollups, whose rows the workflow keeps in "
            "each step's transaction, beside a recount of the cases. Alone: each question asked "
            f"{args.runs} times in a row in this process (Tortoise, no HTTP), both sides checked to "
            "give the same rows; the district is the first by code, the hall the first hall. "
            "Loaded: the page's whole request (total, rows per grouping, ratings) sent to "
            f"`sanji serve` ({workers} worker(s)) by autocannon from {clients} connections for "
            f"{args.seconds:g} s as the province's reader; autocannon reports the 90th and 97.5th "
            "percentiles (the 95th lies between them). CPU per request: the API's processes (the "
            "supervisor and its workers) and all of PostgreSQL's, over the run. Load client, API and "
            "PostgreSQL share the machine.",
            100,
        ),
        "",
        f"- date: {today()}",
        f"- machine: {machine()}",
        f"- database: PostgreSQL {facts['postgres']}; {facts['cases']:,} cases, "
        f"{facts['organizations']:,} organizations, {facts['ratings']:,} ratings; rollup rows: "
        f"case_rollup {facts['rollup']:,}, handling_rollup {facts['handling_rollup']:,}, "
        f"item_rollup {facts['item_rollup']:,}, day_rollup {facts['day_rollup']:,}, "
        f"rating_rollup {facts['rating_rollup']:,}; "
        f"reader `{facts['users']['province']}`",
        f"- Sanji: {revision()}",
        f"- command: `{command}`",
        "",
        "### Alone (ms)",
        "",
        "| area | rows per | period | rollup p50 | rollup p95 | recount p50 | recount p95 "
        "| recount ÷ rollup (p50) |",
        "|---|---|---|---:|---:|---:|---:|---:|",
    ]
    for row in by_itself:
        lines.append(
            f"| {row['scope']} | {row['by']} | {row['period']} | {row['rollup_p50']:.1f} | "
            f"{row['rollup_p95']:.1f} | {row['recount_p50']:.1f} | {row['recount_p95']:.1f} | "
            f"{row['recount_p50'] / row['rollup_p50']:.1f}× |"
        )
    lines += [
        "",
        "### The dashboard's request under load",
        "",
        "| rows per | period | workers | clients | req/s | p50 ms | p90 ms | p97.5 ms | p99 ms "
        "| API CPU ms/req | PostgreSQL CPU ms/req |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in under_load:
        lines.append(
            f"| {row['by']} | {row['period']} | {row['workers']} | {row['clients']} | {row['rps']:.1f} "
            f"| {row['p50']:.0f} "
            f"| {row['p90']:.0f} | "
            f"{row['p97_5']:.0f} | {row['p99']:.0f} | {row['api_cpu']:.1f} | {row['postgres_cpu']:.1f} |"
        )
    lines.append("")
    for w, n in itertools.product(args.workers, args.concurrency):
        worst = max(row["p97_5"] for row in under_load if row["clients"] == n and row["workers"] == w)
        verdict = "met" if worst < TARGET_MS else "**not met**"
        lines.append(
            f"- {w} worker(s), {n} client(s): slowest 97.5th percentile {worst:.0f} ms "
            f"(target p95 under {TARGET_MS} ms: {verdict})"
        )
    write_section("stats-" + slug(args.label), lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--label", default="fixture")
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--concurrency", default="1,8", help="comma-separated client counts")
    parser.add_argument("--workers", default="1", help="comma-separated API worker counts")
    load_tool_arguments(parser)
    args = parser.parse_args()
    args.concurrency = [int(n) for n in args.concurrency.split(",")]
    args.workers = [int(n) for n in args.workers.split(",")]
    require_load_tool(args)
    facts, by_itself, under_load = asyncio.run(run(args))
    report(args, facts, by_itself, under_load)


if __name__ == "__main__":
    main()
