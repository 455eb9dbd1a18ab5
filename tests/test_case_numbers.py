"""Case numbers come from one counter row per district and day, taken in the submission's transaction.

Concurrent submissions through the ASGI app (on PostgreSQL, one session each) all succeed with
consecutive numbers; a day whose cases were written without the counter (in a database upgraded
from before it, or loaded in bulk like the fixture) continues after its highest number; a refused
submission gives its number back.
"""

from __future__ import annotations

import asyncio
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from tortoise.transactions import in_transaction

from api import db
from api.models.case import Case
from api.services.cases import next_number
from api.settings import Settings
from tests.conftest import serving

DISTRICT_ZONE = ZoneInfo("Asia/Shanghai")
FIXTURE_DAY = date(2018, 4, 27)  # the fixture's last day, which holds cases
QUIET_DAY = date(2018, 5, 2)  # after the fixture: no case yet
VALID_ID = "11010519491231002X"
BAD_ID = "110105194912310021"  # wrong check digit: the case refuses it when saved


def at(day: date) -> float:
    return datetime(day.year, day.month, day.day, 10, tzinfo=DISTRICT_ZONE).timestamp()


async def submit_all(seeded_url: str, day: date, id_numbers: list[str]) -> list[dict]:
    """Submit one application per ID number at once, as the center's clerk; the raw answers."""
    async with serving(seeded_url, clock=lambda: at(day)) as anonymous:
        clerk = await anonymous.sign_in("clerk")
        item = (await clerk.data('{ items(where: {code: {eq: "XK-004"}}) { nodes { id } } }'))["items"][
            "nodes"
        ][0]["id"]

        def submit(id_number: str) -> str:
            return (
                f'mutation {{ submitCase(input: {{itemId: "{item}", applicantType: PERSON, '
                f'applicantName: "赵六", applicantIdNumber: "{id_number}", applicantPhone: "13800138000"}}) '
                "{ case { number } } }"
            )

        return await asyncio.gather(*(clerk(submit(id_number)) for id_number in id_numbers))


def numbers(answers: list[dict]) -> list[str]:
    return sorted(a["data"]["submitCase"]["case"]["number"] for a in answers if not a.get("errors"))


def sequence(stem: str, first: int, count: int) -> list[str]:
    return [f"{stem}{n:04d}" for n in range(first, first + count)]


async def test_forty_concurrent_submissions_all_get_consecutive_numbers(seeded_url):
    answers = await submit_all(seeded_url, QUIET_DAY, [VALID_ID] * 40)

    assert [a for a in answers if a.get("errors")] == []
    assert numbers(answers) == sequence(f"QJL{QUIET_DAY:%Y%m%d}", 1, 40)


async def test_a_day_written_without_the_counter_continues_after_its_highest_number(seeded_url):
    """As in a database upgraded from before the counter (migration 0011 creates its table empty) or
    loaded in bulk: the day's cases are there, its counter row is not."""
    stem = f"QJL{FIXTURE_DAY:%Y%m%d}"
    async with db.database(Settings(database_url=seeded_url)) as ctx:
        await ctx.db().execute_script("DELETE FROM case_number_counter")
        existing = await Case.filter(number__startswith=stem).values_list("number", flat=True)
    highest = max(int(number[len(stem) :]) for number in existing)

    answers = await submit_all(seeded_url, FIXTURE_DAY, [VALID_ID] * 10)

    assert [a for a in answers if a.get("errors")] == []
    assert numbers(answers) == sequence(stem, highest + 1, 10)


async def test_refused_submissions_leave_no_gap_in_the_numbers(seeded_url):
    answers = await submit_all(seeded_url, QUIET_DAY, [VALID_ID, BAD_ID] * 10)

    refused = [a["errors"][0]["extensions"] for a in answers if a.get("errors")]
    assert refused == [{"code": "VALIDATION_FAILED", "field": "applicantIdNumber"}] * 10
    assert numbers(answers) == sequence(f"QJL{QUIET_DAY:%Y%m%d}", 1, 10)


async def test_a_number_taken_in_a_rolled_back_transaction_is_taken_again(fresh_url):
    async with db.database(Settings(database_url=fresh_url)):
        with pytest.raises(RuntimeError):
            async with in_transaction():
                taken = await next_number("T", QUIET_DAY)
                raise RuntimeError("the submission is refused after its number was taken")
        async with in_transaction():
            assert await next_number("T", QUIET_DAY) == taken == "T201805020001"
            assert await next_number("T", QUIET_DAY) == "T201805020002"
