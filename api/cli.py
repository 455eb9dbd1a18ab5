"""The `sanji` command: database, fixture, servers, reports, users, calendar and schema."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer

from api import db
from api.auth.caller import SYSTEM
from api.errors import DomainError
from api.models.user import Role
from api.settings import Settings, is_loopback
from schema.generator.errors import EngineError

T = TypeVar("T")
# Plain Click errors: a bad argument reads as one "Error: ..." line, not a drawn box.
app = typer.Typer(
    help="Sanji (三级): the three-tier government-service platform.",
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database migrations.", no_args_is_help=True)
seed_app = typer.Typer(help="Load data sets.", no_args_is_help=True)
report_app = typer.Typer(help="Print figures computed from the data.", no_args_is_help=True)
user_app = typer.Typer(help="Manage sign-in users.", no_args_is_help=True)
calendar_app = typer.Typer(help="The working-day calendar.", no_args_is_help=True)
schema_app = typer.Typer(help="The GraphQL schema.", no_args_is_help=True)
apikey_app = typer.Typer(help="Integrator API keys.", no_args_is_help=True)
stats_app = typer.Typer(help="The service statistics' rollups.", no_args_is_help=True)
webhook_app = typer.Typer(help="Webhooks: endpoints that receive the outbox's events.", no_args_is_help=True)
query_app = typer.Typer(
    help="Persisted queries: operations registered to run by their SHA-256.", no_args_is_help=True
)
catalogue_app = typer.Typer(
    help="The catalogue as the implementation list (实施清单) spreadsheet, .xlsx or .csv.",
    no_args_is_help=True,
)
for sub, name in (
    (db_app, "db"),
    (seed_app, "seed"),
    (report_app, "report"),
    (user_app, "user"),
    (calendar_app, "calendar"),
    (schema_app, "schema"),
    (apikey_app, "apikey"),
    (stats_app, "stats"),
    (webhook_app, "webhook"),
    (query_app, "query"),
    (catalogue_app, "catalogue"),
):
    app.add_typer(sub, name=name)


def fail(message: str) -> typer.Exit:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    return typer.Exit(code=1)


def warn_if_exposed(s: Settings, host: str) -> None:
    """One line when dev mode listens beyond this machine: its demo logins are published."""
    if not s.is_production and not is_loopback(host):
        typer.secho(
            f"warning: SANJI_ENV=dev listens on {host}, reachable from the network: the demo users' "
            "password is published and GraphiQL is open; beyond a developer's machine use "
            "SANJI_ENV=production",
            fg=typer.colors.YELLOW,
            err=True,
        )


def settings() -> Settings:
    try:
        return Settings.from_env()
    except DomainError as error:
        raise fail(error.message) from None


def run(work: Callable[[], Awaitable[T]]) -> T:
    """Run async work with one clear line (and exit 1) for any expected failure."""
    try:
        return asyncio.run(work())
    except EngineError as error:  # a DomainError, or the engine's (a bad global id, say)
        raise fail(f"{error.message} [{error.code}]") from None
    except (OSError, ConnectionError) as error:
        raise fail(f"cannot reach the database: {error}") from None
    except Exception as error:  # driver errors (asyncpg, sqlite) carry their own types
        if type(error).__module__.split(".")[0] in {"asyncpg", "sqlite3", "tortoise"}:
            raise fail(f"database error: {error}") from None
        raise


async def _migrated(s: Settings, work: Callable[[], Awaitable[T]]) -> T:
    """Open the database, refuse if migrations are pending, then run `work`."""
    async with db.database(s) as ctx:
        pending = await db.pending_migrations(ctx)
        if pending:
            raise DomainError(
                "MIGRATION_PENDING",
                f"the database lacks {len(pending)} migration(s) ({pending[0]} first): "
                "run `sanji db upgrade`",
            )
        return await work()


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration, then copy every year chinese-calendar knows into the calendar
    (days an admin corrected or imported are kept; due dates the new days touch are recomputed)."""
    import chinese_calendar
    from tortoise.transactions import in_transaction

    from api.services.calendar import load_years, package_years

    s = settings()

    def progress(event: str, app_label: str, name: str) -> None:
        if event == "apply_done":
            typer.echo(f"  applied {app_label}.{name}")

    async def work():
        await db.upgrade(s, progress)
        async with db.database(s), in_transaction():
            return await load_years(package_years())

    loaded = run(work)
    typer.echo(f"database is up to date ({db.redact_url(s.database_url)})")
    typer.echo(
        f"calendar: chinese-calendar {chinese_calendar.__version__} knows "
        f"{loaded.years[0]}-{loaded.years[-1]}, {loaded.days_written} day(s) written, "
        f"{loaded.cases_recomputed} case(s) recomputed"
    )


@db_app.command("makemigrations")
def db_makemigrations() -> None:
    """Write a migration for model changes (developers)."""
    paths = run(db.make_migrations)
    typer.echo("\n".join(paths) if paths else "no changes")


