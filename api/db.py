"""Tortoise configuration and the migration runner, built from Settings (no global state here)."""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import importlib
import logging
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

from pypika_tortoise.enums import SqlTypes
from pypika_tortoise.functions import Cast, Upper
from pypika_tortoise.terms import Function, Parameter, Term
from tortoise import filters
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.backends.sqlite.executor import SqliteExecutor  # registers its adapters; ours replaces one
from tortoise.context import TortoiseContext, _current_context
from tortoise.migrations import operations as ops
from tortoise.migrations.autodetector import MigrationAutodetector
from tortoise.migrations.constraints import CheckConstraint
from tortoise.migrations.executor import MigrationExecutor
from tortoise.migrations.loader import MigrationLoader
from tortoise.migrations.recorder import MigrationRecorder
from tortoise.migrations.schema_generator.state import State

from api.errors import DomainError
from api.migration_ops import restore_sqlite_indexes
from api.models import MODEL_MODULES
from api.settings import Settings


def sqlite_timestamp(value: dt.datetime) -> str:
    """SQLite keeps timestamps as text and compares them as text, so every aware one is stored in
    UTC (Tortoise stores `auto_now` times in local time): a filter in any offset then compares
    right. PostgreSQL keeps instants (timestamptz) and needs nothing."""
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC)
    return value.isoformat(" ")


sqlite3.register_adapter(dt.datetime, sqlite_timestamp)


# `contains` and `startsWith` mean the same on both databases: case-sensitive. SQLite's LIKE
# ignores the case of ASCII letters (PostgreSQL's does not) and refuses patterns over 50,000 bytes,
# so on SQLite they look the text up with instr(), which does neither; `icontains` compares both
# sides upper-cased (on SQLite, ASCII letters only: Chinese text has no case).
def _instr(field: Term, value: str, upper: bool = False) -> Term:
    text, wanted = Cast(field, SqlTypes.VARCHAR), field.wrap_constant(value)
    return Function("INSTR", Upper(text), Upper(wanted)) if upper else Function("INSTR", text, wanted)


SqliteExecutor.FILTER_FUNC_OVERRIDE.update(
    {
        filters.contains: lambda field, value: _instr(field, value) > 0,
        filters.starts_with: lambda field, value: _instr(field, value) == 1,
        filters.insensitive_contains: lambda field, value: _instr(field, value, upper=True) > 0,
        filters.insensitive_starts_with: lambda field, value: _instr(field, value, upper=True) == 1,
    }
)


@functools.cache
def dialect_sql(template: str, query_class: type) -> str:
    """A raw statement with the database's own placeholders for its `{}`: `?` on SQLite,
    `$1, $2, ...` on PostgreSQL (`query_class` is the connection's)."""
    count = template.count("{}")
    return template.format(*(Parameter(idx=i).get_sql(query_class.SQL_CONTEXT) for i in range(1, count + 1)))


def statement_of(values: Any) -> tuple[str, list[Any], Any]:
    """The SQL, parameters and database of a Tortoise values query, built by Tortoise and run by
    the caller: to wrap it in a statement of one's own, or to read its rows as the driver gives
    them (`rows_of`). Uses Tortoise's query building below its public `sql()`, which gives no
    parameters."""
    values._choose_db_if_not_chosen()
    values._make_query()
    sql, parameters = values.query.get_parameterized_sql()
    return sql, parameters, values._db


@asynccontextmanager
async def serial(model: Any) -> AsyncIterator[None]:
    """On PostgreSQL, a transaction on `model`'s database whose statements run without parallel
    workers (SET LOCAL: the connection goes back to the pool as it was). For the statistics' pieces
    run apart (the resolvers' path), which aggregate tens of thousands of cases per request: on 2
    cores under 8 clients, a period's ends counted per organization ran at 62 statements a second
    with the 2 workers PostgreSQL plans for them and 93 without, while one client waited as long
    either way (21 and 22 ms). SQLite: nothing."""
    connection = model._meta.db
    if connection.capabilities.dialect != "postgres":
        yield
        return
    from tortoise.transactions import in_transaction

    async with in_transaction(connection.connection_name) as transaction:
        await transaction.execute_query("SET LOCAL max_parallel_workers_per_gather = 0")
        yield


