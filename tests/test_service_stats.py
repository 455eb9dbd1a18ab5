"""serviceStats, overdueCases, ratingStats and caseProgress on the fixture and on live cases."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from api import db
from api.services.calendar import load_year
from api.settings import Settings
from tests.conftest import serving

DISTRICT_ZONE = ZoneInfo("Asia/Shanghai")
FIGURES = (
    "key label accepted completed completedOnTime completionRate onTimeRate overdue tripsSaved "
    "averageWorkingDays"
)


async def test_the_fixture_figures_agree_across_every_grouping(admin_api):
    total = (await admin_api.data(f"{{ serviceStats {{ {FIGURES} }} }}"))["serviceStats"]
    (all_cases,) = total
    assert (all_cases["completionRate"], all_cases["onTimeRate"]) == (1.0, 1.0)
    assert all_cases["accepted"] > 3500 and all_cases["overdue"] == 0
    for by in ("TIER", "ORGANIZATION", "ITEM", "MONTH"):
        rows = (await admin_api.data(f"{{ serviceStats(by: {by}) {{ {FIGURES} }} }}"))["serviceStats"]
        assert sum(r["accepted"] for r in rows) == all_cases["accepted"], by
        assert sum(r["tripsSaved"] for r in rows) == all_cases["tripsSaved"], by
    months = (await admin_api.data("{ serviceStats(by: MONTH) { key accepted } }"))["serviceStats"]
    assert [m["key"] for m in months][:2] == ["2017-05-01", "2017-06-01"] and len(months) == 12
    # The generated aggregate counts the same cases per month of acceptance.
    grouped = await admin_api.data(
        "{ casesAggregate(where: {acceptedOn: {isNull: false}}, "
        "groupBy: [{acceptedOn: MONTH}]) "
        "{ groups { keys { acceptedOn } count } } }"
    )
    per_month = {g["keys"]["acceptedOn"]: g["count"] for g in grouped["casesAggregate"]["groups"]}
    assert per_month == {m["key"]: m["accepted"] for m in months}
    tags = (await admin_api.data(f"{{ serviceStats(by: TAG) {{ {FIGURES} }} }}"))["serviceStats"]
    assert [t["key"] for t in tags] == ["IMMEDIATE", "ONLINE", "ONE_VISIT"]
    immediate = tags[0]
    assert immediate["averageWorkingDays"] == 0.0  # 马上办: done the day it is accepted
    # Each tag counts the cases of its items (an item with two tags in both), as the generated
    # aggregate does with a filter on the item.
    for row, flag in zip(tags, ("tagImmediate", "tagOnline", "tagOneVisit"), strict=True):
        counted = await admin_api.data(
            f"{{ casesAggregate(where: {{acceptedOn: {{isNull: false}}, item: {{{flag}: {{eq: true}}}}}}) "
            "{ count sum { tripsSaved } } }"
        )
        assert (row["accepted"], row["tripsSaved"]) == (
            counted["casesAggregate"]["count"],
            counted["casesAggregate"]["sum"]["tripsSaved"] or 0,
        ), flag
    assert sum(t["accepted"] for t in tags) > all_cases["accepted"] > max(t["accepted"] for t in tags)


async def test_a_hall_clerk_sees_the_figures_of_the_hall_only(api):
    hall_clerk = await api.sign_in("hall_clerk")
    rows = (await hall_clerk.data(f"{{ serviceStats(by: ORGANIZATION) {{ {FIGURES} }} }}"))["serviceStats"]
    assert [r["label"] for r in rows] == ["第一办事处便民服务大厅"] or all(
        r["label"] in ("第一办事处便民服务大厅", "屈家岭管理区政务服务中心") for r in rows
    )
    hall = next(r for r in rows if r["label"] == "第一办事处便民服务大厅")
    admin = await api.sign_in("admin")
    everything = (await admin.data(f"{{ serviceStats(by: ORGANIZATION) {{ {FIGURES} }} }}"))["serviceStats"]
    assert hall == next(r for r in everything if r["label"] == "第一办事处便民服务大厅")


async def test_ratings_per_staff_member_add_up(admin_api):
    (total,) = (await admin_api.data("{ ratingStats { ratings dissatisfied rectificationsClosed } }"))[
        "ratingStats"
    ]
    staff = (await admin_api.data("{ ratingStats(by: STAFF) { key label ratings } }"))["ratingStats"]
    assert sum(r["ratings"] for r in staff) == total["ratings"] and all(r["label"] for r in staff)
    # The fixture's few bad ratings were all rectified.
    assert total["dissatisfied"] == total["rectificationsClosed"] > 0


async def test_overdue_and_due_soon_cases_exclude_paused_ones(seeded_url):
    async with db.database(Settings(database_url=seeded_url)):
        await load_year(2026)
    moment = datetime(2026, 11, 2, 9, 0, tzinfo=DISTRICT_ZONE)
    clock = type("Clock", (), {"now": moment.timestamp(), "__call__": lambda self: self.now})()
    async with serving(seeded_url, clock=clock) as anonymous:
        clerk = await anonymous.sign_in("clerk")
        item = (
            await clerk.data('{ items(where: {code: {eq: "XK-005"}}) { nodes { id promisedLimitDays } } }')
        )["items"]["nodes"][0]
        ids = []
        for _ in range(2):
            submitted = await clerk.data(
                f'mutation {{ submitCase(input: {{itemId: "{item["id"]}", applicantType: PERSON, '
                'applicantName: "钱七", applicantIdNumber: "11010519491231002X", '
                'applicantPhone: "13800138000"}) '
                "{ case { id } } }"
            )
            case_id = submitted["submitCase"]["case"]["id"]
            accepted = await clerk.data(
                f'mutation {{ acceptCase(id: "{case_id}", version: 1) {{ promisedDueDate }} }}'
            )
            ids.append((case_id, accepted["acceptCase"]["promisedDueDate"]))
        await clerk.data(
            f'mutation {{ requestSupplement(id: "{ids[1][0]}", version: 2, comment: "缺少附件") {{ id }} }}'
        )
        due = ids[0][1]
        soon = await clerk.data(
            f'{{ overdueCases(asOf: "{due}", dueWithinDays: 0) {{ id promisedDueDate }} }}'
        )
        assert [c["id"] for c in soon["overdueCases"]] == [ids[0][0]]
        late = await clerk.data('{ overdueCases(asOf: "2026-12-31") { id status } }')
        assert [c["id"] for c in late["overdueCases"]] == [ids[0][0]]  # the paused one's clock stands still
        stats = await clerk.data(
            '{ serviceStats(from: "2026-11-01", asOf: "2026-12-31") '
            "{ accepted overdueOpen paused completionRate } }"
        )
        assert stats["serviceStats"] == [
            {"accepted": 2, "overdueOpen": 1, "paused": 1, "completionRate": 0.0}
        ]
        error = await clerk.error("{ overdueCases(first: 0) { id } }")
        assert error["extensions"]["field"] == "first"
        error = await clerk.error('{ serviceStats(asOf: "9999-12-31") { accepted } }')
        assert (error["extensions"]["code"], error["extensions"]["field"]) == ("VALIDATION_FAILED", "asOf")


async def test_the_public_lookup_has_its_own_budget(seeded_url):
    async with serving(seeded_url, rate_limit_lookup_per_minute=3) as anonymous:
        query = '{ caseProgress(number: "QJL201705020001", queryCode: "AAAAAAAA") { status } }'
        codes = [(await anonymous.error(query))["extensions"]["code"] for _ in range(4)]
        assert codes == ["NOT_FOUND", "NOT_FOUND", "NOT_FOUND", "RATE_LIMITED"]


async def test_an_integrator_files_online_with_a_write_key_only(seeded_url):
    from api.auth import apikeys

    async with db.database(Settings(database_url=seeded_url)):
        reader = await apikeys.create("reader", "QJL", scopes=["read:*"])
        writer = await apikeys.create("one-network", "QJL", scopes=["read:*", "write:cases"])
    async with serving(seeded_url) as anonymous:
        item = (await anonymous.data('{ items(where: {code: {eq: "GG-003"}}) { nodes { id } } }'))["items"][
            "nodes"
        ][0]
        hall = (await anonymous.data('{ organizations(where: {code: {eq: "QJL-H2"}}) { nodes { id } } }'))[
            "organizations"
        ]["nodes"][0]
        submit = (
            f'mutation {{ submitCase(input: {{itemId: "{item["id"]}", organizationId: "{hall["id"]}", '
            'channel: ONLINE, applicantType: PERSON, applicantName: "孙八", '
            'applicantIdNumber: "11010519491231002X", '
            'applicantPhone: "13800138000"}) { case { status channel handlingOrganization { code } } } }'
        )

        async def with_key(query, key):
            response = await anonymous.http.post(
                "/graphql", json={"query": query}, headers={"X-API-Key": key}
            )
            return response.json()

        refused = await with_key(submit, reader.key)
        assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        filed = await with_key(submit, writer.key)
        assert filed["data"]["submitCase"]["case"] == {
            "status": "SUBMITTED",
            "channel": "ONLINE",
            "handlingOrganization": {"code": "QJL-H2"},
        }
        counter = submit.replace("channel: ONLINE", "channel: COUNTER")
        assert (await with_key(counter, writer.key))["errors"][0]["extensions"]["field"] == "channel"


async def test_an_agent_cannot_touch_another_rooms_case(seeded_url):
    async with serving(seeded_url) as anonymous:
        agent, hall_clerk = await anonymous.sign_in("agent"), await anonymous.sign_in("hall_clerk")
        other_room = (
            await hall_clerk.data(
                '{ cases(where: {submittedAtOrganization: {code: {eq: "QJL-H1-R02"}}}, first: 1) '
                "{ nodes { id } } }"
            )
        )["cases"]["nodes"][0]
        error = await agent.error(
            f'mutation {{ withdrawCase(id: "{other_room["id"]}", version: 1, comment: "x") {{ id }} }}'
        )
        assert error["extensions"]["code"] == "NOT_FOUND"


async def test_a_rating_reads_back_at_the_level_rate_case_takes_with_its_score(admin_api):
    """Evaluation.level is the Level enum rateCase takes; score stays as its number."""
    levels = {"VERY_SATISFIED": 5, "SATISFIED": 4, "BASICALLY_SATISFIED": 3, "DISSATISFIED": 2}
    levels["VERY_DISSATISFIED"] = 1
    data = await admin_api.data(
        """{ evaluations(first: 500) { nodes { level score } }
             cases(first: 5, where: {evaluation: {score: {lte: 3}}}) { nodes { evaluation { level } } } }"""
    )
    rows = data["evaluations"]["nodes"]
    assert rows and all(levels[row["level"]] == row["score"] for row in rows)
    assert {row["level"] for row in rows} >= {"VERY_SATISFIED", "SATISFIED"}
    alone = await admin_api.data("{ evaluations(first: 500) { nodes { level } } }")  # score not asked
    assert [row["level"] for row in alone["evaluations"]["nodes"]] == [row["level"] for row in rows]
    nested = [case["evaluation"]["level"] for case in data["cases"]["nodes"]]  # through the relation
    assert nested and set(nested) <= {"BASICALLY_SATISFIED", "DISSATISFIED", "VERY_DISSATISFIED"}
