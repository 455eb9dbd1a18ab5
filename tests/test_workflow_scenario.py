"""The article's story through GraphQL, as the people who live it, around National Day 2026.

A villager's relief application is accepted and pre-reviewed at a room and decided at the hall,
with a supplement pause over the holiday; a licence is carried by the room's agent to the center;
a company is served by proactive agency; the applicant looks the case up and rates it; the
figures come out of the same cases.
"""

from __future__ import annotations

import base64
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from api import db
from api.services.calendar import load_year
from api.settings import Settings
from tests.conftest import serving

DISTRICT_ZONE = ZoneInfo("Asia/Shanghai")
VILLAGER_ID = "11010519491231002X"
COMPANY_CODE = "91350100M000100Y43"

CASE_FIELDS = """
  id number status version channel tripsSaved promisedDueDate legalDueDate dueDatesEstimated
  acceptedOn completedOn workingDaysTaken pausedWorkingDays decision
  handlingOrganization { code } heldBy { code }
  events { edges { node { action fromStatus toStatus actorName organization { code } comment } } }
"""


class Clock:
    """The server's clock, moved by the story."""

    def __init__(self) -> None:
        self.now = datetime(2026, 9, 28, 9, 0, tzinfo=DISTRICT_ZONE)

    def at(self, day: date, hour: int, minute: int = 0) -> None:
        self.now = datetime(day.year, day.month, day.day, hour, minute, tzinfo=DISTRICT_ZONE)

    def __call__(self) -> float:
        return self.now.timestamp()


@pytest.fixture
async def story(seeded_url):
    async with db.database(Settings(database_url=seeded_url)):
        await load_year(2026)
    clock = Clock()
    async with serving(seeded_url, clock=clock) as anonymous:
        users = {
            name: await anonymous.sign_in(name)
            for name in ("agent", "hall_clerk", "clerk", "supervisor", "admin")
        }
        yield clock, anonymous, users


async def ids(client, query: str) -> str:
    data = await client.data(query)
    (node,) = next(iter(data.values()))["nodes"]
    return node["id"]


async def step(client, verb: str, case: dict, **arguments) -> dict:
    extra = "".join(f", {k}: {v}" for k, v in arguments.items())
    data = await client.data(
        f'mutation {{ {verb}(id: "{case["id"]}", version: {case["version"]}{extra}) {{ {CASE_FIELDS} }} }}'
    )
    return data[verb]


def actions(case: dict) -> list[str]:
    return [e["node"]["action"] for e in case["events"]["edges"]]


async def submit(client, item: str, *, person=True, channel="COUNTER") -> tuple[dict, str]:
    applicant = (
        f'applicantType: PERSON, applicantName: "王小明", applicantIdNumber: "{VILLAGER_ID}"'
        if person
        else f'applicantType: COMPANY, applicantName: "屈家岭示例农业有限公司", '
        f'applicantIdNumber: "{COMPANY_CODE}"'
    )
    data = await client.data(
        f'mutation {{ submitCase(input: {{itemId: "{item}", {applicant}, applicantPhone: "13800138000", '
        f"channel: {channel}}}) {{ queryCode case {{ {CASE_FIELDS} }} }} }}"
    )
    return data["submitCase"]["case"], data["submitCase"]["queryCode"]


