"""Webhook delivery: 10,000 outbox events sent by `sanji worker` processes to a receiver on a
loopback port, on PostgreSQL.

The receiver is a process of its own (Python's threading HTTP server, keep-alive), which checks
every signature with the standard library for Standard Webhooks and notes when each event arrived.
Two runs per worker count:

- **steady**: the workers run while this process writes the events (each in its own
  transaction, as a case's step writes its event) at --rate per second; the lag of each event is
  its arrival at the receiver less the moment its transaction committed here;
- **backlog**: the events are written first, then the workers start; the rate is events over the
  time from the workers' start to the last arrival (fan-out included).

    .venv/bin/python benchmarks/webhook_bench.py [--events 10000] [--rate 600] [--workers 1,2]
        [--cases 500] [--database-url postgres://postgres@127.0.0.1:5432/postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import asyncpg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import machine, today, write_section  # noqa: E402

DATABASE = "sanji_webhook_bench"


def receive(port_file: str, log_file: str, secret: str) -> None:
    """The receiver process: 204 to each verified event; on SIGTERM, write `id arrival` lines."""
    from standardwebhooks.webhooks import Webhook

    verifier = Webhook(secret)
    arrivals: list[tuple[str, float]] = []
    bad: list[str] = []
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the worker's client keeps its connections

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            at = time.time()
            try:
                verifier.verify(body, dict(self.headers))
            except Exception as error:
                bad.append(str(error))
            with lock:
                arrivals.append((self.headers["webhook-id"], at))
            self.send_response(204)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True

    def stop(*_args) -> None:
        threading.Thread(target=server.shutdown).start()

    signal.signal(signal.SIGTERM, stop)
    Path(port_file).write_text(str(server.server_address[1]))
    server.serve_forever()
    with open(log_file, "w") as out:
        for id_, at in arrivals:
            out.write(f"{id_} {at}\n")
        out.write(f"# bad signatures {len(bad)}\n")


async def sanji(url: str, *args: str) -> str:
    env = {**os.environ, "SANJI_DATABASE_URL": url}
    done = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "api.cli", *args], env=env, capture_output=True, text=True
    )
    if done.returncode:
        raise SystemExit(f"sanji {' '.join(args)}: {done.stdout}{done.stderr}")
    return done.stdout


async def fresh_database(server: str) -> str:
    admin = await asyncpg.connect(server)
    await admin.execute(f'DROP DATABASE IF EXISTS "{DATABASE}"')
    await admin.execute(f'CREATE DATABASE "{DATABASE}"')
    await admin.close()
    url = server.rsplit("/", 1)[0] + f"/{DATABASE}"
    await sanji(url, "db", "upgrade")
    await sanji(url, "seed", "qujialing")
    return url


class Receiver:
    def __init__(self, workdir: Path, secret: str) -> None:
        self.port_file, self.log_file = workdir / "port", workdir / "arrivals"
        self.port_file.unlink(missing_ok=True)
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--receive", str(self.port_file), str(self.log_file), secret]
        )
        while not self.port_file.exists() or not self.port_file.read_text():
            time.sleep(0.05)
        self.port = int(self.port_file.read_text())

    def stop(self) -> tuple[dict[int, float], int]:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=60)
        arrivals: dict[int, float] = {}
        bad = 0
        for line in self.log_file.read_text().splitlines():
            if line.startswith("# bad signatures"):
                bad = int(line.split()[-1])
                continue
            id_, at = line.split()
            arrivals.setdefault(int(id_.removeprefix("evt_")), float(at))  # the first arrival
        return arrivals, bad


async def write_events(
    url: str, count: int, rate: float | None, cases: list[tuple[int, int]]
) -> dict[int, float]:
    """`count` case events, each in its own transaction, at `rate` per second (None: at once);
    the moment each committed, by event id."""
    from tortoise.transactions import in_transaction

    from api import db
    from api.services import outbox
    from api.settings import Settings

    committed: dict[int, float] = {}
    started = time.monotonic()
    async with db.database(Settings(database_url=url)):
        for n in range(count):
            if rate:
                wait = started + n / rate - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
            case_id, organization_id = cases[n % len(cases)]
            async with in_transaction():
                event_id = await outbox.emit(
                    "case.resumed",
                    organization_id=organization_id,
                    occurred_at=datetime.now(UTC),
                    payload={"case": {"id": f"bench-{case_id}", "version": n // len(cases) + 1}},
                    case_id=case_id,
                )
            committed[event_id] = time.time()
    return committed


def start_workers(url: str, count: int) -> list[subprocess.Popen]:
    env = {**os.environ, "SANJI_DATABASE_URL": url}
    command = [sys.executable, "-m", "api.cli", "worker", "--poll", "0.1"]
    return [subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL) for _ in range(count)]


def stop_workers(workers: list[subprocess.Popen]) -> None:
    for worker in workers:
        worker.send_signal(signal.SIGTERM)
    for worker in workers:
        worker.wait(timeout=60)


async def wait_for(url: str, count: int, timeout: float) -> None:
    """Until `count` deliveries are DELIVERED (or the timeout)."""
    connection = await asyncpg.connect(url)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            done = await connection.fetchval(
                "SELECT count(*) FROM webhook_delivery WHERE state = 'DELIVERED'"
            )
            if done >= count:
                return
            await asyncio.sleep(0.2)
        raise SystemExit(f"only {done} of {count} delivered after {timeout:.0f} s")
    finally:
        await connection.close()


async def run(args) -> None:
    workdir = Path("/tmp/sanji-webhook-bench")
    workdir.mkdir(exist_ok=True)
    results = []
    for workers in args.workers:
        for mode in ("steady", "backlog"):
            url = await fresh_database(args.database_url)
            connection = await asyncpg.connect(url)
            cases = [
                (row["id"], row["handling_organization_id"])
                for row in await connection.fetch(
                    "SELECT id, handling_organization_id FROM service_case ORDER BY id LIMIT $1", args.cases
                )
            ]
            await connection.close()
            # the secret comes from registration; the receiver needs it, so register to a placeholder
            # port first and point the webhook at the receiver once it listens
            made = await sanji(
                url,
                "webhook",
                "create",
                "bench",
                "http://127.0.0.1:9/",
                "--organization",
                "QJL",
                "--events",
                "case.*",
            )
            secret = made.strip().splitlines()[-1]
            receiver = Receiver(workdir, secret)
            connection = await asyncpg.connect(url)
            await connection.execute(
                "UPDATE webhook_endpoint SET url = $1", f"http://127.0.0.1:{receiver.port}/hooks"
            )
            await connection.close()
            if mode == "steady":
                processes = start_workers(url, workers)
                await asyncio.sleep(2)  # started and idle
                began = time.time()
                committed = await write_events(url, args.events, args.rate, cases)
                await wait_for(url, args.events, 300)
            else:
                committed = await write_events(url, args.events, None, cases)
                began = time.time()
                processes = start_workers(url, workers)
                await wait_for(url, args.events, 300)
            stop_workers(processes)
            arrivals, bad = receiver.stop()
            missing = set(committed) - set(arrivals)
            lags = sorted(arrivals[i] - committed[i] for i in committed if i in arrivals)
            last = max(arrivals.values())
            result = {
                "workers": workers,
                "mode": mode,
                "events": len(committed),
                "received": len(arrivals),
                "missing": len(missing),
                "bad": bad,
                "rate": len(arrivals) / (last - began),
                "p50": statistics.median(lags),
                "p95": lags[int(len(lags) * 0.95) - 1],
                "max": lags[-1],
            }
            print(json.dumps(result))
            results.append(result)
    lines = [
        "## Webhook delivery",
        "",
        f"{today()}, {machine()}, PostgreSQL on the same machine. "
        f"`python benchmarks/webhook_bench.py --events {args.events} --rate {args.rate:g} "
        f"--workers {','.join(map(str, args.workers))} --cases {args.cases}`.",
        "",
        f"{args.events:,} case events over {args.cases} cases, one webhook for the district, `sanji worker` "
        "processes sending to a receiver process on a loopback port that verifies every signature "
        "(standardwebhooks) and answers 204. *steady*: written one per transaction at "
        f"{args.rate:g}/s while the workers run; *backlog*: written first, then the workers start. Lag: "
        "arrival at the receiver less the commit of the event's transaction (in a backlog run it includes "
        "the wait for the workers to start: what counts there is the rate). Target: ≥ 500 events/s, "
        "p95 lag < 2 s.",
        "",
        "| workers | run | received | missing | bad signatures | events/s | lag p50 | lag p95 | lag max |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r['workers']} | {r['mode']} | {r['received']:,} | {r['missing']} | {r['bad']} | "
            f"{r['rate']:,.0f} | {r['p50'] * 1000:,.0f} ms | {r['p95'] * 1000:,.0f} ms | "
            f"{r['max'] * 1000:,.0f} ms |"
        )
    write_section("webhooks", lines)


def main() -> None:
    if len(sys.argv) == 5 and sys.argv[1] == "--receive":
        receive(*sys.argv[2:])
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=600.0)
    parser.add_argument("--cases", type=int, default=500)
    parser.add_argument("--workers", type=lambda s: [int(x) for x in s.split(",")], default=[1, 2])
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/postgres")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
