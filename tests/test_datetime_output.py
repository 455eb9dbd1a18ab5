"""One rule for every DateTime the API returns: the instant in the district's zone with its offset
(+08:00), whether a query reads it or a mutation has just written it.

The schema is walked by introspection, so a type or field added later is held to the rule too: every
type with DateTime fields is read through its list (and its aggregate's min and max), and every type
a mutation returns is written, its DateTime fields compared with what a read then gives.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime

from tests.conftest import GraphQLClient, serving

DISTRICT_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?\+08:00$")

TYPE_REF = "name kind ofType { name kind ofType { name kind ofType { name kind ofType { name } } } }"
TYPES = f"""{{ __schema {{
  queryType {{ fields {{ name type {{ {TYPE_REF} }} }} }}
  mutationType {{ fields {{ name type {{ {TYPE_REF} }} }} }}
  types {{ name kind fields {{ name type {{ {TYPE_REF} }} }} }}
}} }}"""


def db_of(url: str):
    from api import db
    from api.settings import Settings

    return db.database(Settings(database_url=url))


def named(type_ref: dict) -> str:
    while type_ref.get("ofType"):
        type_ref = type_ref["ofType"]
    return type_ref["name"]


async def schema_map(client: GraphQLClient) -> dict:
    return (await client.data(TYPES))["__schema"]


def date_time_fields(schema: dict) -> dict[str, list[str]]:
    """Every object type with DateTime fields, and those fields."""
    found = {}
    for kind in schema["types"]:
        if kind["kind"] != "OBJECT" or kind["name"].startswith("__"):
            continue
        fields = [field["name"] for field in kind["fields"] or [] if named(field["type"]) == "DateTime"]
        if fields:
            found[kind["name"]] = fields
    return found


def in_district_time(values: list, where: str) -> None:
    wrong = [value for value in values if value is not None and not DISTRICT_TIME.match(value)]
    assert not wrong, f"{where}: {wrong} are not district times with +08:00"


async def add_outline(admin: GraphQLClient, fields: str = "id") -> dict:
    """The district's outline (the fixture holds none): a square."""
    district = await admin.data('{ organizations(where: {code: {eq: "QJL"}}) { nodes { id } } }')
    square = [[112.9, 30.8], [113.0, 30.8], [113.0, 30.9], [112.9, 30.9], [112.9, 30.8]]
    outline = {
        "organizationId": district["organizations"]["nodes"][0]["id"],
        "geojson": json.dumps({"type": "Polygon", "coordinates": [square]}),
    }
    create = "mutation($input: CreateAreaOutlineInput!) { createAreaOutline(input: $input) { %s } }"
    return (await admin.data(create % fields, {"input": outline}))["createAreaOutline"]


async def add_delivery(admin: GraphQLClient, url: str, fields: str = "id") -> dict:
    """A webhook (the fixture holds none) and a delivery to it of an event written now."""
    from tortoise.transactions import in_transaction

    from api import db
    from api.models.org import Organization
    from api.services import outbox, webhooks
    from api.settings import Settings

    made = await admin.data(
        "mutation($input: CreateWebhookInput!) { createWebhook(input: $input) "
        f"{{ webhook {{ {fields} }} }} }}",
        {"input": {"name": "一网通办", "url": "http://127.0.0.1:9/hooks", "eventTypes": ["*"]}},
    )
    async with db.database(Settings(database_url=url)):
        room = await Organization.get(code="QJL-H1-R01")
        async with in_transaction():
            await outbox.emit(
                "room.status_changed", organization_id=room.id, occurred_at=datetime.now(UTC), payload={}
            )
        await webhooks.fan_out()
    return made["createWebhook"]["webhook"]


async def add_persisted_query(admin: GraphQLClient, fields: str = "id") -> dict:
    """A registered operation (the fixture holds none)."""
    register = "mutation($document: String!) { registerPersistedQuery(document: $document) { %s } }"
    made = await admin.data(register % fields, {"document": "{ items { totalCount } }"})
    return made["registerPersistedQuery"]


async def add_report(admin: GraphQLClient, fields: str = "id") -> dict:
    """A saved report (the fixture holds none)."""
    save = "mutation($input: CreateReportInput!) { createReport(input: $input) { %s } }"
    made = await admin.data(
        save % fields, {"input": {"name": "办件量", "document": "{ casesAggregate { count } }"}}
    )
    return made["createReport"]


