"""Persisted queries: registered by administrators and keys with write:queries, checked against
the schema and the query limits when registered, run by the SHA-256 of their text in Apollo's
extension shape; SANJI_PERSISTED_ONLY=keys refuses a key's ad-hoc query with a code; a schema change
flags the registered operations that no longer fit, which are then refused, not run."""

from __future__ import annotations

import asyncio
import hashlib
import json
from datetime import UTC, datetime

from api import db
from api.auth import apikeys
from api.models.org import Organization
from api.models.query import OperationKind, PersistedQuery
from api.settings import Settings
from tests.conftest import serving
from tests.test_cli import one_error_line, sanji
from tests.test_subscriptions import EVENTS, Socket, live_server
from tests.test_webhooks import KeyClient, submit_and_accept

REGISTER = (
    "mutation($document: String!) { registerPersistedQuery(document: $document) "
    "{ id sha256 kind operationName valid createdBy organization { code } } }"
)
ITEMS = 'query Items($n: Int) { items(first: $n, where: {code: {startsWith: "XK"}}) { nodes { code } } }'


def sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def by_hash(digest: str, variables: dict | None = None, query: str | None = None) -> dict:
    body = {
        "extensions": {"persistedQuery": {"version": 1, "sha256Hash": digest}},
        "variables": variables or {},
    }
    if query is not None:
        body["query"] = query
    return body


async def post(client, body: dict, headers: dict | None = None) -> dict:
    if client.token:
        headers = {"Authorization": f"Bearer {client.token}", **(headers or {})}
    response = await client.http.post("/graphql", json=body, headers=headers or {})
    assert response.status_code == 200, response.text
    return response.json()


def code(answer: dict) -> str:
    assert answer.get("errors"), answer
    return answer["errors"][0]["extensions"]["code"]