@db_app.command("check")
def db_check() -> None:
    """Exit 1 when the models have changes that no migration captures, or the database lags."""
    s = settings()

    async def work() -> tuple[list, list[str]]:
        async with db.database(s) as ctx:
            return await db.migration_changes(ctx), await db.pending_migrations(ctx)

    changes, pending = run(work)
    if changes:
        raise fail("models have changes without a migration: run `sanji db makemigrations`")
    if pending:
        raise fail(f"database lacks migrations {pending}: run `sanji db upgrade`")
    typer.echo("models, migrations and database agree")


@seed_app.command("qujialing")
def seed_qujialing() -> None:
    """Load the Qujialing fixture (idempotent)."""
    from seeds.qujialing import load

    s = settings()

    async def work():
        return await _migrated(s, lambda: load(s.demo_password, progress=lambda msg: typer.echo(f"  {msg}")))

    report = run(work)
    typer.echo("fixture loaded" if report.loaded else "fixture was already loaded")
    typer.echo(", ".join(f"{name} {count}" for name, count in report.counts.items()))


@seed_app.command("synthetic")
def seed_synthetic(
    districts: Annotated[int, typer.Option(min=1, max=999, help="Districts under the province's root")],
    cases: Annotated[
        int | None, typer.Option(min=0, help="Cases in all, over two years (default 10,000 per district)")
    ] = None,
    seed: Annotated[int, typer.Option(help="Random seed: the same arguments give the same rows")] = 0,
) -> None:
    """Load a synthetic province into an empty database: a root, N districts of ~270 organizations
    each, staff and users, the shared catalogue and two years of cases (see seeds/synthetic/README.md)."""
    from seeds.synthetic import load

    s = settings()
    with _LoadProgress() as progress:
        report = run(lambda: _migrated(s, lambda: load(districts, cases, seed, s.demo_password, progress)))
    typer.echo(", ".join(f"{table} {count:,}" for table, count in report.counts.items()))
    typer.echo(
        f"loaded {report.rows:,} rows in {report.seconds:.1f} s ({report.rows / report.seconds:,.0f} rows/s)"
    )
    typer.echo(
        f"sign in with the demo password {s.demo_password!r}: {report.supervisor} (the whole province), "
        f"{report.district_admin} (one district), {report.hall_clerk} (one hall)"
    )
    typer.echo("the province integrator's API key (read:*), store it now, it is not shown again:")
    typer.echo(report.api_key)


