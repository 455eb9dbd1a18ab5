"""The `sanji` command as an operator runs it (each call in a worker thread with its own loop)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time

import pytest
from typer.testing import CliRunner

from api.cli import app
from tests.conftest import DB_KIND
from tests.ui_support import free_port


async def sanji(url: str, *args: str, env: dict[str, str] | None = None):
    runner = CliRunner()
    environment = {"SANJI_DATABASE_URL": url, **(env or {})}
    return await asyncio.to_thread(runner.invoke, app, list(args), env=environment)


def one_error_line(result) -> str:
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 1, result.output
    assert len(lines) == 1, result.output
    assert lines[0].startswith("error: ")
    return lines[0]


async def test_report_coverage_prints_the_fixture_rates_with_formulas(seeded_url):
    result = await sanji(seeded_url, "report", "coverage")
    assert result.exit_code == 0, result.output
    rows = {line.split()[0]: line.split() for line in result.output.splitlines()[1:]}
    assert rows["ROOM"][:7] == ["ROOM", "38", "31", "24", "7", "0", "81.6%"]
    assert "built 31 / total 38 = 81.6%" in result.output
    assert rows["HALL"][:7] == ["HALL", "4", "4", "4", "0", "0", "100.0%"]


async def test_upgrade_then_seed_then_seed_again(empty_url):
    upgraded = await sanji(empty_url, "db", "upgrade")
    assert upgraded.exit_code == 0, upgraded.output
    assert "applied models.0001_initial" in upgraded.output
    checked = await sanji(empty_url, "db", "check")
    assert checked.exit_code == 0 and "agree" in checked.output
    seeded = await sanji(empty_url, "seed", "qujialing")
    assert seeded.exit_code == 0, seeded.output
    assert "fixture loaded" in seeded.output and "Case " in seeded.output
    again = await sanji(empty_url, "seed", "qujialing")
    assert "fixture was already loaded" in again.output
    assert again.output.splitlines()[-1] == seeded.output.splitlines()[-1]


async def test_a_database_without_migrations_is_refused_with_the_fix(empty_url):
    line = one_error_line(await sanji(empty_url, "report", "coverage"))
    assert "run `sanji db upgrade`" in line and "[MIGRATION_PENDING]" in line


async def test_a_wrong_database_url_is_one_clear_line():
    line = one_error_line(await sanji("mysql://root@localhost/x", "report", "coverage"))
    assert "must start with sqlite:// or postgres://" in line


@pytest.mark.skipif(DB_KIND != "postgres", reason="an unreachable server is a PostgreSQL case")
async def test_an_unreachable_database_server_is_one_clear_line():
    line = one_error_line(await sanji("postgres://postgres@127.0.0.1:1/none", "db", "upgrade"))
    assert "database" in line


@pytest.mark.skipif(DB_KIND != "sqlite", reason="a missing directory is a SQLite case")
async def test_an_unopenable_sqlite_file_is_one_clear_line(tmp_path):
    line = one_error_line(await sanji(f"sqlite://{tmp_path}/missing/dir/x.db", "db", "upgrade"))
    assert "database" in line


async def test_calendar_load_copies_a_known_year_and_refuses_an_unknown_one(fresh_url):
    loaded = await sanji(fresh_url, "calendar", "load", "--year", "2026")
    assert loaded.exit_code == 0, loaded.output
    assert "calendar 2026: 365 day(s) written" in loaded.output
    line = one_error_line(await sanji(fresh_url, "calendar", "load", "--year", "2027"))
    assert "does not know 2027" in line and "[CALENDAR_UNAVAILABLE]" in line


async def test_a_bad_argument_is_refused_before_touching_the_database(fresh_url):
    result = await sanji(fresh_url, "calendar", "load", "--year", "nineteen")
    assert result.exit_code == 2
    assert "Error: Invalid value for '--year'" in result.output


async def test_user_create_applies_the_password_policy(seeded_url):
    weak = await sanji(
        seeded_url, "user", "create", "wang", "--role", "clerk", env={"SANJI_NEW_PASSWORD": "short"}
    )
    assert "at least 8 characters" in one_error_line(weak)
    made = await sanji(
        seeded_url,
        "user",
        "create",
        "wang",
        "--role",
        "clerk",
        "--organization",
        "QJL-H2",
        env={"SANJI_NEW_PASSWORD": "Hall-2-clerk"},
    )
    assert made.exit_code == 0, made.output
    assert "created wang (CLERK)" in made.output
    taken = await sanji(
        seeded_url, "user", "create", "wang", "--role", "clerk", env={"SANJI_NEW_PASSWORD": "Hall-2-clerk"}
    )
    assert "already exists" in one_error_line(taken)
    unknown = await sanji(
        seeded_url,
        "user",
        "create",
        "li",
        "--role",
        "agent",
        "--organization",
        "NOPE",
        env={"SANJI_NEW_PASSWORD": "Hall-2-clerk"},
    )
    assert "organization 'NOPE' does not exist" in one_error_line(unknown)


async def test_report_service_prints_the_fixture_rates_computed_from_its_cases(seeded_url):
    result = await sanji(seeded_url, "report", "service")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    district = next(line for line in lines if line.strip().startswith("all cases")).split()
    # accepted, completed, 办结率, on time, 限时办结率, overdue
    assert district[2] == district[3] and district[4] == "100.0%" and district[6] == "100.0%"
    assert district[7] == "0"
    center_tags = lines[
        lines.index("三办 items at the center") + 2 : lines.index("三办 items at the center") + 5
    ]
    assert [row.split()[0] for row in center_tags] == ["IMMEDIATE", "ONLINE", "ONE_VISIT"]
    assert all(row.split()[3] == "100.0%" and row.split()[5] == "100.0%" for row in center_tags)


async def test_report_service_refuses_a_bad_date(seeded_url):
    line = one_error_line(await sanji(seeded_url, "report", "service", "--from", "2018-02-30"))
    assert "--from '2018-02-30' is not a date" in line


async def test_calendar_import_enters_a_year_from_the_notice(fresh_url, tmp_path):
    notice = tmp_path / "2027.csv"
    notice.write_text("date,kind,name\n2027-01-01,HOLIDAY,元旦\n2027-02-20,WORKDAY,春节\n", encoding="utf-8")
    result = await sanji(fresh_url, "calendar", "import", str(notice))
    assert result.exit_code == 0, result.output
    assert "calendar 2027: 2 listed day(s), 365 day(s) changed" in result.output
    notice.write_text("2027-01-01,HOLIDAY,元旦\n2027-02-30,WORKDAY,春节\n", encoding="utf-8")
    line = one_error_line(await sanji(fresh_url, "calendar", "import", str(notice)))
    assert "line 2" in line and "[VALIDATION_FAILED]" in line


def started_server_lines(url: str, host: str, *options: str, **env: str) -> str:
    """What `sanji serve` prints on stderr until uvicorn says it is up (then it is stopped)."""
    port = free_port()
    command = [sys.executable, "-m", "api.cli", "serve", "--host", host, "--port", str(port), *options]
    environment = {**os.environ, "SANJI_DATABASE_URL": url, **env}
    server = subprocess.Popen(command, env=environment, stderr=subprocess.PIPE, text=True)
    lines = []
    try:
        for line in server.stderr:
            lines.append(line)
            if "Uvicorn running" in line:
                break
    finally:
        server.terminate()
        server.wait(timeout=30)
    return "".join(lines)


async def test_dev_mode_warns_when_it_listens_beyond_this_machine(fresh_url):
    exposed = await asyncio.to_thread(started_server_lines, fresh_url, "0.0.0.0")
    assert "warning: SANJI_ENV=dev listens on 0.0.0.0, reachable from the network" in exposed
    local = await asyncio.to_thread(started_server_lines, fresh_url, "127.0.0.1")
    assert "Uvicorn running" in local and "warning" not in local


@pytest.mark.skipif(DB_KIND != "sqlite", reason="SQLite's single process")
async def test_sqlite_is_served_by_one_worker_and_says_so(fresh_url):
    lines = await asyncio.to_thread(started_server_lines, fresh_url, "127.0.0.1", "--workers", "3")
    assert "SQLite is served by one process: starting 1 worker, not 3" in lines
    assert "Uvicorn running" in lines and "Started parent process" not in lines


@pytest.mark.skipif(DB_KIND != "postgres", reason="several workers need PostgreSQL")
async def test_workers_share_sessions_and_rate_limits_through_the_database(seeded_url):
    """Two worker processes, each request on a new connection (whichever worker accepts it): the
    budget is counted once for all, and a session ended at one is ended at every one."""
    port = free_port()
    command = [sys.executable, "-m", "api.cli", "serve", "--port", str(port), "--workers", "2"]
    environment = {**os.environ, "SANJI_DATABASE_URL": seeded_url, "SANJI_RATE_LIMIT_PER_MINUTE": "6"}
    server = subprocess.Popen(command, env=environment, stderr=subprocess.PIPE, text=True)
    started: list[str] = []
    try:
        for line in server.stderr:
            if "Started server process" in line:
                started.append(line)
            if line.count("Application startup complete") and len(started) == 2:
                break
        assert len({line.split("[")[-1] for line in started}) == 2, started
        await asyncio.to_thread(_two_workers_agree, f"http://127.0.0.1:{port}")
    finally:
        server.terminate()
        server.wait(timeout=30)


def _two_workers_agree(base: str) -> None:
    import httpx

    query = {"query": "{ myPermissions { role } }"}

    def ask(method: str, path: str, **kwargs) -> httpx.Response:
        with httpx.Client(base_url=base, timeout=30) as http:  # a new connection: either worker's
            return http.request(method, path, **kwargs)

    # Counted per minute: start early in one, so that the requests below all fall in it.
    if time.time() % 60 > 40:
        time.sleep(61 - time.time() % 60)
    signed = ask("POST", "/auth/token", data={"username": "admin", "password": "sanji-demo"})
    assert signed.status_code == 200, signed.text
    headers = {"Authorization": f"Bearer {signed.json()['access_token']}"}
    statuses = [ask("POST", "/graphql", json=query, headers=headers).status_code for _ in range(9)]
    assert statuses == [200] * 6 + [429] * 3, statuses  # a budget of 6 for both workers
    assert ask("POST", "/auth/logout", headers=headers).status_code == 204
    ended = [ask("POST", "/graphql", json=query, headers=headers) for _ in range(6)]
    assert [r.status_code for r in ended] == [401] * 6, [r.text for r in ended]


@pytest.mark.skipif(DB_KIND != "postgres", reason="several workers need PostgreSQL")
async def test_each_worker_listens_on_a_socket_of_its_own_and_gets_connections(seeded_url):
    """Connections opened together are spread over the workers (each has its own SO_REUSEPORT
    socket; with one shared socket the first worker to wake accepts them all), and a worker that
    dies leaves no socket behind that nobody accepts on."""
    port = free_port()
    command = [sys.executable, "-m", "api.cli", "serve", "--port", str(port), "--workers", "2"]
    environment = {**os.environ, "SANJI_DATABASE_URL": seeded_url}
    server = subprocess.Popen(command, env=environment, stderr=subprocess.PIPE, text=True)
    try:
        await asyncio.to_thread(_spread_and_restarted, server, port, environment)
    finally:
        server.terminate()
        server.wait(timeout=30)


def _spread_and_restarted(server: subprocess.Popen, port: int, environment: dict) -> None:
    import httpx

    workers = _started(server, 2)
    assert _listening(port, 2) == 2, "one listening socket per worker"
    clients = [httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) for _ in range(16)]
    try:
        assert all(client.get("/healthz").status_code == 200 for client in clients)
        held = _connections_of(workers, port)  # the 16 keep-alive connections, per worker
        assert sum(held.values()) == 16 and all(held[pid] for pid in workers), held
    finally:
        for client in clients:
            client.close()
    os.kill(workers[0], 9)
    (restarted,) = _started(server, 1)
    assert restarted not in workers
    assert _listening(port, 2) == 2, "the dead worker's socket is closed, the new worker's listens"
    for _ in range(20):  # each on a new connection: none waits on a socket nobody accepts from
        assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200
    # A second server on the port is refused, not let in to share it (as SO_REUSEPORT would).
    command = [sys.executable, "-m", "api.cli", "serve", "--port", str(port), "--workers", "2"]
    second = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=60)
    assert second.returncode == 1 and f"cannot listen on 127.0.0.1:{port}" in second.stderr, second.stderr


def _started(server: subprocess.Popen, count: int) -> list[int]:
    """The pids of the next `count` workers to start, once as many have finished their startup,
    from the server's log (the workers' lines interleave)."""
    pids: list[int] = []
    complete = 0
    for line in server.stderr:
        if "Started server process" in line:
            pids.append(int(line.split("[")[-1].split("]")[0]))
        elif "Application startup complete" in line:
            complete += 1
            if complete == count:
                assert len(pids) == count, pids
                return pids
    raise AssertionError(f"the server stopped; workers started: {pids}")


def _tcp_sockets(port: int) -> list[tuple[str, str]]:
    """(state, inode) of this machine's IPv4 TCP sockets whose local port is `port`."""
    with open("/proc/net/tcp") as table:
        rows = [line.split() for line in table.readlines()[1:]]
    return [(row[3], row[9]) for row in rows if int(row[1].split(":")[1], 16) == port]


def _listening(port: int, expected: int) -> int:
    """How many sockets listen on `port`, once there are `expected` or after 10 s (a worker listens
    just after it says its startup is complete)."""
    deadline = time.monotonic() + 10
    while True:
        found = sum(state == "0A" for state, _ in _tcp_sockets(port))
        if found == expected or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def _connections_of(pids: list[int], port: int) -> dict[int, int]:
    """How many established connections to `port` each process holds."""
    established = {inode for state, inode in _tcp_sockets(port) if state == "01"}
    held = {}
    for pid in pids:
        links = [os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")]
        held[pid] = sum(link.startswith("socket:[") and link[8:-1] in established for link in links)
    return held
