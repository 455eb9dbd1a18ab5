"""The audit log keeps writes (before and after) and security events, for ADMIN eyes, unchangeable."""

from __future__ import annotations

import pytest

from api import db
from api.models.audit import AuditEntry
from api.settings import Settings
from schema.generator.ids import to_global_id
from tests.conftest import DEMO_PASSWORD, serving

LOG = """query($where: AuditEntryWhere) { auditEntries(where: $where, orderBy: [{occurredAt: ASC}]) {
  totalCount nodes { action actorUserId actorRole objectType objectId before after ip } } }"""


async def test_writes_are_audited_with_before_and_after(writable):
    api, url = writable
    async with db.database(Settings(database_url=url)):
        from api.models.org import Organization

        hall = await Organization.get(code="QJL-H3")
    update = """mutation($id: ID!) {
                  updateOrganization(id: $id, input: {dutyPhone: "0724-5209999"}) { dutyPhone } }"""
    await api.data(update, {"id": to_global_id("Organization", hall.pk)})
    log = (await api.data(LOG, {"where": {"action": {"eq": "UPDATE"}}}))["auditEntries"]
    assert log["totalCount"] == 1
    entry = log["nodes"][0]
    assert (entry["objectType"], entry["objectId"], entry["actorRole"]) == ("Organization", hall.pk, "ADMIN")
    assert entry["before"]["duty_phone"] != "0724-5209999"
    assert entry["after"]["duty_phone"] == "0724-5209999"
    assert entry["ip"]


async def test_sign_ins_and_failures_are_audited(writable):
    api, _url = writable
    await api.http.post("/auth/token", data={"username": "clerk", "password": "wrong-password"})
    await api.http.post("/auth/token", data={"username": "clerk", "password": DEMO_PASSWORD})
    failed = (await api.data(LOG, {"where": {"action": {"eq": "SIGN_IN_FAILED"}}}))["auditEntries"]
    assert failed["totalCount"] == 1
    signed_in = (await api.data(LOG, {"where": {"action": {"eq": "SIGN_IN"}}}))["auditEntries"]
    assert signed_in["totalCount"] == 2  # the admin of the fixture client, then the clerk


@pytest.mark.parametrize("username", ["clerk", "supervisor", None])
async def test_only_admins_read_the_audit_log(seeded_url, username):
    async with serving(seeded_url) as anonymous:
        api = await anonymous.sign_in(username) if username else anonymous
        error = await api.error("{ auditEntries { totalCount } }")
    assert error["extensions"]["code"] == ("FORBIDDEN" if username else "UNAUTHENTICATED")


async def test_the_database_refuses_to_change_or_delete_audit_entries(writable):
    _api, url = writable
    async with db.database(Settings(database_url=url)) as ctx:
        entry = await AuditEntry.first()
        assert entry is not None
        for statement in (
            f"UPDATE audit_entry SET detail = 'edited' WHERE id = {entry.pk}",
            f"DELETE FROM audit_entry WHERE id = {entry.pk}",
        ):
            with pytest.raises(Exception, match="append-only"):
                await ctx.db().execute_script(statement)
        assert await AuditEntry.filter(id=entry.pk).exists()


async def test_the_log_has_no_write_api(api):
    error = await api.error('mutation { deleteAuditEntry(id: "x") { id } }')
    assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