class _LoadProgress:
    """`seed synthetic`'s progress: a line per stage and a bar for the cases (rich comes with typer).
    The display starts with the first stage, so a refusal before it prints its one line alone."""

    def __enter__(self) -> _LoadProgress:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.bar = Progress(
            TextColumn("  {task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()
        )
        self.task = None
        return self

    def __call__(self, stage: str, done: int, total: int) -> None:
        if not self.bar.live.is_started:
            self.bar.start()
        if not total:
            self.bar.console.print(f"  {stage}", markup=False, highlight=False)
        elif self.task is None:
            self.task = self.bar.add_task(stage, total=total, completed=done)
        else:
            self.bar.update(self.task, completed=done)

    def __exit__(self, *exc) -> None:
        if self.bar.live.is_started:
            self.bar.stop()


@report_app.command("coverage")
def report_coverage() -> None:
    """Print coverage per tier with each rate's formula."""
    from api.services.coverage import coverage

    s = settings()
    rows = run(lambda: _migrated(s, coverage))
    typer.echo(
        f"{'tier':<6} {'total':>5} {'built':>5} {'std':>5} {'constr':>6} {'planned':>7} {'rate':>7}  formula"
    )
    for row in rows:
        rate = f"{row.rate:.1%}" if row.rate is not None else "-"
        typer.echo(
            f"{row.tier.value:<6} {row.total:>5} {row.built:>5} {row.standardized:>5} "
            f"{row.under_construction:>6} {row.planned:>7} {rate:>7}  {row.formula}"
        )


@report_app.command("service")
def report_service(
    first_day: Annotated[
        str | None, typer.Option("--from", help="First day of the period (YYYY-MM-DD)")
    ] = None,
    last_day: Annotated[str | None, typer.Option("--to", help="Last day of the period (YYYY-MM-DD)")] = None,
) -> None:
    """Print 办结率 and 限时办结率 with overdue, working days and trips saved per tier, tag, organization."""
    from api.services import stats

    s = settings()
    period = stats.Period(_day(first_day, "--from"), _day(last_day, "--to"))

    async def work():
        return await stats.service_report(period)

    sections = run(lambda: _migrated(s, work))
    typer.echo(
        f"cases accepted {period.first_day or 'ever'} .. {period.last_day or 'today'} (by acceptance date)"
    )
    typer.echo("办结率 = completed / accepted; 限时办结率 = completed by the promised due date / completed")
    for title, rows in sections:
        typer.echo(f"\n{title}")
        typer.echo(
            f"  {'':<26} {'accepted':>8} {'completed':>9} {'办结率':>7} {'on time':>7} {'限时办结率':>7} "
            f"{'overdue':>7} {'avg days':>8} {'trips saved':>11}"
        )
        for label, row in rows:
            typer.echo(
                f"  {label:<26} {row.accepted:>8} {row.completed:>9} "
                f"{_pct(row.completed, row.accepted):>10} {row.completed_on_time:>7} "
                f"{_pct(row.completed_on_time, row.completed):>12} {row.overdue:>7} "
                f"{_avg(row.working_days, row.timed):>8} {row.trips_saved:>11}"
            )


@stats_app.command("rebuild")
def stats_rebuild() -> None:
    """Recount the service statistics' rollups from the cases (in one transaction; steps taken
    meanwhile wait for it and are then counted)."""
    import time

    from tortoise.transactions import in_transaction

    from api.services import rollup

    s = settings()

    async def work():
        async with in_transaction():
            return await rollup.rebuild()

    started = time.perf_counter()
    rows = run(lambda: _migrated(s, work))
    counts = ", ".join(f"{table} {count:,} rows" for table, count in rows.items())
    typer.echo(f"rebuilt in {time.perf_counter() - started:.1f} s: {counts}")


@stats_app.command("check")
def stats_check() -> None:
    """Compare the rollups with a recount of the cases; exit 1 (naming rows) when they differ."""
    from api.services import rollup

    s = settings()
    found = run(lambda: _migrated(s, rollup.differences))
    wrong = {table: keys for table, keys in found.items() if keys}
    if not wrong:
        typer.echo("the rollups equal a recount of the cases")
        return
    for table, keys in wrong.items():
        typer.echo(f"{table}: {len(keys)} row(s) differ, e.g. {', '.join(keys[:3])}")
    raise fail("the rollups differ from the cases: run `sanji stats rebuild`")


def _day(raw: str | None, option: str):
    from datetime import date

    if raw is None:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise fail(f"{option} {raw!r} is not a date (YYYY-MM-DD)") from None


def _pct(numerator: int, denominator: int) -> str:
    """A rate as a percentage with one decimal, rounded half up from the counts (as the API's)."""
    from api.services.stats import rounded

    rate = rounded(numerator, denominator, 3)
    return "-" if rate is None else f"{rate * 100:.1f}%"


def _avg(total: int, count: int) -> str:
    from api.services.stats import rounded

    average = rounded(total, count, 2)
    return "-" if average is None else f"{average:.2f}"


@user_app.command("create")
def user_create(
    username: str,
    role: Annotated[
        Role, typer.Option(case_sensitive=False, help="ADMIN, SUPERVISOR, CLERK, AGENT or INTEGRATOR")
    ],
    organization: Annotated[str | None, typer.Option(help="Organization code the user acts for")] = None,
    password: Annotated[
        str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True, envvar="SANJI_NEW_PASSWORD")
    ] = "",
) -> None:
    """Create a user (password policy: 8+ characters from 3 classes)."""
    from api.services.users import create_user

    s = settings()
    user = run(
        lambda: _migrated(s, lambda: create_user(username, password, role, organization_code=organization))
    )
    typer.echo(f"created {user.username} ({user.role.value})")


@calendar_app.command("load")
def calendar_load(
    year: Annotated[int, typer.Option(min=2004, max=2100, help="Year to copy from chinese-calendar")],
) -> None:
    """Copy a year's working days from chinese-calendar into the calendar table."""
    from api.services.calendar import load_year

    s = settings()
    written = run(lambda: _migrated(s, lambda: load_year(year)))
    typer.echo(f"calendar {year}: {written} day(s) written")


@calendar_app.command("import")
def calendar_import(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV: date,kind,name per line")],
) -> None:
    """Enter a year from the State Council notice: kind HOLIDAY or WORKDAY_ADJUSTED (调休上班; WORKDAY
    reads the same) per listed day; other days follow the weekday rule. A line that cannot be right
    is refused by its number before anything is written; stored due dates the change touches are
    recomputed."""
    from tortoise.transactions import in_transaction

    from api.services.calendar import import_year, parse_notice

    s = settings()
    text = file.read_text(encoding="utf-8")

    async def work():
        year, days = parse_notice(text)
        async with in_transaction():
            return year, days, *await import_year(year, days)

    year, days, changed, recomputed = run(lambda: _migrated(s, work))
    typer.echo(
        f"calendar {year}: {len(days)} listed day(s), {changed} day(s) changed, "
        f"{recomputed} case(s) recomputed"
    )


@calendar_app.command("status")
def calendar_status(
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="The day whose year and next year are listed (YYYY-MM-DD)")
    ] = None,
) -> None:
    """One line per year: official (chinese-calendar), imported from a notice, entered by an admin,
    or estimated (weekdays and statutory holidays, no make-up workdays)."""
    from datetime import UTC, datetime

    import chinese_calendar

    from api.services import deadlines
    from api.services.calendar import package_years, year_statuses

    s = settings()
    today = _day(as_of, "--as-of") or deadlines.local_date(datetime.now(UTC))
    statuses = run(lambda: _migrated(s, lambda: year_statuses(today)))
    known = package_years()
    typer.echo(
        f"working-day calendar as of {today} (Beijing time); "
        f"chinese-calendar {chinese_calendar.__version__} knows {known[0]}-{known[-1]}"
    )
    for status in statuses:
        typer.echo(f"{status.year}  {status.kind.value:<9}  {status.describe()}")


