"""A read replica (SANJI_DATABASE_READ_URL): compiled reads go to it; writes, the session checks and
a person's reads right after their own write go to the primary.

The "replica" here is a second database copied from the same fixture, one a replication stream does
not feed: whatever a read returns says which database answered it.
"""

from __future__ import annotations

import asyncio

import pytest

from api import db
from api.models.audit import AuditAction, AuditEntry
from api.models.org import Organization
from api.models.user import AuthSession
from api.settings import Settings
from tests.conftest import DB_KIND, serving

pytestmark = pytest.mark.skipif(DB_KIND != "postgres", reason="a read replica is a PostgreSQL deployment")

HALL = '{ organizations(where: {code: {eq: "QJL-H1"}}) { nodes { id name } } }'
RENAME = """mutation ($id: ID!, $name: String!) {
  updateOrganization(id: $id, input: {name: $name}) { name } }"""
WINDOW = 10


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def primary_and_replica(databases, seeded_template):
    primary = databases.url(await databases.create(template=seeded_template))
    replica = databases.url(await databases.create(template=seeded_template))
    async with db.database(Settings(database_url=replica)):  # what only the replica says
        await Organization.filter(code="QJL-H1").update(name="第一办事处便民服务大厅（副本）")
    return primary, replica


async def hall_name(client) -> str:
    return (await client.data(HALL))["organizations"]["nodes"][0]["name"]


async def test_compiled_reads_go_to_the_replica_and_a_writers_own_reads_to_the_primary(primary_and_replica):
    primary, replica = primary_and_replica
    clock = Clock()
    settings = {"database_read_url": replica, "read_your_writes_seconds": WINDOW}
    async with serving(primary, clock=clock, **settings) as anonymous:
        admin = await anonymous.sign_in("admin")
        supervisor = await anonymous.sign_in("supervisor")
        for reader in (anonymous, admin, supervisor):
            assert await hall_name(reader) == "第一办事处便民服务大厅（副本）"
            assert await hall_name(reader) == "第一办事处便民服务大厅（副本）"  # a kept read too
        hall_id = (await admin.data(HALL))["organizations"]["nodes"][0]["id"]

        renamed = await admin.data(RENAME, {"id": hall_id, "name": "第一便民服务大厅"})
        assert renamed["updateOrganization"]["name"] == "第一便民服务大厅"  # the write's own answer
        # The writer reads the primary for a while: their write is there, not on the replica yet.
        assert await hall_name(admin) == "第一便民服务大厅"
        assert await hall_name(admin) == "第一便民服务大厅"
        # Everyone else still reads the replica.
        assert await hall_name(supervisor) == "第一办事处便民服务大厅（副本）"
        clock.now += WINDOW - 1
        assert await hall_name(admin) == "第一便民服务大厅"
        clock.now += 2  # the window is over: back to the replica
        assert await hall_name(admin) == "第一办事处便民服务大厅（副本）"

    async with db.database(Settings(database_url=primary)):
        assert (await Organization.get(code="QJL-H1")).name == "第一便民服务大厅"
        hall = await Organization.get(code="QJL-H1")
        audited = AuditEntry.filter(action=AuditAction.UPDATE, object_type="Organization", object_id=hall.id)
        assert await audited.count() == 1, "the write's audit row is on the primary"
        stamped = await AuthSession.filter(last_write_at__isnull=False).count()
        assert stamped == 1, "only the writer's session is stamped"
    async with db.database(Settings(database_url=replica)):
        assert (await Organization.get(code="QJL-H1")).name == "第一办事处便民服务大厅（副本）"
        assert not await AuthSession.filter(last_write_at__isnull=False).exists()
        assert not await AuditEntry.filter(action=AuditAction.UPDATE, object_type="Organization").exists()


async def test_the_replica_never_decides_whether_a_session_is_live(primary_and_replica):
    primary, replica = primary_and_replica
    async with serving(primary, database_read_url=replica) as anonymous:
        admin = await anonymous.sign_in("admin")
        assert await hall_name(admin) == "第一办事处便民服务大厅（副本）"
        assert await hall_name(admin) == "第一办事处便民服务大厅（副本）"  # the one-statement path
        ended = await admin.http.post("/auth/logout", headers={"Authorization": f"Bearer {admin.token}"})
        assert ended.status_code == 204, ended.text
        # The replica still holds the session as live; the primary has ended it.
        refused = await admin.http.post(
            "/graphql", json={"query": HALL}, headers={"Authorization": f"Bearer {admin.token}"}
        )
        assert refused.status_code == 401, refused.text


async def test_an_unreachable_replica_leaves_reads_to_the_primary(seeded_url):
    unreachable = "postgres://postgres@127.0.0.1:1/nowhere"
    async with serving(seeded_url, database_read_url=unreachable) as anonymous:
        admin = await anonymous.sign_in("admin")
        for _ in range(2):  # the schema's path, then the kept read's
            assert await hall_name(admin) == "第一办事处便民服务大厅"


async def test_a_failing_replica_is_left_alone_for_a_while_then_tried_again(seeded_url):
    """A replica that does not answer costs one attempt per SANJI_REPLICA_RETRY_SECONDS, not one per
    read: meanwhile the primary answers without trying it; after the pause one read tries again."""
    attempts = []

    async def hang_up(reader, writer) -> None:  # accepts, then closes: a replica that cannot answer
        attempts.append(1)
        writer.close()

    server = await asyncio.start_server(hang_up, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    clock = Clock()
    try:
        async with serving(
            seeded_url,
            clock=clock,
            database_read_url=f"postgres://postgres@127.0.0.1:{port}/replica",
            replica_retry_seconds=30,
        ) as anonymous:
            admin = await anonymous.sign_in("admin")
            assert await hall_name(admin) == "第一办事处便民服务大厅"  # the primary, after one try
            tried = len(attempts)
            assert tried > 0
            for _ in range(3):  # within the pause: the replica is not tried
                clock.now += 5
                assert await hall_name(admin) == "第一办事处便民服务大厅"
            assert len(attempts) == tried
            clock.now += 30  # the pause is over: one read tries it again, and it pauses again
            assert await hall_name(admin) == "第一办事处便民服务大厅"
            assert len(attempts) > tried
            again = len(attempts)
            clock.now += 1
            assert await hall_name(admin) == "第一办事处便民服务大厅"
            assert len(attempts) == again
    finally:
        server.close()
        await server.wait_closed()