async def test_every_date_time_a_query_returns_is_in_the_districts_zone(writable):
    admin_api, url = writable
    await add_outline(admin_api)
    await add_delivery(admin_api, url)
    await add_persisted_query(admin_api)
    await add_report(admin_api)
    schema = await schema_map(admin_api)
    fields = date_time_fields(schema)
    lists = {
        named(field["type"]).removesuffix("Connection"): field["name"]
        for field in schema["queryType"]["fields"]
        if named(field["type"]).endswith("Connection")
    }
    read = set()
    for type_name, names in fields.items():
        if type_name not in lists:
            continue
        plural, selection = lists[type_name], " ".join(names)
        body = await admin_api.data(f"{{ {plural}(first: 20) {{ nodes {{ {selection} }} }} }}")
        values = [node[name] for node in body[plural]["nodes"] for name in names]
        assert any(values), f"{plural}: the fixture holds no {type_name} with a time to check"
        in_district_time(values, plural)
        aggregate = f"{plural}Aggregate"
        body = await admin_api.data(f"{{ {aggregate} {{ min {{ {selection} }} max {{ {selection} }} }} }}")
        for side in ("min", "max"):
            in_district_time(list(body[aggregate][side].values()), f"{aggregate}.{side}")
        read |= {type_name, f"{type_name}Minimums", f"{type_name}Maximums"}
    feed = await admin_api.data("{ eventFeed(first: 10) { events { occurredAt } } }")
    occurred = [event["occurredAt"] for event in feed["eventFeed"]["events"]]
    assert occurred, "the event feed holds the event written above"
    in_district_time(occurred, "eventFeed")
    read.add("FeedEvent")
    left = set(fields) - read - {"ProgressStep"}  # the public timeline: read in the test below
    assert not left, f"types with DateTime fields this test does not read: {sorted(left)}"


async def submit(clerk: GraphQLClient, fields: str = "id", item_code: str = "XK-003") -> dict:
    """A case filed now by `clerk` (by default at the center, for a licence it handles)."""
    item = await clerk.data(f'{{ items(where: {{code: {{eq: "{item_code}"}}}}) {{ nodes {{ id }} }} }}')
    body = await clerk.data(
        f"""mutation($item: ID!) {{ submitCase(input: {{itemId: $item, applicantType: PERSON,
              applicantName: "李四", applicantIdNumber: "11010519491231002X",
              applicantPhone: "13800138000"}}) {{ queryCode case {{ number version {fields} }} }} }}""",
        {"item": item["items"]["nodes"][0]["id"]},
    )
    return body["submitCase"]


async def rated_badly(anonymous: GraphQLClient, submitted: dict, reason: str) -> tuple[GraphQLClient, str]:
    """The delivered case `submitted` rated DISSATISFIED by its applicant: the supervisor signed in,
    and the rating's id."""
    await anonymous.data(
        """mutation($n: String!, $c: String!, $r: String!) { rateCase(number: $n, queryCode: $c,
             level: DISSATISFIED, reason: $r) { level } }""",
        {"n": submitted["case"]["number"], "c": submitted["queryCode"], "r": reason},
    )
    supervisor = await anonymous.sign_in("supervisor")
    rated = "query($n: String!) { evaluations(where: {case: {number: {eq: $n}}}) { nodes { id } } }"
    found = await supervisor.data(rated, {"n": submitted["case"]["number"]})
    return supervisor, found["evaluations"]["nodes"][0]["id"]