async def rows_of(values: Any) -> list[dict[str, Any]]:
    """A values query's rows as the driver gives them: counts and sums stay ints and no field is
    converted one by one (Tortoise's own reading of 1,111 rows was a twentieth of a request)."""
    sql, parameters, connection = statement_of(values)
    return await connection.execute_query_dict(sql, parameters)


APP_LABEL = "models"
MIGRATIONS_MODULE = "migrations"
SUPPORTED_SCHEMES = ("sqlite", "postgres", "asyncpg")


REPLICA_CONNECT_SECONDS = 3


def replica_client(read_url: str, timezone: str = "Asia/Shanghai") -> Any:
    """A client of the read replica (SANJI_DATABASE_READ_URL), kept outside the ORM's connections:
    models, transactions and every write stay on the primary; only compiled reads are sent here
    (api/read_routing.py). It connects on its first statement."""
    info = tortoise_config(read_url, timezone=timezone)["connections"]["default"]
    # A replica that does not answer is given up on in seconds (asyncpg's connect timeout is a
    # minute), and the primary answers (api/read_routing.py).
    info["credentials"].setdefault("timeout", REPLICA_CONNECT_SECONDS)
    engine = importlib.import_module(info["engine"])
    client_class = (
        engine.get_client_class(info) if hasattr(engine, "get_client_class") else engine.client_class
    )
    return client_class(connection_name="replica", **info["credentials"])


def connection_parameters(database_url: str) -> dict[str, Any]:
    """asyncpg.connect's arguments for one connection of its own to a PostgreSQL URL (the live-event
    hub's LISTEN, api/services/live.py): the URL's server, user and TLS, not its pool sizes."""
    credentials = tortoise_config(database_url)["connections"]["default"]["credentials"]
    wanted = ("host", "port", "user", "password", "database", "ssl")
    return {name: credentials[name] for name in wanted if credentials.get(name) is not None}


def tortoise_config(database_url: str, *, timezone: str = "Asia/Shanghai") -> dict[str, Any]:
    scheme = database_url.split("://", 1)[0]
    if "://" not in database_url or scheme not in SUPPORTED_SCHEMES:
        raise DomainError(
            "VALIDATION_FAILED",
            f"database URL must start with sqlite:// or postgres://, got {redact_url(database_url)!r}",
            field="SANJI_DATABASE_URL",
        )
    try:
        connection = expand_db_url(database_url)
    except Exception as exc:  # tortoise raises ConfigurationError, ValueError, ...
        raise DomainError(
            "VALIDATION_FAILED",
            f"database URL {redact_url(database_url)!r} is not valid: {exc}",
            field="SANJI_DATABASE_URL",
        ) from None
    if scheme in ("postgres", "asyncpg"):
        connection.setdefault("credentials", {})["reset"] = release_connection
    return {
        "connections": {"default": connection},
        "apps": {
            APP_LABEL: {
                "models": MODEL_MODULES,
                "default_connection": "default",
                "migrations": MIGRATIONS_MODULE,
            }
        },
        "use_tz": True,
        "timezone": timezone,
    }


async def release_connection(connection: Any) -> None:
    """What a PostgreSQL connection needs when it goes back to the pool after a statement.

    asyncpg's default reset runs `SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *;
    RESET ALL` on every release: a round trip after each statement. Sanji takes no advisory locks,
    opens no cursors, listens to nothing and sets only transaction-local settings, so a connection
    needs only an unfinished transaction ended (Tortoise commits or rolls back its own).
    """
    if connection.is_in_transaction():
        await connection.execute("ROLLBACK")


def redact_url(url: str) -> str:
    """The URL with its password replaced by ***, for messages and logs."""
    scheme, _, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    if at and ":" in credentials:
        rest = f"{credentials.split(':', 1)[0]}:***@{host}"
    return f"{scheme}://{rest}"


