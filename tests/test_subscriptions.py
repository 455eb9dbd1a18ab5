"""Subscriptions over a real WebSocket (graphql-transport-ws) to a real server: a case's accept
arrives within a second, through the caller's permissions (area, masking, audit); the connection is
closed when its session ends or its key is revoked; bad credentials and queries over the socket are
refused with codes; outboxEvents resumes after a cursor without a gap or a repeat."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
import uvicorn
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from api import db
from api.app import create_app
from api.auth import apikeys
from api.models.audit import AuditAction, AuditEntry
from api.models.user import ApiKey
from api.settings import Settings
from schema.generator.ids import from_global_id
from tests.conftest import DB_KIND, GraphQLClient
from tests.test_webhooks import ID_NUMBER, submit_and_accept

CASES = (
    "subscription($where: CaseWhere) { caseUpdated(where: $where) "
    "{ id number status version applicantIdNumber } }"
)
EVENTS = (
    "subscription($types: [String!], $after: String) { outboxEvents(types: $types, after: $after) "
    "{ id type cursor caseId payload } }"
)


@contextlib.asynccontextmanager
async def live_server(url: str, **overrides) -> AsyncIterator[tuple[str, GraphQLClient]]:
    """The app served by uvicorn on a loopback port, and an HTTP client of it."""
    off = {"rate_limit_per_minute": 0, "rate_limit_anonymous_per_minute": 0, "rate_limit_login_per_minute": 0}
    app = create_app(Settings(database_url=url, **{**off, **overrides}))
    listening = socket.socket()
    listening.bind(("127.0.0.1", 0))
    port = listening.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    task = asyncio.create_task(server.serve(sockets=[listening]))
    try:
        while not server.started:
            assert not task.done(), "the server did not start"
            await asyncio.sleep(0.02)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            yield f"ws://127.0.0.1:{port}/graphql", GraphQLClient(http)
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)


class Socket:
    """A graphql-transport-ws client connection."""

    def __init__(self, connection) -> None:
        self.connection = connection
        self.later: list[dict] = []  # messages of other operations, received while waiting

    async def next(self, id_: str, seconds: float = 5) -> dict:
        """The data of operation `id_`'s next result."""
        for message in self.later:
            if message["id"] == id_:
                self.later.remove(message)
                break
        else:
            while (message := await self.receive(seconds)).get("id") != id_:
                self.later.append(message)
        assert message["type"] == "next" and "errors" not in message["payload"], message
        return message["payload"]["data"]

    @classmethod
    @contextlib.asynccontextmanager
    async def open(cls, url: str, payload: dict | None = None, headers: dict | None = None):
        """Connected, connection_init sent with `payload`; `headers`: the handshake's."""
        protocols = ["graphql-transport-ws"]
        async with connect(url, subprotocols=protocols, additional_headers=headers or {}) as ws:
            await ws.send(json.dumps({"type": "connection_init", "payload": payload or {}}))
            yield cls(ws)

    async def acknowledged(self) -> None:
        assert (await self.receive())["type"] == "connection_ack"

    async def subscribe(self, id_: str, query: str, variables: dict | None = None) -> None:
        message = {"id": id_, "type": "subscribe", "payload": {"query": query, "variables": variables or {}}}
        await self.connection.send(json.dumps(message))

    async def receive(self, seconds: float = 5) -> dict:
        return json.loads(await asyncio.wait_for(self.connection.recv(), seconds))

    async def closed(self, seconds: float = 5) -> tuple[int, str]:
        """The code and reason the server closed the connection with."""
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                await self.receive(seconds)
        return closed.value.rcvd.code, closed.value.rcvd.reason


async def test_a_cases_accept_arrives_within_a_second_and_the_session_ending_closes_it(seeded_url):
    async with live_server(seeded_url) as (ws_url, anonymous):
        admin = await anonymous.sign_in("admin")
        clerk = await anonymous.sign_in("clerk")
        async with Socket.open(ws_url, {"Authorization": f"Bearer {admin.token}"}) as live:
            await live.acknowledged()
            await live.subscribe("accepted", CASES, {"where": {"status": {"eq": "ACCEPTED"}}})
            await live.subscribe("events", EVENTS, {"types": ["case.*"]})
            await asyncio.sleep(0.3)  # both subscribed
            case = await submit_and_accept(clerk)
            accepted_at = time.monotonic()
            seen: dict[str, list[dict]] = {"accepted": [], "events": []}
            while not seen["accepted"] or len(seen["events"]) < 2:
                message = await live.receive()
                assert message["type"] == "next", message
                seen[message["id"]].append(message["payload"]["data"])
                if message["id"] == "accepted" and len(seen["accepted"]) == 1:
                    latency = time.monotonic() - accepted_at
            assert latency < 1.0, f"the accept arrived {latency:.2f} s after it committed"
            got = seen["accepted"][0]["caseUpdated"]
            assert (got["id"], got["status"], got["version"]) == (case["id"], "ACCEPTED", 2)
            assert got["applicantIdNumber"] == ID_NUMBER  # the admin reads it in clear, audited:
            async with db.database(Settings(database_url=seeded_url)):
                audited = await AuditEntry.filter(
                    action=AuditAction.READ_PII,
                    object_type="Case",
                    object_id=from_global_id(case["id"], "Case"),
                ).values_list("actor_role", "detail")
            assert ("ADMIN", "applicant_id_number") in audited, audited
            events = [e["outboxEvents"] for e in seen["events"]]
            assert [e["type"] for e in events] == ["case.submitted", "case.accepted"]
            assert {e["caseId"] for e in events} == {case["id"]}
            assert ID_NUMBER not in json.dumps(events)

            signed_in = {"Authorization": f"Bearer {admin.token}"}
            response = await anonymous.http.post("/auth/logout", headers=signed_in)
            assert response.status_code == 204
            ended_at = time.monotonic()
            code, reason = await live.closed()
            assert (code, reason.split(":")[0]) == (4401, "UNAUTHENTICATED"), reason
            assert time.monotonic() - ended_at < 2.0

        # A supervisor's subscription masks the ID number, as its reads do.
        supervisor = await anonymous.sign_in("supervisor")
        async with Socket.open(ws_url, {"headers": {"Authorization": f"Bearer {supervisor.token}"}}) as live:
            await live.acknowledged()
            await live.subscribe("mine", CASES)
            await asyncio.sleep(0.3)
            case = await submit_and_accept(clerk, "孙小八")
            got = (await live.next("mine"))["caseUpdated"]
            assert got["id"] == case["id"] and got["applicantIdNumber"] != ID_NUMBER
            assert "*" in got["applicantIdNumber"]


