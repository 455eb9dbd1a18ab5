"""Sanji beside PostGraphile 4 on one PostgreSQL database: the same reads, checked alike, timed in turns.

Starts `sanji serve` (one uvicorn worker) and the PostGraphile 4 command (one Node process, with
postgraphile-plugin-connection-filter and @graphile/pg-aggregates), each in its own process on a
free port, against the same database. Each query must return the same rows on both sides, and in
hand-written SQL (asyncpg), before it is timed; then the sides take turns: a round of Sanji, a
round of PostGraphile, a round of SQL, in a rotating order, with N concurrent clients, after a
warm-up; and one request at a time, alternating, for the "alone" latency. Writes a section of
docs/benchmarks.md per database (its --label).

Sanji is asked as a user who reads every case (the root organization's ADMIN or SUPERVISOR: the
fixture's `admin`, the synthetic province's `province_supervisor`), as the clerk of the first hall
(`hall_clerk`, `d001_h01_clerk`) and anonymously; --admin-user and --clerk-user name others.

PostGraphile, and autocannon, the load client of both HTTP sides, are installed with npm into a
cache folder (never into the repository) when --install-peer asks or when they are missing there;
without node and npm PostGraphile is skipped, Sanji is loaded from this process (httpx) and SQL is
still timed.

    .venv/bin/python benchmarks/peer_bench.py --database-url postgres://postgres@127.0.0.1:5432/DB
        [--label fixture] [--seconds 5] [--rounds 3] [--concurrency 8] [--install-peer] [--skip-peer]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import datetime as dt
import json
import os
import re
import resource
import secrets
import shlex
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Awaitable, Callable
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from api.models.org import area_range  # noqa: E402
from benchmarks import machine, slug, today, write_section  # noqa: E402

PEER_PACKAGES = {
    "postgraphile": "4.14.1",
    "postgraphile-plugin-connection-filter": "2.3.0",
    "@graphile/pg-aggregates": "0.1.1",
}
# The load client of the HTTP sides: a Python client spends more CPU per request than either server
# on this machine (and stalls some of them), so its CPU, not the server's, set the req/s.
LOAD_PACKAGES = {"autocannon": "7.15.0"}
PAGE_SIZE = 20
WALK_SIZE = 500  # Sanji's largest page
MIN_ALONE = 20  # requests per side one at a time, however long they take
TOKEN_LIFE = 600  # seconds a Sanji sign-in is used (its access token lasts 15 minutes)

CASE = "id number status submittedAt"
SANJI_PAGE = (
    f"query Page($after: String) {{ cases(first: {PAGE_SIZE}, after: $after) {{ nodes {{ {CASE} }} }} }}"
)
PEER_PAGE = (
    f"query Page($after: Cursor) {{ allServiceCases(first: {PAGE_SIZE}, after: $after, "
    f"orderBy: PRIMARY_KEY_ASC) {{ nodes {{ {CASE} }} }} }}"
)
SANJI_WALK = (
    "query Walk($first: Int!, $after: String) { cases(first: $first, after: $after) "
    "{ pageInfo { endCursor } } }"
)
PEER_WALK = (
    "query Walk($first: Int!, $after: Cursor) { allServiceCases(first: $first, after: $after, "
    "orderBy: PRIMARY_KEY_ASC) { pageInfo { endCursor } } }"
)
SANJI_CLERK = f"{{ cases(first: {PAGE_SIZE}) {{ totalCount nodes {{ {CASE} }} }} }}"
PEER_CLERK = (
    f"query Clerk($ids: [Int!]) {{ allServiceCases(first: {PAGE_SIZE}, orderBy: PRIMARY_KEY_ASC, filter: "
    "{or: [{submittedAtOrganizationId: {in: $ids}}, {handlingOrganizationId: {in: $ids}}]}) "
    f"{{ totalCount nodes {{ {CASE} }} }} }}"
)
SANJI_COUNT = (
    "query Count($from: DateTime!, $to: DateTime!) { cases(where: {status: {in: [COMPLETED, DELIVERED]}, "
    "submittedAt: {gte: $from, lt: $to}}) { totalCount } }"
)
PEER_COUNT = (
    'query Count($from: Datetime!, $to: Datetime!) { allServiceCases(filter: {status: {in: ["COMPLETED", '
    '"DELIVERED"]}, submittedAt: {greaterThanOrEqualTo: $from, lessThan: $to}}) { totalCount } }'
)
SANJI_GROUP = "{ casesAggregate(groupBy: [{status: true}]) { groups { keys { status } count } } }"
PEER_GROUP = "{ allServiceCases { groupedAggregates(groupBy: STATUS) { keys distinctCount { id } } } }"
SANJI_ORGS = "{ organizations(first: 100) { nodes { id code name tier } } }"
PEER_ORGS = "{ allOrganizations(first: 100, orderBy: PRIMARY_KEY_ASC) { nodes { id code name tier } } }"

# Halls, their rooms, each room's latest cases: three levels, in id order at each.
NESTED_HALLS, NESTED_ROOMS, NESTED_CASES = 10, 50, 5
SANJI_NESTED = (
    f"{{ organizations(first: {NESTED_HALLS}, where: {{tier: {{eq: HALL}}}}) {{ nodes {{ code "
    f"children(first: {NESTED_ROOMS}) {{ nodes {{ code submittedCases(first: {NESTED_CASES}) "
    "{ nodes { number status } } } } } } }"
)
PEER_NESTED = (
    f'{{ allOrganizations(first: {NESTED_HALLS}, condition: {{tier: "HALL"}}, orderBy: PRIMARY_KEY_ASC) '
    f"{{ nodes {{ code organizationsByParentId(first: {NESTED_ROOMS}, orderBy: PRIMARY_KEY_ASC) {{ nodes "
    f"{{ code serviceCasesBySubmittedAtOrganizationId(first: {NESTED_CASES}, orderBy: PRIMARY_KEY_ASC) "
    "{ nodes { number status } } } } } } }"
)
PEER_NESTED_FIELDS = ("organizationsByParentId", "serviceCasesBySubmittedAtOrganizationId")
SQL_NESTED = (
    f"SELECT h.code, r.code, c.number, c.status FROM (SELECT id, code FROM organization "
    f"WHERE tier = 'HALL' ORDER BY id LIMIT {NESTED_HALLS}) h CROSS JOIN LATERAL (SELECT id, code "
    f"FROM organization WHERE parent_id = h.id ORDER BY id LIMIT {NESTED_ROOMS}) r LEFT JOIN LATERAL "
    f"(SELECT id, number, status FROM service_case WHERE submitted_at_organization_id = r.id "
    f"ORDER BY id LIMIT {NESTED_CASES}) c ON true ORDER BY h.id, r.id, c.id"
)

SQL_CASE = "SELECT id, number, status, submitted_at FROM service_case"
SQL_AREA = "(submitted_at_organization_id = ANY($1::int[]) OR handling_organization_id = ANY($1::int[]))"
SQL_COUNT = (
    "SELECT count(*) FROM service_case WHERE status IN ('COMPLETED', 'DELIVERED') "
    "AND submitted_at >= $1 AND submitted_at < $2"
)

# Sanji's callers unless named: one who reads every case, and the clerk of the first hall.
USER_AT = "SELECT u.username FROM app_user u JOIN organization o ON o.id = u.organization_id WHERE u.active"
ROOT_READER = (
    f"{USER_AT} AND o.parent_id IS NULL AND u.role IN ('ADMIN', 'SUPERVISOR') ORDER BY u.role, u.username"
)
HALL_CLERK = f"{USER_AT} AND o.tier = 'HALL' AND u.role = 'CLERK' ORDER BY o.code, u.username"


# --- what each side returns, in one comparable shape ---------------------------------------------


def local_id(global_id: str) -> int:
    return int(base64.b64decode(global_id).decode().rsplit(":", 1)[1])


def case_row(node: dict, sanji: bool) -> tuple:
    ident = local_id(node["id"]) if sanji else node["id"]
    return (ident, node["number"], node["status"], dt.datetime.fromisoformat(node["submittedAt"]))


def sanji_cases(data: dict) -> list[tuple]:
    return [case_row(n, True) for n in data["cases"]["nodes"]]


def peer_cases(data: dict) -> list[tuple]:
    return [case_row(n, False) for n in data["allServiceCases"]["nodes"]]


def sql_cases(rows: list) -> list[tuple]:
    return [(r["id"], r["number"], r["status"], r["submitted_at"]) for r in rows]


def org_rows(nodes: list[dict], sanji: bool) -> list[tuple]:
    return [(local_id(n["id"]) if sanji else n["id"], n["code"], n["name"], n["tier"]) for n in nodes]


@dataclass
class Read:
    """One query as each side asks it, and how its answer is reduced to comparable rows."""

    name: str
    caller: str  # Sanji's caller: "admin", "clerk" or "anonymous"
    sanji: tuple[str, dict]
    sanji_shape: Callable[[dict], Any]
    peer: tuple[str, dict]
    peer_shape: Callable[[dict], Any]
    sql: Callable[[asyncpg.Connection], Awaitable[Any]]


@dataclass
class Facts:
    """What the benchmark reads from the database before it starts."""

    cases: int
    organizations: int
    postgres: str
    demo_users: int
    clerk_org: str
    area_ids: list[int]
    date_from: dt.datetime
    date_to: dt.datetime
    after_row: int  # the deep page starts after this row (in id order)
    after_id: int  # and its id
    floor: dict[str, float] = field(default_factory=dict)  # the nested read's statement in PostgreSQL


async def inspect(args, pool: asyncpg.Pool) -> Facts:
    async with pool.acquire() as conn:
        cases = await conn.fetchval("SELECT count(*) FROM service_case")
        deep_row = (args.page - 1) * PAGE_SIZE
        if cases <= deep_row:
            raise SystemExit(f"the database holds {cases} cases: page {args.page} needs more than {deep_row}")
        args.admin_user = args.admin_user or await conn.fetchval(ROOT_READER)
        args.clerk_user = args.clerk_user or await conn.fetchval(HALL_CLERK)
        if args.admin_user is None or args.clerk_user is None:
            raise SystemExit("no administrator or supervisor at the root, or no hall clerk: name them")
        clerk = await conn.fetchrow(
            "SELECT o.path, o.name FROM app_user u JOIN organization o ON o.id = u.organization_id "
            "WHERE u.username = $1",
            args.clerk_user,
        )
        if clerk is None:
            raise SystemExit(f"no user {args.clerk_user!r} with an organization (see --clerk-user)")
        low, high = area_range(clerk["path"])
        ids = [
            r["id"]
            for r in await conn.fetch("SELECT id FROM organization WHERE path >= $1 AND path < $2", low, high)
        ]
        first, last = await conn.fetchrow("SELECT min(submitted_at), max(submitted_at) FROM service_case")
        zone = dt.timezone(dt.timedelta(hours=8))  # the district's days
        month = {"day": 1, "hour": 0, "minute": 0, "second": 0, "microsecond": 0}
        date_from = (first + (last - first) / 3).astimezone(zone).replace(**month)
        return Facts(
            cases=cases,
            organizations=await conn.fetchval("SELECT count(*) FROM organization"),
            postgres=await conn.fetchval("SHOW server_version"),
            demo_users=await conn.fetchval("SELECT count(*) FROM app_user WHERE is_demo"),
            clerk_org=clerk["name"],
            area_ids=ids,
            date_from=date_from,
            date_to=(first + (last - first) * 2 / 3).astimezone(zone).replace(**month),
            after_row=deep_row,
            after_id=await conn.fetchval(f"{SQL_CASE} ORDER BY id OFFSET $1 LIMIT 1", deep_row - 1),
        )


def reads(facts: Facts, page: int, sanji_cursor: str, peer_cursor: str | None) -> list[Read]:
    period = {"from": facts.date_from.isoformat(), "to": facts.date_to.isoformat()}

    async def first_page(conn) -> list[tuple]:
        return sql_cases(await conn.fetch(f"{SQL_CASE} ORDER BY id LIMIT {PAGE_SIZE}"))

    async def deep_page(conn) -> list[tuple]:
        query = f"{SQL_CASE} WHERE id > $1 ORDER BY id LIMIT {PAGE_SIZE}"
        return sql_cases(await conn.fetch(query, facts.after_id))

    async def clerk(conn) -> tuple:
        total = await conn.fetchval(f"SELECT count(*) FROM service_case WHERE {SQL_AREA}", facts.area_ids)
        rows = await conn.fetch(f"{SQL_CASE} WHERE {SQL_AREA} ORDER BY id LIMIT {PAGE_SIZE}", facts.area_ids)
        return total, sql_cases(rows)

    async def count(conn) -> int:
        return await conn.fetchval(SQL_COUNT, facts.date_from, facts.date_to)

    async def group(conn) -> dict:
        return dict(
            list(r) for r in await conn.fetch("SELECT status, count(*) FROM service_case GROUP BY status")
        )

    async def orgs(conn) -> list[tuple]:
        rows = await conn.fetch("SELECT id, code, name, tier FROM organization ORDER BY id LIMIT 100")
        return [tuple(r) for r in rows]

    async def nested(conn) -> list[tuple]:
        return [tuple(r) for r in await conn.fetch(SQL_NESTED)]

    def nested_rows(halls: list[dict], rooms: str, cases: str) -> list[tuple]:
        out = []
        for hall in halls:
            for room in hall[rooms]["nodes"]:
                found = room[cases]["nodes"] or [{"number": None, "status": None}]
                out += [(hall["code"], room["code"], c["number"], c["status"]) for c in found]
        return out

    def sanji_groups(data: dict) -> dict:
        return {g["keys"]["status"]: g["count"] for g in data["casesAggregate"]["groups"]}

    def peer_groups(data: dict) -> dict:
        groups = data["allServiceCases"]["groupedAggregates"]
        return {g["keys"][0]: int(g["distinctCount"]["id"]) for g in groups}

    return [
        Read(
            "cases, page 1", "admin", (SANJI_PAGE, {"after": None}), sanji_cases,
            (PEER_PAGE, {"after": None}), peer_cases, first_page,
        ),
        Read(
            f"cases, page {page} (after row {facts.after_row:,})", "admin",
            (SANJI_PAGE, {"after": sanji_cursor}), sanji_cases,
            (PEER_PAGE, {"after": peer_cursor}), peer_cases, deep_page,
        ),
        Read(
            "hall clerk's cases, page 1 + totalCount", "clerk",
            (SANJI_CLERK, {}), lambda d: (d["cases"]["totalCount"], sanji_cases(d)),
            (PEER_CLERK, {"ids": facts.area_ids}),
            lambda d: (d["allServiceCases"]["totalCount"], peer_cases(d)), clerk,
        ),
        Read(
            "filtered count", "admin", (SANJI_COUNT, period), lambda d: d["cases"]["totalCount"],
            (PEER_COUNT, period), lambda d: d["allServiceCases"]["totalCount"], count,
        ),
        Read(
            "cases grouped by status", "admin", (SANJI_GROUP, {}), sanji_groups,
            (PEER_GROUP, {}), peer_groups, group,
        ),
        Read(
            f"halls → rooms → cases ({NESTED_HALLS} × {NESTED_ROOMS} × {NESTED_CASES})", "admin",
            (SANJI_NESTED, {}),
            lambda d: nested_rows(d["organizations"]["nodes"], "children", "submittedCases"),
            (PEER_NESTED, {}),
            lambda d: nested_rows(d["allOrganizations"]["nodes"], *PEER_NESTED_FIELDS),
            nested,
        ),
        Read(
            "100 organizations (anonymous)", "anonymous",
            (SANJI_ORGS, {}), lambda d: org_rows(d["organizations"]["nodes"], True),
            (PEER_ORGS, {}), lambda d: org_rows(d["allOrganizations"]["nodes"], False), orgs,
        ),
    ]  # fmt: skip


# --- the sides ---------------------------------------------------------------------------------


class GraphQLSide:
    """A GraphQL server in its own process, asked over HTTP."""

    def __init__(self, name: str, http: httpx.AsyncClient, pid: int, sanji: bool, users: dict) -> None:
        self.name, self.http, self.pid, self.sanji, self.users = name, http, pid, sanji, users
        self.tokens: dict[str, tuple[str, float]] = {}
        self.url = f"{http.base_url}".rstrip("/") + "/graphql"

    def asked(self, read: Read) -> tuple[tuple[str, dict], Callable[[dict], Any]]:
        return (read.sanji, read.sanji_shape) if self.sanji else (read.peer, read.peer_shape)

    async def headers(self, caller: str) -> dict[str, str]:
        """Sanji's callers sign in as its clients do (POST /auth/token); PostGraphile has no callers."""
        if not self.sanji or caller == "anonymous":
            return {}
        token, when = self.tokens.get(caller, ("", None))
        if when is None or time.monotonic() - when > TOKEN_LIFE:  # (the monotonic clock may start at 0)
            username, password = self.users[caller]
            signed = await self.http.post("/auth/token", data={"username": username, "password": password})
            if signed.status_code != 200:
                raise SystemExit(f"Sanji refused to sign in {username!r}: {signed.status_code} {signed.text}")
            token = signed.json()["access_token"]
            self.tokens[caller] = (token, time.monotonic())
        return {"Authorization": f"Bearer {token}"}

    async def ask(self, document: str, variables: dict, caller: str = "admin") -> dict:
        body = {"query": document, "variables": variables}
        response = await self.http.post("/graphql", json=body, headers=await self.headers(caller))
        answer = response.json()
        if response.status_code != 200 or answer.get("errors"):
            raise SystemExit(f"{self.name} refused\n{document}\n{variables}\n{response.status_code} {answer}")
        return answer["data"]

    async def answer(self, read: Read) -> Any:
        (document, variables), shape = self.asked(read)
        return shape(await self.ask(document, variables, read.caller))

    async def request(self, read: Read) -> tuple[bytes, dict[str, str]]:
        """The read's request body and headers, encoded once: the client's work is not the server's."""
        (document, variables), _ = self.asked(read)
        body = httpx.Request("POST", "/", json={"query": document, "variables": variables}).read()
        return body, {**await self.headers(read.caller), "Content-Type": "application/json"}

    async def sender(self, read: Read) -> Callable[[], Awaitable[None]]:
        body, headers = await self.request(read)

        async def send() -> None:
            response = await self.http.post("/graphql", content=body, headers=headers)
            if response.status_code != 200 or b'"errors"' in response.content:
                raise SystemExit(f"{self.name}: {read.name}: {response.status_code} {response.text[:500]}")

        return send

    async def cursor_at(self, row: int) -> str:
        """The cursor of the row'th case in id order, by walking the list as a client would."""
        cursor, left = None, row
        while left:
            size = min(WALK_SIZE, left)
            data = await self.ask(SANJI_WALK if self.sanji else PEER_WALK, {"first": size, "after": cursor})
            cursor = next(iter(data.values()))["pageInfo"]["endCursor"]
            left -= size
        return cursor


