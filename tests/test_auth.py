"""Sign-in lockout, sessions with refresh and revocation, and integrator API keys, end to end."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import pytest
from typer.testing import CliRunner

from api import db
from api.app import create_app  # noqa: F401 - the app under test is served by the fixtures
from api.cli import app as cli
from api.models.audit import AuditAction, AuditEntry
from api.models.user import ApiKey, AuthSession, LoginThrottle, UsedRefreshToken, User
from api.settings import Settings
from tests.conftest import DEMO_PASSWORD, serving

ME = "{ coverage { total } }"
WRITE = 'mutation { createCalendarDay(input: {day: "2031-01-01", isWorkday: false}) { day } }'


async def token(api, username="clerk", password=DEMO_PASSWORD, **extra):
    return await api.http.post("/auth/token", data={"username": username, "password": password, **extra})


async def test_five_failures_lock_the_login_for_15_minutes_then_it_unlocks(seeded_url):
    async with serving(seeded_url) as api:
        for _ in range(5):
            assert (await token(api, password="wrong-password")).status_code == 401
        locked = await token(api)
        assert locked.status_code == 429
        assert locked.json()["error"] == "account_locked"
        assert "15 minute" in locked.json()["error_description"]
        async with db.database(Settings(database_url=seeded_url)):
            past = datetime.now(UTC) - timedelta(seconds=1)
            await LoginThrottle.filter(username="clerk").update(locked_until=past)
        assert (await token(api)).status_code == 200
        async with db.database(Settings(database_url=seeded_url)):
            assert not await LoginThrottle.exists(username="clerk")


async def test_unknown_names_are_locked_too_without_revealing_anything(seeded_url):
    async with serving(seeded_url) as api:
        answers = [await token(api, username="nobody") for _ in range(6)]
    assert [a.status_code for a in answers] == [401] * 5 + [429]
    assert answers[0].json() == {
        "error": "invalid_grant",
        "error_description": "username or password is incorrect",
    }


async def refresh(api, refresh_token: str):
    return await api.http.post(
        "/auth/token", data={"grant_type": "refresh_token", "refresh_token": refresh_token}
    )


async def test_refresh_rotates_and_logout_ends_the_session(seeded_url):
    async with serving(seeded_url) as api:
        first = (await token(api)).json()
        renewed = await refresh(api, first["refresh_token"])
        assert renewed.status_code == 200
        bearer = {"Authorization": f"Bearer {renewed.json()['access_token']}"}
        assert (await api.http.post("/graphql", json={"query": ME}, headers=bearer)).status_code == 200

        assert (await api.http.post("/auth/logout", headers=bearer)).status_code == 204
        refused = await api.http.post("/graphql", json={"query": ME}, headers=bearer)
        assert refused.status_code == 401
        assert refused.json()["errors"][0]["message"] == "this session has ended; sign in again"
        assert (await refresh(api, renewed.json()["refresh_token"])).status_code == 401


class Clock:
    """The app's clock, moved by hand."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


async def test_a_reused_refresh_token_ends_its_whole_session(seeded_url):
    clock = Clock()
    async with serving(seeded_url, clock=clock) as api:
        stolen = (await token(api)).json()["refresh_token"]
        thief = (await refresh(api, stolen)).json()  # the thief exchanges it first
        clock.now += 11  # past the grace for a client's own race
        reused = await refresh(api, stolen)  # then its owner shows it again
        assert reused.status_code == 401
        assert reused.json() == {
            "error": "invalid_grant",
            "error_description": "this refresh token was already used, so its session has ended; "
            "sign in again",
        }
        bearer = {"Authorization": f"Bearer {thief['access_token']}"}
        refused = await api.http.post("/graphql", json={"query": ME}, headers=bearer)
        assert refused.json()["errors"][0]["message"] == "this session has ended; sign in again"
        assert (await refresh(api, thief["refresh_token"])).status_code == 401
        assert (await token(api)).status_code == 200  # signing in again starts a new session
    async with db.database(Settings(database_url=seeded_url)):
        entry = await AuditEntry.get(action=AuditAction.REFRESH_REUSED)
        assert entry.object_type == "AuthSession" and entry.actor_user_id is not None