async def test_keys_areas_refusals_and_resuming_after_a_cursor(seeded_url):
    async with db.database(Settings(database_url=seeded_url)):
        hall_key = (await apikeys.create("hall board", "QJL-H1")).key
        district_key = (await apikeys.create("district board", "QJL")).key
    async with live_server(seeded_url) as (ws_url, anonymous):
        clerk = await anonymous.sign_in("clerk")  # at the center: outside the hall's area
        for credential in ({"Authorization": "Bearer not-a-token"}, {}):  # a bad one, or none
            async with Socket.open(ws_url, credential) as refused:
                code, reason = await refused.closed()
                assert (code, reason.split(":")[0]) == (4401, "UNAUTHENTICATED"), reason
        async with (
            Socket.open(ws_url, {"X-API-Key": district_key}) as district,
            Socket.open(ws_url, headers={"X-API-Key": hall_key}) as hall,  # in the handshake's headers
        ):
            await district.acknowledged()
            await hall.acknowledged()
            before = await submit_and_accept(clerk, "吴小十")  # connected, not yet subscribed
            await district.subscribe("q", "{ __typename }")  # queries go over HTTP
            refusal = await district.receive()
            assert refusal["type"] == "error", refusal
            assert refusal["payload"][0]["extensions"]["code"] == "OPERATION_NOT_ALLOWED", refusal
            await district.subscribe("bad", EVENTS, {"types": ["case.nonsense"]})
            bad = await district.receive()
            assert bad["payload"]["errors"][0]["extensions"]["code"] == "VALIDATION_FAILED", bad
            await district.subscribe("all", EVENTS, {"types": ["case.*"]})
            await hall.subscribe("hall", EVENTS, {"types": ["*"]})
            await asyncio.sleep(0.3)
            first = await submit_and_accept(clerk)
            received = [(await district.next("all"))["outboxEvents"] for _ in range(2)]
            assert [e["type"] for e in received] == ["case.submitted", "case.accepted"]
            assert {e["caseId"] for e in received} == {first["id"]} != {before["id"]}  # none from before
            with pytest.raises(TimeoutError):  # the center's case is not the hall's
                await hall.receive(0.5)

            async with db.database(Settings(database_url=seeded_url)):
                if DB_KIND == "sqlite":  # as `sanji apikey revoke` in another process: no signal here
                    await ApiKey.filter(prefix=hall_key.split("_")[1]).update(revoked_at=datetime.now(UTC))
                else:  # the command's NOTIFY reaches every API process
                    await apikeys.revoke(hall_key.split("_")[1])
            code, reason = await hall.closed()
            assert (code, reason) == (4401, "UNAUTHENTICATED: API key is not valid")

            # Resuming after the first event: the second, then what comes next; none twice.
            second = await submit_and_accept(clerk, "孙小八")
            live_ones = [(await district.next("all"))["outboxEvents"] for _ in range(2)]
        async with Socket.open(ws_url, {"X-API-Key": district_key}) as again:
            await again.acknowledged()
            await again.subscribe("resume", EVENTS, {"types": ["case.*"], "after": received[0]["cursor"]})
            backlog = [(await again.next("resume"))["outboxEvents"] for _ in range(3)]
            assert [e["id"] for e in backlog] == [received[1]["id"], *(e["id"] for e in live_ones)]
            assert {e["caseId"] for e in live_ones} == {second["id"]} and first["id"] != second["id"]
            await asyncio.sleep(0.3)
            third = await submit_and_accept(clerk, "周小九")
            after = [(await again.next("resume"))["outboxEvents"] for _ in range(2)]
            assert [(e["type"], e["caseId"]) for e in after] == [
                ("case.submitted", third["id"]),
                ("case.accepted", third["id"]),
            ]


@pytest.mark.skipif(DB_KIND != "postgres", reason="LISTEN is PostgreSQL's")
async def test_a_hub_that_cannot_listen_reads_on_by_itself(seeded_url):
    """A LISTEN connection that cannot be made (a port nothing answers on) leaves the hub reading
    the outbox on its own: events still arrive within a second."""
    async with live_server(seeded_url, database_listen_url="postgres://postgres@127.0.0.1:9/test") as (
        ws_url,
        anonymous,
    ):
        clerk, admin = await anonymous.sign_in("clerk"), await anonymous.sign_in("admin")
        async with Socket.open(ws_url, {"Authorization": f"Bearer {admin.token}"}) as live:
            await live.acknowledged()
            await live.subscribe("mine", EVENTS, {"types": ["case.accepted"]})
            await asyncio.sleep(0.3)
            case = await submit_and_accept(clerk)
            accepted_at = time.monotonic()
            assert (await live.next("mine"))["outboxEvents"]["caseId"] == case["id"]
            assert time.monotonic() - accepted_at < 1.0
