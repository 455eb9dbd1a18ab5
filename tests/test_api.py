"""The HTTP API end to end through the ASGI app (lifespan entered by the test)."""

from __future__ import annotations

import httpx
import pytest
import pytest_asyncio

from api.app import create_app
from api.settings import Env, Settings
from schema.generator.ids import to_global_id
from tests.conftest import DEMO_PASSWORD

COVERAGE = (
    "query($root: ID) { coverage(root: $root) { tier total built underConstruction planned rate formula } }"
)


@pytest_asyncio.fixture
async def client(writable) -> httpx.AsyncClient:
    return writable[0].http


async def sign_in(
    client: httpx.AsyncClient, username: str = "admin", password: str = DEMO_PASSWORD
) -> httpx.Response:
    return await client.post(
        "/auth/token", data={"username": username, "password": password, "grant_type": "password"}
    )


async def test_health_check_reports_a_reachable_migrated_database(client):
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "pendingMigrations": [], "env": "dev"}


async def test_health_check_reports_a_database_that_needs_migrations(empty_url):
    app = create_app(Settings(database_url=empty_url))
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://t") as http,
    ):
        response = await http.get("/healthz")
    assert response.status_code == 503
    assert response.json()["pendingMigrations"][0] == "models.0001_initial"


async def test_coverage_query_shows_rooms_31_of_38_and_halls_4_of_4(client):
    response = await client.post("/graphql", json={"query": COVERAGE})
    assert response.status_code == 200
    rows = {row["tier"]: row for row in response.json()["data"]["coverage"]}
    assert rows["ROOM"] == {
        "tier": "ROOM",
        "total": 38,
        "built": 31,
        "underConstruction": 7,
        "planned": 0,
        "rate": pytest.approx(31 / 38),
        "formula": "built 31 / total 38 = 81.6%",
    }
    assert (rows["HALL"]["built"], rows["HALL"]["total"], rows["HALL"]["rate"]) == (4, 4, 1.0)


async def test_coverage_under_one_hall_counts_only_its_rooms(client, seeded_url):
    from api import db
    from api.models.org import Organization

    async with db.database(Settings(database_url=seeded_url)):
        hall = await Organization.get(code="QJL-H1")
        rooms = await Organization.filter(parent_id=hall.id).count()
    response = await client.post(
        "/graphql", json={"query": COVERAGE, "variables": {"root": to_global_id("Organization", hall.id)}}
    )
    rows = {row["tier"]: row for row in response.json()["data"]["coverage"]}
    assert rows["HALL"]["total"] == 1
    assert rows["ROOM"]["total"] == rooms == 10


@pytest.mark.parametrize(
    ("root", "code"),
    [
        ("not-an-id", "VALIDATION_FAILED"),
        (to_global_id("Item", 1), "VALIDATION_FAILED"),
        (to_global_id("Organization", 999999), "NOT_FOUND"),
    ],
)
async def test_coverage_with_a_bad_root_gives_a_coded_error(client, root, code):
    response = await client.post("/graphql", json={"query": COVERAGE, "variables": {"root": root}})
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == code
    assert error["extensions"]["field"] == "root"


async def test_password_sign_in_returns_a_bearer_token_that_the_api_accepts(client):
    response = await sign_in(client)
    assert response.status_code == 200
    body = response.json()
    assert (body["token_type"], body["role"], body["expires_in"]) == ("bearer", "ADMIN", 900)
    assert response.headers["cache-control"] == "no-store"
    query = await client.post(
        "/graphql", json={"query": COVERAGE}, headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert query.status_code == 200 and "errors" not in query.json()


async def test_sign_in_also_takes_json(client):
    response = await client.post("/auth/token", json={"username": "clerk", "password": DEMO_PASSWORD})
    assert response.status_code == 200
    assert response.json()["role"] == "CLERK"


@pytest.mark.parametrize(("username", "password"), [("admin", "wrong-password"), ("nobody", DEMO_PASSWORD)])
async def test_failed_sign_in_is_refused_with_one_message(client, username, password):
    response = await sign_in(client, username, password)
    assert response.status_code == 401
    assert response.json() == {
        "error": "invalid_grant",
        "error_description": "username or password is incorrect",
    }


async def test_sign_in_without_a_password_is_a_bad_request(client):
    response = await client.post("/auth/token", data={"username": "admin"})
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


async def test_an_invalid_bearer_token_is_refused(client):
    response = await client.post(
        "/graphql", json={"query": COVERAGE}, headers={"Authorization": "Bearer forged.token"}
    )
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_graphiql_is_served_in_dev(client):
    response = await client.get("/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert "graphiql" in response.text.lower()


async def test_queries_over_get_are_refused(client):
    response = await client.get("/graphql", params={"query": "{ coverage { tier } }"})
    assert response.status_code in (400, 404, 405)


async def test_production_refuses_to_start_while_demo_users_exist(seeded_url):
    app = create_app(Settings(database_url=seeded_url, env=Env.PRODUCTION, secret_key="s" * 40))
    with pytest.raises(RuntimeError, match="demo users"):
        async with app.router.lifespan_context(app):
            pass