class SqlSide:
    """The same reads in hand-written SQL through asyncpg, in this process: no HTTP, no JSON."""

    name = "hand-written SQL"
    pid = None

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def answer(self, read: Read) -> Any:
        async with self.pool.acquire() as conn:
            return await read.sql(conn)

    async def sender(self, read: Read) -> Callable[[], Awaitable[None]]:
        async def send() -> None:
            async with self.pool.acquire() as conn:
                await read.sql(conn)

        return send


# --- timing ------------------------------------------------------------------------------------


@dataclass
class Tally:
    requests: int = 0
    elapsed: float = 0.0
    latency_ms: float = 0.0  # summed over the requests
    p99s: list[float] = field(default_factory=list)  # per round, ms
    server_cpu: float | None = 0.0
    postgres_cpu: float = 0.0
    client_cpu: float = 0.0
    alone: list[float] = field(default_factory=list)

    def add(self, requests: int, elapsed: float, mean_ms: float, p99_ms: float) -> None:
        self.requests += requests
        self.elapsed += elapsed
        self.latency_ms += mean_ms * requests
        self.p99s.append(p99_ms)

    def summary(self) -> dict:
        n = self.requests
        return {
            "requests": n,
            "rps": n / self.elapsed,
            "mean": self.latency_ms / n,
            "p99": statistics.median(self.p99s),
            "alone": statistics.median(self.alone) * 1000,
            "server_cpu": None if self.server_cpu is None else self.server_cpu / n * 1000,
            "postgres_cpu": self.postgres_cpu / n * 1000,
            "client_cpu": self.client_cpu / n * 1000,
        }


