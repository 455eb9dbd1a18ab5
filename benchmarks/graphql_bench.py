"""Requests/s and p50/p95 latency of generated GraphQL queries against hand-written SQL.

Both sides answer over HTTP through the same ASGI stack in one process, on the same database
connection, and must return the same JSON before they are timed. The simple list is then timed
with the request rate limiter off and on. Writes its section of docs/benchmarks.md.

    .venv/bin/python benchmarks/graphql_bench.py [--seconds 10] [--concurrency 8] [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from api import db  # noqa: E402
from api.app import create_app  # noqa: E402
from api.settings import Settings  # noqa: E402
from benchmarks import machine, today, write_section  # noqa: E402

SIMPLE = """{ organizations(first: 20, where: {tier: {eq: ROOM}}, orderBy: [{code: ASC}]) {
  nodes { code name constructionStatus } } }"""
NESTED = """{ organizations(where: {tier: {eq: HALL}}, orderBy: [{code: ASC}]) { nodes { code
  children(orderBy: [{code: ASC}]) { nodes { code
    submittedCases(first: 5, where: {status: {in: [DELIVERED, COMPLETED]}},
                   orderBy: [{submittedAt: DESC}]) {
      nodes { number item { name } } } } } } } }"""
AGGREGATE = """{ casesAggregate(groupBy: [{handlingOrganizationTier: true}, {channel: true}],
  orderBy: [{handlingOrganizationTier: ASC}, {channel: ASC}]) {
  groups { keys { handlingOrganizationTier channel } count sum { tripsSaved } } } }"""


async def sql_simple(conn) -> dict:
    _, rows = await conn.execute_query(
        "SELECT code, name, construction_status FROM organization WHERE tier = 'ROOM' "
        "ORDER BY code, id LIMIT 20"
    )
    nodes = [
        {"code": r["code"], "name": r["name"], "constructionStatus": r["construction_status"]} for r in rows
    ]
    return {"organizations": {"nodes": nodes}}


async def sql_nested(conn) -> dict:
    _, halls = await conn.execute_query(
        "SELECT id, code FROM organization WHERE tier = 'HALL' ORDER BY code, id"
    )
    hall_ids = ",".join(str(h["id"]) for h in halls) or "0"
    _, rooms = await conn.execute_query(
        f"SELECT id, code, parent_id FROM organization WHERE parent_id IN ({hall_ids}) ORDER BY code, id"
    )
    room_ids = ",".join(str(r["id"]) for r in rooms) or "0"
    _, cases = await conn.execute_query(
        f"""SELECT number, room, name FROM (
              SELECT c.number, c.submitted_at_organization_id AS room, i.name,
                     ROW_NUMBER() OVER (PARTITION BY c.submitted_at_organization_id
                                        ORDER BY c.submitted_at DESC, c.id ASC) AS rn,
                     c.submitted_at, c.id
              FROM service_case c JOIN item i ON i.id = c.item_id
              WHERE c.submitted_at_organization_id IN ({room_ids}) AND c.status IN ('DELIVERED', 'COMPLETED')
            ) ranked WHERE rn <= 5 ORDER BY room, submitted_at DESC, id ASC"""
    )
    by_room: dict[int, list] = {}
    for c in cases:
        by_room.setdefault(c["room"], []).append({"number": c["number"], "item": {"name": c["name"]}})
    by_hall: dict[int, list] = {}
    for r in rooms:
        node = {"code": r["code"], "submittedCases": {"nodes": by_room.get(r["id"], [])}}
        by_hall.setdefault(r["parent_id"], []).append(node)
    nodes = [{"code": h["code"], "children": {"nodes": by_hall.get(h["id"], [])}} for h in halls]
    return {"organizations": {"nodes": nodes}}


async def sql_aggregate(conn) -> dict:
    _, rows = await conn.execute_query(
        """SELECT o.tier, c.channel, COUNT(c.id) AS n, SUM(c.trips_saved) AS trips
           FROM service_case c LEFT JOIN organization o ON o.id = c.handling_organization_id
           GROUP BY o.tier, c.channel ORDER BY o.tier, c.channel"""
    )
    groups = [
        {
            "keys": {"handlingOrganizationTier": r["tier"], "channel": r["channel"]},
            "count": r["n"],
            "sum": {"tripsSaved": int(r["trips"])},
        }
        for r in rows
    ]
    return {"casesAggregate": {"groups": groups}}


LIMITER_OFF = {"rate_limit_per_minute": 0, "rate_limit_anonymous_per_minute": 0}
# Every request is counted in the database and none is refused: the limiter's cost alone.
SECRET = secrets.token_urlsafe(48)  # both apps of a run: the caller signed in at one is known to the other
LIMITER_ON = {"rate_limit_per_minute": 10**9, "rate_limit_anonymous_per_minute": 10**9}

CASES = [
    ("simple list", SIMPLE, sql_simple),
    ("3-level nested", NESTED, sql_nested),
    ("group-by", AGGREGATE, sql_aggregate),
]


async def measure(send, seconds: float, concurrency: int) -> dict:
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        while time.perf_counter() < deadline:
            start = time.perf_counter()
            await send()
            latencies.append(time.perf_counter() - start)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "requests": len(latencies),
        "rps": len(latencies) / elapsed,
        "p50": statistics.median(latencies) * 1000,
        "p95": latencies[int(len(latencies) * 0.95) - 1] * 1000,
    }


async def prepare(url: str | None) -> str:
    if url:
        return url
    path = Path(tempfile.mkdtemp()) / "bench.db"
    url = f"sqlite://{path}"
    settings = Settings(database_url=url)
    await db.upgrade(settings)
    from seeds.qujialing import load

    async with db.database(settings):
        await load("sanji-demo")
    return url


async def run(args) -> list[dict]:
    url = await prepare(args.database_url)
    app = create_app(Settings(database_url=url, secret_key=SECRET, **LIMITER_OFF))

    def sql_route(fn):
        async def endpoint(request: Request) -> JSONResponse:
            return JSONResponse({"data": await fn(request.app.state.tortoise.db())})

        return endpoint

    for name, _query, fn in CASES:
        app.router.routes.append(Route(f"/sql/{name.replace(' ', '-')}", sql_route(fn), methods=["POST"]))
    results = []
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:
            # The center's clerk: cases are read through the area condition (the center and below),
            # which here holds every case, so both sides still return the same rows.
            signed = await http.post("/auth/token", data={"username": "clerk", "password": "sanji-demo"})
            http.headers["Authorization"] = f"Bearer {signed.json()['access_token']}"
            for name, query, _fn in CASES:
                path = f"/sql/{name.replace(' ', '-')}"
                graphql = (await http.post("/graphql", json={"query": query})).json()
                handwritten = (await http.post(path)).json()
                if graphql != handwritten:
                    raise SystemExit(
                        f"{name}: answers differ\n"
                        f"{json.dumps(graphql)[:400]}\n{json.dumps(handwritten)[:400]}"
                    )

                async def via_graphql(query=query):
                    response = await http.post("/graphql", json={"query": query})
                    response.raise_for_status()

                async def via_sql(path=path):
                    response = await http.post(path)
                    response.raise_for_status()

                results.append(
                    {
                        "query": name,
                        "side": "GraphQL (generated)",
                        **await measure(via_graphql, args.seconds, args.concurrency),
                    }
                )
                results.append(
                    {
                        "query": name,
                        "side": "hand-written SQL",
                        **await measure(via_sql, args.seconds, args.concurrency),
                    }
                )
                print(results[-2], results[-1], flush=True)
            results += await limiter_rows(url, http, args)
    return results


async def limiter_rows(url: str, unlimited: httpx.AsyncClient, args) -> list[dict]:
    """The simple list with the rate limiter off, then on, in the same run on the same database."""
    app = create_app(Settings(database_url=url, secret_key=SECRET, **LIMITER_ON))
    rows = []
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://bench", headers=unlimited.headers
        ) as limited:  # the same signed-in caller on both rows
            for side, http in (("GraphQL, rate limit off", unlimited), ("GraphQL, rate limit on", limited)):

                async def send(http=http):
                    response = await http.post("/graphql", json={"query": SIMPLE})
                    response.raise_for_status()

                rows.append(
                    {
                        "query": "simple list",
                        "side": side,
                        **await measure(send, args.seconds, args.concurrency),
                    }
                )
                print(rows[-1], flush=True)
    return rows


def write_report(results: list[dict], args, url: str | None) -> None:
    command = "python benchmarks/graphql_bench.py " + " ".join(sys.argv[1:])
    database = "PostgreSQL" if (url or "").startswith("postgres") else "SQLite (file)"
    lines = [
        "## Generated GraphQL against hand-written SQL",
        "",
        "Generated GraphQL against hand-written SQL returning the same JSON, both over HTTP through the",
        "same ASGI stack in one process (httpx ASGITransport), on the Qujialing fixture. GraphQL is",
        "asked as the center's clerk, so every list and aggregate carries the area condition, and",
        "each request also checks the session, reading the caller's area in the same statement; then",
        'each root field is one compiled statement (docs/decisions.md, "Compiled reads").',
        "",
        f"- date: {today()}",
        f"- machine: {machine()}",
        f"- database: {database}",
        f"- command: `{command}`",
        f"- load: {args.concurrency} concurrent clients for {args.seconds:g} s per row",
        "",
        "| query | side | requests | req/s | p50 ms | p95 ms |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r['query']} | {r['side']} | {r['requests']} | {r['rps']:.0f} "
            f"| {r['p50']:.1f} | {r['p95']:.1f} |"
        )
    lines += [
        "",
        "The queries are in `benchmarks/graphql_bench.py`. One process serves both sides, so the figures",
        "compare the generated layer with the SQL it replaces; they are not a capacity figure for a",
        "deployment with several uvicorn workers.",
        "",
        "The last two rows time the simple list with the request rate limiter off and on (each request",
        "counted by one upsert in `rate_counter`, none refused), one after the other in the same run.",
    ]
    write_section("graphql", lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--database-url", default=None, help="a migrated database holding the fixture")
    args = parser.parse_args()
    results = asyncio.run(run(args))
    write_report(results, args, args.database_url)


if __name__ == "__main__":
    main()
