"""Test databases: SQLite always, PostgreSQL when SANJI_TEST_DB=postgres (one kind per process).

A migrated template is built once per session and copied for each test that needs a fresh
database (a file copy on SQLite, CREATE DATABASE ... TEMPLATE on PostgreSQL); a second template
also holds the Qujialing fixture, for the tests that read its figures.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import httpx
import pytest
import pytest_asyncio
from tortoise.context import TortoiseContext

from api import db
from api.settings import Settings

DB_KIND = os.environ.get("SANJI_TEST_DB", "sqlite")
POSTGRES_URL = os.environ.get("SANJI_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test")
DEMO_PASSWORD = "sanji-demo"
# The admin UI's fixtures (an API server per test or one shared, the UI's own server): tests/ui_support.py.
pytest_plugins = ["tests.ui_support"]


def pytest_configure(config) -> None:
    # Dev settings keep the installation's key in a file: the suite's goes in a directory of its own,
    # not in the working directory (tests/test_settings.py checks the default place).
    os.environ.setdefault("SANJI_SECRET_KEY_FILE", str(Path(tempfile.mkdtemp()) / "secret.key"))


def pytest_collection_modifyitems(config, items) -> None:
    """A test that touches no database runs once, in the SQLite process, not again on PostgreSQL."""
    if DB_KIND != "postgres":
        return
    once = pytest.mark.skip(reason="touches no database: it runs once, with the SQLite suite")
    for item in items:
        if item.get_closest_marker("whole_stack"):  # placed by its own mark (tests/e2e/conftest.py)
            continue
        if "databases" not in getattr(item, "fixturenames", ()):  # every database fixture needs it
            item.add_marker(once)


def pytest_report_header(config) -> str:
    return f"sanji test database: {DB_KIND}"


class Databases:
    """Creates, copies and drops test databases of one kind."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.created: list[str] = []

    def new_name(self) -> str:
        return f"sanji_test_{uuid.uuid4().hex[:12]}"

    def url(self, name: str) -> str:
        if DB_KIND == "postgres":
            return f"{POSTGRES_URL.rsplit('/', 1)[0]}/{name}"
        return f"sqlite://{self.workdir / (name + '.db')}"

    async def create(self, template: str | None = None) -> str:
        name = self.new_name()
        if DB_KIND == "postgres":
            clause = f' TEMPLATE "{template}"' if template else ""
            await self._admin(f'CREATE DATABASE "{name}"{clause}')
        elif template:
            shutil.copyfile(self.workdir / f"{template}.db", self.workdir / f"{name}.db")
        self.created.append(name)
        return name

    async def drop(self, name: str) -> None:
        if DB_KIND == "postgres":
            await self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        else:
            (self.workdir / f"{name}.db").unlink(missing_ok=True)

    async def _admin(self, sql: str) -> None:
        connection = await asyncpg.connect(POSTGRES_URL.replace("postgres://", "postgresql://", 1))
        try:
            await connection.execute(sql)
        finally:
            await connection.close()


@pytest.fixture(scope="session")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("db")


@pytest_asyncio.fixture(scope="session")
async def databases(workdir) -> AsyncIterator[Databases]:
    dbs = Databases(workdir)
    yield dbs
    for name in dbs.created:
        await dbs.drop(name)


@pytest_asyncio.fixture(scope="session")
async def migrated_template(databases: Databases) -> str:
    name = await databases.create()
    await db.upgrade(Settings(database_url=databases.url(name)))
    return name


@pytest_asyncio.fixture(scope="session")
async def seeded_template(databases: Databases, migrated_template: str) -> str:
    from seeds.qujialing import load

    name = await databases.create(template=migrated_template)
    async with db.database(Settings(database_url=databases.url(name))):
        await load(DEMO_PASSWORD)
    return name


@pytest_asyncio.fixture
async def fresh_url(databases: Databases, migrated_template: str) -> AsyncIterator[str]:
    name = await databases.create(template=migrated_template)
    yield databases.url(name)
    await databases.drop(name)


@pytest_asyncio.fixture
async def empty_url(databases: Databases) -> AsyncIterator[str]:
    """A database with no tables at all."""
    name = await databases.create()
    yield databases.url(name)
    await databases.drop(name)


@pytest_asyncio.fixture
async def fresh_db(fresh_url: str) -> AsyncIterator[TortoiseContext]:
    async with db.database(Settings(database_url=fresh_url)) as ctx:
        yield ctx


@pytest_asyncio.fixture
async def seeded_url(databases: Databases, seeded_template: str) -> AsyncIterator[str]:
    """A private copy of the fixture database, free to change."""
    name = await databases.create(template=seeded_template)
    yield databases.url(name)
    await databases.drop(name)