async def test_a_mutation_returns_the_times_it_wrote_as_a_read_gives_them(writable):
    admin, url = writable
    schema = await schema_map(admin)
    fields = date_time_fields(schema)
    mutations = {field["name"] for field in schema["mutationType"]["fields"]}
    returned = {
        named(field["type"]) for field in schema["mutationType"]["fields"] if named(field["type"]) in fields
    }
    written = set()
    outline = await add_outline(admin, " ".join(["id", *fields["AreaOutline"]]))

    async def same_as_read(client: GraphQLClient, type_name: str, mutated: dict) -> None:
        names = fields[type_name]
        in_district_time([mutated[name] for name in names], f"a mutation returning {type_name}")
        selection = " ".join(names)
        body = await client.data(
            f'{{ node(id: "{mutated["id"]}") {{ ... on {type_name} {{ {selection} }} }} }}'
        )
        assert body["node"] == {name: mutated[name] for name in names}, type_name
        written.add(type_name)

    await same_as_read(admin, "AreaOutline", outline)
    await same_as_read(admin, "Report", await add_report(admin, " ".join(["id", *fields["Report"]])))

    # Each type with an update mutation: its first row, updated with nothing changed.
    for type_name in sorted(returned):
        if f"update{type_name}" not in mutations:
            continue
        plural = next(
            field["name"]
            for field in schema["queryType"]["fields"]
            if named(field["type"]) == f"{type_name}Connection"
        )
        first = (await admin.data(f"{{ {plural}(first: 1) {{ nodes {{ id }} }} }}"))[plural]["nodes"]
        assert first, f"the fixture holds no {type_name} to update"
        selection = " ".join(["id", *fields[type_name]])
        update = f'mutation {{ update{type_name}(id: "{first[0]["id"]}", input: {{}}) {{ {selection} }} }}'
        await same_as_read(admin, type_name, (await admin.data(update))[f"update{type_name}"])

    async with serving(url) as anonymous:
        clerk = await anonymous.sign_in("clerk")
        case_times = " ".join(["id", *fields["Case"]])
        submitted = await submit(clerk, case_times)
        await same_as_read(clerk, "Case", submitted["case"])
        accepted = await clerk.data(
            f"mutation($id: ID!, $v: Int!) {{ acceptCase(id: $id, version: $v) {{ {case_times} }} }}",
            {"id": submitted["case"]["id"], "v": submitted["case"]["version"]},
        )
        assert accepted["acceptCase"]["acceptedAt"] is not None
        await same_as_read(clerk, "Case", accepted["acceptCase"])
        progress = await anonymous.data(
            """query($n: String!, $c: String!) { caseProgress(number: $n, queryCode: $c) {
                 timeline { occurredAt } } }""",
            {"n": submitted["case"]["number"], "c": submitted["queryCode"]},
        )
        steps = progress["caseProgress"]["timeline"]
        assert len(steps) == 2
        in_district_time([step["occurredAt"] for step in steps], "caseProgress.timeline")

        # The case decided, completed and delivered; rated badly; put right by the supervisor.
        case = {**accepted["acceptCase"], "version": submitted["case"]["version"] + 1}
        for verb, extra in (("reviewCase", ""), ("decideCase", ", decision: APPROVED"), ("completeCase", "")):
            moved = await clerk.data(
                f'mutation {{ {verb}(id: "{case["id"]}", version: {case["version"]}{extra}) {{ version }} }}'
            )
            case["version"] = moved[verb]["version"]
        await clerk.data(
            f'mutation {{ deliverCase(id: "{case["id"]}", version: {case["version"]}) {{ id }} }}'
        )
        supervisor, rating = await rated_badly(anonymous, submitted, "等候太久")
        rating_times = " ".join(["id", *fields["Evaluation"]])
        closed = await supervisor.data(
            f'mutation {{ closeRectification(id: "{rating}", response: "已整改", followUp: "已回访") '
            f"{{ {rating_times} }} }}"
        )
        assert closed["closeRectification"]["rectifiedAt"] is not None
        await same_as_read(supervisor, "Evaluation", closed["closeRectification"])

        # A room's agent files a hall's case and batches the papers to carry up.
        agent = await anonymous.sign_in("agent")
        await submit(agent, item_code="GG-005")
        batch_times = " ".join(["id", *fields["AgencyBatch"]])
        batches = await agent.data(f"mutation {{ batchCases {{ {batch_times} }} }}")
        assert batches["batchCases"]
        await same_as_read(agent, "AgencyBatch", batches["batchCases"][0])

    room = await admin.data('{ organizations(where: {code: {eq: "QJL-H1-R01"}}) { nodes { id } } }')
    inspection = {
        "organizationId": room["organizations"]["nodes"][0]["id"],
        "inspectedOn": str(date.today()),
        "inspectorName": "检查员",
    }
    selection = " ".join(["id", *fields["RoomInspection"]])
    create = "mutation($input: CreateRoomInspectionInput!) { createRoomInspection(input: $input) { %s } }"
    inspected = await admin.data(create % selection, {"input": inspection})
    await same_as_read(admin, "RoomInspection", inspected["createRoomInspection"])

    webhook = await add_delivery(admin, url, " ".join(["id", *fields["Webhook"]]))
    await same_as_read(admin, "Webhook", webhook)
    disable = (
        f'mutation {{ disableWebhook(id: "{webhook["id"]}") {{ {" ".join(["id", *fields["Webhook"]])} }} }}'
    )
    disabled = (await admin.data(disable))["disableWebhook"]
    assert disabled["disabledAt"] is not None
    await same_as_read(admin, "Webhook", disabled)
    async with db_of(url):  # sent: a delivered one is what redelivery takes
        from api.models.webhook import DeliveryState, WebhookDelivery

        await WebhookDelivery.all().update(state=DeliveryState.DELIVERED, delivered_at=datetime.now(UTC))
    delivery = (await admin.data("{ webhookDeliveries(first: 1) { nodes { id } } }"))["webhookDeliveries"][
        "nodes"
    ]
    again = " ".join(["id", *fields["WebhookDelivery"]])
    redelivered = await admin.data(
        f'mutation {{ redeliverWebhookDeliveries(ids: ["{delivery[0]["id"]}"]) {{ {again} }} }}'
    )
    await same_as_read(admin, "WebhookDelivery", redelivered["redeliverWebhookDeliveries"][0])
    registered = await add_persisted_query(admin, " ".join(["id", *fields["PersistedQuery"]]))
    await same_as_read(admin, "PersistedQuery", registered)

    left = returned - written
    assert not left, f"types a mutation returns whose times this test does not write: {sorted(left)}"