@asynccontextmanager
async def database(settings: Settings) -> AsyncIterator[TortoiseContext]:
    """Open the ORM on the settings' database for the duration of the block."""
    async with TortoiseContext() as ctx:
        await ctx.init(config=tortoise_config(settings.database_url, timezone=settings.timezone))
        yield ctx


class _LazyState(State):
    """A migration state whose models are rendered when first asked for.

    Before each operation, tortoise's executor clones the whole state (every model class rendered
    and finalised again) as the operation's "old state", which most operations (CreateModel,
    AddField, RunSQL, ...) never read: 137 full renders of ~40 models made `sanji db upgrade` of an
    empty database take 15-30 s. The snapshot of the model states is taken at once, as before; only
    their rendering waits until an operation reads `apps`, and is the same rendering then."""

    def __init__(self, models: dict, source: Any) -> None:  # (no dataclass __init__: apps is lazy)
        self.models = models
        self._source = source
        self._apps = None

    @property
    def apps(self) -> Any:
        if self._apps is None:
            self._apps = self._source.clone(model_states=self.models)
        return self._apps

    @apps.setter
    def apps(self, value: Any) -> None:
        self._apps = value


def _lazy_clone(state: State) -> State:
    source = state._source if isinstance(state, _LazyState) and state._apps is None else state.apps
    return _LazyState({key: model.clone() for key, model in state.models.items()}, source)


@contextmanager
def _lazy_states() -> Iterator[None]:
    """`State.clone` renders lazily while migrations run (`_LazyState`)."""
    eager = State.clone
    State.clone = _lazy_clone
    try:
        yield
    finally:
        State.clone = eager


async def upgrade(
    settings: Settings,
    progress: Callable[[str, str, str], object] | None = None,
    *,
    migrations_module: str = MIGRATIONS_MODULE,
) -> None:
    """Apply every pending migration to the settings' database.

    On SQLite, foreign keys are switched off while migrations run, because rebuilding a table
    that other tables reference (how SQLite alters a column or adds a check) fails with them on,
    as SQLite's own ALTER TABLE procedure prescribes; they are checked before being switched on.
    Such a rebuild also drops multi-column, one-to-one and plain indexes; they are recreated.
    """
    config = tortoise_config(settings.database_url, timezone=settings.timezone)
    config["apps"][APP_LABEL]["migrations"] = migrations_module
    async with TortoiseContext() as ctx:
        await ctx.init(config=config)
        connection = ctx.db()
        sqlite = connection.capabilities.dialect == "sqlite"
        if sqlite:
            await connection.execute_script("PRAGMA foreign_keys = OFF")
        try:
            with _lazy_states():
                await MigrationExecutor(connection, config["apps"]).migrate(None, progress=progress)
            if sqlite:
                for model in ctx.apps.get_models_iterable():
                    await restore_sqlite_indexes(connection, model)
                _, broken = await connection.execute_query("PRAGMA foreign_key_check")
                if broken:
                    raise DomainError(
                        "CONSTRAINT",
                        f"migration left {len(broken)} broken foreign key(s), e.g. {dict(broken[0])}",
                    )
        finally:
            if sqlite:
                await connection.execute_script("PRAGMA foreign_keys = ON")


async def pending_migrations(ctx: TortoiseContext) -> list[str]:
    """Names of migrations on disk that the open database has not applied."""
    return await unapplied(ctx, migrations_on_disk())


def migrations_on_disk() -> list[str]:
    """Names of the migrations the code carries, in order: a server reads them once at start."""
    loader = MigrationLoader(tortoise_config("sqlite://:memory:")["apps"], MigrationRecorder(None))
    loader.load_disk()
    return sorted(f"{key.app_label}.{key.name}" for key in loader.disk_migrations)


