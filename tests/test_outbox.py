"""The outbox: a case's steps write their events in the step's transaction, masked, and readers
take them in commit order, none missed when a transaction commits late."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

import pytest
from tortoise.transactions import in_transaction

from api import db
from api.models.case import Case
from api.models.outbox import OutboxEvent
from api.services import outbox
from api.settings import Settings
from schema.generator.ids import from_global_id, to_global_id
from tests.conftest import DB_KIND, serving

ID_NUMBER = "11010519491231002X"


START = outbox.Cursor()


async def _read_all(after: outbox.Cursor = START) -> tuple[list[dict], outbox.Cursor]:
    found, cursor = [], after
    while True:
        events, cursor = await outbox.read(cursor, 50)
        if not events:
            return found, cursor
        found += events


async def test_steps_write_masked_events_in_commit_order(seeded_url):
    async with serving(seeded_url) as anonymous:
        clerk = await anonymous.sign_in("clerk")
        item = (await clerk.data('{ items(where: {code: {eq: "XK-005"}}) { nodes { id } } }'))["items"]
        submitted = await clerk.data(
            f'mutation {{ submitCase(input: {{itemId: "{item["nodes"][0]["id"]}", applicantType: PERSON, '
            f'applicantName: "钱小七", applicantIdNumber: "{ID_NUMBER}", applicantPhone: "13800138000", '
            'comment: "身份证 11010519491231002X 已核"}) { case { id number } } }'
        )
        case = submitted["submitCase"]["case"]
        await clerk.data(f'mutation {{ acceptCase(id: "{case["id"]}", version: 1) {{ id }} }}')
        refused = await clerk.error(f'mutation {{ deliverCase(id: "{case["id"]}", version: 2) {{ id }} }}')
        assert refused["extensions"]["code"] == "INVALID_TRANSITION"
    async with db.database(Settings(database_url=seeded_url)):
        events, cursor = await _read_all()
        assert [(e["type"], e["case_id"]) for e in events] == [
            ("case.submitted", from_global_id(case["id"], "Case")),
            ("case.accepted", from_global_id(case["id"], "Case")),
        ]  # the refused delivery wrote nothing
        accepted = events[1]["payload"]
        assert accepted["case"]["number"] == case["number"] and accepted["case"]["id"] == case["id"]
        assert (accepted["fromStatus"], accepted["toStatus"], accepted["case"]["version"]) == (
            "SUBMITTED",
            "ACCEPTED",
            2,
        )
        assert accepted["case"]["applicant"] == "钱**"
        text = json.dumps([e["payload"] for e in events], ensure_ascii=False)
        assert ID_NUMBER not in text and "13800138000" not in text and "钱小七" not in text
        assert "已核" not in text  # no free text: it can hold names (GraphQL gives it by permission)
        assert await outbox.read(cursor, 50) == ([], cursor)  # read on: nothing new
        assert outbox.Cursor.parse(str(cursor)) == cursor


async def test_a_step_rolled_back_writes_no_event(seeded_url):
    async with db.database(Settings(database_url=seeded_url)):
        case = await Case.all().order_by("id").first()
        assert case is not None, "the fixture has cases"
        with pytest.raises(RuntimeError):
            async with in_transaction():
                await _event(case, "written, then undone")
                raise RuntimeError("the change fails after its event was written")
        assert await OutboxEvent.all().count() == 0
        assert await outbox.read(outbox.Cursor(), 10) == ([], outbox.Cursor())


async def test_a_bad_cursor_or_limit_is_refused_with_a_code(seeded_url):
    from api.errors import DomainError

    with pytest.raises(DomainError) as bad:
        outbox.Cursor.parse("12")
    assert (bad.value.code, bad.value.field) == ("VALIDATION_FAILED", "after")
    async with db.database(Settings(database_url=seeded_url)):
        with pytest.raises(DomainError) as too_many:
            await outbox.read(outbox.Cursor(), 5000)
        assert (too_many.value.code, too_many.value.field) == ("VALIDATION_FAILED", "limit")


@pytest.mark.skipif(DB_KIND != "postgres", reason="SQLite takes one write transaction at a time")
async def test_an_event_that_commits_late_is_not_passed_over(seeded_url):
    """Transaction A writes first and commits last: a reader between the two commits must not
    move past A's event (ids alone would: B's id is higher and committed)."""
    async with db.database(Settings(database_url=seeded_url)):
        case = await Case.all().order_by("id").first()
        written, commit = asyncio.Event(), asyncio.Event()

        async def slow() -> None:
            async with in_transaction():
                await _event(case, "A")
                written.set()
                await commit.wait()

        task = asyncio.create_task(slow())
        await written.wait()
        async with in_transaction():
            await _event(case, "B")
        events, cursor = await _read_all()
        assert events == []  # B waits behind A, still open
        commit.set()
        await task
        events, cursor = await _read_all(cursor)
        assert [e["payload"]["note"] for e in events] == ["A", "B"]
        assert await _read_all(cursor) == ([], cursor)


async def _event(case: Case, note: str) -> None:
    await outbox.emit(
        "case.test",
        organization_id=case.handling_organization_id,
        occurred_at=datetime.now(UTC),
        payload={"note": note},
        case_id=case.id,
    )


async def test_catalogue_and_construction_changes_write_their_events(seeded_url):
    """Assignments made and revoked, a guide revision published, a room's construction status:
    one event each, in the change's transaction; an update that changes no status, none."""
    from api.models.item import ItemAssignment
    from api.models.org import Organization
    from schema.generator.ids import to_global_id
    from tests.test_guide_revisions import permit, revision

    async with db.database(Settings(database_url=seeded_url)):
        assignment = await ItemAssignment.filter(organization__code="QJL-H1", active=True).first()
        room = await Organization.filter(tier="ROOM", construction_status="BUILT").order_by("code").first()
    item_id, revisions = await permit(seeded_url)
    assignment_id = to_global_id("ItemAssignment", assignment.pk)
    async with serving(seeded_url) as anonymous:
        admin = await anonymous.sign_in("admin")
        await admin.data(f'mutation {{ revokeItemAssignments(ids: ["{assignment_id}"]) {{ id }} }}')
        again = {
            "itemId": to_global_id("Item", assignment.item_id),
            "organizationId": to_global_id("Organization", assignment.organization_id),
            "power": str(assignment.power),
            "legalBasis": "重新下放",
            "effectiveFrom": "2026-12-01",
        }
        created = await admin.data(
            "mutation($input: CreateItemAssignmentInput!) { createItemAssignment(input: $input) { id } }",
            {"input": again},
        )
        await admin.data(
            "mutation($input: CreateGuideRevisionInput!) { createGuideRevision(input: $input) { id } }",
            {"input": revision(item_id, max(revisions) + 1)},
        )
        supervisor = await anonymous.sign_in("supervisor")
        await supervisor.data(
            "mutation($id: ID!, $input: UpdateOrganizationInput!) { "
            "updateOrganization(id: $id, input: $input) { id } }",
            {
                "id": to_global_id("Organization", room.pk),
                "input": {"constructionStatus": "STANDARDIZED", "standardizedOn": "2018-03-01"},
            },
        )
        await supervisor.data(  # the same status again: nothing changed, no event
            "mutation($id: ID!, $input: UpdateOrganizationInput!) { "
            "updateOrganization(id: $id, input: $input) { id } }",
            {"id": to_global_id("Organization", room.pk), "input": {"constructionStatus": "STANDARDIZED"}},
        )
    async with db.database(Settings(database_url=seeded_url)):
        events, _ = await _read_all()
    assert [e["type"] for e in events] == [
        "assignment.revoked",
        "assignment.created",
        "guide.revision_published",
        "room.status_changed",
    ]
    revoked, made, published, built = events
    assert revoked["payload"]["assignment"] == assignment_id and revoked["payload"]["revokedAt"]
    assert made["payload"]["assignment"] == created["createItemAssignment"]["id"]
    assert made["organization_id"] == assignment.organization_id
    assert published["organization_id"] is None and published["payload"]["item"] == item_id
    assert published["payload"]["number"] == max(revisions) + 1
    assert built["organization_id"] == room.pk
    assert (built["payload"]["from"], built["payload"]["to"]) == (
        str(room.construction_status),
        "STANDARDIZED",
    )