def cpu_seconds(pid: int | None) -> float | None:
    """User and system CPU time a process has used (Linux /proc), None when it cannot be read."""
    if pid is None:
        return None
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def postgres_cpu_seconds() -> float:
    """User and system CPU time PostgreSQL has used: its live processes' (a backend per connection,
    parallel workers) and, in the postmaster's count of its children, those that have ended (/proc)."""
    stats = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                program = (entry / "cmdline").read_bytes().split(b"\0")[0]
                if program.startswith(b"postgres") or program.endswith(b"/postgres"):
                    stats[entry.name] = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:  # gone meanwhile
                pass
    ticks = 0
    for fields in stats.values():
        ticks += int(fields[11]) + int(fields[12])
        if fields[1] not in stats:  # the postmaster: add its children's that have ended
            ticks += int(fields[13]) + int(fields[14])
    return ticks / os.sysconf("SC_CLK_TCK")


def children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


async def cannon(args, side: GraphQLSide, read: Read, seconds: float) -> dict:
    """One autocannon run against a side: its JSON summary; refused unless every answer was a 200."""
    body, headers = await side.request(read)
    return await autocannon(args, side.url, body.decode(), headers, seconds, f"{side.name}: {read.name}")


async def autocannon(args, url: str, body: str, headers: dict, seconds: float, what: str) -> dict:
    """POST `body` to `url` for `seconds` from args.concurrency connections (autocannon): its JSON
    summary; refused unless every answer was a 200."""
    command = [str(args.autocannon), "-j", "-c", str(args.concurrency), "-d", f"{seconds:g}", "-m", "POST"]
    for name, value in headers.items():
        command += ["-H", f"{name}={value}"]
    process = await asyncio.create_subprocess_exec(
        *command, "-b", body, url, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    out, err = await process.communicate()
    if process.returncode != 0:
        raise SystemExit(f"autocannon failed on {what}: {err.decode()[-2000:]}")
    summary = json.loads(out)
    bad = {k: summary[k] for k in ("non2xx", "errors", "timeouts") if summary[k]}
    if bad or not summary["requests"]["total"]:
        raise SystemExit(f"{what}: {bad or 'no answer'} under load")
    return summary


async def load(send, seconds: float, concurrency: int) -> tuple[list[float], float]:
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    async def client() -> None:
        while time.perf_counter() < deadline:
            start = time.perf_counter()
            await send()
            latencies.append(time.perf_counter() - start)

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    return latencies, time.perf_counter() - started


async def timed_round(side, read: Read, args, tally: Tally) -> None:
    server, database = cpu_seconds(side.pid), postgres_cpu_seconds()
    if args.autocannon and isinstance(side, GraphQLSide):
        client = children_cpu_seconds()
        summary = await cannon(args, side, read, args.seconds)
        tally.client_cpu += children_cpu_seconds() - client
        latency = summary["latency"]
        tally.add(summary["requests"]["total"], summary["duration"], latency["mean"], latency["p99"])
    else:
        client = time.process_time()
        latencies, elapsed = await load(await side.sender(read), args.seconds, args.concurrency)
        tally.client_cpu += time.process_time() - client
        ordered = sorted(latencies)
        p99 = ordered[max(0, int(len(ordered) * 0.99) - 1)] * 1000
        tally.add(len(ordered), elapsed, statistics.fmean(ordered) * 1000, p99)
    tally.postgres_cpu += postgres_cpu_seconds() - database
    after = cpu_seconds(side.pid)
    if server is None or after is None or tally.server_cpu is None:
        tally.server_cpu = None
    else:
        tally.server_cpu += after - server


def rotated(sides: list, turn: int) -> list:
    turn %= len(sides)
    return sides[turn:] + sides[:turn]


async def bench(read: Read, sides: list, args) -> dict[str, dict]:
    """Check that every side answers as SQL does, then time them in turns."""
    expected = await sides[-1].answer(read)
    for side in sides[:-1]:
        got = await side.answer(read)
        if got != expected:
            raise SystemExit(f"{read.name}: {side.name} answers differently from SQL\n{got!r}\n{expected!r}")
    tallies = {side.name: Tally() for side in sides}
    for side in sides:
        await load(await side.sender(read), args.warmup, args.concurrency)
    for turn in range(args.rounds):
        for side in rotated(sides, turn):
            await timed_round(side, read, args, tallies[side.name])
    senders = [(side, await side.sender(read)) for side in sides]
    deadline, turn = time.perf_counter() + args.seconds * len(sides), 0
    while turn < MIN_ALONE or time.perf_counter() < deadline:
        for side, send in rotated(senders, turn):
            start = time.perf_counter()
            await send()
            tallies[side.name].alone.append(time.perf_counter() - start)
        turn += 1
    results = {name: tally.summary() for name, tally in tallies.items()}
    print(
        read.name,
        {name: f"{r['rps']:.0f}/s mean {r['mean']:.1f} ms" for name, r in results.items()},
        flush=True,
    )
    return results


# --- the servers -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def server(name: str, command: list[str], cwd: Path, env: dict[str, str]):
    """A server process, its output kept in a log shown if it fails; stopped on leaving."""
    with tempfile.NamedTemporaryFile(prefix=f"peer-bench-{name}-", suffix=".log") as log:
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT)
        process.log = log.name
        try:
            yield process
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