@pytest_asyncio.fixture
async def varied_url(seeded_url):
    """The fixture, where every case is on time and none is open, with some cases completed two
    days late and some back to DECIDED (open, the clock running, past their promised day): the
    rates then differ per hall and month. The rollups are recounted, as `sanji stats rebuild` does."""
    from tortoise.transactions import in_transaction

    from api.models.case import Case
    from api.services import rollup

    async with db.database(Settings(database_url=seeded_url)):
        connection = Case._meta.db
        postgres = connection.capabilities.dialect == "postgres"
        late = "promised_due_date + 2" if postgres else "date(promised_due_date, '+2 days')"
        await connection.execute_script(
            f"UPDATE service_case SET completed_on = {late} "
            "WHERE status = 'DELIVERED' AND promised_due_date IS NOT NULL AND id % 5 = 0;"
            "UPDATE service_case SET status = 'DECIDED', completed_at = NULL, completed_on = NULL, "
            "delivered_at = NULL, working_days_taken = NULL "
            "WHERE status = 'COMPLETED' AND promised_due_date IS NOT NULL AND id % 2 = 0;"
        )
        async with in_transaction() as transaction:
            await rollup.rebuild(transaction)
    return seeded_url


@pytest_asyncio.fixture(scope="session")
async def fixture_db(databases: Databases, seeded_template: str) -> AsyncIterator[TortoiseContext]:
    """The fixture database shared by read-only tests (a copy, so the template stays clean)."""
    name = await databases.create(template=seeded_template)
    async with db.database(Settings(database_url=databases.url(name))) as ctx:
        yield ctx


@pytest.fixture
def settings_for() -> Iterator:
    def make(url: str, **overrides) -> Settings:
        return Settings(database_url=url, **overrides)

    yield make


@pytest_asyncio.fixture(scope="session")
async def fixture_url(databases: Databases, seeded_template: str) -> str:
    """A fixture database shared by read-only API tests."""
    return databases.url(await databases.create(template=seeded_template))


@asynccontextmanager
async def serving(url: str, clock=time.time, **settings) -> AsyncIterator[GraphQLClient]:
    """The app on `url`, lifespan entered, behind an HTTP client (httpx's transport skips lifespan).

    Request budgets are off unless a test sets them: the shared clients would otherwise spend
    one address's budget across the whole session (tests/test_rate_limits.py turns them on).
    """
    from api.app import create_app

    off = {
        "rate_limit_per_minute": 0,
        "rate_limit_anonymous_per_minute": 0,
        "rate_limit_login_per_minute": 0,
        "rate_limit_lookup_per_minute": 0,
    }
    settings = {**off, **settings}
    app = create_app(Settings(database_url=url, **settings), clock=clock)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://sanji.test") as http:
            yield GraphQLClient(http)


@pytest_asyncio.fixture(scope="session")
async def api(fixture_url: str) -> AsyncIterator[GraphQLClient]:
    """A client on the shared, read-only fixture database."""
    async with serving(fixture_url) as client:
        yield client


@pytest_asyncio.fixture(scope="session")
async def admin_api(api: GraphQLClient) -> GraphQLClient:
    """The shared read-only fixture client, signed in as the district administrator."""
    return await api.sign_in("admin")


@pytest_asyncio.fixture
async def writable(seeded_url: str) -> AsyncIterator[tuple[GraphQLClient, str]]:
    """A client signed in as the demo admin on a private copy of the fixture, and that copy's URL."""
    async with serving(seeded_url) as client:
        yield await client.sign_in(), seeded_url


class GraphQLClient:
    def __init__(self, http: httpx.AsyncClient, token: str | None = None) -> None:
        self.http = http
        self.token = token

    async def sign_in(self, username: str = "admin", password: str = DEMO_PASSWORD) -> GraphQLClient:
        response = await self.http.post("/auth/token", data={"username": username, "password": password})
        assert response.status_code == 200, response.text
        return GraphQLClient(self.http, response.json()["access_token"])

    async def __call__(self, query: str, variables: dict | None = None, token: str | None = None) -> dict:
        token = token or self.token
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = await self.http.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )
        assert response.status_code == 200, response.text
        return response.json()

    async def data(self, query: str, variables: dict | None = None) -> dict:
        body = await self(query, variables)
        assert "errors" not in body, body["errors"]
        return body["data"]

    async def error(self, query: str, variables: dict | None = None) -> dict:
        body = await self(query, variables)
        assert body.get("errors"), body
        assert len(body["errors"]) == 1, body["errors"]
        return body["errors"][0]