@apikey_app.command("create")
def apikey_create(
    name: str,
    organization: Annotated[str, typer.Option(help="Code of the organization (district) the key may reach")],
    scope: Annotated[
        list[str] | None,
        typer.Option(
            "--scope",
            help="read:* | write:* | read:<plural> | write:<plural>, repeatable (default read:*)",
        ),
    ] = None,
    write: Annotated[
        bool, typer.Option("--write", help="Shorthand for --scope read:* --scope write:*")
    ] = False,
) -> None:
    """Create a key; the full key is printed once and never stored."""
    from api.auth import apikeys
    from api.auth.permissions import validate_key_scopes
    from api.models.audit import AuditAction
    from api.services import audit
    from schema.specs import EXPOSURES

    s = settings()
    wanted = [part for given in scope or [] for part in given.replace(",", " ").split()]
    wanted += ["read:*", "write:*"] if write else []
    try:
        scopes = validate_key_scopes(wanted or ["read:*"], [e.scope_name for e in EXPOSURES])
    except DomainError as error:
        raise fail(error.message) from None

    async def work():
        issued = await apikeys.create(name, organization, scopes=scopes)
        await audit.record(AuditAction.KEY_CREATED, SYSTEM, object_type="ApiKey", object_id=issued.record.id)
        return issued

    issued = run(lambda: _migrated(s, work))
    typer.echo(f"created key {issued.prefix} ({issued.record.scopes}) for {organization}")
    typer.echo("store it now, it is not shown again:")
    typer.echo(issued.key)


@apikey_app.command("revoke")
def apikey_revoke(prefix: str) -> None:
    """Revoke a key by its prefix; requests with it are refused at once."""
    from api.auth import apikeys
    from api.models.audit import AuditAction
    from api.services import audit

    s = settings()

    async def work():
        record = await apikeys.revoke(prefix)
        await audit.record(AuditAction.KEY_REVOKED, SYSTEM, object_type="ApiKey", object_id=record.id)
        return record

    record = run(lambda: _migrated(s, work))
    typer.echo(f"revoked key {record.prefix} ({record.name})")


@apikey_app.command("list")
def apikey_list() -> None:
    """List keys: prefix, name, scope, last use, state (never the keys themselves)."""
    from api.models.user import ApiKey

    s = settings()
    rows = run(lambda: _migrated(s, lambda: ApiKey.all().order_by("id").prefetch_related("organization")))
    for row in rows:
        state = "revoked" if row.revoked_at else "active"
        used = row.last_used_at.isoformat(timespec="seconds") if row.last_used_at else "never used"
        typer.echo(f"{row.prefix}  {row.name}  {row.organization.code}  {row.scopes}  {used}  {state}")


def _audited_webhook(action, endpoint_id: int, detail: str = ""):
    from api.services import audit

    return audit.record(action, SYSTEM, object_type="Webhook", object_id=endpoint_id, detail=detail)


@webhook_app.command("create")
def webhook_create(
    name: str,
    url: str,
    organization: Annotated[
        str, typer.Option(help="Code of the organization whose area's events it receives")
    ],
    events: Annotated[
        list[str] | None,
        typer.Option("--events", help="Event types: a type, a family (case.*) or * (default *), repeatable"),
    ] = None,
    clear_personal_data: Annotated[
        bool,
        typer.Option(
            "--clear-personal-data",
            help="Case events carry the applicant's name, ID number and phone in clear (each delivery "
            "audited)",
        ),
    ] = False,
) -> None:
    """Register a webhook; its signing secret is printed once."""
    from datetime import UTC, datetime

    from api.models.audit import AuditAction
    from api.models.org import Organization
    from api.services import webhooks

    s = settings()

    async def work():
        found = await Organization.get_or_none(code=organization)
        if found is None:
            raise DomainError("NOT_FOUND", f"organization {organization!r} does not exist")
        registered = await webhooks.register(
            name=name,
            url=url,
            event_types=events or ["*"],
            organization_id=found.id,
            created_by=SYSTEM.name,
            settings=s,
            now=datetime.now(UTC),
            clear_personal_data=clear_personal_data,
        )
        await _audited_webhook(AuditAction.CREATE, registered.endpoint.id, "registered from the command line")
        return registered

    registered = run(lambda: _migrated(s, work))
    endpoint = registered.endpoint
    typer.echo(f"created webhook {endpoint.id} ({endpoint.event_types}) for {organization}: {endpoint.url}")
    typer.echo("its signing secret; store it now, it is not shown again:")
    typer.echo(registered.secret)


