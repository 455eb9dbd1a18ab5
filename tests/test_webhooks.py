"""Webhooks, against a real receiver on a loopback port: registration and its rules (area, scopes,
SSRF), signatures a Standard Webhooks receiver verifies, at-least-once delivery through a receiver's
outage and a worker's death, no event sent twice at once by two workers, order per case with one
failing case holding up no other, and an endpoint that keeps failing disabled."""

from __future__ import annotations

import asyncio
import ipaddress
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks.webhooks import Webhook
from tortoise.transactions import in_transaction

from api import db
from api.auth import apikeys
from api.models.case import Case
from api.models.org import Organization, Tier
from api.models.user import User
from api.models.webhook import DeliveryState, WebhookDelivery, WebhookEndpoint
from api.services import destinations, outbox, webhooks
from api.settings import Env, Settings
from schema.generator.ids import from_global_id, to_global_id
from tests.conftest import DB_KIND, GraphQLClient, serving
from tests.receiver import Receiver

ID_NUMBER = "11010519491231002X"
# What depends on the database (claims, leases, fan-out, order, two workers) runs on both; what
# does not (URL rules, signing, timeouts, the command line's wording) runs once, with SQLite's suite.
once = pytest.mark.skipif(
    DB_KIND == "postgres", reason="the same on both databases: runs with SQLite's suite"
)
REGISTER = (
    "mutation($input: CreateWebhookInput!) { createWebhook(input: $input) { secret "
    "webhook { id name url eventTypes active organization { code } } } }"
)


class KeyClient(GraphQLClient):
    """A client calling with an API key."""

    def __init__(self, http, key: str) -> None:
        super().__init__(http)
        self.key = key

    async def __call__(self, query: str, variables: dict | None = None, token: str | None = None) -> dict:
        response = await self.http.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers={"X-API-Key": self.key}
        )
        assert response.status_code == 200, response.text
        return response.json()


def fast(url: str, **overrides) -> Settings:
    """Settings for a worker in a test: retries after 50 ms, a lease of three seconds."""
    values = {
        "webhook_retry_base_seconds": 0.05,
        "webhook_lease_seconds": 3.0,
        "webhook_timeout_seconds": 2.0,
    }
    return Settings(database_url=url, **{**values, **overrides})