async def test_a_time_is_taken_in_any_offset_and_without_one_in_the_districts_zone(admin_api):
    """What comes back may be sent back as it is, in UTC, or as the district's wall-clock time."""
    latest = await admin_api.data(
        "{ cases(first: 1, orderBy: [{submittedAt: DESC}]) { nodes { submittedAt } } }"
    )
    shown = latest["cases"]["nodes"][0]["submittedAt"]
    moment = datetime.fromisoformat(shown)
    query = "query($t: DateTime!) { before: cases(where: {submittedAt: {lt: $t}}) { totalCount } }"
    forms = {
        "as shown": shown,
        "in UTC": moment.astimezone(UTC).isoformat(),
        "with Z": moment.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "without an offset": moment.replace(tzinfo=None).isoformat(),
    }
    counts = {
        form: (await admin_api.data(query, {"t": text}))["before"]["totalCount"]
        for form, text in forms.items()
    }
    total = (await admin_api.data("{ cases { totalCount } }"))["cases"]["totalCount"]
    assert set(counts.values()) == {total - 1}, counts  # every case but the latest, in each form


async def test_the_databases_text_of_an_instant_is_pythons_in_every_zone(empty_url):
    """Compiled reads write date-times in SQL: the same text as the API's Python rule, for instants
    around a zone's changes (China's summer time of 1986-1991, India's of the 1940s, Paris's every
    year), with and without microseconds, at the ends of the calendar."""
    from zoneinfo import ZoneInfo

    from api import db
    from api.settings import Settings
    from schema.generator.compiler import Dialect, prepare_sqlite
    from schema.generator.scalars import zone_time

    instants = [
        datetime(1, 1, 2, tzinfo=UTC),
        datetime(1899, 12, 31, 23, 59, 59, tzinfo=UTC),
        datetime(1940, 6, 1, 12, tzinfo=UTC),
        datetime(1988, 7, 1, 3, 4, 5, 600, tzinfo=UTC),  # Beijing's summer time: +09:00
        datetime(1991, 9, 14, 16, 59, 59, 999999, tzinfo=UTC),  # its last second
        datetime(1991, 9, 14, 17, 0, 0, tzinfo=UTC),
        datetime(1991, 9, 14, 17, 0, 1, tzinfo=UTC),
        datetime(2026, 3, 29, 0, 59, 59, tzinfo=UTC),  # Paris: the hour before summer time
        datetime(2026, 3, 29, 1, 0, 0, 123456, tzinfo=UTC),
        datetime(2026, 12, 1, 1, 59, 27, tzinfo=UTC),
        datetime(9999, 12, 30, 12, tzinfo=UTC),
    ]
    async with db.database(Settings(database_url=empty_url)) as ctx:
        client = ctx.db()
        postgres = client.capabilities.dialect == "postgres"
        if not postgres:
            await prepare_sqlite(client)
        given = "$1::timestamptz" if postgres else "?"
        for zone in ("Asia/Shanghai", "Asia/Kolkata", "Europe/Paris", "UTC"):
            statement = f"SELECT {Dialect(postgres, zone).zone_time('v')} FROM (SELECT {given} AS v) AS t"
            for moment in instants:
                _, rows = await client.execute_query(statement, [moment if postgres else moment.isoformat()])
                found = next(iter(dict(rows[0]).values()))
                assert found == zone_time(moment, ZoneInfo(zone)), (zone, moment, found)