@webhook_app.command("list")
def webhook_list() -> None:
    """List webhooks: id, state, area, events, URL, failures in a row, deliveries pending and failed."""
    from tortoise.functions import Count

    from api.models.webhook import DeliveryState, WebhookDelivery, WebhookEndpoint

    s = settings()

    async def work():
        endpoints = await WebhookEndpoint.all().order_by("id").prefetch_related("organization")
        counts = (
            await WebhookDelivery.filter(state__in=[DeliveryState.PENDING, DeliveryState.FAILED])
            .annotate(n=Count("id"))
            .group_by("endpoint_id", "state")
            .values_list("endpoint_id", "state", "n")
        )
        return endpoints, {(e, str(state)): n for e, state, n in counts}

    endpoints, counts = run(lambda: _migrated(s, work))
    for e in endpoints:
        state = "active" if e.active else f"disabled ({e.disabled_reason})"
        typer.echo(
            f"{e.id}  {e.name}  {state}  {e.organization.code}  {e.event_types}  {e.url}  "
            f"failures in a row {e.failure_streak}, pending {counts.get((e.id, 'PENDING'), 0)}, "
            f"failed {counts.get((e.id, 'FAILED'), 0)}"
        )


def _endpoint(endpoint_id: int):
    from api.models.webhook import WebhookEndpoint

    async def find():
        found = await WebhookEndpoint.get_or_none(id=endpoint_id)
        if found is None:
            raise DomainError("NOT_FOUND", f"no webhook {endpoint_id}")
        return found

    return find()


@webhook_app.command("disable")
def webhook_disable(
    endpoint_id: int, reason: Annotated[str, typer.Option(help="Why")] = "disabled from the command line"
) -> None:
    """Stop a webhook: no new deliveries, no attempts; pending ones wait for `enable`."""
    from datetime import UTC, datetime

    from api.models.audit import AuditAction
    from api.services import webhooks

    s = settings()

    async def work():
        endpoint = await webhooks.disable(await _endpoint(endpoint_id), reason, datetime.now(UTC))
        await _audited_webhook(AuditAction.UPDATE, endpoint.id, f"disabled: {reason}"[:200])
        return endpoint

    endpoint = run(lambda: _migrated(s, work))
    typer.echo(f"disabled webhook {endpoint.id} ({endpoint.name})")


@webhook_app.command("enable")
def webhook_enable(endpoint_id: int) -> None:
    """Start a disabled webhook again (its URL checked again); pending deliveries resume."""
    from api.models.audit import AuditAction
    from api.services import webhooks

    s = settings()

    async def work():
        endpoint = await webhooks.enable(await _endpoint(endpoint_id), s)
        await _audited_webhook(AuditAction.UPDATE, endpoint.id, "enabled")
        return endpoint

    endpoint = run(lambda: _migrated(s, work))
    typer.echo(f"enabled webhook {endpoint.id} ({endpoint.name})")


@webhook_app.command("rotate")
def webhook_rotate(
    endpoint_id: int,
    keep_old_hours: Annotated[
        float, typer.Option(min=0, max=168, help="Hours the old secret keeps signing beside the new one")
    ] = 24.0,
) -> None:
    """A new signing secret, printed once; the old one signs beside it for a while."""
    from datetime import UTC, datetime

    from api.models.audit import AuditAction
    from api.services import webhooks

    s = settings()

    async def work():
        endpoint = await _endpoint(endpoint_id)
        secret = await webhooks.rotate(endpoint, keep_old_hours, datetime.now(UTC))
        await _audited_webhook(
            AuditAction.UPDATE, endpoint.id, f"signing secret rotated; the old one kept {keep_old_hours:g} h"
        )
        return secret

    secret = run(lambda: _migrated(s, work))
    typer.echo(f"new signing secret of webhook {endpoint_id}; store it now, it is not shown again:")
    typer.echo(secret)


@webhook_app.command("redeliver")
def webhook_redeliver(
    deliveries: Annotated[list[int] | None, typer.Argument(help="Delivery ids")] = None,
    webhook: Annotated[int | None, typer.Option(help="Every failed delivery of this webhook")] = None,
) -> None:
    """Send delivered or failed deliveries again, now, with their webhook-id."""
    from datetime import UTC, datetime

    from tortoise.transactions import in_transaction

    from api.models.audit import AuditAction
    from api.models.webhook import DeliveryState, WebhookDelivery
    from api.services import audit, webhooks

    if not deliveries and webhook is None:
        raise fail("name delivery ids, or --webhook ID for its failed deliveries")
    s = settings()

    async def work() -> int:
        now = datetime.now(UTC)
        async with in_transaction():
            if deliveries:
                found = await WebhookDelivery.filter(id__in=deliveries).order_by("id").select_for_update()
                missing = sorted(set(deliveries) - {d.id for d in found})
                if missing:
                    raise DomainError("NOT_FOUND", f"no delivery {missing[0]}")
            else:
                await _endpoint(webhook)
                found = await WebhookDelivery.filter(endpoint_id=webhook, state=DeliveryState.FAILED)
            for delivery in found:
                await webhooks.redeliver(delivery, now)
                await audit.record(
                    AuditAction.UPDATE,
                    SYSTEM,
                    object_type="WebhookDelivery",
                    object_id=delivery.id,
                    detail="redelivery requested",
                )
            return len(found)

    count = run(lambda: _migrated(s, work))
    typer.echo(f"{count} deliveries queued again")