async def test_a_bad_rating_and_its_rectification_write_their_events(seeded_url):
    from tests.test_datetime_output import rated_badly, submit

    async with serving(seeded_url) as anonymous:
        clerk = await anonymous.sign_in("clerk")
        submitted = await submit(clerk)
        case = (
            await clerk.data(
                f'{{ cases(where: {{number: {{eq: "{submitted["case"]["number"]}"}}}}) '
                "{ nodes { id version } } }"
            )
        )["cases"]["nodes"][0]
        for verb, extra in (
            ("acceptCase", ""),
            ("reviewCase", ""),
            ("decideCase", ", decision: APPROVED"),
            ("completeCase", ""),
            ("deliverCase", ""),
        ):
            moved = await clerk.data(
                f'mutation {{ {verb}(id: "{case["id"]}", version: {case["version"]}{extra}) {{ version }} }}'
            )
            case["version"] = moved[verb]["version"]
        supervisor, rating = await rated_badly(anonymous, submitted, "等候太久, 电话 13800138000")
        close = (
            'mutation($id: ID!) { closeRectification(id: $id, response: "已整改", followUp: "已回访") '
            "{ id } }"
        )
        await supervisor.data(close, {"id": rating})
    async with db.database(Settings(database_url=seeded_url)):
        events, _ = await _read_all()
    assert [e["type"] for e in events][-2:] == ["rating.created", "rectification.closed"]
    opened, closed = events[-2:]
    assert opened["payload"]["rating"] == rating and opened["payload"]["rectificationDueDate"]
    assert "reason" not in opened["payload"] and "13800138000" not in json.dumps(opened["payload"])
    assert closed["payload"]["rectifiedAt"] and closed["case_id"] == opened["case_id"]
    assert [e["type"] for e in events][:6] == [
        "case.submitted",
        "case.accepted",
        "case.reviewed",
        "case.decided",
        "case.completed",
        "case.delivered",
    ]