async def unapplied(ctx: TortoiseContext, on_disk: list[str]) -> list[str]:
    """Which of `on_disk` the database has not applied; a database error is raised, not hidden."""
    applied = set(await applied_migrations(ctx))
    if not applied:  # the recorder reads "no table" and "no database" alike as none applied
        await ctx.db().execute_query("SELECT 1")
    return [name for name in on_disk if name not in applied]


async def applied_migrations(ctx: TortoiseContext) -> list[str]:
    recorder = MigrationRecorder(ctx.db())
    return [f"{key.app_label}.{key.name}" for key in await recorder.applied_migrations()]


async def migration_changes(ctx: TortoiseContext) -> list:
    """Migration writers for model changes not yet captured on disk (empty when in sync)."""
    apps_config = tortoise_config("sqlite://:memory:")["apps"]
    return await MigrationAutodetector(ctx.apps, apps_config).changes()


async def make_migrations() -> list[str]:
    """Write a new migration for model changes; returns the written file paths."""
    async with TortoiseContext() as ctx:
        await ctx.init(config=tortoise_config("sqlite://:memory:"), init_connections=False)
        writers = await migration_changes(ctx)
        for writer in writers:
            writer.operations = _split_check_constraints(writer.operations)
        return [str(writer.write()) for writer in writers]


def _split_check_constraints(operations: list) -> list:
    """Move CHECK constraints out of CreateModel into AddConstraint operations.

    Tortoise 1.1's CreateModel records Meta.constraints in the state but emits no CHECK clause,
    so the constraint would exist only on paper; AddConstraint creates it on both databases.
    """
    created, added = [], []
    for op in operations:
        if isinstance(op, ops.CreateModel) and op.options and op.options.get("constraints"):
            checks = [c for c in op.options["constraints"] if isinstance(c, CheckConstraint)]
            rest = [c for c in op.options["constraints"] if not isinstance(c, CheckConstraint)]
            op.options = {k: v for k, v in op.options.items() if k != "constraints"}
            if rest:
                op.options["constraints"] = rest
            added.extend(ops.AddConstraint(op.name, check) for check in checks)
        created.append(op)
    return created + added


@contextmanager
def use_context(ctx: TortoiseContext) -> Iterator[TortoiseContext]:
    """Make `ctx` the current Tortoise context for this task, restoring the previous one after.

    TortoiseContext's own __enter__ keeps its reset token on the instance, which concurrent
    requests sharing one context would overwrite; a local token is safe.
    """
    token = _current_context.set(ctx)
    try:
        yield ctx
    finally:
        _current_context.reset(token)


STATEMENT_WORDS = ("SELECT", "INSERT", "UPDATE", "DELETE", "WITH")


class StatementLog(logging.Handler):
    """The SQL statements (with their parameters) Tortoise's database client runs, read from its
    debug log: `with StatementLog.capture() as log: ...` then `log.seen`, or `log.statements` for
    the reads and writes alone."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.seen: list[tuple[str, list]] = []

    def emit(self, record: logging.LogRecord) -> None:
        args = record.args or ()
        if len(args) == 2 and isinstance(args[0], str):  # execute_query & co: "%s: %s", query, values
            self.seen.append((args[0], list(args[1] or [])))
        elif not args and isinstance(record.msg, str) and _is_statement(record.msg):  # execute_script
            self.seen.append((record.msg, []))

    @property
    def statements(self) -> list[str]:
        """The SELECT, INSERT, UPDATE, DELETE and WITH statements, in the order they ran."""
        return [sql for sql, _params in self.seen if _is_statement(sql)]

    @classmethod
    @contextlib.contextmanager
    def capture(cls) -> Iterator[StatementLog]:
        logger, log = logging.getLogger("tortoise.db_client"), cls()
        level = logger.level
        logger.addHandler(log)
        logger.setLevel(logging.DEBUG)
        try:
            yield log
        finally:
            logger.removeHandler(log)
            logger.setLevel(level)


def _is_statement(sql: str) -> bool:
    return sql.lstrip().upper().startswith(STATEMENT_WORDS)
