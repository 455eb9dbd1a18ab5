"""A step the case cannot take is refused with the steps this caller could take on it now, through
GraphQL on the fixture: the villager's relief item (GG-003) is accepted at the room (ACCEPT_AND_
PRE_REVIEW) and handled at the hall; the agent files it at the room and nobody has carried it yet."""

from __future__ import annotations

import pytest

VILLAGER = 'applicantType: PERSON, applicantName: "王小明", applicantIdNumber: "11010519491231002X"'
CASE = "id number version heldBy { code } handlingOrganization { code }"


async def item_id(client, code: str) -> str:
    data = await client.data(f'{{ items(where: {{code: {{eq: "{code}"}}}}) {{ nodes {{ id }} }} }}')
    return data["items"]["nodes"][0]["id"]


async def file_case(client, item: str, channel: str = "COUNTER") -> dict:
    data = await client.data(
        f'mutation {{ submitCase(input: {{itemId: "{item}", {VILLAGER}, applicantPhone: "13800138000", '
        f"channel: {channel}}}) {{ case {{ {CASE} }} }} }}"
    )
    return data["submitCase"]["case"]


async def refused(client, verb: str, case: dict, extra: str = "") -> dict:
    error = await client.error(
        f'mutation {{ {verb}(id: "{case["id"]}", version: {case["version"]}{extra}) {{ id }} }}'
    )
    assert error["extensions"]["code"] == "INVALID_TRANSITION", error
    return error


@pytest.fixture
async def people(writable):
    admin, _ = writable
    return {name: await admin.sign_in(name) for name in ("admin", "agent", "hall_clerk", "clerk")}


@pytest.fixture
async def relief_case(people) -> dict:
    case = await file_case(people["agent"], await item_id(people["admin"], "GG-003"))
    assert (case["heldBy"]["code"], case["handlingOrganization"]["code"]) == ("QJL-H1-R01", "QJL-H1")
    return case


async def test_the_room_agent_is_offered_only_what_the_room_can_do_with_papers_it_holds(people, relief_case):
    error = await refused(people["agent"], "reviewCase", relief_case)
    # Not PROXY_DECLARE (a person's counter case), nor RECEIVE (the papers are not on the road).
    assert error["message"] == (
        f"case {relief_case['number']} is SUBMITTED; REVIEW is not possible from there. "
        "Allowed next steps for you: ACCEPT, REJECT, DISPATCH, WITHDRAW"
    )
    assert error["extensions"] == {
        "code": "INVALID_TRANSITION",
        "field": "id",
        "allowedSteps": ["ACCEPT", "REJECT", "DISPATCH", "WITHDRAW"],
        "otherSteps": ["ACCEPT", "REJECT", "DISPATCH", "WITHDRAW"],  # the room's clerk, the hall
    }


async def test_the_handling_hall_without_the_papers_may_only_withdraw(people, relief_case):
    error = await refused(people["hall_clerk"], "completeCase", relief_case)
    assert error["message"].endswith(
        "COMPLETE is not possible from there. Allowed next steps for you: WITHDRAW"
    )
    assert error["extensions"]["allowedSteps"] == ["WITHDRAW"]


async def test_a_caller_who_can_do_nothing_is_told_so_and_who_can(people, relief_case):
    # The center oversees the hall and its rooms, but the case is neither filed, held nor handled there.
    error = await refused(people["clerk"], "decideCase", relief_case, ", decision: APPROVED")
    assert error["message"] == (
        f"case {relief_case['number']} is SUBMITTED; DECIDE is not possible from there. "
        "You can take no step on it now; others can: ACCEPT, REJECT, DISPATCH, WITHDRAW "
        "(AGENT or CLERK of the organization holding the papers); "
        "WITHDRAW (AGENT or CLERK of the handling organization)"
    )
    assert error["extensions"]["allowedSteps"] == []
    assert error["extensions"]["otherSteps"] == ["ACCEPT", "REJECT", "DISPATCH", "WITHDRAW"]


async def test_a_closed_case_says_it_is_closed(people, relief_case):
    agent = people["agent"]
    await agent.data(
        f'mutation {{ withdrawCase(id: "{relief_case["id"]}", version: 1, comment: "申请人撤回") {{ id }} }}'
    )
    error = await refused(agent, "acceptCase", {**relief_case, "version": 2})
    assert error["message"].endswith(
        "is WITHDRAWN; ACCEPT is not possible from there. The case is closed: no step is possible"
    )
    assert (error["extensions"]["allowedSteps"], error["extensions"]["otherSteps"]) == ([], [])


async def test_proxy_declaration_of_a_persons_case_offers_the_centers_own_steps(people):
    clerk = people["clerk"]
    case = await file_case(clerk, await item_id(people["admin"], "XK-002"), channel="PROACTIVE_AGENCY")
    error = await refused(clerk, "proxyDeclareCase", case)
    assert error["message"] == (
        f"case {case['number']}: only a company's proactive-agency case (PROACTIVE_AGENCY) is declared by "
        "staff on its behalf. Allowed next steps for you: ACCEPT, REJECT, WITHDRAW"
    )
    assert error["extensions"]["allowedSteps"] == ["ACCEPT", "REJECT", "WITHDRAW"]
