"""Per-caller request budgets on /graphql, counted in the database and shared by every app instance."""

from __future__ import annotations

import asyncio

import pytest

from api import db
from api.auth import apikeys, ratelimit
from api.auth.caller import Caller
from api.models.user import RateCounter
from api.settings import Settings
from tests.conftest import serving

QUERY = {"query": "{ __typename }"}
T0 = 1_800_000_000  # a window boundary: 60 divides it


class Clock:
    """A clock the test moves by hand, so crossing a window takes no waiting."""

    def __init__(self, now: float = T0 + 15) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def statuses(api, count: int, headers: dict | None = None) -> list[int]:
    return [(await api.http.post("/graphql", json=QUERY, headers=headers)).status_code for _ in range(count)]


async def counters(url: str) -> list[tuple[str, int, int]]:
    async with db.database(Settings(database_url=url)):
        rows = await RateCounter.all().order_by("key", "window_start")
        return [(row.key, row.window_start, row.count) for row in rows]


async def test_an_address_over_its_budget_gets_429_with_a_code_and_retry_after(fresh_url):
    async with serving(fresh_url, clock=Clock(T0 + 15), rate_limit_anonymous_per_minute=3) as api:
        allowed = [await api.http.post("/graphql", json=QUERY) for _ in range(3)]
        refused = await api.http.post("/graphql", json=QUERY)

    assert [r.status_code for r in allowed] == [200, 200, 200]
    assert [r.headers["RateLimit-Remaining"] for r in allowed] == ["2", "1", "0"]
    assert allowed[0].headers["RateLimit-Limit"] == "3"
    assert allowed[0].headers["RateLimit-Reset"] == "45"
    assert "Retry-After" not in allowed[0].headers
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "45"
    assert refused.headers["RateLimit-Remaining"] == "0"
    assert refused.json() == {
        "errors": [
            {
                "message": "too many requests: 3 are allowed every 60 s; try again in 45 s",
                "extensions": {"code": "RATE_LIMITED"},
            }
        ]
    }
    assert await counters(fresh_url) == [("api:ip:127.0.0.1", T0, 4)]


async def test_a_signed_in_user_has_a_budget_of_its_own(seeded_url):
    limits = {"rate_limit_per_minute": 3, "rate_limit_anonymous_per_minute": 2}
    async with serving(seeded_url, clock=Clock(), **limits) as api:
        clerk = await api.sign_in("clerk")
        admin = await api.sign_in("admin")
        anonymous = await statuses(api, 3)
        as_clerk = await statuses(api, 4, {"Authorization": f"Bearer {clerk.token}"})
        as_admin = await statuses(api, 1, {"Authorization": f"Bearer {admin.token}"})

    assert anonymous == [200, 200, 429]
    assert as_clerk == [200, 200, 200, 429]
    assert as_admin == [200]


async def test_two_api_keys_have_separate_budgets(seeded_url):
    async with db.database(Settings(database_url=seeded_url)):
        first = await apikeys.create("province platform", "QJL")
        second = await apikeys.create("city platform", "QJL")

    async with serving(seeded_url, clock=Clock(), rate_limit_per_minute=2) as api:
        with_first = await statuses(api, 3, {"X-API-Key": first.key})
        with_second = await statuses(api, 3, {"Authorization": f"ApiKey {second.key}"})

    assert with_first == [200, 200, 429]
    assert with_second == [200, 200, 429]
    keys = {key for key, _, _ in await counters(seeded_url)}
    assert keys == {f"api:key:{first.prefix}", f"api:key:{second.prefix}"}


async def test_the_budget_is_shared_by_every_app_on_the_database(fresh_url):
    clock = Clock()
    async with (
        serving(fresh_url, clock=clock, rate_limit_anonymous_per_minute=3) as one,
        serving(fresh_url, clock=clock, rate_limit_anonymous_per_minute=3) as two,
    ):
        answers = [await statuses(api, 1) for api in (one, two, one, two)]

    assert answers == [[200], [200], [200], [429]]


async def test_a_new_window_restores_the_budget_and_drops_finished_windows(fresh_url):
    clock = Clock(T0 + 59)
    async with serving(fresh_url, clock=clock, rate_limit_anonymous_per_minute=2) as api:
        first_window = await statuses(api, 3)
        clock.now = T0 + 60
        second_window = await api.http.post("/graphql", json=QUERY)

    assert first_window == [200, 200, 429]
    assert second_window.status_code == 200
    assert second_window.headers["RateLimit-Remaining"] == "1"
    assert second_window.headers["RateLimit-Reset"] == "60"
    assert await counters(fresh_url) == [("api:ip:127.0.0.1", T0 + 60, 1)]


async def test_a_limit_of_zero_turns_the_limit_off(fresh_url):
    async with serving(fresh_url, rate_limit_anonymous_per_minute=0) as api:
        responses = [await api.http.post("/graphql", json=QUERY) for _ in range(25)]

    assert {r.status_code for r in responses} == {200}
    assert "RateLimit-Limit" not in responses[0].headers
    assert await counters(fresh_url) == []


async def test_concurrent_requests_never_overspend_the_budget(fresh_url):
    clock = Clock()
    async with (
        serving(fresh_url, clock=clock, rate_limit_anonymous_per_minute=10) as one,
        serving(fresh_url, clock=clock, rate_limit_anonymous_per_minute=10) as two,
    ):
        responses = await asyncio.gather(*(api.http.post("/graphql", json=QUERY) for api in [one, two] * 10))

    codes = sorted(r.status_code for r in responses)
    assert codes == [200] * 10 + [429] * 10
    assert await counters(fresh_url) == [("api:ip:127.0.0.1", T0, 20)]


async def test_a_named_budget_is_counted_apart_from_the_api_budget(fresh_url):
    clock = Clock()
    async with serving(fresh_url, clock=clock, rate_limit_anonymous_per_minute=1) as api:
        assert await statuses(api, 2) == [200, 429]

    async with db.database(Settings(database_url=fresh_url)):
        address = Caller(ip="127.0.0.1")
        lookups = [await ratelimit.enforce("lookup", address, limit=2, now=clock) for _ in range(2)]
        with pytest.raises(ratelimit.RateLimited) as refused:
            await ratelimit.enforce("lookup", Caller(ip="127.0.0.1"), limit=2, now=clock)

    assert [d.remaining for d in lookups] == [1, 0]
    assert refused.value.code == "RATE_LIMITED"
    assert refused.value.decision.retry_after == 45


async def test_sign_in_has_a_budget_per_address(seeded_url):
    # A still clock: four sign-ins on the wall clock could straddle a minute and start a new window.
    async with serving(seeded_url, clock=Clock(), rate_limit_login_per_minute=3) as api:
        answers = [
            await api.http.post("/auth/token", data={"username": "admin", "password": "sanji-demo"})
            for _ in range(4)
        ]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    refused = answers[-1]
    assert refused.json()["error"] == "rate_limited"
    assert int(refused.headers["Retry-After"]) >= 1
    assert refused.headers["RateLimit-Remaining"] == "0"
    assert ("login:ip:127.0.0.1", 4) in [(key, count) for key, _start, count in await counters(seeded_url)]