async def test_of_ten_refreshes_racing_with_one_token_exactly_one_wins_and_keeps_the_session(seeded_url):
    async with serving(seeded_url) as api:
        shared = (await token(api)).json()["refresh_token"]
        answers = await asyncio.gather(*(refresh(api, shared) for _ in range(10)))
        assert sorted(a.status_code for a in answers) == [200] + [401] * 9, [a.text for a in answers]
        (won,) = [a.json() for a in answers if a.status_code == 200]
        lost = {a.json()["error_description"] for a in answers if a.status_code == 401}
        assert lost == {
            "this refresh token was exchanged a moment ago; use the tokens that exchange returned"
        }
        bearer = {"Authorization": f"Bearer {won['access_token']}"}  # the losers ended nothing
        assert "errors" not in (await api.http.post("/graphql", json={"query": ME}, headers=bearer)).json()
        assert (await refresh(api, won["refresh_token"])).status_code == 200


async def test_failed_sign_ins_at_the_same_moment_all_count(seeded_url):
    async with serving(seeded_url) as api:
        answers = await asyncio.gather(*(token(api, password=f"wrong-{i}") for i in range(12)))
        assert {a.status_code for a in answers} <= {401, 429}
    async with db.database(Settings(database_url=seeded_url)):
        by_name = await LoginThrottle.get(username="clerk")
        by_address = await LoginThrottle.get(username="ip:127.0.0.1")
    assert (by_name.failures, by_address.failures) == (12, 12)
    assert by_name.locked_until is not None


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ("username=adm%00in&password=x", "application/x-www-form-urlencoded"),
        ('{"username": "adm\\ud800in", "password": "x"}', "application/json"),
        ('{"username": "admin", "password": "p\\u0000w"}', "application/json"),
    ],
    ids=["NUL in a form", "lone surrogate in JSON", "NUL in the password"],
)
async def test_a_sign_in_with_text_no_database_can_hold_is_refused_and_counted(
    seeded_url, body, content_type
):
    async with serving(seeded_url) as api:
        answer = await api.http.post("/auth/token", content=body, headers={"Content-Type": content_type})
    assert answer.status_code == 400
    assert answer.json() == {
        "error": "invalid_request",
        "error_description": "username and password: text cannot hold U+0000 or an unpaired surrogate "
        "(U+D800 to U+DFFF)",
    }
    async with db.database(Settings(database_url=seeded_url)):
        failed = await AuditEntry.get(action=AuditAction.SIGN_IN_FAILED)
        assert (await LoginThrottle.get(username="ip:127.0.0.1")).failures == 1
    assert failed.actor_name in ("adm\\u0000in", "adm\\ud800in", "admin")


async def test_a_refresh_token_no_database_can_hold_is_refused(seeded_url):
    async with serving(seeded_url) as api:
        body = '{"grant_type": "refresh_token", "refresh_token": "x\\ud800"}'
        answer = await api.http.post(
            "/auth/token", content=body, headers={"Content-Type": "application/json"}
        )
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_request"


async def test_a_deactivated_user_is_refused_at_once(seeded_url):
    async with serving(seeded_url) as api:
        issued = (await token(api, username="admin")).json()
        async with db.database(Settings(database_url=seeded_url)):
            await User.filter(username="admin").update(active=False)
        response = await api.http.post(
            "/graphql", json={"query": ME}, headers={"Authorization": f"Bearer {issued['access_token']}"}
        )
        assert response.status_code == 401
        assert response.json()["errors"][0]["message"] == "this user is deactivated"
        assert (await token(api, username="admin")).status_code == 401


def cli_run(url: str, *args: str):
    return CliRunner().invoke(cli, list(args), env={"SANJI_DATABASE_URL": url})