async def test_registered_operations_run_by_hash_and_the_limits_apply_when_registered(seeded_url):
    async with db.database(Settings(database_url=seeded_url)):
        writer = (await apikeys.create("one-network", "QJL-H1", scopes=["read:*", "write:queries"])).key
        reader = (await apikeys.create("reader", "QJL", scopes=["read:*", "write:*"])).key
    async with serving(seeded_url) as anonymous:
        admin = await anonymous.sign_in("admin")
        made = (await admin.data(REGISTER, {"document": ITEMS}))["registerPersistedQuery"]
        assert made["sha256"] == sha(ITEMS) and made["kind"] == "QUERY" and made["operationName"] == "Items"
        assert made["valid"] and made["organization"]["code"] == "QJL" and made["createdBy"] == "admin"
        again = (await admin.data(REGISTER, {"document": ITEMS}))["registerPersistedQuery"]
        assert again["id"] == made["id"]  # the same text is the same operation

        ad_hoc = await admin.data(ITEMS, {"n": 3})
        assert len(ad_hoc["items"]["nodes"]) == 3
        assert await post(admin, by_hash(sha(ITEMS), {"n": 3})) == {"data": ad_hoc}
        assert await post(admin, by_hash(sha(ITEMS), {"n": 3}, ITEMS)) == {"data": ad_hoc}
        assert code(await post(admin, by_hash(sha(ITEMS), {}, ITEMS + " "))) == "VALIDATION_FAILED"
        assert code(await post(admin, by_hash("0" * 64))) == "PERSISTED_QUERY_NOT_FOUND"
        assert code(await post(admin, by_hash("XYZ"))) == "VALIDATION_FAILED"
        malformed = {"extensions": {"persistedQuery": {"version": 2, "sha256Hash": sha(ITEMS)}}}
        assert code(await post(admin, malformed)) == "VALIDATION_FAILED"
        # Page sizes given at run time still count against the budget.
        nested = (
            "query($n: Int) { organizations(first: $n) { nodes { children(first: $n) { nodes { code } } } } }"
        )
        await admin.data(REGISTER, {"document": nested})
        assert code(await post(admin, by_hash(sha(nested), {"n": 500}))) == "QUERY_TOO_COSTLY"

        deep = "{ organizations { nodes " + "{ parent " * 12 + "{ code }" + " }" * 12 + " } }"
        costly = "{ items(first: 500) { nodes { assignments(first: 500) { nodes { id } } } } }"
        refusals = {
            "{ items { nodes { nonsense } } }": "GRAPHQL_VALIDATION_FAILED",
            costly: "QUERY_TOO_COSTLY",
            deep: "QUERY_TOO_DEEP",
            "{ items { ": "GRAPHQL_PARSE_FAILED",
            "   ": "VALIDATION_FAILED",
            # A variable's declared default counts as if sent: 500 x 500 is over the budget.
            "query($n: Int = 500) { organizations(first: $n) { nodes { children(first: $n) "
            "{ nodes { code } } } } }": "QUERY_TOO_COSTLY",
            # One operation per document: operationName could otherwise pick one the list hides.
            "query Harmless { items { totalCount } } mutation Hidden { registerPersistedQuery("
            'document: "{ __typename }") { id } }': "VALIDATION_FAILED",
        }
        for document, expected in refusals.items():
            refused = await admin.error(REGISTER, {"document": document})
            assert refused["extensions"]["code"] == expected, (document, refused)
        async with db.database(Settings(database_url=seeded_url)):
            assert await PersistedQuery.all().count() == 2  # nothing refused was kept

        supervisor = await anonymous.sign_in("supervisor")
        assert (await supervisor.error(REGISTER, {"document": "{ items { totalCount } }"}))["extensions"][
            "code"
        ] == "FORBIDDEN"
        refused = await KeyClient(anonymous.http, reader).error(
            REGISTER, {"document": "{ items { totalCount } }"}
        )
        # write:* does not give write:queries: what a key may run is granted by name.
        assert refused["extensions"]["code"] == "FORBIDDEN" and "write:queries" in refused["message"]
        hall = KeyClient(anonymous.http, writer)
        registered = (await hall.data(REGISTER, {"document": ITEMS}))["registerPersistedQuery"]
        assert registered["id"] != made["id"]  # the hall's own registration of the same text
        assert registered["organization"]["code"] == "QJL-H1"
        assert registered["createdBy"].startswith("API key ")
        listed = await hall.data("{ persistedQueries { totalCount nodes { sha256 } } }")
        assert listed["persistedQueries"] == {"totalCount": 1, "nodes": [{"sha256": sha(ITEMS)}]}
        listed = await admin.data("{ persistedQueries { totalCount nodes { sha256 } } }")
        assert listed["persistedQueries"]["totalCount"] == 3


