"""The domain's figures per group of an aggregate (办结率, 限时办结率, overdue, 满意率): computed by
the API from the same definitions as the dashboard, so a report over a period's accepted cases
gives serviceStats's figures for it, each reader over their own area."""

from __future__ import annotations

import datetime as dt
import time

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
    dashboard does: the same query on the same server, asked again on a day before every case,
    finds only the late completions (the kept statement of a query is the day's)."""
    query = "{ casesAggregate { figures { overdue } } }"
    stats = """{ serviceStats { overdue } overdueCases(first: 500) { number } }"""
    now = [time.time()]
    async with serving(varied_url, clock=lambda: now[0]) as http:
        admin = await http.sign_in("admin")
        today = (await admin.data(query))["casesAggregate"]["figures"]["overdue"]
        (row,) = (await admin.data(stats))["serviceStats"]
        assert today == row["overdue"]
        assert len((await admin.data(stats))["overdueCases"]) > 0
        now[0] = dt.datetime(2001, 1, 1, tzinfo=dt.UTC).timestamp()
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
        # a rating's figure is not a case's: neither in having nor in orderBy
        for argument in ("having: {satisfactionRate: {gte: 0.5}}", "orderBy: [{satisfactionRate: DESC}]"):
            error = await admin.error(
                f"{{ casesAggregate(groupBy: [{{status: true}}], {argument}) {{ count }} }}"
            )
            assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED", error
            assert "satisfactionRate" in error["message"], error
        error = await admin.error("{ itemsAggregate { figures { onTimeRate } } }")
        assert "figures" in error["message"], error


async def test_groups_without_a_rate_sort_where_the_direction_says_on_either_database(varied_url):
    """A group with nothing completed has no 限时办结率 (null): it sorts as lists sort NULLs
    (PostgreSQL's default, first when descending, last when ascending) unless NULLS_FIRST/LAST
    says otherwise, on SQLite as on PostgreSQL."""
    query = """query($order: SortDirection!) { casesAggregate(groupBy: [{status: true}],
      orderBy: [{onTimeRate: $order}]) { groups { keys { status } figures { onTimeRate } } } }"""
    async with serving(varied_url) as http:
        admin = await http.sign_in("admin")
        placed = {}
        for order in ("DESC", "DESC_NULLS_LAST", "ASC", "ASC_NULLS_FIRST"):
            groups = (await admin.data(query, {"order": order}))["casesAggregate"]["groups"]
            rates = [g["figures"]["onTimeRate"] for g in groups]
            assert rates.count(None) >= 1 and len(rates) > 2, groups  # rejected: none completed
            known = [r for r in rates if r is not None]
            assert known == sorted(known, reverse=order.startswith("DESC")), (order, rates)
            placed[order] = "first" if rates[0] is None else "last" if rates[-1] is None else "between"
        assert placed == {
            "DESC": "first",
            "DESC_NULLS_LAST": "last",
            "ASC": "last",
            "ASC_NULLS_FIRST": "first",
        }