@webhook_app.command("prune")
def webhook_prune(
    older_than_days: Annotated[
        int, typer.Option(min=1, max=3650, help="Delete deliveries settled more than this many days ago")
    ] = 30,
) -> None:
    """Delete old settled deliveries (DELIVERED, or FAILED and not sent again) from the log; pending
    ones are never touched."""
    from datetime import UTC, datetime, timedelta

    from tortoise.expressions import Q

    from api.models.webhook import DeliveryState, WebhookDelivery

    s = settings()

    async def work() -> int:
        before = datetime.now(UTC) - timedelta(days=older_than_days)
        return await WebhookDelivery.filter(
            Q(state=DeliveryState.DELIVERED, delivered_at__lt=before)
            | Q(state=DeliveryState.FAILED, last_attempt_at__lt=before)
        ).delete()

    count = run(lambda: _migrated(s, work))
    typer.echo(f"deleted {count} deliveries settled more than {older_than_days} days ago")


@app.command()
def worker(
    in_flight: Annotated[int, typer.Option(min=1, max=256, help="Attempts sent at once")] = 32,
    poll: Annotated[float, typer.Option(min=0.05, max=60, help="Seconds between looks when idle")] = 0.2,
) -> None:
    """Deliver webhooks until Ctrl-C: fan the outbox's events out to the webhooks that want them and
    send what is due. Several may run (PostgreSQL): none sends a delivery another one holds."""
    from api.services import webhooks

    s = settings()

    async def deliver() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        worker = webhooks.Worker(s, in_flight=in_flight, poll_seconds=poll)
        typer.echo(f"webhook worker started ({db.redact_url(s.database_url)}); Ctrl-C stops it")
        try:
            await worker.run(stop)
        finally:
            await worker.close()
        typer.echo("webhook worker stopped")

    run(lambda: _migrated(s, deliver))


@schema_app.command("permissions")
def schema_permissions(
    update: Annotated[
        Path | None, typer.Option(help="Replace the table in this Markdown file (e.g. docs/security.md)")
    ] = None,
) -> None:
    """Print the permission table (roles × models) as Markdown, or refresh it inside a document."""
    from schema.permission_table import embed, markdown

    if update is None:
        typer.echo(markdown(), nl=False)
        return
    try:
        update.write_text(embed(update.read_text(encoding="utf-8")), encoding="utf-8")
    except (OSError, ValueError) as error:
        raise fail(f"cannot update {update}: {error}") from None
    typer.echo(f"updated {update}")


