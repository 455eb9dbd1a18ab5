"""How long `sanji seed synthetic` takes to load a province into an empty PostgreSQL database.

Creates a scratch database on the server of `--server-url`, migrates it (`sanji db upgrade`, not
timed), then times `sanji seed synthetic --districts N --cases M` as a user runs it (its own
process, wall clock), and the database's size after. Drops the scratch database unless `--keep`.
Writes its section of docs/benchmarks.md (target: 100 districts / 1M cases under 120 s).

    .venv/bin/python benchmarks/province_load_bench.py [--districts 100] [--cases 1000000]
        [--server-url postgres://postgres@127.0.0.1:5432/test] [--keep]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path

import asyncpg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import machine, today, write_section  # noqa: E402

TARGET_SECONDS = 120
SANJI = str(ROOT / ".venv" / "bin" / "sanji")


async def admin(server_url: str, statement: str) -> list:
    connection = await asyncpg.connect(server_url.replace("postgres://", "postgresql://", 1))
    try:
        return await connection.fetch(statement)
    finally:
        await connection.close()


def database_url(server_url: str, name: str) -> str:
    return server_url.rsplit("/", 1)[0] + f"/{name}"


def sanji(url: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "SANJI_DATABASE_URL": url}
    done = subprocess.run([SANJI, *args], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"sanji {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--districts", type=int, default=100)
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument(
        "--server-url",
        default=os.environ.get("SANJI_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test"),
    )
    parser.add_argument("--keep", action="store_true", help="keep the loaded database (its name is printed)")
    args = parser.parse_args()

    name = f"sanji_load_{uuid.uuid4().hex[:8]}"
    asyncio.run(admin(args.server_url, f'CREATE DATABASE "{name}"'))
    url = database_url(args.server_url, name)
    try:
        sanji(url, "db", "upgrade")
        load = (os.getloadavg()[0],)
        began = time.perf_counter()
        done = sanji(url, "seed", "synthetic", "--districts", str(args.districts), "--cases", str(args.cases))
        wall = time.perf_counter() - began
        closing = next(line for line in done.stdout.splitlines() if line.startswith("loaded "))
        rows = int(re.search(r"loaded ([\d,]+) rows", closing).group(1).replace(",", ""))
        size, version = asyncio.run(_size(url))
    finally:
        if not args.keep:
            asyncio.run(admin(args.server_url, f'DROP DATABASE "{name}" WITH (FORCE)'))
    if (args.districts, args.cases) != (100, 1_000_000):
        verdict = "not judged (a smaller province than the target's)"
    else:
        verdict = "met" if wall < TARGET_SECONDS else f"missed by {wall - TARGET_SECONDS:.0f} s"
    lines = [
        "## Loading a province: `sanji seed synthetic`",
        "",
        "Wall clock of `sanji seed synthetic` as a user runs it (its own process: generation in two",
        "worker processes, COPY into PostgreSQL with indexes and foreign keys rebuilt after, VACUUM",
        "ANALYZE) into a freshly migrated, empty database on the local server.",
        "",
        f"- date: {today()}",
        f"- machine: {machine()}; load average {load[0]:.2f} when the load began",
        f"- database: {version}",
        f"- command: `python benchmarks/province_load_bench.py --districts {args.districts} "
        f"--cases {args.cases}`",
        "",
        "| districts | cases | rows loaded | seconds | rows/s | database size |",
        "|---:|---:|---:|---:|---:|---:|",
        f"| {args.districts} | {args.cases:,} | {rows:,} | {wall:.1f} | {rows / wall:,.0f} | {size} |",
        "",
        f"Target: under {TARGET_SECONDS} s for 100 districts / 1,000,000 cases: {verdict}.",
        f"The command's own closing line: `{closing}`.",
    ]
    print("\n".join(lines))
    write_section("province-load", lines)
    if args.keep:
        print(f"kept {url}")


async def _size(url: str) -> tuple[str, str]:
    connection = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
    try:
        size = await connection.fetchval("SELECT pg_size_pretty(pg_database_size(current_database()))")
        version = await connection.fetchval("SHOW server_version")
        return size, f"PostgreSQL {version}"
    finally:
        await connection.close()


if __name__ == "__main__":
    main()