async def test_api_key_life_cycle(seeded_url):
    created = await asyncio.to_thread(
        cli_run, seeded_url, "apikey", "create", "province platform", "--organization", "QJL"
    )
    assert created.exit_code == 0, created.output
    key = created.output.strip().splitlines()[-1]
    prefix = key.split("_")[1]
    async with db.database(Settings(database_url=seeded_url)):
        record = await ApiKey.get(prefix=prefix)
        assert key.split("_")[2] not in (record.key_hash, record.prefix)  # only a hash is kept
        assert record.last_used_at is None

    async with serving(seeded_url) as api:
        read = await api.http.post("/graphql", json={"query": ME}, headers={"X-API-Key": key})
        assert read.status_code == 200 and "errors" not in read.json()
        write = await api.http.post(
            "/graphql", json={"query": WRITE}, headers={"Authorization": f"ApiKey {key}"}
        )
        refused = write.json()["errors"][0]
        assert refused["extensions"]["code"] == "FORBIDDEN"
        assert refused["message"] == "this API key has no write:calendarDays scope to create calendarDays"
        forged = await api.http.post("/graphql", json={"query": ME}, headers={"X-API-Key": key[:-2] + "xx"})
        assert forged.status_code == 401

        listed = await asyncio.to_thread(cli_run, seeded_url, "apikey", "list")
        assert prefix in listed.output and "province platform" in listed.output and key not in listed.output
        revoked = await asyncio.to_thread(cli_run, seeded_url, "apikey", "revoke", prefix)
        assert revoked.exit_code == 0, revoked.output
        after = await api.http.post("/graphql", json={"query": ME}, headers={"X-API-Key": key})
        assert after.status_code == 401
    async with db.database(Settings(database_url=seeded_url)):
        assert (await ApiKey.get(prefix=prefix)).last_used_at is not None


async def test_a_write_key_may_change_data(seeded_url):
    created = await asyncio.to_thread(
        cli_run, seeded_url, "apikey", "create", "city platform", "--organization", "QJL", "--write"
    )
    key = created.output.strip().splitlines()[-1]
    async with serving(seeded_url) as api:
        response = await api.http.post("/graphql", json={"query": WRITE}, headers={"X-API-Key": key})
    assert response.json() == {"data": {"createCalendarDay": {"day": "2031-01-01"}}}


async def test_one_address_trying_many_names_is_slowed_down(seeded_url):
    async with serving(seeded_url) as api:
        answers = [(await token(api, username=f"guess{i}")).status_code for i in range(31)]
        assert answers[:30] == [401] * 30
        assert answers[30] == 429
        assert (await token(api, username="admin")).status_code == 429  # the address, not the name


async def test_a_key_does_only_what_its_scopes_name(seeded_url):
    created = await asyncio.to_thread(
        cli_run,
        seeded_url,
        "apikey",
        "create",
        "catalogue sync",
        "--organization",
        "QJL",
        "--scope",
        "read:items",
        "--scope",
        "write:items",
    )
    assert "(read:items write:items)" in created.output
    headers = {"X-API-Key": created.output.strip().splitlines()[-1]}
    async with serving(seeded_url) as api:

        async def ask(query: str) -> dict:
            return (await api.http.post("/graphql", json={"query": query}, headers=headers)).json()

        assert (await ask("{ items { totalCount } }"))["data"]["items"]["totalCount"] == 304
        cases = (await ask("{ cases { totalCount } }"))["errors"][0]
        assert cases["extensions"]["code"] == "FORBIDDEN"
        assert cases["message"] == "this API key has no read:cases scope to read cases"
        calendar = (await ask(WRITE))["errors"][0]
        assert calendar["message"] == "this API key has no write:calendarDays scope to create calendarDays"
        mine = (await ask("{ myPermissions { role apiKeyScopes models { model read create } } }"))["data"]
    assert mine["myPermissions"]["role"] == "INTEGRATOR"
    assert mine["myPermissions"]["apiKeyScopes"] == ["read:items", "write:items"]
    models = {m["model"]: m for m in mine["myPermissions"]["models"]}
    assert models["Item"] == {"model": "Item", "read": True, "create": True}
    assert models["Case"] == {"model": "Case", "read": False, "create": False}