@schema_app.command("export")
def schema_export(
    path: Annotated[
        Path | None, typer.Option(help="Where to write the SDL (default: schema/schema.graphql)")
    ] = None,
) -> None:
    """Write the served GraphQL schema as SDL."""
    from schema.build import SDL_PATH, export_sdl

    target = path or SDL_PATH
    target.write_text(export_sdl(), encoding="utf-8")
    typer.echo(f"wrote {target}")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (SANJI_API_HOST)")] = None,
    port: Annotated[int | None, typer.Option(min=1, max=65535, help="Port (SANJI_API_PORT)")] = None,
    workers: Annotated[
        int | None,
        typer.Option(min=1, max=64, help="Processes serving the API, PostgreSQL only (SANJI_API_WORKERS)"),
    ] = None,
) -> None:
    """Start the API (uvicorn) after checking the database."""
    import uvicorn

    from api.services.users import demo_users

    s = settings()

    async def check() -> None:
        async def demo_check() -> None:
            if s.is_production and await demo_users():
                raise DomainError(
                    "DEMO_USERS", "production refuses to start while demo users exist; remove them"
                )

        await _migrated(s, demo_check)

    run(check)
    warn_if_exposed(s, host or s.api_host)
    count = workers or s.api_workers
    if s.database_url.startswith("sqlite"):
        if count > 1:
            typer.secho(
                f"warning: SQLite is served by one process: starting 1 worker, not {count} "
                "(several workers need PostgreSQL: SANJI_DATABASE_URL=postgres://...)",
                fg=typer.colors.YELLOW,
                err=True,
            )
            count = 1
        # The SQLite driver runs statements on a thread of its own, which must take the GIL back
        # from requests busy in Python several times per statement; at the default 5 ms switch
        # interval a health check waited 60-140 ms behind three CPU-bound requests, at 1 ms 22-34.
        sys.setswitchinterval(0.001)
    # The app reads forwarded addresses itself, from SANJI_TRUSTED_PROXIES only (uvicorn would
    # believe any X-Forwarded-For that reaches it from 127.0.0.1).
    options = {
        "host": host or s.api_host,
        "port": port or s.api_port,
        "log_level": "info",
        "access_log": s.access_log,
        "proxy_headers": False,
    }
    if count == 1:
        from api.app import create_app

        uvicorn.run(create_app(s), **options)
        return
    # Each worker builds its app from the environment (the dev secret key from its file, so all
    # agree); sessions, rate limits and lockouts are rows in the database, which they share. The
    # supervisor only starts and watches them: it does not load the app (a third of a worker's
    # memory). Each worker listens on a socket of its own where the system allows (api/workers.py).
    from api import workers

    if not workers.balanced():
        uvicorn.run("api.app:app_from_env", factory=True, workers=count, **options)
        return
    config = uvicorn.Config("api.app:app_from_env", factory=True, workers=count, **options)
    try:
        supervisor = workers.Balanced(config)
    except OSError as error:
        where = f"{options['host']}:{options['port']}"
        typer.secho(f"error: cannot listen on {where}: {error}", fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from error
    supervisor.run()


@app.command()
def ui(
    host: Annotated[str | None, typer.Option(help="Bind address (SANJI_UI_HOST)")] = None,
    port: Annotated[int | None, typer.Option(min=1, max=65535, help="Port (SANJI_UI_PORT)")] = None,
) -> None:
    """Start the admin UI (Streamlit), talking to the API at SANJI_API_URL."""
    s = settings()
    warn_if_exposed(s, host or s.ui_host)
    script = Path(__file__).resolve().parent.parent / "admin_ui" / "app.py"
    command = [sys.executable, "-m", "streamlit", "run", str(script)]
    command += ["--server.address", host or s.ui_host, "--server.port", str(port or s.ui_port)]
    command += ["--server.headless", "true", "--browser.gatherUsageStats", "false"]
    command += ["--client.toolbarMode", "minimal"]  # no "Deploy" button on an intranet app
    env = {**os.environ, "SANJI_API_URL": s.api_url}
    raise typer.Exit(subprocess.call(command, env=env))


@app.command("run")
def run_stack() -> None:
    """Migrate, load the fixture once, then run the API, the admin UI and the webhook worker until
    Ctrl-C."""
    s = settings()
    db_upgrade()
    seed_qujialing()
    api_cmd = [sys.executable, "-m", "api.cli", "serve"]
    ui_cmd = [sys.executable, "-m", "api.cli", "ui"]
    worker_cmd = [sys.executable, "-m", "api.cli", "worker"]
    typer.secho("\nSanji is starting:", bold=True)
    typer.echo(f"  API       {s.api_url}/graphql   (health: {s.api_url}/healthz)")
    typer.echo(f"  Admin UI  http://{s.ui_host}:{s.ui_port}")
    typer.echo(
        f"  Demo logins (password {s.demo_password!r}): "
        "admin, supervisor, clerk, hall_clerk, agent, integrator"
    )
    typer.echo("  Webhooks  delivered by the worker (`sanji webhook list`)")
    typer.echo("  Ctrl-C stops them all.\n")
    stopping = []

    def stop(signum, _frame) -> None:
        stopping.append(signum)

    # Ctrl-C reaches the servers too (same process group); the flag tells a stop from a crash.
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    processes = [subprocess.Popen(api_cmd), subprocess.Popen(ui_cmd), subprocess.Popen(worker_cmd)]
    while not stopping and all(p.poll() is None for p in processes):
        time.sleep(0.2)
    code = 0
    if not stopping:
        code = next(p.returncode for p in processes if p.poll() is not None) or 1
        typer.secho("a process stopped; stopping the others", fg=typer.colors.RED, err=True)
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
    for process in processes:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
    typer.echo("stopped")
    raise typer.Exit(code)


if __name__ == "__main__":
    app()


@query_app.command("register")
def query_register(
    file: Annotated[Path, typer.Argument(help="A .graphql file holding the operation's text")],
    organization: Annotated[
        str | None,
        typer.Option(help="Code of the organization that registers it (default: the district's root)"),
    ] = None,
) -> None:
    """Register the operation in FILE (checked against the schema and the query limits); prints the
    SHA-256 that requests name in extensions.persistedQuery.sha256Hash."""
    from api.app import schema_for
    from api.models.org import Organization
    from api.services import persisted
    from schema.domain.persisted import checker, current_hash

    s = settings()
    try:
        document = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise fail(f"cannot read {file}: {error}") from None
    schema = schema_for(s)

    async def work():
        if organization is None:
            roots = await Organization.filter(parent_id=None).limit(2)
            if len(roots) != 1:
                raise DomainError(
                    "VALIDATION_FAILED", "name the registering organization with --organization"
                )
            found = roots[0]
        else:
            found = await Organization.get_or_none(code=organization)
            if found is None:
                raise DomainError("NOT_FOUND", f"organization {organization!r} does not exist")
        return await persisted.register(document, SYSTEM, found.id, checker(schema), current_hash(schema))

    record = run(lambda: _migrated(s, work))
    name = f" {record.operation_name}" if record.operation_name else ""
    typer.echo(f"registered {str(record.kind).lower()}{name}: {record.sha256}")


@query_app.command("list")
def query_list() -> None:
    """List registered operations: SHA-256, kind, name, registered by, and whether valid."""
    from api.models.query import PersistedQuery

    s = settings()
    records = run(lambda: _migrated(s, lambda: PersistedQuery.all().order_by("id")))
    for r in records:
        state = "valid" if r.valid else f"INVALID ({r.problem})"
        typer.echo(f"{r.sha256}  {r.kind}  {r.operation_name or '-'}  {r.created_by}  {state}")


@query_app.command("check")
def query_check() -> None:
    """Check every registered operation against this version's schema and limits (the API does it
    when it starts); lists the ones that no longer fit and exits 1 if there are any."""
    from api.app import schema_for
    from api.services import persisted
    from schema.domain.persisted import checker, current_hash

    s = settings()
    schema = schema_for(s)
    broken = run(lambda: _migrated(s, lambda: persisted.revalidate(checker(schema), current_hash(schema))))
    for r in broken:
        typer.echo(f"{r.sha256}  {r.operation_name or '-'}  {r.problem}")
    if broken:
        raise fail(f"{len(broken)} registered operation(s) no longer fit the schema")
    typer.echo("every registered operation fits the schema")


RegionOption = Annotated[
    str | None,
    typer.Option(
        help="Code of the region whose local values (promised limits, phones) to use (default: the only one)"
    ),
]


async def _acting_region(code: str | None):
    from api.models.org import Organization, Tier
    from api.services import catalogue_file

    if code is None:
        return await catalogue_file.sole_district()
    found = await Organization.get_or_none(code=code, tier="REGION")
    if found is None:
        raise DomainError("NOT_FOUND", f"no region has the code {code!r}", field="region")
    assert found.tier == Tier.REGION
    return found


def _file_kind(file: Path) -> str:
    kind = file.suffix.lower().lstrip(".")
    if kind not in ("xlsx", "csv"):
        raise fail(f"{file}: name the file .xlsx or .csv")
    return kind


@catalogue_app.command("export")
def catalogue_export(
    file: Annotated[Path, typer.Argument(help="Where to write: FILE.xlsx or FILE.csv")],
    region: RegionOption = None,
    template: Annotated[
        bool, typer.Option(help="Write the empty template (the header and column notes)")
    ] = False,
) -> None:
    """Write the catalogue as the implementation list: one row per item, with the region's local
    values and the materials of each item's latest guide revision."""
    from api.services import catalogue_file

    kind = _file_kind(file)
    if template:
        file.write_bytes(catalogue_file.template(kind))
        typer.echo(f"wrote the template to {file}")
        return
    s = settings()

    async def work():
        return await catalogue_file.export_file(kind, await _acting_region(region))

    content = run(lambda: _migrated(s, work))
    file.write_bytes(content)
    typer.echo(f"wrote {file} ({len(content):,} bytes)")


@catalogue_app.command("import")
def catalogue_import(
    file: Annotated[Path, typer.Argument(help="The implementation list: FILE.xlsx or FILE.csv")],
    region: RegionOption = None,
    apply: Annotated[bool, typer.Option("--apply", help="Write the changes (default: a dry run)")] = False,
) -> None:
    """Check the file row by row (new, changed with the fields, unchanged, invalid with the reason);
    with --apply, write it all in one transaction, or nothing when a row is invalid (exit 1)."""
    from datetime import UTC, datetime

    from api.services import catalogue_file
    from api.services.deadlines import local_date

    try:
        content = file.read_bytes()
    except OSError as error:
        raise fail(f"cannot read {file}: {error}") from None
    s = settings()

    def progress(done: int, total: int) -> None:
        typer.echo(f"  {done:,}/{total:,} rows written", err=True)

    async def work():
        rows = catalogue_file.read_table(content, file.name)
        plan = await catalogue_file.plan(rows, None, await _acting_region(region))
        result = None
        if apply and plan.valid:
            result = await catalogue_file.apply(plan, SYSTEM, local_date(datetime.now(UTC)), progress)
        return plan, result

    plan, result = run(lambda: _migrated(s, work))
    for row in plan.rows:
        if row.status == "CHANGED":
            typer.echo(f"row {row.line}  {row.code}  CHANGED: {'、'.join(row.changes)}")
        elif row.status == "INVALID":
            typer.echo(f"row {row.line}  {row.code or '-'}  INVALID: {row.reason}")
        elif row.status == "NEW":
            typer.echo(f"row {row.line}  {row.code}  NEW")
    summary = plan.summary()
    typer.echo(", ".join(f"{name.lower()} {count}" for name, count in summary.items()))
    if not plan.valid:
        raise fail(f"{summary['INVALID']} invalid row(s): nothing was imported")
    if result is not None:
        typer.echo(f"imported: {result['created']} item(s) created, {result['updated']} changed")
    elif apply:
        typer.echo("nothing to import")
    else:
        typer.echo("dry run: nothing was written (add --apply to import)")
