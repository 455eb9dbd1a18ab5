"""`sanji serve` with one worker and with two on one PostgreSQL database: req/s, CPU and memory.

For each worker count, starts `sanji serve --workers N` (rate limits and access log off), signs in
the root reader and the first hall's clerk, and loads each read with autocannon (installed with
PostGraphile by peer_bench.py, into the same cache folder) for --seconds: the requests per second,
the CPU the API's processes and PostgreSQL's used per request, and the API's resident memory (all
its processes, sampled every half second; the largest sum seen). Writes its section of
docs/benchmarks.md.

    .venv/bin/python benchmarks/workers_bench.py --database-url postgres://postgres@127.0.0.1:5432/DB
        [--label province] [--workers 1,2] [--seconds 10] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import shlex
import sys
import textwrap
from contextlib import ExitStack, suppress
from pathlib import Path

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import machine, slug, today, write_section  # noqa: E402
from benchmarks.peer_bench import (  # noqa: E402
    HALL_CLERK,
    ROOT_READER,
    SANJI_CLERK,
    SANJI_NESTED,
    SANJI_ORGS,
    SANJI_PAGE,
    access_token,
    autocannon,
    cpu_seconds,
    free_port,
    load_tool_arguments,
    postgres_cpu_seconds,
    require_load_tool,
    revision,
    sanji_server,
    wait_ready,
)

READS = [
    ("cases, page 1", "admin", SANJI_PAGE),
    ("hall clerk's cases, page 1 + totalCount", "clerk", SANJI_CLERK),
    ("halls → rooms → cases", "admin", SANJI_NESTED),
    ("100 organizations (anonymous)", None, SANJI_ORGS),
]


def tree(root: int) -> list[int]:
    """The process and every process below it (uvicorn's supervisor, its workers)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with suppress(OSError):  # gone meanwhile
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
    found, frontier = [root], [root]
    while frontier:
        frontier = [pid for pid, parent in parents.items() if parent in frontier]
        found += frontier
    return found


def rss_mb(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def tree_cpu(pids: list[int]) -> float:
    """CPU seconds the processes have used."""
    total = 0.0
    for pid in pids:
        total += cpu_seconds(pid) or 0.0
    return total


async def measure(args, url: str, workers: int, users: dict[str, str]) -> list[dict]:
    port = free_port()
    with ExitStack() as stack:
        process = stack.enter_context(sanji_server(args, url, port, production=False, workers=workers))
        base = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=base, timeout=60) as http:
            await wait_ready("sanji serve", process, lambda: http.get("/healthz"))
            # uvicorn's supervisor and its workers, or one process serving alone
            while workers > 1 and len(tree(process.pid)) < workers + 1:
                await asyncio.sleep(0.2)
            await asyncio.sleep(2)
            tokens = {who: await access_token(http, name, args.password) for who, name in users.items()}
            rows = []
            for name, who, query in READS:
                headers = {"Content-Type": "application/json"}
                if who:
                    headers["Authorization"] = f"Bearer {tokens[who]}"
                answer = await http.post("/graphql", json={"query": query}, headers=headers)
                if answer.status_code != 200 or "errors" in answer.json():
                    raise SystemExit(f"{name}: {answer.text[:500]}")
                pids = tree(process.pid)
                server, database = tree_cpu(pids), postgres_cpu_seconds()
                peak = rss_mb(pids)
                body, what = json.dumps({"query": query}), f"{name}: {workers} worker(s)"
                done = asyncio.ensure_future(
                    autocannon(args, base + "/graphql", body, headers, args.seconds, what)
                )
                while not done.done():
                    peak = max(peak, rss_mb(pids))
                    await asyncio.sleep(0.5)
                summary = done.result()
                n = summary["requests"]["total"]
                rows.append(
                    {
                        "read": name,
                        "workers": workers,
                        "rps": n / summary["duration"],
                        "mean": summary["latency"]["mean"],
                        "p99": summary["latency"]["p99"],
                        "server_cpu": (tree_cpu(pids) - server) / n * 1000,
                        "postgres_cpu": (postgres_cpu_seconds() - database) / n * 1000,
                        "rss": peak,
                    }
                )
                print(rows[-1], flush=True)
    return rows


async def run(args) -> tuple[dict, list[dict]]:
    url = re.sub(r"^asyncpg://", "postgres://", args.database_url)
    conn = await asyncpg.connect(url)
    try:
        users = {"admin": await conn.fetchval(ROOT_READER), "clerk": await conn.fetchval(HALL_CLERK)}
        facts = {
            "cases": await conn.fetchval("SELECT count(*) FROM service_case"),
            "organizations": await conn.fetchval("SELECT count(*) FROM organization"),
            "postgres": await conn.fetchval("SHOW server_version"),
            "users": users,
        }
    finally:
        await conn.close()
    rows = []
    for workers in args.workers:
        rows += await measure(args, url, workers, users)
    return facts, rows


def report(args, facts: dict, rows: list[dict]) -> None:
    command = "python benchmarks/workers_bench.py " + shlex.join(sys.argv[1:])
    one = {row["read"]: row for row in rows if row["workers"] == 1}
    lines = [
        f"## One API worker and two: {args.label}",
        "",
        *textwrap.wrap(
            '`sanji serve --workers N` on one PostgreSQL database, the same reads as in "Sanji beside '
            'PostGraphile 4", each loaded by autocannon with '
            f"{args.concurrency} connections for {args.seconds:g} s (rate limits and access log off). "
            "The API's CPU is its processes' (the supervisor and the workers), PostgreSQL's all of its "
            "processes'; API cores is how many of the machine's cores the API kept busy (its CPU per "
            "request times the requests per second); memory is the largest sum of the API processes' "
            "resident sets seen under load. The load client and PostgreSQL run on the same machine.",
            100,
        ),
        "",
        f"- date: {today()}",
        f"- machine: {machine()}",
        f"- database: PostgreSQL {facts['postgres']}; {facts['cases']:,} cases, "
        f"{facts['organizations']:,} organizations; callers `{facts['users']['admin']}` and "
        f"`{facts['users']['clerk']}`",
        f"- Sanji: {revision()}",
        f"- command: `{command}`",
        "",
        "| read | workers | req/s | ÷ one worker's | mean ms | p99 ms | API CPU ms/req | API cores "
        "| PostgreSQL CPU ms/req | API memory MB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        ratio = row["rps"] / one[row["read"]]["rps"] if row["read"] in one else float("nan")
        lines.append(
            f"| {row['read']} | {row['workers']} | {row['rps']:.0f} | {ratio:.2f}× | {row['mean']:.1f} "
            f"| {row['p99']:.0f} | {row['server_cpu']:.2f} | {row['rps'] * row['server_cpu'] / 1000:.2f} "
            f"| {row['postgres_cpu']:.2f} | {row['rss']:.0f} |"
        )
    most = max(row["rss"] for row in rows)
    verdict = "met" if most < 300 else "**not met**"
    lines += ["", f"- the API's memory under load: at most {most:.0f} MB (target under 300 MB: {verdict})"]
    write_section("workers-" + slug(args.label), lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--label", default="fixture")
    parser.add_argument("--workers", default="1,2", help="comma-separated worker counts")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--concurrency", type=int, default=16)
    load_tool_arguments(parser)
    args = parser.parse_args()
    args.workers = [int(n) for n in args.workers.split(",")]
    require_load_tool(args)
    facts, rows = asyncio.run(run(args))
    report(args, facts, rows)


if __name__ == "__main__":
    main()
