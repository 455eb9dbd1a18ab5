"""Load a synthetic province into an empty database in one transaction, as fast as the machine allows.

Order: the calendar of the span, the shared catalogue (the fixture's code, through the ORM), the
tree with its staff and users, the province's API key, then district by district the assignments
and cases (generated in worker processes on PostgreSQL), then the indexes and constraints rebuilt
and a sample of cases replayed through the workflow. Same arguments on an empty database, same
rows: every id, name, number and time comes from the seed, except the password hash's salt and
the API key, which are secrets and random by design.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import islice

from tortoise.transactions import in_transaction

from api.auth import apikeys
from api.auth.caller import SYSTEM
from api.auth.passwords import hash_password
from api.errors import DomainError
from api.models.audit import AuditAction
from api.models.item import Item
from api.models.org import Organization
from api.services import audit, deadlines, rollup
from api.services import calendar as calendar_service
from api.services.cases import latest_calendar_revision
from api.services.rollup import ROLLUP_TABLES
from seeds.synthetic import verify
from seeds.synthetic.bulk import PostgresWriter, SqliteWriter, sqlite_bulk_session
from seeds.synthetic.cases import Output, Shared, generate, start_worker
from seeds.synthetic.catalogue import Plan, load_catalogue
from seeds.synthetic.tables import BULK_TABLES, DISTRICT_TABLES, TREE_TABLES, copy_text
from seeds.synthetic.timeline import END_DAY, FIRST_DAY, Clock
from seeds.synthetic.tree import PROVINCE_CODE, PROVINCE_SUPERVISOR, District, Tree, build, share_cases

CASES_PER_DISTRICT = 10_000  # the default of --cases: a province of 100 districts has a million
MAX_DISTRICTS = 999  # district codes D001…D999 keep batch numbers within their 32 characters
PARALLEL_FROM = 20_000  # cases; below this, worker processes cost more than they save
REPLAYED = 200  # cases replayed through the workflow before the commit

Progress = Callable[[str, int, int], object]  # (stage, done, total)


@dataclass
class Report:
    districts: int
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    api_key: str = ""
    supervisor: str = PROVINCE_SUPERVISOR
    hall_clerk: str = ""
    district_admin: str = ""

    @property
    def rows(self) -> int:
        return sum(self.counts.values())


async def load(
    districts: int,
    cases: int | None,
    seed: int,
    demo_password: str,
    progress: Progress | None = None,
    workers: int | None = None,
) -> Report:
    """Load the province; refuses unless the database holds no organization and no item."""
    started = time.perf_counter()
    say = progress or (lambda _stage, _done, _total: None)
    total = CASES_PER_DISTRICT * districts if cases is None else cases
    if not 1 <= districts <= MAX_DISTRICTS:
        raise DomainError("VALIDATION_FAILED", f"--districts must be 1 to {MAX_DISTRICTS}", field="districts")
    if total < 0:
        raise DomainError("VALIDATION_FAILED", "--cases cannot be negative", field="cases")
    await _refuse_unless_empty()
    connection = Organization._meta.db
    sqlite = connection.capabilities.dialect == "sqlite"
    if workers is None:
        workers = 1 if sqlite or total < PARALLEL_FROM else min(2, os.cpu_count() or 1)
    report = Report(districts)
    if sqlite:
        async with sqlite_bulk_session(connection), in_transaction() as transaction:
            await _load(
                SqliteWriter(transaction), report, total, seed, demo_password, say, workers, copy=False
            )
    else:
        async with in_transaction() as transaction:
            await _load(
                PostgresWriter(transaction), report, total, seed, demo_password, say, workers, copy=True
            )
        say("VACUUM ANALYZE (visibility map for index-only scans)", 0, 0)
        tables = (*TREE_TABLES, *BULK_TABLES, *ROLLUP_TABLES)
        await connection.execute_script(f"VACUUM ANALYZE {', '.join(tables)}")
    report.seconds = time.perf_counter() - started
    return report


async def _refuse_unless_empty() -> None:
    for model, what in ((Organization, "organizations"), (Item, "catalogue items")):
        held = await model.all().count()
        if held:
            raise DomainError(
                "CONFLICT",
                f"the database already holds {held} {what}: synthetic data loads into an empty "
                "database (createdb, then sanji db upgrade)",
            )


async def _load(writer, report: Report, total: int, seed: int, password: str, say, workers: int, copy: bool):
    say("calendar and catalogue", 0, 0)
    clock = await _calendar()
    items = await load_catalogue(seed)
    report.counts["item"] = len(items)
    shared = Shared(tuple(items), Plan.of(items), clock, await latest_calendar_revision(), seed, copy)
    with _generator(shared, workers) as generate_all:  # worker processes start while the tree is built
        say("organizations, staff and users", 0, 0)
        first = {table: await _next_id(table) for table in ("organization", "staff", "app_user")}
        tree = build(report.districts, seed, first, hash_password(password), clock)
        share_cases(tree, total, seed, await _next_id("service_case"), await _next_id("agency_batch"))
        _refuse_crowded_days(tree, clock)
        await writer.prepare(BULK_TABLES)
        for table in TREE_TABLES:
            rows = tree.rows[table]
            await writer.write(table, copy_text(rows) if copy else rows)
            report.counts[table] = len(rows)
        report.api_key = await _province_key()
        _name_examples(report, tree)
        done = 0
        for output in generate_all(tree.districts):
            for table in DISTRICT_TABLES:
                await writer.write(table, output.tables[table])
                report.counts[table] = report.counts.get(table, 0) + output.counts[table]
            done += output.cases
            say("cases", done, total)
    await writer.finish(lambda statement: say(statement, 0, 0))
    say("service statistics rollups", 0, 0)
    rows = await rollup.rebuild()
    report.counts.update(rows)
    say(f"replaying {REPLAYED} cases through the workflow", 0, 0)
    problems = await verify.replay(_sample(tree))
    if problems:
        raise DomainError("CONSTRAINT", f"{len(problems)} replayed case(s) differ, e.g. {problems[0]}")


async def _calendar() -> Clock:
    """The span's years in the calendar table (as `sanji db upgrade` loads them), and its clock."""
    known = calendar_service.package_years()
    await calendar_service.load_years(
        range(max(FIRST_DAY.year, known.start), min(END_DAY.year + 1, known.stop))
    )
    return Clock(await deadlines.workday_map(FIRST_DAY, END_DAY + deadlines.CALENDAR_MARGIN))


