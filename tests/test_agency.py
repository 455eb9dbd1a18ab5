"""Agency batches (代办): grouped by destination, carried by the origin's staff, received once."""

from __future__ import annotations

from tests.conftest import serving

FILE = (
    'mutation {{ submitCase(input: {{itemId: "{item}", applicantType: PERSON, applicantName: "周九", '
    'applicantIdNumber: "11010519491231002X", applicantPhone: "13800138000"}}) {{ case {{ id version }} }} }}'
)
BATCH = "mutation { batchCases { id destination { code } batchCases { totalCount } } }"


async def item_id(client, code: str) -> str:
    return (await client.data(f'{{ items(where: {{code: {{eq: "{code}"}}}}) {{ nodes {{ id }} }} }}'))[
        "items"
    ]["nodes"][0]["id"]


async def room_carrier(client) -> str:
    """A staff member of the agent's room (QJL-H1-R01), who carries its batches."""
    query = '{ staffMembers(where: {organization: {code: {eq: "QJL-H1-R01"}}}, first: 1) { nodes { id } } }'
    return (await client.data(query))["staffMembers"]["nodes"][0]["id"]


async def test_waiting_papers_are_grouped_by_destination_and_closed_cases_stay_behind(seeded_url):
    async with serving(seeded_url) as anonymous:
        agent, hall_clerk, clerk = [await anonymous.sign_in(n) for n in ("agent", "hall_clerk", "clerk")]
        relief, licence = await item_id(agent, "GG-005"), await item_id(agent, "XK-006")
        for_hall = (await agent.data(FILE.format(item=relief)))["submitCase"]["case"]
        await agent.data(FILE.format(item=licence))

        batches = (await agent.data(BATCH))["batchCases"]
        by_destination = {b["destination"]["code"]: b for b in batches}
        assert set(by_destination) == {"QJL-H1", "QJL-ZWFW"}
        assert all(b["batchCases"]["totalCount"] == 1 for b in batches)
        error = await agent.error(BATCH)  # nothing is waiting any more
        assert (error["extensions"]["code"], error["extensions"]["field"]) == ("VALIDATION_FAILED", "cases")

        carrier = await room_carrier(agent)
        # The applicant withdraws before the carrier leaves: that batch has nothing left to carry.
        await agent.data(
            f'mutation {{ withdrawCase(id: "{for_hall["id"]}", version: {for_hall["version"]}, '
            'comment: "申请人撤回") { status } }'
        )
        hall_batch, center_batch = by_destination["QJL-H1"]["id"], by_destination["QJL-ZWFW"]["id"]
        dispatch = 'mutation {{ dispatchBatch(id: "{b}", carrierId: "{c}") {{ dispatchedAt }} }}'
        error = await agent.error(dispatch.format(b=hall_batch, c=carrier))
        assert (error["extensions"]["code"], "no case left" in error["message"]) == (
            "INVALID_TRANSITION",
            True,
        )

        error = await hall_clerk.error(dispatch.format(b=center_batch, c=carrier))
        assert error["extensions"]["code"] == "FORBIDDEN"  # only the origin sends its batch
        await agent.data(dispatch.format(b=center_batch, c=carrier))
        error = await agent.error(dispatch.format(b=center_batch, c=carrier))
        assert error["extensions"]["code"] == "INVALID_TRANSITION"

        receive = f'mutation {{ receiveBatch(id: "{center_batch}") {{ receivedAt }} }}'
        assert (await hall_clerk.error(receive))["extensions"]["code"] == "FORBIDDEN"
        await clerk.data(receive)
        assert (await clerk.error(receive))["extensions"]["code"] == "INVALID_TRANSITION"


UNBATCH = 'mutation {{ unbatchCases(id: "{b}", cases: [{c}]) {{ id batchCases {{ totalCount }} }} }}'


async def test_cases_come_out_of_a_batch_before_it_sets_off(seeded_url):
    from api import db
    from api.models.audit import AuditEntry
    from api.models.case import AgencyBatch
    from api.settings import Settings
    from schema.generator.ids import from_global_id

    async with serving(seeded_url) as anonymous:
        agent, hall_clerk = [await anonymous.sign_in(n) for n in ("agent", "hall_clerk")]
        relief = await item_id(agent, "GG-005")
        first, second = [(await agent.data(FILE.format(item=relief)))["submitCase"]["case"] for _ in range(2)]
        (batch,) = (await agent.data(BATCH))["batchCases"]
        assert batch["batchCases"]["totalCount"] == 2

        error = await hall_clerk.error(UNBATCH.format(b=batch["id"], c=f'"{first["id"]}"'))
        assert error["extensions"]["code"] == "FORBIDDEN", error  # the room's batch: only it changes it

        kept = (await agent.data(UNBATCH.format(b=batch["id"], c=f'"{first["id"]}"')))["unbatchCases"]
        assert kept == {"id": batch["id"], "batchCases": {"totalCount": 1}}
        error = await agent.error(UNBATCH.format(b=batch["id"], c=f'"{first["id"]}"'))
        assert error["extensions"] == {"code": "VALIDATION_FAILED", "field": "cases"}  # out already

        (again,) = (await agent.data(BATCH))["batchCases"]  # it waits to be batched again
        assert again["id"] != batch["id"] and again["batchCases"]["totalCount"] == 1

        # The last case out: the empty batch is gone.
        assert (await agent.data(UNBATCH.format(b=batch["id"], c=f'"{second["id"]}"')))[
            "unbatchCases"
        ] is None
        async with db.database(Settings(database_url=seeded_url)):
            assert not await AgencyBatch.exists(id=from_global_id(batch["id"], "AgencyBatch"))
            entries = await AuditEntry.filter(object_type="AgencyBatch", detail__startswith="taken out")
        assert [e.action for e in entries] == ["UPDATE", "DELETE"]

        carrier = await room_carrier(agent)
        await agent.data(
            f'mutation {{ dispatchBatch(id: "{again["id"]}", carrierId: "{carrier}") {{ id }} }}'
        )
        error = await agent.error(UNBATCH.format(b=again["id"], c=f'"{first["id"]}"'))
        assert error["extensions"] == {"code": "INVALID_TRANSITION", "field": "batch"}