async def test_a_key_in_persisted_only_mode_runs_registered_operations_only(seeded_url):
    async with db.database(Settings(database_url=seeded_url)):
        key = (await apikeys.create("one-network", "QJL", scopes=["read:*"])).key
        writer = (await apikeys.create("registrar", "QJL", scopes=["read:*", "write:queries"])).key
    async with live_server(seeded_url, persisted_only="keys") as (ws_url, anonymous):
        admin = await anonymous.sign_in("admin")
        await admin.data(REGISTER, {"document": ITEMS})
        await admin.data(REGISTER, {"document": EVENTS})
        async with Socket.open(ws_url, {"X-API-Key": key}) as live:  # subscriptions too
            await live.acknowledged()
            await live.subscribe("ad hoc", EVENTS)
            refused = await live.receive()
            assert refused["type"] == "error", refused
            assert refused["payload"][0]["extensions"]["code"] == "PERSISTED_QUERY_REQUIRED"
            await live.connection.send(
                json.dumps({"id": "registered", "type": "subscribe", "payload": by_hash(sha(EVENTS))})
            )
            await asyncio.sleep(0.3)
            case = await submit_and_accept(await anonymous.sign_in("clerk"))
            assert (await live.next("registered"))["outboxEvents"]["caseId"] == case["id"]
        # The same read by an integrator's session (same role, area and scopes) is kept, to run
        # as its statements; the key is still refused it.
        session = await anonymous.sign_in("integrator")
        assert (await session.data(ITEMS, {"n": 2}))["items"]["nodes"]
        assert (await session.data(ITEMS, {"n": 2}))["items"]["nodes"]
        integrator = KeyClient(anonymous.http, key)
        refused = await integrator.error(ITEMS, {"n": 2})
        assert refused["extensions"]["code"] == "PERSISTED_QUERY_REQUIRED", refused
        # Nor may a key register, even with write:queries and the mutation registered: in this
        # mode administrators decide what keys run.
        refused = await KeyClient(anonymous.http, writer).error(REGISTER, {"document": "{ items { id } }"})
        assert refused["extensions"]["code"] == "PERSISTED_QUERY_REQUIRED", refused
        await admin.data(REGISTER, {"document": REGISTER})
        register = by_hash(sha(REGISTER), {"document": "{ items { id } }"})
        refused = await post(anonymous, register, {"X-API-Key": writer})
        assert code(refused) == "FORBIDDEN" and "administrator" in refused["errors"][0]["message"]
        answer = await post(anonymous, by_hash(sha(ITEMS), {"n": 2}), {"X-API-Key": key})
        assert [n["code"] for n in answer["data"]["items"]["nodes"]] == ["XK-001", "XK-002"]
        unregistered = "{ items { totalCount } }"
        refused = await post(anonymous, by_hash(sha(unregistered), query=unregistered), {"X-API-Key": key})
        assert code(refused) == "PERSISTED_QUERY_NOT_FOUND"  # sending the text does not register it
        assert (await admin.data(ITEMS, {"n": 1}))["items"]["nodes"]  # users still send queries


async def test_a_schema_change_flags_the_operations_that_no_longer_fit(seeded_url, tmp_path):
    broken = "{ items { nodes { codeBeforeTheRename } } }"
    fitting = "{ organizations { totalCount } }"
    async with db.database(Settings(database_url=seeded_url)):
        root = await Organization.get(code="QJL")
        now = datetime.now(UTC)
        for document in (broken, fitting):  # as registered under an earlier schema
            await PersistedQuery.create(
                sha256=sha(document),
                document=document,
                kind=OperationKind.QUERY,
                organization=root,
                created_at=now,
                schema_hash="0" * 64,
                checked_at=now,
            )
    checked = await sanji(seeded_url, "query", "check")
    assert checked.exit_code == 1 and sha(broken) in checked.output, checked.output
    assert "no longer fit" in checked.output and sha(fitting) not in checked.output
    async with serving(seeded_url) as anonymous:
        admin = await anonymous.sign_in("admin")
        listed = await admin.data("{ persistedQueries { nodes { sha256 valid problem } } }")
        state = {n["sha256"]: (n["valid"], n["problem"]) for n in listed["persistedQueries"]["nodes"]}
        assert state[sha(fitting)] == (True, "")
        assert not state[sha(broken)][0] and "codeBeforeTheRename" in state[sha(broken)][1]
        assert code(await post(admin, by_hash(sha(broken)))) == "PERSISTED_QUERY_INVALID"
        assert (await post(admin, by_hash(sha(fitting))))["data"]["organizations"]["totalCount"] > 0

    file = tmp_path / "rooms.graphql"
    file.write_text(
        "query Rooms { organizations(where: {tier: {eq: ROOM}}) { totalCount } }", encoding="utf-8"
    )
    made = await sanji(seeded_url, "query", "register", str(file))
    assert made.exit_code == 0, made.output
    assert made.output.strip() == f"registered query Rooms: {sha(file.read_text(encoding='utf-8'))}"
    file.write_text("{ nonsense }", encoding="utf-8")
    assert "GRAPHQL_VALIDATION_FAILED" in one_error_line(
        await sanji(seeded_url, "query", "register", str(file))
    )
    listed = await sanji(seeded_url, "query", "list")
    assert listed.output.count("\n") == 3 and "INVALID" in listed.output