async def pump(worker: webhooks.Worker, done: Callable[[], Awaitable[bool] | bool], seconds: float = 15):
    """Run the worker's steps until `done()` holds; fail after `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        await worker.step()
        await worker.drain()
        found = done()
        if isinstance(found, Awaitable):
            found = await found
        if found:
            return
        assert time.monotonic() < deadline, "the worker did not get there in time"
        await asyncio.sleep(0.02)


async def register(client, url: str, types=("*",), organization: str | None = None) -> dict:
    given = {"name": "一网通办平台", "url": url, "eventTypes": list(types)}
    if organization is not None:
        given["organizationId"] = organization
    return (await client.data(REGISTER, {"input": given}))["createWebhook"]


async def organization_id(client, code: str) -> str:
    found = await client.data(f'{{ organizations(where: {{code: {{eq: "{code}"}}}}) {{ nodes {{ id }} }} }}')
    return found["organizations"]["nodes"][0]["id"]


async def submit_and_accept(clerk, name: str = "钱小七") -> dict:
    item = (await clerk.data('{ items(where: {code: {eq: "XK-005"}}) { nodes { id } } }'))["items"]
    submitted = await clerk.data(
        f'mutation {{ submitCase(input: {{itemId: "{item["nodes"][0]["id"]}", applicantType: PERSON, '
        f'applicantName: "{name}", applicantIdNumber: "{ID_NUMBER}", applicantPhone: "13800138000"}}) '
        "{ case { id number } } }"
    )
    case = submitted["submitCase"]["case"]
    await clerk.data(f'mutation {{ acceptCase(id: "{case["id"]}", version: 1) {{ id }} }}')
    return case


async def test_signed_deliveries_of_an_area_reach_a_real_receiver(seeded_url):
    """Signatures verify with the secret (and, after a rotation, with the old one too); a refused
    step sends nothing; the payload has no clear ID number; an endpoint receives its area's events
    and the catalogue's, never another area's or another district's."""
    receiver, hall_receiver = Receiver().start(), Receiver().start()
    try:
        async with serving(seeded_url) as anonymous:
            admin = await anonymous.sign_in("admin")
            district = await register(admin, receiver.url)
            assert district["webhook"]["organization"]["code"] == "QJL" and district["secret"].startswith(
                "whsec_"
            )
            hall = await register(
                admin,
                hall_receiver.url,
                ("case.*", "room.*", "guide.*"),
                await organization_id(admin, "QJL-H1"),
            )
            listed = await admin.data("{ webhooks { nodes { name active eventTypes } } }")
            assert len(listed["webhooks"]["nodes"]) == 2
            secret_asked = await admin.error("{ webhooks { nodes { secret } } }")
            assert secret_asked["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"  # shown once, never read

            clerk = await anonymous.sign_in("clerk")  # at the center: outside the hall's area
            case = await submit_and_accept(clerk)
            refused = await clerk.error(
                f'mutation {{ deliverCase(id: "{case["id"]}", version: 2) {{ id }} }}'
            )
            assert refused["extensions"]["code"] == "INVALID_TRANSITION"
            supervisor = await anonymous.sign_in("supervisor")
            room = await organization_id(admin, "QJL-H1-R01")
            await supervisor.data(
                "mutation($id: ID!, $input: UpdateOrganizationInput!) { "
                "updateOrganization(id: $id, input: $input) { id } }",
                {"id": room, "input": {"constructionStatus": "PLANNED"}},
            )
        async with db.database(fast(seeded_url)):
            other = await Organization.create(code="ZZ", name="另一管理区", tier=Tier.REGION, kind="DISTRICT")
            async with in_transaction():
                await outbox.emit(
                    "room.status_changed", organization_id=other.id, occurred_at=datetime.now(UTC), payload={}
                )
            worker = webhooks.Worker(fast(seeded_url))
            try:
                await pump(worker, lambda: len(receiver.received) >= 3 and len(hall_receiver.received) >= 1)
                await asyncio.sleep(0.1)
                await worker.step()
                await worker.drain()
            finally:
                await worker.close()
    finally:
        receiver.stop()
        hall_receiver.stop()
    types = [r.json["type"] for r in receiver.received]  # in order per case; the room's apart
    assert sorted(types) == ["case.accepted", "case.submitted", "room.status_changed"]
    assert types.index("case.submitted") < types.index("case.accepted")
    assert [r.json["type"] for r in hall_receiver.received] == ["room.status_changed"]
    verifier = Webhook(district["secret"])
    for got in receiver.received:
        envelope = verifier.verify(got.body, got.headers)  # raises unless signed with the secret
        assert got.headers["webhook-id"] == envelope["id"] and envelope["organization"]
        assert ID_NUMBER not in got.body and "13800138000" not in got.body
    accepted = receiver.of_type("case.accepted")[0].json
    assert accepted["data"]["case"]["id"] == case["id"] and accepted["data"]["case"]["applicant"] == "钱**"
    with pytest.raises(Exception, match="signature"):
        Webhook(hall["secret"]).verify(receiver.received[0].body, receiver.received[0].headers)


@once
async def test_a_rotated_secret_signs_beside_the_old_one(seeded_url):
    receiver = Receiver().start()
    try:
        async with serving(seeded_url) as anonymous:
            admin = await anonymous.sign_in("admin")
            made = await register(admin, receiver.url, ("case.*",))
            rotated = await admin.data(
                f'mutation {{ rotateWebhookSecret(id: "{made["webhook"]["id"]}", keepOldHours: 1) '
                "{ secret webhook { previousSecretUntil } } }"
            )
            new = rotated["rotateWebhookSecret"]["secret"]
            assert new != made["secret"] and rotated["rotateWebhookSecret"]["webhook"]["previousSecretUntil"]
            await submit_and_accept(await anonymous.sign_in("clerk"))
        async with db.database(fast(seeded_url)):
            worker = webhooks.Worker(fast(seeded_url))
            try:
                await pump(worker, lambda: len(receiver.received) >= 2)
            finally:
                await worker.close()
    finally:
        receiver.stop()
    got = receiver.received[0]
    assert len(got.headers["webhook-signature"].split()) == 2
    for secret in (made["secret"], new):
        Webhook(secret).verify(got.body, got.headers)


async def test_who_may_register_and_for_which_area(seeded_url):
    async with db.database(Settings(database_url=seeded_url)):
        scoped = await apikeys.create("one-network", "QJL-H1", scopes=["read:*", "write:webhooks"])
        reader = await apikeys.create("reader", "QJL", scopes=["read:*"])
    async with serving(seeded_url) as anonymous:

        async def with_key(key: str, variables: dict) -> dict:
            response = await anonymous.http.post(
                "/graphql", json={"query": REGISTER, "variables": variables}, headers={"X-API-Key": key}
            )
            return response.json()

        admin = await anonymous.sign_in("admin")
        center = await organization_id(admin, "QJL-ZWFW")
        hall = {"name": "hall", "url": "http://127.0.0.1:9/hooks", "eventTypes": ["case.*"]}
        made = await with_key(scoped.key, {"input": hall})
        assert made["data"]["createWebhook"]["webhook"]["organization"]["code"] == "QJL-H1"  # the key's own
        wider = await with_key(scoped.key, {"input": {**hall, "organizationId": center}})
        assert wider["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        assert wider["errors"][0]["extensions"]["field"] == "organizationId"
        no_scope = await with_key(reader.key, {"input": hall})
        assert no_scope["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        assert "write:webhooks" in no_scope["errors"][0]["message"]
        clerk = await anonymous.sign_in("hall_clerk")
        assert (await clerk.error(REGISTER, {"input": hall}))["extensions"]["code"] == "FORBIDDEN"
        assert (await anonymous.error(REGISTER, {"input": hall}))["extensions"]["code"] == "UNAUTHENTICATED"
        for bad, field in (
            ({"eventTypes": ["case.opened"]}, "eventTypes"),
            ({"eventTypes": []}, "eventTypes"),
            ({"url": "ftp://example.org/x"}, "url"),
            ({"url": "https://user:pw@example.org/x"}, "url"),
            ({"name": " "}, "name"),
            ({"url": "http://exa\tmple.org/x"}, "url"),  # urlsplit drops the tab; httpx refuses it
            ({"url": "http://example.org/a b"}, "url"),
            ({"url": "http://10.1/x"}, "url"),  # not as an IPv4 address is written: the client refuses it
        ):
            error = await admin.error(REGISTER, {"input": {**hall, **bad}})
            assert (error["extensions"]["code"], error["extensions"]["field"]) == (
                "VALIDATION_FAILED",
                field,
            ), bad
        # the key's webhook is outside the hall clerk's reach, inside the admin's
        webhook_id = made["data"]["createWebhook"]["webhook"]["id"]
        disabled = await admin.data(
            f'mutation {{ disableWebhook(id: "{webhook_id}", reason: "维护") {{ active disabledReason }} }}'
        )
        assert disabled["disableWebhook"] == {"active": False, "disabledReason": "维护"}
        again = await admin.error(f'mutation {{ disableWebhook(id: "{webhook_id}") {{ active }} }}')
        assert again["extensions"]["code"] == "INVALID_TRANSITION"
        supervisor = await anonymous.sign_in("supervisor")
        assert (await supervisor.error(f'mutation {{ enableWebhook(id: "{webhook_id}") {{ active }} }}'))[
            "extensions"
        ]["code"] == "FORBIDDEN"
        audited = await admin.data(
            '{ auditEntries(where: {objectType: {eq: "Webhook"}}) { nodes { action after } } }'
        )
        entries = audited["auditEntries"]["nodes"]
        assert [e["action"] for e in entries] == ["CREATE", "UPDATE"]
        assert "whsec_" not in str(entries)


@once
async def test_production_refuses_loopback_and_metadata_and_admits_allow_listed_networks(seeded_url):
    production = {
        "env": Env.PRODUCTION,
        "secret_key": "p" * 40,
        "webhook_allowed_networks": ("10.20.0.0/16",),
    }
    async with db.database(Settings(database_url=seeded_url)):
        await User.all().delete()  # production refuses to run with the demo users
        key = (await apikeys.create("one-network", "QJL", scopes=["read:*", "write:webhooks"])).key
    async with serving(seeded_url, **production) as anonymous:
        admin = KeyClient(anonymous.http, key)
        for url in (
            "http://127.0.0.1:8080/hooks",
            "https://[::1]/hooks",
            "http://169.254.169.254/latest/meta-data",
            "http://100.100.100.200/latest/meta-data",
            "https://[::ffff:127.0.0.1]/hooks",
            "https://10.30.1.5/hooks",  # private, not listed
            "https://192.168.1.10/hooks",
            "http://203.0.113.9/hooks",  # public: https only
            "https://localhost/hooks",
        ):
            error = await admin.error(REGISTER, {"input": {"name": "x", "url": url, "eventTypes": ["*"]}})
            assert (error["extensions"]["code"], error["extensions"]["field"]) == (
                "WEBHOOK_URL_REFUSED",
                "url",
            ), url
        accepted = await register(admin, "http://10.20.3.4:8443/sanji", ("case.*",))
        assert accepted["webhook"]["url"] == "http://10.20.3.4:8443/sanji"
    allow = Settings(env=Env.PRODUCTION, webhook_allowed_networks=("127.0.0.0/8", "169.254.0.0/16"))
    for url in (
        "http://127.0.0.1/x",  # never, even when listed
        "http://169.254.169.254/x",
        "https://[2002:a9fe:a9fe::]/x",  # 6to4 carrying 169.254.169.254
        "https://[64:ff9b::7f00:1]/x",  # NAT64 carrying 127.0.0.1
        "https://[fec0::1]/x",  # site-local: not global
    ):
        with pytest.raises(Exception) as refused:
            await destinations.check(url, allow)
        assert refused.value.code == "WEBHOOK_URL_REFUSED"


async def test_a_receiver_down_for_a_while_gets_every_event_after_it_returns(seeded_url):
    receiver = Receiver().start()
    try:
        async with serving(seeded_url) as anonymous:
            admin = await anonymous.sign_in("admin")
            await register(admin, receiver.url, ("case.*",))
            receiver.stop()  # down: connections refused
            await submit_and_accept(await anonymous.sign_in("clerk"))
        async with db.database(fast(seeded_url)):
            worker = webhooks.Worker(fast(seeded_url))
            try:

                async def failed_twice() -> bool:
                    return await WebhookDelivery.filter(attempts__gte=2).exists()

                await pump(worker, failed_twice)
                first = await WebhookDelivery.all().order_by("id").first()
                assert (
                    first.state == DeliveryState.PENDING
                    and "cannot connect to 127.0.0.1" in first.last_error
                    and "Connection refused" in first.last_error
                )
                second = await WebhookDelivery.all().order_by("-id").first()
                assert second.attempts == 0  # held behind the case's first event
                receiver.start()  # back, on the same port
                await pump(worker, lambda: len(receiver.received) >= 2)
                rows = await WebhookDelivery.all().order_by("id")
            finally:
                await worker.close()
    finally:
        receiver.stop()
    assert [r.json["type"] for r in receiver.received] == ["case.submitted", "case.accepted"]
    assert [row.state for row in rows] == [DeliveryState.DELIVERED] * 2
    assert rows[0].attempts >= 3 and rows[0].last_status == 200 and rows[0].last_error == ""


async def test_a_worker_killed_mid_delivery_is_replaced_and_the_event_sent_again_with_its_id(seeded_url):
    receiver = Receiver(delay=0.5).start()
    try:
        async with serving(seeded_url) as anonymous:
            await register(await anonymous.sign_in("admin"), receiver.url, ("case.submitted",))
            await submit_and_accept(await anonymous.sign_in("clerk"))
        async with db.database(fast(seeded_url)):
            dying = webhooks.Worker(fast(seeded_url))
            await dying.step()
            assert len(dying.tasks) == 1
            while not receiver.in_flight.total():  # the request is at the receiver
                await asyncio.sleep(0.01)
            for task in dying.tasks:
                task.cancel()  # killed: nothing recorded, the lease stays
            await asyncio.gather(*dying.tasks, return_exceptions=True)
            claimed = await WebhookDelivery.get()
            assert claimed.state == DeliveryState.PENDING and claimed.attempts == 1
            worker = webhooks.Worker(fast(seeded_url))
            try:
                await worker.step()
                assert not worker.tasks  # the lease holds it for the dead worker a while
                await pump(worker, lambda: len(receiver.received) >= 2)
                delivered = await WebhookDelivery.get()
            finally:
                await worker.close()
                await dying.sender.close()
    finally:
        receiver.stop()
    first, again = receiver.received
    assert first.headers["webhook-id"] == again.headers["webhook-id"] == f"evt_{delivered.event_id}"
    assert delivered.state == DeliveryState.DELIVERED and delivered.attempts == 2


async def _events_for_cases(count: int, per_case: int) -> list[int]:
    """`per_case` events for each of `count` cases of the fixture, each in its own transaction."""
    cases = await Case.all().order_by("id").limit(count)
    for step in range(per_case):
        for case in cases:
            async with in_transaction():
                await outbox.emit(
                    "case.resumed",
                    organization_id=case.handling_organization_id,
                    occurred_at=datetime.now(UTC),
                    payload={"case": {"id": to_global_id("Case", case.id), "version": step + 1}},
                    case_id=case.id,
                )
    return [case.id for case in cases]


async def test_two_workers_never_send_one_event_twice_at_once_and_keep_each_cases_order(seeded_url):
    receiver = Receiver(delay=0.01).start()
    try:
        async with serving(seeded_url) as anonymous:
            await register(await anonymous.sign_in("admin"), receiver.url, ("case.*",))
        async with db.database(fast(seeded_url)):
            await _events_for_cases(20, 3)
            stop = asyncio.Event()
            workers = [webhooks.Worker(fast(seeded_url), in_flight=8, poll_seconds=0.01) for _ in range(2)]
            running = [asyncio.create_task(w.run(stop)) for w in workers]
            deadline = time.monotonic() + 30
            while len(receiver.received) < 60 and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.3)
            stop.set()
            await asyncio.gather(*running)
            for worker in workers:
                await worker.close()
            states = await WebhookDelivery.all().values_list("state", flat=True)
    finally:
        receiver.stop()
    ids = [r.headers["webhook-id"] for r in receiver.received]
    assert len(ids) == 60 and len(set(ids)) == 60, "every event once"
    assert receiver.overlapped == []
    assert set(states) == {DeliveryState.DELIVERED}
    versions: dict[str, list[int]] = {}
    for got in receiver.received:
        case = got.json["data"]["case"]
        versions.setdefault(case["id"], []).append(case["version"])
    assert all(seen == [1, 2, 3] for seen in versions.values()), versions


async def test_one_failing_case_holds_up_no_other_and_an_endpoint_that_keeps_failing_is_disabled(seeded_url):
    receiver = Receiver().start()
    async with db.database(fast(seeded_url)):
        first = await Case.all().order_by("id").first()
    failing = to_global_id("Case", first.id)
    receiver.answer = lambda got: 500 if got.json["data"]["case"]["id"] == failing else 204
    try:
        async with serving(seeded_url) as anonymous:
            admin = await anonymous.sign_in("admin")
            made = await register(admin, receiver.url, ("case.*",))
        settings = fast(seeded_url, webhook_disable_after_hours=0.0005)  # 1.8 s
        async with db.database(settings):
            await _events_for_cases(3, 2)
            worker = webhooks.Worker(settings)
            try:
                await pump(worker, lambda: len(receiver.received) >= 5)
                others = [r for r in receiver.received if r.json["data"]["case"]["id"] != failing]
                assert len(others) == 4  # both events of the two other cases, while the first fails
                held = await WebhookDelivery.filter(ordering_key=f"case:{first.id}").order_by("id")
                assert held[0].last_status == 500 and held[1].attempts == 0

                async def disabled() -> bool:
                    return not (await WebhookEndpoint.get()).active

                await pump(worker, disabled, seconds=30)
                endpoint = await WebhookEndpoint.get()
                assert "HTTP 500" in endpoint.disabled_reason and endpoint.failure_streak >= 5
                tried = len(receiver.received)
                await _events_for_cases(1, 1)
                await worker.step()
                await worker.drain()
                assert len(receiver.received) == tried  # disabled: no attempts
                assert await WebhookDelivery.all().count() == 6  # and no new deliveries
            finally:
                await worker.close()
        async with serving(seeded_url) as anonymous:
            admin = await anonymous.sign_in("admin")
            listed = await admin.data(
                "{ webhookDeliveries(where: {state: {eq: PENDING}}) "
                "{ nodes { id attempts lastStatus lastError webhookId } } }"
            )
            pending = listed["webhookDeliveries"]["nodes"]
            assert pending[0]["lastStatus"] == 500 and pending[0]["webhookId"].startswith("evt_")
            enabled = await admin.data(
                f'mutation {{ enableWebhook(id: "{made["webhook"]["id"]}") '
                "{ active failureStreak disabledAt } }"
            )
            assert enabled["enableWebhook"] == {"active": True, "failureStreak": 0, "disabledAt": None}
            delivered = await admin.data(
                "{ webhookDeliveries(where: {state: {eq: DELIVERED}}) { nodes { id } } }"
            )
            again = delivered["webhookDeliveries"]["nodes"][0]["id"]
            redelivered = await admin.data(
                f'mutation {{ redeliverWebhookDeliveries(ids: ["{again}"]) {{ state }} }}'
            )
            assert redelivered["redeliverWebhookDeliveries"] == [{"state": "PENDING"}]
            twice = await admin.error(
                f'mutation {{ redeliverWebhookDeliveries(ids: ["{again}"]) {{ state }} }}'
            )
            assert twice["extensions"]["code"] == "INVALID_TRANSITION"
    finally:
        receiver.stop()


async def test_retries_give_up_after_the_window_and_the_next_event_of_the_case_goes_on(seeded_url):
    receiver = Receiver().start()
    receiver.answer = lambda got: 503 if got.json["data"]["case"]["version"] == 1 else 200
    try:
        async with serving(seeded_url) as anonymous:
            await register(await anonymous.sign_in("admin"), receiver.url, ("case.*",))
        settings = fast(seeded_url, webhook_retry_hours=0.0001)  # 0.36 s
        async with db.database(settings):
            [case_id] = await _events_for_cases(1, 2)
            worker = webhooks.Worker(settings)
            try:
                await pump(
                    worker, lambda: any(r.json["data"]["case"]["version"] == 2 for r in receiver.received)
                )
            finally:
                await worker.close()
            rows = await WebhookDelivery.filter(ordering_key=f"case:{case_id}").order_by("id")
    finally:
        receiver.stop()
    assert [row.state for row in rows] == [DeliveryState.FAILED, DeliveryState.DELIVERED]
    assert rows[0].last_error == "HTTP 503" and rows[0].attempts >= 2


def test_backoff_doubles_with_jitter_up_to_an_hour():
    settings = Settings(webhook_retry_base_seconds=5)
    for attempts, middle in ((1, 5), (2, 10), (5, 80), (20, 3600), (5000, 3600)):
        for _ in range(20):
            assert middle * 0.8 <= webhooks.retry_delay(attempts, settings) <= middle * 1.2


def test_event_type_patterns():
    assert webhooks.matches("case.* rating.created", "case.accepted")
    assert not webhooks.matches("case.*", "rating.created")
    assert webhooks.matches("*", "guide.revision_published")
    assert webhooks.event_patterns(["case.*, rating.created", "case.*"]) == "case.* rating.created"


async def test_an_event_written_before_the_webhook_is_not_sent(seeded_url):
    receiver = Receiver().start()
    try:
        async with serving(seeded_url) as anonymous:
            clerk = await anonymous.sign_in("clerk")
            await submit_and_accept(clerk)
            await register(await anonymous.sign_in("admin"), receiver.url)
            await submit_and_accept(clerk, "李四")
        async with db.database(fast(seeded_url)):
            worker = webhooks.Worker(fast(seeded_url))
            try:
                await pump(worker, lambda: len(receiver.received) >= 2)
                await worker.step()
                await worker.drain()
            finally:
                await worker.close()
            assert await WebhookDelivery.all().count() == 2
    finally:
        receiver.stop()
    assert [r.json["data"]["case"]["applicant"] for r in receiver.received] == ["李*", "李*"]
    assert from_global_id(receiver.received[0].json["organization"], "Organization")


@once
async def test_the_command_line_registers_lists_disables_and_a_worker_process_delivers(seeded_url):
    """`sanji webhook ...` and `sanji worker` as an operator runs them: a worker process killed
    (SIGKILL) mid-delivery is replaced by another, which sends the event again with its id."""
    from tests.test_cli import one_error_line, sanji

    receiver = Receiver(delay=1.5).start()
    try:
        made = await sanji(
            seeded_url,
            "webhook",
            "create",
            "市一网通办",
            receiver.url,
            "--organization",
            "QJL",
            "--events",
            "case.submitted",
        )
        assert made.exit_code == 0, made.output
        secret = made.output.splitlines()[-1]
        assert secret.startswith("whsec_")
        endpoint_id = made.output.split()[2]
        refused = await sanji(
            seeded_url,
            "webhook",
            "create",
            "x",
            receiver.url,
            "--organization",
            "QJL",
            "--events",
            "case.opened",
        )
        assert "[VALIDATION_FAILED]" in one_error_line(refused)
        async with serving(seeded_url) as anonymous:
            await submit_and_accept(await anonymous.sign_in("clerk"))
        env = {
            **os.environ,
            "SANJI_DATABASE_URL": seeded_url,
            "SANJI_WEBHOOK_LEASE_SECONDS": "4",
            "SANJI_WEBHOOK_TIMEOUT_SECONDS": "3",
        }
        command = [sys.executable, "-m", "api.cli", "worker", "--poll", "0.05"]
        first = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 30
            while not receiver.in_flight.total() and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            assert receiver.in_flight.total(), "the first worker sent nothing"
        finally:
            first.kill()  # mid-delivery: its lease stays until it runs out
            first.wait()
        listed = await sanji(seeded_url, "webhook", "list")
        assert "pending 1" in listed.output and "市一网通办" in listed.output
        second = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 30  # after the first worker's lease has run out
            while len(receiver.received) < 2 and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
        finally:
            second.send_signal(signal.SIGTERM)
            output = second.communicate(timeout=30)[0].decode()
        assert second.returncode == 0 and "webhook worker stopped" in output, output
        async with db.database(Settings(database_url=seeded_url)):  # settled long ago, and just now
            await WebhookDelivery.create(
                endpoint_id=int(endpoint_id),
                event_id=(await WebhookDelivery.get()).event_id + 1,
                event_type="case.accepted",
                ordering_key="case:0",
                state=DeliveryState.DELIVERED,
                next_attempt_at=datetime.now(UTC) - timedelta(days=40),
                created_at=datetime.now(UTC) - timedelta(days=40),
                delivered_at=datetime.now(UTC) - timedelta(days=40),
            )
        pruned = await sanji(seeded_url, "webhook", "prune", "--older-than-days", "30")
        assert "deleted 1 deliveries" in pruned.output, pruned.output
        async with db.database(Settings(database_url=seeded_url)):
            assert await WebhookDelivery.all().count() == 1  # the recent one is kept
        disabled = await sanji(seeded_url, "webhook", "disable", endpoint_id, "--reason", "对方系统维护")
        assert disabled.exit_code == 0, disabled.output
        listed = await sanji(seeded_url, "webhook", "list")
        assert "disabled (对方系统维护)" in listed.output and "pending 0" in listed.output
    finally:
        receiver.stop()
    first_try, again = receiver.received[:2]
    assert first_try.headers["webhook-id"] == again.headers["webhook-id"]
    Webhook(secret).verify(again.body, again.headers)


@once
async def test_in_production_the_addresses_connected_to_are_checked_and_the_name_kept(
    seeded_url, monkeypatch
):
    """The worker's resolver checks what a name resolves to when it connects: a name that resolved
    to an allowed address at registration and to a refused one later is not sent to. The name is
    kept in the Host header. (The receiver listens on loopback; its address stands for an allowed
    one here, so loopback's own refusal is set aside.)"""
    receiver = Receiver().start()
    production = fast(
        seeded_url, env=Env.PRODUCTION, secret_key="p" * 40, webhook_allowed_networks=("127.0.0.0/8",)
    )
    name = "hooks.example.gov.cn"
    points_to = {"address": "127.0.0.1"}

    async def resolve(host: str, port: int):  # the registration's lookup: an allowed address
        return (ipaddress.ip_address("127.0.0.1" if host == name else host),)

    async def resolver_lookup(self, host: str, port: int = 0, family: int = 0):  # aiohttp's, later
        address = points_to["address"] if host == name else host
        return [{"hostname": host, "host": address, "port": port, "family": 2, "proto": 6, "flags": 0}]

    monkeypatch.setattr(destinations, "resolve", resolve)
    monkeypatch.setattr(destinations.ThreadedResolver, "resolve", resolver_lookup)
    monkeypatch.setattr(destinations, "always_refused", lambda found: "")
    url = f"http://{name}:{receiver.port}/x"
    try:
        async with serving(seeded_url) as anonymous:
            await register(await anonymous.sign_in("admin"), url, ("case.*",))
            await submit_and_accept(await anonymous.sign_in("clerk"))
        async with db.database(production):
            worker = webhooks.Worker(production)
            try:
                await pump(worker, lambda: len(receiver.received) >= 1)
                for address, refusal in (("10.9.9.9", "private address"), ("8.8.8.8", "use https")):
                    points_to["address"] = address  # rebound: to a private network not allowed, then
                    await worker.sender.close()  # to a public one over plain http
                    worker.sender = webhooks.Sender(production, 4)  # no kept connection, no cached lookup

                    async def refused(refusal=refusal) -> bool:
                        return await WebhookDelivery.filter(last_error__contains=refusal).exists()

                    await pump(worker, refused)
            finally:
                await worker.close()
    finally:
        receiver.stop()
    assert [got.headers["host"] for got in receiver.received] == [f"{name}:{receiver.port}"]


@once
async def test_an_attempt_is_bounded_by_its_timeout_as_a_whole(seeded_url):
    """A receiver that answers slowly, a little at a time, is cut off at the timeout."""
    import socket
    import threading

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]

    def trickle() -> None:
        connection, _ = listener.accept()
        connection.recv(65536)
        for char in b"HTTP/1.1 200 OK\r\n":
            try:
                connection.send(bytes([char]))
            except OSError:
                return
            time.sleep(0.3)

    threading.Thread(target=trickle, daemon=True).start()
    settings = fast(seeded_url, webhook_timeout_seconds=1.0)
    claimed = webhooks.Claimed(
        1,
        {
            "id": 1,
            "url": f"http://127.0.0.1:{port}/x",
            "secret": webhooks.new_secret(),
            "previous_secret": None,
            "previous_secret_until": None,
        },
        {
            "id": 1,
            "type": "case.accepted",
            "organization_id": None,
            "occurred_at": datetime.now(UTC),
            "payload": {},
        },
        1,
        datetime.now(UTC),
        datetime.now(UTC) + timedelta(seconds=3),
    )
    sender = webhooks.Sender(settings, 1)
    started = time.monotonic()
    try:
        outcome = await webhooks.send(sender, claimed, settings)
    finally:
        await sender.close()
        listener.close()
    assert time.monotonic() - started < 2.5
    assert not outcome.ok and outcome.error == "no answer within 1 s"


async def test_a_clear_webhook_gets_the_applicant_in_clear_and_each_delivery_is_audited(seeded_url):
    """Only a role that reads personal data in clear registers a clear webhook; its case events
    carry the applicant's name, ID number and phone, and every attempt that carried them is in the
    audit log; an integrator's key is refused one, and a masked webhook beside it gets none."""
    clear_receiver, masked_receiver = Receiver().start(), Receiver().start()
    async with db.database(Settings(database_url=seeded_url)):
        key = (await apikeys.create("one-network", "QJL", scopes=["read:*", "write:webhooks"])).key
    try:
        async with serving(seeded_url) as anonymous:
            admin = await anonymous.sign_in("admin")
            given = {
                "name": "市场监管",
                "url": clear_receiver.url,
                "eventTypes": ["case.*"],
                "clearPersonalData": True,
            }
            made = (await admin.data(REGISTER, {"input": given}))["createWebhook"]
            await register(admin, masked_receiver.url, ("case.*",))
            refused = await KeyClient(anonymous.http, key).error(
                REGISTER, {"input": {**given, "url": masked_receiver.url}}
            )
            assert (refused["extensions"]["code"], refused["extensions"]["field"]) == (
                "FORBIDDEN",
                "clearPersonalData",
            )
            case = await submit_and_accept(await anonymous.sign_in("clerk"))
        async with db.database(fast(seeded_url)):
            worker = webhooks.Worker(fast(seeded_url))
            try:
                await pump(
                    worker, lambda: len(clear_receiver.received) >= 2 and len(masked_receiver.received) >= 2
                )
            finally:
                await worker.close()
        async with serving(seeded_url) as anonymous:
            admin = await anonymous.sign_in("admin")
            audited = await admin.data(
                '{ auditEntries(where: {action: {eq: READ_PII}, objectType: {eq: "Case"}}) '
                "{ nodes { objectId actorName detail } } }"
            )
            tried = await admin.data(
                f'{{ webhook: node(id: "{made["webhook"]["id"]}") {{ ... on Webhook {{ '
                "deliveries { nodes { attempts } } } } }"
            )
            attempts = sum(d["attempts"] for d in tried["webhook"]["deliveries"]["nodes"])
            disabled = f'mutation {{ disableWebhook(id: "{made["webhook"]["id"]}") {{ active }} }}'
            await admin.data(disabled)
            enable = f'mutation {{ enableWebhook(id: "{made["webhook"]["id"]}") {{ active }} }}'
            refused = await KeyClient(anonymous.http, key).error(enable)  # an integrator: masked only
            assert (refused["extensions"]["code"], refused["extensions"]["field"]) == ("FORBIDDEN", "id")
    finally:
        clear_receiver.stop()
        masked_receiver.stop()
    for got in clear_receiver.received:
        assert got.json["data"]["applicant"] == {
            "name": "钱小七",
            "idNumber": ID_NUMBER,
            "phone": "13800138000",
        }
        Webhook(made["secret"]).verify(got.body, got.headers)
    for got in masked_receiver.received:
        assert ID_NUMBER not in got.body and "钱小七" not in got.body and "applicant" not in got.json["data"]
    entries = audited["auditEntries"]["nodes"]
    webhook_pk = from_global_id(made["webhook"]["id"], "Webhook")
    sent = [e for e in entries if f"webhook {webhook_pk} " in e["detail"]]
    assert len(sent) == attempts >= 2  # one entry per attempt that carried the data
    assert {e["objectId"] for e in sent} == {from_global_id(case["id"], "Case")}
    assert all(e["actorName"] == "sanji-worker" and "applicantIdNumber" in e["detail"] for e in sent)
