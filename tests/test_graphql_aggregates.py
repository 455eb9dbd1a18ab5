"""Generated aggregates over /graphql on the fixture, computed by SQL GROUP BY on both databases."""

from __future__ import annotations

from api.models.case import Case
from api.models.org import Tier


async def test_176_licensing_items(api):
    data = await api.data("{ itemsAggregate(where: {type: {eq: LICENSING}}) { count } }")
    assert data["itemsAggregate"]["count"] == 176


async def test_items_grouped_by_type(api):
    data = await api.data(
        "{ itemsAggregate(groupBy: [{type: true}]) { count groups { keys { type } count } } }"
    )
    groups = {g["keys"]["type"]: g["count"] for g in data["itemsAggregate"]["groups"]}
    assert groups == {"LICENSING": 176, "PUBLIC_SERVICE": 128}
    assert data["itemsAggregate"]["count"] == 304


async def test_funding_sums_are_exact_integers_in_fen(admin_api):
    data = await admin_api.data(
        """{ fundingsAggregate(groupBy: [{purpose: true}]) {
             sum { amountFen } groups { keys { purpose } sum { amountFen } } } }"""
    )
    groups = {g["keys"]["purpose"]: g["sum"]["amountFen"] for g in data["fundingsAggregate"]["groups"]}
    assert groups["REWARD_SUBSIDY"] == 106_000_000
    assert data["fundingsAggregate"]["sum"]["amountFen"] == sum(groups.values())


async def test_cases_by_month_and_handling_tier_match_the_rows(admin_api, fixture_url):
    from zoneinfo import ZoneInfo

    from api import db
    from api.settings import Settings

    data = await admin_api.data(
        """{ casesAggregate(groupBy: [{submittedAt: MONTH},
                                     {handlingOrganizationTier: true}],
                            orderBy: [{submittedAt: ASC}, {handlingOrganizationTier: ASC}]) {
             count groups { keys { submittedAt handlingOrganizationTier } count sum { tripsSaved } } } }"""
    )
    groups = data["casesAggregate"]["groups"]
    tz = ZoneInfo("Asia/Shanghai")
    async with db.database(Settings(database_url=fixture_url)):
        rows = await Case.all().values_list("submitted_at", "handling_organization__tier", "trips_saved")
    expected: dict[tuple[str, str], list[int]] = {}
    for submitted, tier, trips in rows:
        key = (submitted.astimezone(tz).strftime("%Y-%m-01"), Tier(tier).value)
        expected.setdefault(key, [0, 0])
        expected[key][0] += 1
        expected[key][1] += trips
    got = {
        (g["keys"]["submittedAt"], g["keys"]["handlingOrganizationTier"]): [
            g["count"],
            g["sum"]["tripsSaved"],
        ]
        for g in groups
    }
    assert got == expected
    assert list(got) == sorted(got)
    assert data["casesAggregate"]["count"] == len(rows)


async def test_having_and_ordering_by_an_aggregate(admin_api):
    data = await admin_api.data(
        """{ casesAggregate(groupBy: [{itemType: true}, {channel: true}], having: {count: {gte: 100}},
                            orderBy: [{count: DESC}]) { groups { keys { itemType channel } count } } }"""
    )
    counts = [g["count"] for g in data["casesAggregate"]["groups"]]
    assert counts and all(c >= 100 for c in counts)
    assert counts == sorted(counts, reverse=True)


async def test_week_buckets_start_on_monday(admin_api):
    data = await admin_api.data(
        """{ casesAggregate(groupBy: [{submittedAt: WEEK}], first: 5) {
             groups { keys { submittedAt } } } }"""
    )
    import datetime as dt

    for group in data["casesAggregate"]["groups"]:
        assert dt.date.fromisoformat(group["keys"]["submittedAt"]).weekday() == 0


async def test_a_bucket_on_a_non_date_field_is_refused_by_the_schema(api):
    error = await api.error("{ itemsAggregate(groupBy: [{type: MONTH}]) { count } }")
    assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert "Boolean" in error["message"], error["message"]


async def test_each_group_by_element_sets_exactly_one_field_to_a_grouping(api):
    for group_by, says in (
        ("[{type: true, source: true}]", "each groupBy element sets exactly one field"),
        ("[{}]", "each groupBy element sets exactly one field"),
        ("[{type: false}]", "groupBy {type: false} groups by nothing: leave the element out"),
    ):
        error = await api.error(f"{{ itemsAggregate(groupBy: {group_by}) {{ count }} }}")
        assert error["extensions"] == {"code": "VALIDATION_FAILED", "field": "groupBy"}, group_by
        assert error["message"] == says


async def test_grouping_and_ordering_take_the_same_shape(api):
    """A list of elements that each set one field: the direction to sort by, or how to group."""
    data = await api.data(
        """{ itemsAggregate(groupBy: [{type: true}], orderBy: [{count: DESC}]) {
               groups { keys { type } count } }
             items(orderBy: [{type: ASC}, {code: ASC}], first: 1) { nodes { type } } }"""
    )
    counts = [group["count"] for group in data["itemsAggregate"]["groups"]]
    assert counts == sorted(counts, reverse=True) and len(counts) > 1


async def test_measures_asked_through_fragments_are_computed(api):
    data = await api.data(
        """fragment Sums on ItemAggregate { sum { feeFen } ... on ItemAggregate { max { legalLimitDays } } }
           { itemsAggregate { ...Sums } }"""
    )
    assert data["itemsAggregate"] == {"sum": {"feeFen": 21000}, "max": {"legalLimitDays": 20}}


async def test_a_field_grouped_by_twice_is_refused(api):
    for group_by in (
        "[{type: true}, {type: true}]",
        "[{createdAt: YEAR}, {createdAt: MONTH}]",
    ):
        error = await api.error(f"{{ itemsAggregate(groupBy: {group_by}) {{ count }} }}")
        assert error["extensions"] == {"code": "VALIDATION_FAILED", "field": "groupBy"}
        assert "twice" in error["message"]