@contextmanager
def _generator(shared: Shared, workers: int) -> Iterator[Callable[[list[District]], Iterator[Output]]]:
    """Generates districts' rows in district order: here, or in worker processes."""
    if workers <= 1:
        start_worker(shared)
        yield lambda districts: map(generate, districts)
        return
    # spawn: nothing of this process (its threads, event loop, database connections) is copied;
    # an executor (not multiprocessing.Pool) fails with BrokenProcessPool if a worker dies,
    # where a Pool would wait for its result forever (seen once in CI, under both test suites).
    context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(workers, mp_context=context, initializer=start_worker, initargs=(shared,))
    with pool:
        yield lambda districts: _in_order(pool, districts, workers)


def _in_order(pool, districts: list[District], workers: int) -> Iterator[Output]:
    """Each district's rows as its worker finishes, in district order; at most two districts per
    worker wait in memory for their COPY."""
    todo = iter(districts)
    pending = deque(pool.submit(generate, d) for d in islice(todo, 2 * workers))
    while pending:
        output = pending.popleft().result()
        pending.extend(pool.submit(generate, d) for d in islice(todo, 1))
        yield output


def _refuse_crowded_days(tree: Tree, clock: Clock) -> None:
    """A case number has four digits for the day's sequence: at most 9,999 cases a district-day."""
    working = len(clock.working_days(FIRST_DAY, END_DAY))
    busiest = max(d.cases for d in tree.districts)
    if busiest > working * 4_000:  # a day's share is a random draw: keep well below 9,999 on average
        raise DomainError(
            "VALIDATION_FAILED",
            f"{busiest} cases in one district over {working} working days overflow the day's "
            "four-digit case sequence: ask for fewer cases or more districts",
            field="cases",
        )


async def _next_id(table: str) -> int:
    rows = await Organization._meta.db.execute_query_dict(
        f"SELECT COALESCE(MAX(id), 0) + 1 AS next FROM {table}"
    )
    return int(rows[0]["next"])


async def _province_key() -> str:
    """The province integrator's key (read:*), shown once: a secret, so not derived from the seed."""
    issued = await apikeys.create("province integrator (synthetic)", PROVINCE_CODE, scopes=["read:*"])
    await audit.record(AuditAction.KEY_CREATED, SYSTEM, object_type="ApiKey", object_id=issued.record.id)
    return issued.key


def _name_examples(report: Report, tree: Tree) -> None:
    first = tree.districts[0]
    report.district_admin = f"{first.code.lower()}_admin"
    report.hall_clerk = f"{first.halls[0].code.lower().replace('-', '_')}_clerk"


def _sample(tree: Tree) -> list[int]:
    """Cases spread evenly over every district's id range."""
    each = max(1, REPLAYED // len(tree.districts))
    return [d.case_base + n * d.cases // each for d in tree.districts for n in range(min(each, d.cases))]