async def wait_ready(name: str, process, probe: Callable[[], Awaitable[httpx.Response]]) -> None:
    for _ in range(1200):
        if process.poll() is not None:
            log = Path(process.log).read_text(errors="replace")[-3000:]
            raise SystemExit(f"{name} exited with {process.returncode}:\n{log}")
        try:
            if (await probe()).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.1)
    raise SystemExit(f"{name} did not answer within 120 s (its log: {process.log})")


def sanji_server(args, url: str, port: int, production: bool, workers: int = 1):
    env = {
        **os.environ,
        "SANJI_DATABASE_URL": url,
        "SANJI_ENV": "production" if production else "dev",
        "SANJI_SECRET_KEY": secrets.token_urlsafe(32),  # no key file left behind
        # PostGraphile counts nothing; and 8 clients of one user would spend 600 a minute at once.
        "SANJI_RATE_LIMIT_PER_MINUTE": "0",
        "SANJI_RATE_LIMIT_ANONYMOUS_PER_MINUTE": "0",
        "SANJI_ACCESS_LOG": "false",  # as PostGraphile's query log is off
    }
    command = [sys.executable, "-m", "api.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]
    return server("sanji", [*command, "--workers", str(workers)], ROOT, env)


def peer_server(folder: Path, url: str, port: int):
    command = [
        *[shutil.which("node") or "node", str(folder / "node_modules" / "postgraphile" / "cli.js")],
        *["-c", url, "--host", "127.0.0.1", "--port", str(port)],
        *["--append-plugins", "postgraphile-plugin-connection-filter,@graphile/pg-aggregates"],
        *["--disable-query-log", "--disable-graphiql"],
    ]
    return server("postgraphile", command, folder, dict(os.environ))


def peer_versions(folder: Path) -> dict[str, str] | None:
    try:
        found = {
            name: json.loads((folder / "node_modules" / name / "package.json").read_text())["version"]
            for name in PEER_PACKAGES
        }
    except (OSError, ValueError):
        return None
    return found if found == PEER_PACKAGES else None


def load_tool(folder: Path) -> Path | None:
    """autocannon's command in the folder, if the pinned version is installed there."""
    try:
        package = json.loads((folder / "node_modules" / "autocannon" / "package.json").read_text())
    except (OSError, ValueError):
        return None
    command = folder / "node_modules" / ".bin" / "autocannon"
    return command if package["version"] == LOAD_PACKAGES["autocannon"] and command.exists() else None


def ensure_peer(args) -> Path | None:
    """PostGraphile's folder, installing it there with npm if asked or missing; None to skip it."""
    folder = args.peer_dir
    if args.skip_peer:
        return None
    if shutil.which("node") is None:
        print("node is not installed: PostGraphile is skipped, Sanji and SQL are timed alone")
        return None
    if args.install_peer or peer_versions(folder) is None or load_tool(folder) is None:
        npm = shutil.which("npm")
        if npm is None:
            print("npm is not installed: PostGraphile cannot be installed and is skipped")
            return None
        packages = ", ".join(f"{name} {version}" for name, version in PEER_PACKAGES.items())
        print(
            f"installing {packages} with npm into {folder} (from the npm registry; nothing in the repository)"
        )
        folder.mkdir(parents=True, exist_ok=True)
        packages = PEER_PACKAGES | LOAD_PACKAGES
        manifest = {"name": "sanji-peer-bench", "private": True, "dependencies": packages}
        (folder / "package.json").write_text(json.dumps(manifest, indent=2) + "\n")
        installed = subprocess.run([npm, "install", "--no-audit", "--no-fund"], cwd=folder)
        if installed.returncode != 0 or peer_versions(folder) is None:
            print(f"npm install failed in {folder}: PostGraphile is skipped")
            return None
    return folder


def load_tool_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of a benchmark that loads Sanji with autocannon (installed beside PostGraphile)."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    parser.add_argument("--password", default=os.environ.get("SANJI_DEMO_PASSWORD", "sanji-demo"))
    parser.add_argument("--peer-dir", type=Path, default=cache / "sanji-bench" / "postgraphile")


def require_load_tool(args) -> None:
    """args.autocannon, installing it with PostGraphile when missing; exits when it cannot."""
    args.install_peer, args.skip_peer = False, False
    folder = ensure_peer(args)  # autocannon comes with it
    args.autocannon = load_tool(folder) if folder else None
    if args.autocannon is None:
        raise SystemExit("autocannon is needed (node and npm): see benchmarks/peer_bench.py")


async def access_token(http: httpx.AsyncClient, username: str, password: str) -> str:
    """A Sanji access token for the user (exits when Sanji refuses the sign-in)."""
    signed = await http.post("/auth/token", data={"username": username, "password": password})
    if signed.status_code != 200:
        raise SystemExit(f"Sanji refused to sign in {username!r}: {signed.text}")
    return signed.json()["access_token"]


# --- the run and its report --------------------------------------------------------------------


async def run(args) -> tuple[Facts, dict | None, list[tuple[Read, dict]]]:
    url = re.sub(r"^asyncpg://", "postgres://", args.database_url)
    pool = await asyncpg.create_pool(url, min_size=args.concurrency, max_size=args.concurrency)
    try:
        facts = await inspect(args, pool)
        folder = ensure_peer(args)
        args.autocannon = load_tool(folder) if folder else None
        with ExitStack() as stack:
            sides = [await start_sanji(args, stack, url, facts)]
            if folder is not None:
                sides.append(await start_peer(stack, folder, url, args.concurrency))
            sides.append(SqlSide(pool))
            cursors = [await side.cursor_at(facts.after_row) for side in sides[:-1]]
            queries = reads(facts, args.page, cursors[0], cursors[1] if folder else None)
            if folder is None:
                sides = [sides[0], sides[-1]]
            results = [(read, await bench(read, sides, args)) for read in queries]
            for side in sides[:-1]:
                await side.http.aclose()
        facts.floor = await statement_floor(args, url, pool, SANJI_NESTED)
        return facts, (peer_versions(folder) if folder else None), results
    finally:
        await pool.close()


async def statement_floor(args, url: str, pool: asyncpg.Pool, query: str, runs: int = 30) -> dict[str, float]:
    """The floor of a compiled read: its one statement's planning and execution time (medians of
    EXPLAIN ANALYZE), the statement taken from an in-process app answering `query` as the admin."""
    from api.app import create_app
    from api.db import StatementLog
    from api.settings import Settings

    settings = Settings(database_url=url, rate_limit_per_minute=0, rate_limit_login_per_minute=0)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://sanji.bench") as http:
            signed = await http.post(
                "/auth/token", data={"username": args.admin_user, "password": args.admin_password}
            )
            headers = {"Authorization": f"Bearer {signed.json()['access_token']}"}
            with StatementLog.capture() as log:
                await http.post("/graphql", json={"query": query}, headers=headers)
    (sql, params), *_ = [(s, p) for s, p in log.seen if "json_build_object" in s]
    planning, execution = [], []
    async with pool.acquire() as conn:
        for _ in range(runs):
            plan = json.loads(await conn.fetchval(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}", *params))[0]
            planning.append(plan["Planning Time"])
            execution.append(plan["Execution Time"])
    return {"planning": statistics.median(planning), "execution": statistics.median(execution)}


def client(port: int, concurrency: int) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    return httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=300, limits=limits)


async def start_sanji(args, stack: ExitStack, url: str, facts: Facts) -> GraphQLSide:
    port = free_port()
    process = stack.enter_context(sanji_server(args, url, port, production=facts.demo_users == 0))
    http = client(port, args.concurrency)
    await wait_ready("sanji serve", process, lambda: http.get("/healthz"))
    users = {"admin": (args.admin_user, args.admin_password), "clerk": (args.clerk_user, args.clerk_password)}
    return GraphQLSide("Sanji", http, process.pid, True, users)


async def start_peer(stack: ExitStack, folder: Path, url: str, concurrency: int) -> GraphQLSide:
    port = free_port()
    process = stack.enter_context(peer_server(folder, url, port))
    http = client(port, concurrency)
    await wait_ready("PostGraphile", process, lambda: http.post("/graphql", json={"query": "{ __typename }"}))
    return GraphQLSide("PostGraphile", http, process.pid, False, {})


def node_version() -> str:
    node = shutil.which("node")
    return subprocess.run([node, "--version"], capture_output=True, text=True).stdout.strip() if node else "-"


def revision() -> str:
    """The commit Sanji ran from, and whether its code had changes not yet committed."""
    git = ["git", "-C", str(ROOT)]
    head = subprocess.run(
        [*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    code = ["api", "schema", "migrations"]
    changed = subprocess.run(
        [*git, "status", "--porcelain", "--", *code], capture_output=True, text=True
    ).stdout
    return f"commit {head}" + (" with uncommitted changes in api/, schema/ or migrations/" if changed else "")


def ms2(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def table(results: list[tuple[Read, dict]]) -> list[str]:
    lines = [
        "| query | side | requests | req/s | req/s ÷ PostGraphile's | mean ms | p99 ms | alone p50 ms "
        "| server CPU ms/req | PostgreSQL CPU ms/req | client CPU ms/req |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for read, sides in results:
        peer = sides.get("PostGraphile")
        for name, r in sides.items():
            ratio = f"{r['rps'] / peer['rps']:.2f}×" if peer else "-"
            lines.append(
                f"| {read.name} | {name} | {r['requests']} | {r['rps']:.0f} | {ratio} | {r['mean']:.1f} "
                f"| {r['p99']:.0f} | {r['alone']:.1f} | {ms2(r['server_cpu'])} | {ms2(r['postgres_cpu'])} "
                f"| {ms2(r['client_cpu'])} |"
            )
    return lines


def targets(results: list[tuple[Read, dict]], facts: Facts) -> list[str]:
    first, deep, clerk = (sides["Sanji"] for _, sides in results[:3])
    lines = []
    for what, key in (
        ("mean latency under load", "mean"),
        ("p50 alone", "alone"),
        ("server CPU per request", "server_cpu"),
    ):
        if deep[key] is not None:
            ratio = deep[key] / first[key]
            verdict = "met" if ratio <= 1.5 else "**not met**"
            lines.append(f"- the deep page's {what}: {ratio:.2f}× page 1's (target 1.5× at most: {verdict})")
    scale = (
        "" if facts.cases >= 1_000_000 else f"; the target is for 1M cases, this database has {facts.cases:,}"
    )
    for what, key in (("mean under load", "mean"), ("p50 alone", "alone")):
        verdict = "met" if clerk[key] < 100 else "**not met**"
        lines.append(
            f"- the hall clerk's list, {what}: {clerk[key]:.1f} ms (target under 100 ms: {verdict}{scale})"
        )
    for read, sides in results:
        if "PostGraphile" in sides:
            ratio = sides["Sanji"]["rps"] / sides["PostGraphile"]["rps"]
            verdict = "met" if ratio >= 1.0 else f"**not met** by {(1 - ratio) * 100:.0f}%"
            lines.append(
                f"- {read.name}: {ratio:.2f}× PostGraphile's req/s (target 1.0× at least: {verdict})"
            )
    nested = next(sides["Sanji"] for read, sides in results if read.name.startswith("halls"))
    floor = facts.floor["planning"] + facts.floor["execution"]
    ratio = nested["alone"] / floor
    verdict = "met" if ratio <= 1.2 else f"**not met**: {ratio / 1.2:.1f}× over"
    lines.append(
        f"- the nested read alone, p50 {nested['alone']:.1f} ms: {ratio:.2f}× its one statement's time "
        f"in PostgreSQL ({facts.floor['planning']:.1f} ms planning + {facts.floor['execution']:.1f} ms "
        f"execution, medians of EXPLAIN ANALYZE; target 1.2× at most: {verdict})"
    )
    return lines


def loaded_by(args) -> str:
    if args.autocannon is None:
        return (
            "The load client (Python, httpx, in the benchmark's process), both servers and PostgreSQL "
            "share this machine's CPUs; the CPU each used per request is in the last three columns."
        )
    return (
        f"The HTTP sides are loaded by autocannon {LOAD_PACKAGES['autocannon']} (Node, installed with "
        "PostGraphile), one run per round with that many connections, each sending the read's one "
        "request (checked beforehand) again and again; it times requests to the millisecond, hence the "
        "mean and the 99th percentile. The hand-written SQL is timed from the benchmark's own process "
        "(Python, asyncpg). The load client, both servers and PostgreSQL share this machine's CPUs; "
        "the CPU each used per request is in the last three columns (PostgreSQL's: all its processes)."
    )


def paragraph(text: str) -> list[str]:
    return [*textwrap.wrap(text, 100, break_on_hyphens=False), ""]


def write_report(args, facts: Facts, versions: dict | None, results: list[tuple[Read, dict]]) -> None:
    command = "python benchmarks/peer_bench.py " + shlex.join(sys.argv[1:])
    mode = (
        "production"
        if facts.demo_users == 0
        else "dev (the database has demo users: production refuses them)"
    )
    peer = "skipped (node or npm missing, --skip-peer, or the install failed)"
    if versions:
        peer = (
            ", ".join(f"{name} {version}" for name, version in versions.items()) + f"; Node {node_version()}"
        )
    lines = [
        f"## Sanji beside PostGraphile 4: {args.label}",
        "",
        *paragraph(
            "The same reads from Sanji as `sanji serve` runs it (one uvicorn worker) and from PostGraphile 4 "
            "(its command, one Node process, with the connection-filter and pg-aggregates plugins, query log "
            "off), each in its own process against the same PostgreSQL database with its default pool of "
            "connections (Sanji's Tortoise 5, PostGraphile 10), and from hand-written SQL "
            "(asyncpg in the benchmark's process: no HTTP, no JSON). Every query returned the same rows on "
            "every side before it was timed. The sides take turns, round by round in a rotating order, after "
            'a warm-up; "alone" is one request at a time, the sides alternating. '
            + loaded_by(args)
            + " Sanji's access log is off, as PostGraphile's query log is."
        ),
        *paragraph(
            "They do not do the same work. Each signed-in Sanji request checks its caller's token against "
            "the session, reading the caller's area in the same statement, then runs each root field as one "
            "compiled statement that applies the caller's area and column rules and masks personal data by "
            "role (none of these queries selects a masked field). PostGraphile here connects as the "
            "`postgres` superuser with no row-level security and returns what it is asked, so the hall "
            "clerk's restriction is written out by the client as a filter on the ids of the hall and its "
            "rooms. Sanji's request rate limits are off (PostGraphile has none)."
        ),
        f"- date: {today()}",
        f"- machine: {machine()}; load average {args.load_average:.2f} when the run began",
        f"- database: PostgreSQL {facts.postgres}; {facts.cases:,} cases, "
        f"{facts.organizations:,} organizations",
        f"- Sanji: {args.revision}; SANJI_ENV={mode}",
        f"- Sanji's callers: `{args.admin_user}` (reads every case), the hall clerk `{args.clerk_user}` of "
        f"{facts.clerk_org} ({len(facts.area_ids)} organizations in its area)",
        f"- PostGraphile: {peer}",
        f"- command: `{command}`",
        f"- load: {args.concurrency} concurrent clients, {args.rounds} rounds of {args.seconds:g} s per side "
        f"and query after {args.warmup:g} s of warm-up; alone: one request at a time for {args.seconds:g} s "
        "per side, the sides alternating",
        "",
        *table(results),
        "",
        *paragraph(
            "The queries (in `benchmarks/peer_bench.py`): pages of 20 cases in id order (id, number, status, "
            f"submittedAt), the deep one after the cursor of row {facts.after_row:,}, each side's cursor "
            "found by walking the list 500 at a time; the hall clerk's first page and totalCount (Sanji: the "
            "clerk's own area rule, cases submitted at or handled by the hall and its rooms; PostGraphile: "
            "the same as an explicit `or` filter); the count of cases COMPLETED or DELIVERED submitted from "
            f"{facts.date_from:%Y-%m-%d} up to {facts.date_to:%Y-%m-%d} (Beijing time); cases grouped by "
            "status with their counts (PostGraphile: `groupedAggregates(groupBy: STATUS) { keys "
            "distinctCount { id } }`, a `count(distinct id)`: pg-aggregates 0.1 has no plain count per "
            "group; the hand-written SQL counts `count(*)`, which PostgreSQL may read from the status "
            "index alone, where Sanji's `COUNT(id)` reads the table); 100 organizations (id, code, name, "
            "tier) asked anonymously. Signing in writes Sanji's "
            "sessions and audit entries into the database; the timed reads write nothing."
        ),
        "Sanji's targets:",
        "",
        *targets(results, facts),
    ]
    write_section("peer-" + slug(args.label), lines)


def main() -> None:
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    password = os.environ.get("SANJI_DEMO_PASSWORD", "sanji-demo")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True, help="a migrated PostgreSQL database holding cases")
    parser.add_argument("--label", default="fixture", help="the report's section: fixture, province ...")
    parser.add_argument("--seconds", type=float, default=5, help="length of one round of one side")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--warmup", type=float, default=2, help="seconds of warm-up per side and query")
    parser.add_argument("--page", type=int, default=200, help="the deep page (of 20 cases)")
    parser.add_argument(
        "--admin-user", help="a Sanji user who reads every case (default: the root's ADMIN or SUPERVISOR)"
    )
    parser.add_argument("--admin-password", default=password)
    parser.add_argument("--clerk-user", help="a Sanji CLERK of a hall (default: the first hall's, by code)")
    parser.add_argument("--clerk-password", default=password)
    parser.add_argument("--peer-dir", type=Path, default=cache / "sanji-bench" / "postgraphile")
    parser.add_argument("--install-peer", action="store_true", help="(re)install PostGraphile with npm")
    parser.add_argument("--skip-peer", action="store_true", help="time Sanji and SQL only")
    parser.add_argument("--no-report", action="store_true", help="print only; leave docs/benchmarks.md")
    args = parser.parse_args()
    args.load_average = os.getloadavg()[0]  # other work on the machine shows here
    args.revision = revision()
    facts, versions, results = asyncio.run(run(args))
    for line in table(results):
        print(line)
    if not args.no_report:
        write_report(args, facts, versions, results)


if __name__ == "__main__":
    main()