async def test_a_villagers_relief_application_goes_from_the_room_to_the_hall_over_national_day(story):
    clock, anonymous, users = story
    agent, hall_clerk, admin = users["agent"], users["hall_clerk"], users["admin"]
    item = await ids(admin, '{ items(where: {code: {eq: "GG-003"}}) { nodes { id } } }')
    # The district promises 5 working days for it (its own value, not the published default).
    local = await ids(
        admin,
        '{ itemLocals(where: {item: {code: {eq: "GG-003"}}, organization: {code: {eq: "QJL"}}}) '
        "{ nodes { id } } }",
    )
    await admin.data(
        f'mutation {{ updateItemLocal(id: "{local}", input: {{promisedLimitDays: 5}}) {{ id }} }}'
    )

    # Monday 28 September: the villager hands the papers in at the village room.
    case, code = await submit(agent, item)
    assert (case["status"], case["channel"], case["heldBy"]["code"]) == ("SUBMITTED", "AGENCY", "QJL-H1-R01")
    assert case["handlingOrganization"]["code"] == "QJL-H1"
    assert case["tripsSaved"] >= 1 and len(code) == 8

    clock.at(date(2026, 9, 28), 9, 15)
    case = await step(agent, "acceptCase", case)
    # 5 working days, the day of acceptance not counted: 29, 30 Sep, 8, 9 Oct and the make-up Saturday 10 Oct.
    assert (case["status"], case["acceptedOn"], case["promisedDueDate"]) == (
        "ACCEPTED",
        "2026-09-28",
        "2026-10-10",
    )
    assert case["dueDatesEstimated"] is False
    case = await step(agent, "preReviewCase", case, comment='"已入户调查"')
    assert case["status"] == "PRE_REVIEWED"

    # The room cannot decide: only a FULL-power organization reviews.
    error = await agent.error(
        f'mutation {{ reviewCase(id: "{case["id"]}", version: {case["version"]}) {{ id }} }}'
    )
    assert error["extensions"]["code"] == "FORBIDDEN"

    # 分类集中, 专人代办: the agent batches the papers for the hall and carries them there.
    carrier = await ids(
        agent,
        '{ staffMembers(where: {organization: {code: {eq: "QJL-H1-R01"}}}, first: 1) { nodes { id } } }',
    )
    data = await agent.data(
        f'mutation {{ batchCases(cases: ["{case["id"]}"]) {{ id number destination {{ code }} }} }}'
    )
    (batch,) = data["batchCases"]
    assert batch["destination"]["code"] == "QJL-H1"
    clock.at(date(2026, 9, 29), 8, 30)
    await agent.data(
        f'mutation {{ dispatchBatch(id: "{batch["id"]}", carrierId: "{carrier}") {{ dispatchedAt }} }}'
    )
    clock.at(date(2026, 9, 29), 9, 40)
    received = await hall_clerk.data(
        f'mutation {{ receiveBatch(id: "{batch["id"]}") {{ receivedAt carrier {{ id }} }} }}'
    )
    assert received["receiveBatch"]["carrier"]["id"] == carrier

    # The hall finds a paper missing before the holiday: the clock stops.
    case = (await hall_clerk.data(f'{{ case(id: "{case["id"]}") {{ {CASE_FIELDS} }} }}'))["case"]
    assert case["heldBy"]["code"] == "QJL-H1"
    clock.at(date(2026, 9, 29), 10, 0)
    error = await hall_clerk.error(
        f'mutation {{ requestSupplement(id: "{case["id"]}", version: {case["version"]}) {{ id }} }}'
    )
    assert (error["extensions"]["code"], error["extensions"]["field"]) == ("VALIDATION_FAILED", "comment")
    case = await step(hall_clerk, "requestSupplement", case, comment='"请补交户口簿复印件"')
    assert case["status"] == "SUPPLEMENT_REQUESTED"
    error = await hall_clerk.error(
        f'mutation {{ reviewCase(id: "{case["id"]}", version: {case["version"]}) {{ id }} }}'
    )
    assert error["extensions"]["code"] == "INVALID_TRANSITION"
    assert "SUPPLEMENT_REQUESTED" in error["message"] and "RESUME, WITHDRAW" in error["message"]

    # Friday 9 October, after the holiday: the papers are complete and the clock runs again.
    clock.at(date(2026, 10, 9), 9, 0)
    case = await step(hall_clerk, "resumeCase", case)
    # Counted before the pause: 29 Sep. Paused: 30 Sep, 8 and 9 Oct (3 working days). Then 10, 12, 13, 14 Oct.
    assert (case["status"], case["pausedWorkingDays"], case["promisedDueDate"]) == (
        "PRE_REVIEWED",
        3,
        "2026-10-14",
    )
    clock.at(date(2026, 10, 12), 10, 0)
    case = await step(hall_clerk, "reviewCase", case)
    error = await hall_clerk.error(
        f'mutation {{ decideCase(id: "{case["id"]}", version: {case["version"]}, decision: DENIED) '
        "{ id } }"
    )
    assert error["extensions"]["field"] == "comment"
    case = await step(hall_clerk, "decideCase", case, decision="APPROVED")
    case = await step(hall_clerk, "completeCase", case)
    assert (case["status"], case["completedOn"], case["workingDaysTaken"]) == ("COMPLETED", "2026-10-12", 3)

    # A stale version loses: CONFLICT, nothing changes.
    error = await agent.error(
        f'mutation {{ deliverCase(id: "{case["id"]}", version: {case["version"] - 1}) {{ id }} }}'
    )
    assert error["extensions"]["code"] == "CONFLICT"
    clock.at(date(2026, 10, 13), 9, 0)
    case = await step(agent, "deliverCase", case)  # the room hands the result over in the village
    assert actions(case) == [
        "SUBMIT", "ACCEPT", "PRE_REVIEW", "DISPATCH", "RECEIVE", "REQUEST_SUPPLEMENT", "RESUME",
        "REVIEW", "DECIDE", "COMPLETE", "DELIVER",
    ]  # fmt: skip
    places = [e["node"]["organization"]["code"] for e in case["events"]["edges"]]
    assert places == ["QJL-H1-R01"] * 4 + ["QJL-H1"] * 6 + ["QJL-H1-R01"]
    # Every step that changed the case is in the audit log too (the handoffs on the batch's entry).
    pk = base64.b64decode(case["id"]).decode().split(":")[1]
    audit = await admin.data(
        f'{{ auditEntries(where: {{objectType: {{eq: "Case"}}, objectId: {{eq: {pk}}}}}) '
        "{ nodes { action } } }"
    )
    assert [e["action"] for e in audit["auditEntries"]["nodes"]].count("UPDATE") == 8

    # The villager looks the case up with its number and code: masked, and nothing more.
    query = (
        "query($n: String!, $c: String!) { caseProgress(number: $n, queryCode: $c) "
        "{ number item status applicant promisedDueDate timeline { action status organization } } }"
    )
    progress = (await anonymous.data(query, {"n": case["number"], "c": code.lower()}))["caseProgress"]
    assert (progress["status"], progress["applicant"], progress["item"]) == ("DELIVERED", "王**", "临时救助")
    assert [s["action"] for s in progress["timeline"]] == actions(case)
    wrong = await anonymous.error(query, {"n": case["number"], "c": "WRONGCOD"})
    missing = await anonymous.error(query, {"n": "QJL202610139999", "c": code})
    assert wrong["message"] == missing["message"] and wrong["extensions"] == missing["extensions"]

    # A bad rating needs a reason and opens a rectification due 15 working days later.
    rate = (
        "mutation($n: String!, $c: String!, $r: String!) { rateCase(number: $n, queryCode: $c, "
        "level: DISSATISFIED, reason: $r) { level rectificationDueDate } }"
    )
    error = await anonymous.error(rate, {"n": case["number"], "c": code, "r": " "})
    assert error["extensions"]["field"] == "reason"
    receipt = (await anonymous.data(rate, {"n": case["number"], "c": code, "r": "补正告知不够清楚"}))[
        "rateCase"
    ]
    assert receipt == {"level": "DISSATISFIED", "rectificationDueDate": "2026-11-03"}
    again = await anonymous.error(rate, {"n": case["number"], "c": code, "r": "再评一次"})
    assert again["extensions"]["code"] == "CONFLICT"

    supervisor = users["supervisor"]
    rating = await ids(
        supervisor,
        f'{{ evaluations(where: {{case: {{number: {{eq: "{case["number"]}"}}}}}}) {{ nodes {{ id }} }} }}',
    )
    error = await hall_clerk.error(
        f'mutation {{ closeRectification(id: "{rating}", response: "x", followUp: "y") {{ id }} }}'
    )
    assert error["extensions"]["code"] == "FORBIDDEN"
    closed = await supervisor.data(
        f'mutation {{ closeRectification(id: "{rating}", response: "已修订补正告知单", '
        'followUp: "已电话回访") { rectifiedAt followUp } }'
    )
    assert closed["closeRectification"]["followUp"] == "已电话回访"
    stats = await supervisor.data(
        '{ ratingStats(by: ORGANIZATION, from: "2026-10-01", to: "2026-10-31") '
        "{ key label ratings dissatisfied rectificationsClosed satisfactionRate } }"
    )
    (row,) = stats["ratingStats"]
    assert (row["ratings"], row["dissatisfied"], row["rectificationsClosed"], row["satisfactionRate"]) == (
        1,
        1,
        1,
        0.0,
    )