FEED = """query($after: String, $first: Int!, $types: [String!]) { eventFeed(after: $after, first: $first,
  types: $types) { endCursor events { id type organizationId caseId occurredAt payload cursor } } }"""


async def test_the_event_feed_reads_an_area_by_cursor_through_graphql(seeded_url):
    """Pages by cursor in commit order, filtered by type, within the reader's area (a hall's key
    reads its hall's events and the catalogue's), refused to roles that read no webhooks."""
    from api.auth import apikeys
    from api.models.org import Organization
    from tests.test_webhooks import KeyClient, submit_and_accept

    async with db.database(Settings(database_url=seeded_url)):
        hall = await Organization.get(code="QJL-H1")
        center = await Organization.get(code="QJL-ZWFW")
        key = (await apikeys.create("hall platform", "QJL-H1", scopes=["read:webhooks"])).key
        async with in_transaction():
            await outbox.emit(
                "room.status_changed", organization_id=hall.id, occurred_at=datetime.now(UTC), payload={}
            )
        async with in_transaction():
            await outbox.emit(
                "guide.revision_published", organization_id=None, occurred_at=datetime.now(UTC), payload={}
            )
    async with serving(seeded_url) as anonymous:
        clerk = await anonymous.sign_in("clerk")
        case = await submit_and_accept(clerk)  # at the center
        supervisor = await anonymous.sign_in("supervisor")
        first = (await supervisor.data(FEED, {"first": 3}))["eventFeed"]
        assert [e["type"] for e in first["events"]] == [
            "room.status_changed",
            "guide.revision_published",
            "case.submitted",
        ]
        rest = (await supervisor.data(FEED, {"first": 3, "after": first["endCursor"]}))["eventFeed"]
        assert [e["type"] for e in rest["events"]] == ["case.accepted"]
        assert (
            rest["events"][0]["caseId"] == case["id"]
            and rest["events"][0]["payload"]["case"]["applicant"] == "钱**"
        )
        assert rest["events"][0]["organizationId"] == to_global_id("Organization", center.id)
        done = (await supervisor.data(FEED, {"first": 3, "after": rest["endCursor"]}))["eventFeed"]
        assert done == {"endCursor": rest["endCursor"], "events": []}
        cases = (await supervisor.data(FEED, {"first": 10, "types": ["case.*"]}))["eventFeed"]["events"]
        assert [e["type"] for e in cases] == ["case.submitted", "case.accepted"]
        hall_reader = KeyClient(anonymous.http, key)
        seen = (await hall_reader.data(FEED, {"first": 10}))["eventFeed"]["events"]
        assert [e["type"] for e in seen] == ["room.status_changed", "guide.revision_published"]
        assert (await clerk.error(FEED, {"first": 1}))["extensions"]["code"] == "FORBIDDEN"
        bad = await supervisor.error(FEED, {"first": 1, "after": "yesterday"})
        assert (bad["extensions"]["code"], bad["extensions"]["field"]) == ("VALIDATION_FAILED", "after")
        too_many = await supervisor.error(FEED, {"first": 5000})
        assert (too_many["extensions"]["code"], too_many["extensions"]["field"]) == (
            "VALIDATION_FAILED",
            "first",
        )
