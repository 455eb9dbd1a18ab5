"""revokeItemAssignments over /graphql: several revocations in one transaction, all or none, audited."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest_asyncio

from api import db
from api.models.audit import AuditAction, AuditEntry
from api.models.item import ItemAssignment
from api.settings import Settings
from schema.generator.ids import from_global_id, to_global_id
from tests.conftest import serving

NOW = dt.datetime(2026, 11, 27, 2, 30, tzinfo=dt.UTC)  # 10:30 in Beijing
REVOKE = """mutation($ids: [ID!]!) {
  revokeItemAssignments(ids: $ids) { id active revokedAt organization { code } } }"""


@pytest_asyncio.fixture
async def served(seeded_url: str):
    async with serving(seeded_url, clock=NOW.timestamp) as client:
        yield client, seeded_url


async def hall_assignments(url: str, hall: str = "QJL-H1", n: int = 3) -> list[str]:
    async with db.database(Settings(database_url=url)):
        rows = await ItemAssignment.filter(organization__code=hall, active=True).order_by("id").limit(n)
    return [to_global_id("ItemAssignment", row.pk) for row in rows]


async def states(url: str, ids: list[str]) -> dict[int, tuple[bool | None, dt.datetime | None]]:
    async with db.database(Settings(database_url=url)):
        rows = await ItemAssignment.filter(id__in=pks(ids)).values("id", "active", "revoked_at")
        return {row["id"]: (row["active"], row["revoked_at"]) for row in rows}


def pks(ids: list[str]) -> list[int]:
    return [from_global_id(i, "ItemAssignment") for i in ids]


async def audit_count(url: str) -> int:
    async with db.database(Settings(database_url=url)):
        return await AuditEntry.filter(object_type="ItemAssignment", action=AuditAction.UPDATE).count()


async def test_three_assignments_are_revoked_together_and_audited(served):
    client, url = served
    admin = await client.sign_in("admin")
    ids = await hall_assignments(url)
    revoked = (await admin.data(REVOKE, {"ids": ids}))["revokeItemAssignments"]
    assert [r["id"] for r in revoked] == ids
    assert {(r["active"], r["organization"]["code"]) for r in revoked} == {(None, "QJL-H1")}
    assert {dt.datetime.fromisoformat(r["revokedAt"]) for r in revoked} == {NOW}
    assert all(active is None and at is not None for active, at in (await states(url, ids)).values())
    async with db.database(Settings(database_url=url)):
        entries = await AuditEntry.filter(object_type="ItemAssignment", action=AuditAction.UPDATE)
    assert sorted(e.object_id for e in entries) == sorted(pks(ids))
    assert all(e.before["active"] is True and e.after["active"] is None for e in entries)
    assert {e.actor_role for e in entries} == {"ADMIN"}


async def test_one_already_revoked_refuses_the_whole_call(served):
    client, url = served
    admin = await client.sign_in("admin")
    first, second, third = await hall_assignments(url)
    await admin.data(REVOKE, {"ids": [second]})
    before = await states(url, [first, third])
    error = await admin.error(REVOKE, {"ids": [first, second, third]})
    assert error["extensions"] == {"code": "INVALID_TRANSITION", "field": "ids"}
    assert error["message"].startswith(f"ids[1]: ItemAssignment {second} was already revoked at 2026-11-27")
    assert await states(url, [first, third]) == before  # the first one was rolled back
    assert all(active is True for active, _ in before.values())
    assert await audit_count(url) == 1


async def test_a_missing_or_foreign_id_refuses_the_whole_call(served):
    client, url = served
    admin = await client.sign_in("admin")
    (first,) = await hall_assignments(url, n=1)
    missing = to_global_id("ItemAssignment", 999_999)
    error = await admin.error(REVOKE, {"ids": [first, missing]})
    assert error["extensions"] == {"code": "NOT_FOUND", "field": "ids"}
    assert error["message"] == f"ids[1]: ItemAssignment {missing} does not exist"
    error = await admin.error(REVOKE, {"ids": [first, to_global_id("Item", 1)]})
    assert error["extensions"] == {"code": "VALIDATION_FAILED", "field": "ids"}
    assert await states(url, [first]) == {pks([first])[0]: (True, None)}
    assert await audit_count(url) == 0


async def test_empty_and_repeated_lists_are_refused(served):
    client, url = served
    admin = await client.sign_in("admin")
    first, second, _ = await hall_assignments(url)
    error = await admin.error(REVOKE, {"ids": []})
    assert error["extensions"] == {"code": "VALIDATION_FAILED", "field": "ids"}
    error = await admin.error(REVOKE, {"ids": [first, second, first]})
    assert error["extensions"] == {"code": "VALIDATION_FAILED", "field": "ids"}
    assert error["message"] == "ids[2] names an assignment twice"
    assert await audit_count(url) == 0


async def test_only_administrators_revoke(served):
    client, url = served
    ids = await hall_assignments(url)
    error = await client.error(REVOKE, {"ids": ids})
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    for username in ("supervisor", "hall_clerk"):
        error = await (await client.sign_in(username)).error(REVOKE, {"ids": ids})
        assert error["extensions"]["code"] == "FORBIDDEN", error
    assert all(active is True for active, _ in (await states(url, ids)).values())
    assert await audit_count(url) == 0


async def test_racing_revocations_of_one_assignment_succeed_once(served):
    client, url = served
    first, other = await client.sign_in("admin"), await client.sign_in("admin")
    a, b = await hall_assignments(url, n=2)
    answers = await asyncio.gather(first(REVOKE, {"ids": [a, b]}), other(REVOKE, {"ids": [b, a]}))
    codes = sorted(body["errors"][0]["extensions"]["code"] if "errors" in body else "OK" for body in answers)
    assert codes == ["INVALID_TRANSITION", "OK"]  # no deadlock, no second stamp
    assert await audit_count(url) == 2


async def test_the_role_is_checked_before_the_ids(served):
    client, _ = served
    clerk = await client.sign_in("hall_clerk")
    error = await clerk.error(REVOKE, {"ids": [to_global_id("ItemAssignment", 999_999)]})
    assert error["extensions"]["code"] == "FORBIDDEN"