async def test_a_licence_is_carried_by_the_agent_to_the_center_and_decided_there(story):
    clock, _, users = story
    agent, hall_clerk, clerk = users["agent"], users["hall_clerk"], users["clerk"]
    item = await ids(agent, '{ items(where: {code: {eq: "XK-001"}}) { nodes { id } } }')
    case, _ = await submit(agent, item)
    assert case["handlingOrganization"]["code"] == "QJL-ZWFW"

    error = await agent.error(f'mutation {{ acceptCase(id: "{case["id"]}", version: 1) {{ id }} }}')
    assert error["extensions"]["code"] == "FORBIDDEN" and "AGENCY_ONLY" in error["message"]

    carrier = await ids(
        agent,
        '{ staffMembers(where: {organization: {code: {eq: "QJL-H1-R01"}}}, first: 1) { nodes { id } } }',
    )
    (batch,) = (
        await agent.data(
            f'mutation {{ batchCases(cases: ["{case["id"]}"]) {{ id destination {{ code }} }} }}'
        )
    )["batchCases"]
    assert batch["destination"]["code"] == "QJL-ZWFW"
    error = await clerk.error(f'mutation {{ receiveBatch(id: "{batch["id"]}") {{ id }} }}')
    assert error["extensions"]["code"] == "INVALID_TRANSITION"  # not on its way yet
    clock.at(date(2026, 9, 29), 8, 30)
    await agent.data(f'mutation {{ dispatchBatch(id: "{batch["id"]}", carrierId: "{carrier}") {{ id }} }}')
    clock.at(date(2026, 9, 29), 11, 0)
    await clerk.data(f'mutation {{ receiveBatch(id: "{batch["id"]}") {{ receivedAt }} }}')

    case = (await clerk.data(f'{{ case(id: "{case["id"]}") {{ {CASE_FIELDS} }} }}'))["case"]
    # The hall sees the case (filed at one of its rooms) but does not handle it.
    error = await hall_clerk.error(
        f'mutation {{ acceptCase(id: "{case["id"]}", version: {case["version"]}) {{ id }} }}'
    )
    assert error["extensions"]["code"] == "FORBIDDEN"
    case = await step(clerk, "acceptCase", case)
    assert case["acceptedOn"] == "2026-09-29"
    clock.at(date(2026, 9, 30), 15, 0)
    case = await step(clerk, "reviewCase", case)
    case = await step(clerk, "decideCase", case, decision="APPROVED")
    case = await step(clerk, "completeCase", case)
    assert actions(case) == ["SUBMIT", "DISPATCH", "RECEIVE", "ACCEPT", "REVIEW", "DECIDE", "COMPLETE"]
    assert (case["workingDaysTaken"], case["channel"]) == (1, "AGENCY")