async def test_an_unknown_scope_is_refused_when_the_key_is_made(seeded_url):
    made = await asyncio.to_thread(
        cli_run, seeded_url, "apikey", "create", "typo", "--organization", "QJL", "--scope", "read:case"
    )
    assert made.exit_code == 1
    assert "unknown API key scope 'read:case'" in made.output
    async with db.database(Settings(database_url=seeded_url)):
        assert not await ApiKey.filter(name="typo").exists()


async def test_a_key_reads_at_least_what_the_public_reads(seeded_url):
    made = await asyncio.to_thread(
        cli_run,
        seeded_url,
        "apikey",
        "create",
        "cases only",
        "--organization",
        "QJL",
        "--scope",
        "read:cases",
    )
    headers = {"X-API-Key": made.output.strip().splitlines()[-1]}
    query = "{ cases(first: 2) { nodes { number handlingOrganization { code } item { name } } } }"
    async with serving(seeded_url) as api:
        body = (await api.http.post("/graphql", json={"query": query}, headers=headers)).json()
    assert "errors" not in body, body  # organizations and items need no scope: anyone reads them
    assert all(
        n["handlingOrganization"]["code"] and n["item"]["name"] for n in body["data"]["cases"]["nodes"]
    )


async def test_tokens_and_query_codes_outlive_a_restart_in_dev(seeded_url, tmp_path):
    """The dev key comes from the installation's key file: a second server (a restart, or another
    worker) accepts the first one's token, and the query code it handed out still opens the case."""

    def key() -> str:
        return Settings.from_env({"SANJI_SECRET_KEY_FILE": str(tmp_path / "secret.key")}).secret_key

    submit = (
        "mutation($item: ID!) { submitCase(input: {itemId: $item, applicantType: PERSON, "
        'applicantName: "赵六", applicantIdNumber: "11010519491231002X", applicantPhone: "13800138000"}) '
        "{ queryCode case { number } } }"
    )
    async with serving(seeded_url, secret_key=key()) as first:
        clerk = await first.sign_in("clerk")
        item = (await clerk.data('{ items(where: {code: {eq: "XK-004"}}) { nodes { id } } }'))["items"]
        filed = (await clerk.data(submit, {"item": item["nodes"][0]["id"]}))["submitCase"]
    async with serving(seeded_url, secret_key=key()) as second:
        assert "errors" not in await second(ME, token=clerk.token)
        progress = await second.data(
            "query($n: String!, $c: String!) { caseProgress(number: $n, queryCode: $c) { number } }",
            {"n": filed["case"]["number"], "c": filed["queryCode"]},
        )
    assert progress["caseProgress"]["number"] == filed["case"]["number"]


async def test_used_refresh_tokens_go_with_their_session(seeded_url):
    async with serving(seeded_url) as api:
        first = (await token(api)).json()
        renewed = (await refresh(api, first["refresh_token"])).json()
        second = (await token(api, username="admin")).json()
        await refresh(api, second["refresh_token"])
        async with db.database(Settings(database_url=seeded_url)):
            assert await UsedRefreshToken.all().count() == 2
            admin = await AuthSession.filter(user__username="admin").first()
            await AuthSession.filter(id=admin.id).update(expires_at=datetime.now(UTC) - timedelta(days=1))
        bearer = {"Authorization": f"Bearer {renewed['access_token']}"}
        assert (await api.http.post("/auth/logout", headers=bearer)).status_code == 204  # ends clerk's
        await token(api, username="supervisor")  # a sign-in sweeps what expired sessions left
    async with db.database(Settings(database_url=seeded_url)):
        assert await UsedRefreshToken.all().count() == 0
