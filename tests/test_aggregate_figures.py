"""The domain's figures per group of an aggregate (办结率, 限时办结率, overdue, 满意率): computed by
the API from the same definitions as the dashboard, so a report over a period's accepted cases
gives serviceStats's figures for it, each reader over their own area."""

from __future__ import annotations

import datetime as dt

from tests.conftest import serving

FIGURES = "accepted completed completionRate onTimeRate overdue"
PER_HALL_AND_MONTH = f"""{{ casesAggregate(where: {{acceptedOn: {{isNull: false}}}},
  groupBy: [{{handlingOrganizationName: true}}, {{acceptedOn: MONTH}}]) {{
    figures {{ {FIGURES} }}
    groups {{ keys {{ handlingOrganizationName acceptedOn }} count figures {{ {FIGURES} }} }} }} }}"""
STATS = """query($from: Date, $to: Date) { serviceStats(by: ORGANIZATION, from: $from, to: $to) {
  label accepted completed completionRate onTimeRate overdue } }"""
TOTALS = "{ serviceStats { accepted completed completionRate onTimeRate overdue } }"


def _month_end(first: dt.date) -> dt.date:
    return (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)


async def test_figures_per_organization_and_month_equal_the_dashboard_s(varied_url):
    async with serving(varied_url) as http:
        for name in ("admin", "hall_clerk"):
            reader = await http.sign_in(name)
            answer = (await reader.data(PER_HALL_AND_MONTH))["casesAggregate"]
            reported = {
                (g["keys"]["acceptedOn"], g["keys"]["handlingOrganizationName"]): g["figures"]
                for g in answer["groups"]
            }
            assert reported, "the fixture has accepted cases"
            assert all(g["count"] == g["figures"]["accepted"] for g in answer["groups"])
            dashboard = {}
            for month in sorted({month for month, _org in reported}):
                first = dt.date.fromisoformat(month)
                period = {"from": month, "to": _month_end(first).isoformat()}
                for row in (await reader.data(STATS, period))["serviceStats"]:
                    label = row.pop("label")
                    if row["accepted"]:
                        dashboard[(month, label)] = row
            assert reported == dashboard, name
            # the overall figures are the dashboard's totals over every period
            (total,) = (await reader.data(TOTALS))["serviceStats"]
            assert answer["figures"] == total, name
            rates = {f["onTimeRate"] for f in reported.values() if f["onTimeRate"] is not None}
            assert len(rates) > 2 and all(0 <= r <= 1 for r in rates)
            assert total["overdue"] > 0 and total["completionRate"] < 1


async def test_a_hall_clerk_s_figures_are_their_hall_s_alone(seeded_url):
    async with serving(seeded_url) as http:
        admin, hall_clerk = await http.sign_in("admin"), await http.sign_in("hall_clerk")
        query = f"{{ casesAggregate {{ figures {{ {FIGURES} }} }} }}"
        everything = (await admin.data(query))["casesAggregate"]["figures"]
        mine = (await hall_clerk.data(query))["casesAggregate"]["figures"]
        assert 0 < mine["accepted"] < everything["accepted"]


async def test_groups_are_ordered_and_kept_by_a_figure(varied_url):
    async with serving(varied_url) as http:
        admin = await http.sign_in("admin")
        query = """query($least: Float) { casesAggregate(groupBy: [{handlingOrganizationCode: true}],
          having: {onTimeRate: {gte: $least}}, orderBy: [{onTimeRate: DESC}]) {
            groups { keys { handlingOrganizationCode } figures { onTimeRate completed } } } }"""
        every = (await admin.data(query, {"least": 0}))["casesAggregate"]["groups"]
        rates = [g["figures"]["onTimeRate"] for g in every]
        assert len(rates) > 2 and rates == sorted(rates, reverse=True)
        assert all(g["figures"]["completed"] > 0 for g in every)  # no rate where none completed
        middle = rates[len(rates) // 2]
        kept = (await admin.data(query, {"least": middle}))["casesAggregate"]["groups"]
        assert kept == [g for g in every if g["figures"]["onTimeRate"] >= middle]
        assert 0 < len(kept) < len(every) or middle == rates[-1]


async def test_overdue_is_judged_on_the_request_s_day(varied_url):
    """Overdue counts the open cases past their promised day as of the request's day, as the
    dashboard does: a day before every case finds only the late completions."""
    seeded_url = varied_url
    query = "{ casesAggregate { figures { overdue } } }"
    stats = """{ serviceStats { overdue } overdueCases(first: 500) { number } }"""
    async with serving(seeded_url) as http:
        admin = await http.sign_in("admin")
        today = (await admin.data(query))["casesAggregate"]["figures"]["overdue"]
        (row,) = (await admin.data(stats))["serviceStats"]
        assert today == row["overdue"]
        assert len((await admin.data(stats))["overdueCases"]) > 0
    earlier = dt.datetime(2001, 1, 1, tzinfo=dt.UTC).timestamp()
    async with serving(seeded_url, clock=lambda: earlier) as http:
        admin = await http.sign_in("admin")
        then = (await admin.data(query))["casesAggregate"]["figures"]["overdue"]
        (row,) = (await admin.data('{ serviceStats(asOf: "2001-01-01") { overdue } }'))["serviceStats"]
        assert then == row["overdue"] and 0 < then < today


async def test_satisfaction_per_staff_member_equals_the_ratings_dashboard_s(seeded_url):
    async with serving(seeded_url) as http:
        admin = await http.sign_in("admin")
        query = """{ evaluationsAggregate(groupBy: [{staffName: true}]) {
          figures { satisfactionRate bad } count
          groups { keys { staffName } count figures { satisfactionRate bad } } } }"""
        answer = (await admin.data(query))["evaluationsAggregate"]
        stats = """{ all: ratingStats { ratings satisfactionRate dissatisfied veryDissatisfied }
          staff: ratingStats(by: STAFF) { label ratings satisfactionRate } }"""
        dashboard = await admin.data(stats)
        (total,) = dashboard["all"]
        assert answer["count"] == total["ratings"] > 0
        assert answer["figures"] == {
            "satisfactionRate": total["satisfactionRate"],
            "bad": total["dissatisfied"] + total["veryDissatisfied"],
        }
        per_staff = {g["keys"]["staffName"]: g["figures"]["satisfactionRate"] for g in answer["groups"]}
        assert per_staff == {r["label"]: r["satisfactionRate"] for r in dashboard["staff"]}


async def test_a_figure_is_refused_where_it_is_not_a_measure(seeded_url):
    async with serving(seeded_url) as http:
        admin = await http.sign_in("admin")
        error = await admin.error(
            '{ casesAggregate(groupBy: [{status: true}], having: {onTimeRate: {gte: "x"}}) { count } }'
        )
        assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED", error
        error = await admin.error("{ itemsAggregate { figures { onTimeRate } } }")
        assert "figures" in error["message"], error