async def test_a_company_is_served_by_proactive_agency_and_the_figures_follow(story):
    clock, _, users = story
    clerk, supervisor = users["clerk"], users["supervisor"]
    item = await ids(clerk, '{ items(where: {code: {eq: "XK-002"}}) { nodes { id } } }')
    person, _ = await submit(clerk, item, channel="PROACTIVE_AGENCY")
    error = await clerk.error(f'mutation {{ proxyDeclareCase(id: "{person["id"]}", version: 1) {{ id }} }}')
    assert error["extensions"]["code"] == "INVALID_TRANSITION" and "company" in error["message"]

    case, _ = await submit(clerk, item, person=False, channel="PROACTIVE_AGENCY")
    assert case["tripsSaved"] == 0
    case = await step(clerk, "proxyDeclareCase", case, comment='"代为网上申报并上传营业执照"')
    assert case["status"] == "SUBMITTED" and case["tripsSaved"] >= 1
    case = await step(clerk, "acceptCase", case)
    for verb in ("reviewCase", "decideCase", "completeCase"):
        case = await step(clerk, verb, case, **({"decision": "APPROVED"} if verb == "decideCase" else {}))
    assert actions(case) == ["SUBMIT", "PROXY_DECLARE", "ACCEPT", "REVIEW", "DECIDE", "COMPLETE"]
    await step(clerk, "withdrawCase", person, comment='"申请人撤回"')

    # The figures: the two cases accepted this autumn, both completed on time.
    stats = await supervisor.data(
        '{ serviceStats(by: ORGANIZATION, from: "2026-09-01", to: "2026-12-31", asOf: "2026-10-12") '
        "{ key label accepted completed completedOnTime completionRate onTimeRate tripsSaved overdue } }"
    )
    (row,) = stats["serviceStats"]
    assert (row["label"], row["accepted"], row["completed"], row["completionRate"], row["onTimeRate"]) == (
        "屈家岭管理区政务服务中心",
        1,
        1,
        1.0,
        1.0,
    )
    aggregate = await supervisor.data(
        '{ casesAggregate(where: {acceptedOn: {gte: "2026-09-01", lte: "2026-12-31"}}) { count } }'
    )
    assert aggregate["casesAggregate"]["count"] == row["accepted"]
    clock.at(date(2026, 9, 28) + timedelta(days=1), 9, 0)
