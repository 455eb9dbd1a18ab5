"""The Qujialing fixture reproduces every figure of the article from its data."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from tortoise.functions import Count, Sum

from api.auth.passwords import verify_password
from api.models.case import AgencyBatchCase, Case, CaseStatus, Channel
from api.models.funding import FundingPurpose, RoomInspection
from api.models.item import GuideRevision, Item, ItemAssignment, Power
from api.models.org import ConstructionStatus, Organization, Tier
from api.models.staff import Staff
from api.models.user import User
from api.services.catalogue import catalogue_counts
from api.services.coverage import coverage
from api.services.funding import funding_totals
from seeds.qujialing.organizations import CENTER_CODE
from tests.conftest import DEMO_PASSWORD

TZ = ZoneInfo("Asia/Shanghai")
PERMITS = {
    "建设用地规划许可证核发": [8, 5],
    "建设工程规划许可证核发": [17, 15],
    "建筑工程施工许可证核发": [40, 26],
}


async def test_rooms_31_of_38_built_and_halls_4_of_4(fixture_db):
    by_tier = {row.tier: row for row in await coverage()}
    rooms, halls = by_tier[Tier.ROOM], by_tier[Tier.HALL]
    assert (rooms.built, rooms.total, rooms.under_construction) == (31, 38, 7)
    assert rooms.formula == "built 31 / total 38 = 81.6%"
    assert rooms.built_or_under_construction_rate == 1.0
    assert (halls.built, halls.total, halls.formula) == (4, 4, "built 4 / total 4 = 100.0%")


async def test_halls_serve_80000_people(fixture_db):
    row = (
        await Organization.filter(tier=Tier.HALL).annotate(people=Sum("population")).first().values("people")
    )
    assert row["people"] == 80_000


async def test_center_has_60_staff(fixture_db):
    assert await Staff.filter(organization__code=CENTER_CODE).count() == 60


async def test_catalogue_and_center_figures(fixture_db):
    counts = await catalogue_counts()
    assert counts.guides_by_type == {"LICENSING": 176, "PUBLIC_SERVICE": 128}
    assert counts.center_items_by_type["LICENSING"] == 84
    assert counts.center_licensing_by_source == {"DELEGATED_BY_CITY": 52, "ENTRUSTED_BY_COUNTY": 32}
    assert (counts.items_at_every_hall, counts.halls) == (71, 4)


async def test_rooms_accept_and_pre_review_exactly_the_home_visit_and_publicity_items(fixture_db):
    pre_review = await ItemAssignment.filter(
        active=True, power=Power.ACCEPT_AND_PRE_REVIEW, organization__tier=Tier.ROOM
    ).values_list("item_id", flat=True)
    flagged = await Item.filter(needs_home_visit=True).values_list("id", flat=True)
    flagged += await Item.filter(needs_village_publicity=True).values_list("id", flat=True)
    assert set(pre_review) == set(flagged)
    assert (await catalogue_counts()).items_accepted_at_rooms == len(set(flagged)) > 0


async def test_rooms_under_construction_handle_nothing_yet(fixture_db):
    assert not await ItemAssignment.filter(
        organization__construction_status=ConstructionStatus.UNDER_CONSTRUCTION
    ).exists()


async def test_delegated_items_keep_one_name_code_and_guide_at_every_hall(fixture_db):
    # Delegated (下放): handled at the hall; the licences halls only collect for the center are not.
    rows = (
        await ItemAssignment.filter(active=True, organization__tier=Tier.HALL)
        .exclude(power=Power.AGENCY_ONLY)
        .values_list("item_id", "item__name", "item__code", "organization_id")
    )
    per_item: dict[int, set] = {}
    for item_id, name, code, _org in rows:
        per_item.setdefault(item_id, set()).add((name, code))
    assert len(per_item) == 71
    assert all(len(variants) == 1 for variants in per_item.values())


async def test_guide_history_shows_the_three_material_reductions(fixture_db):
    for name, counts in PERMITS.items():
        revisions = (
            await GuideRevision.filter(item__name=name)
            .annotate(materials_count=Count("materials"))
            .order_by("revision")
            .values_list("materials_count", flat=True)
        )
        assert list(revisions) == counts, name


async def test_funding_records_add_up_to_the_article(fixture_db):
    totals = {row.purpose: row for row in await funding_totals()}
    reward = totals[FundingPurpose.REWARD_SUBSIDY]
    assert reward.amount_fen == 1_060_000 * 100
    assert reward.amount_yuan == "1,060,000.00"
    assert 3_000_000 * 100 < totals[FundingPurpose.HALL_CONSTRUCTION].amount_fen < 4_000_000 * 100
    assert 500_000 * 100 < totals[FundingPurpose.NETWORK_PLATFORM].amount_fen < 600_000 * 100


async def test_standardized_rooms_pass_all_six_checks_and_built_ones_miss_some(fixture_db):
    for inspection in await RoomInspection.all().prefetch_related("organization"):
        standardized = inspection.organization.construction_status == ConstructionStatus.STANDARDIZED
        assert inspection.passed == standardized


async def test_a_year_of_cases_all_completed_within_the_promised_limit(fixture_db):
    cases = await Case.all().values_list(
        "status", "accepted_at", "completed_at", "promised_due_date", "submitted_at"
    )
    accepted = [c for c in cases if c[1] is not None]
    completed = [c for c in accepted if c[2] is not None]
    assert len(cases) > 3000
    assert len(completed) == len(accepted)  # 办结率 100%
    assert all(c[2].astimezone(TZ).date() <= c[3] for c in completed)  # 限时办结率 100%
    submitted = [c[4].astimezone(TZ).date() for c in cases]
    assert date(2017, 5, 1) <= min(submitted) and max(submitted) <= date(2018, 4, 30)
    assert {c[0] for c in cases} <= {CaseStatus.DELIVERED, CaseStatus.COMPLETED, CaseStatus.REJECTED}


async def test_cases_keep_the_guide_revision_in_force_when_submitted(fixture_db):
    rows = await Case.filter(item__name="建筑工程施工许可证核发").values_list(
        "submitted_at", "guide_revision__revision"
    )
    assert rows
    for submitted_at, revision in rows:
        assert revision == (1 if submitted_at.astimezone(TZ).date() < date(2017, 6, 1) else 2)


async def test_agency_cases_travel_in_one_batch_from_their_room_to_the_handling_hall(fixture_db):
    agency = await Case.filter(channel=Channel.AGENCY).values_list(
        "id", "submitted_at_organization_id", "handling_organization_id", "trips_saved"
    )
    assert agency
    trips = await AgencyBatchCase.filter(case_id__in=[a[0] for a in agency]).values_list(
        "case_id", "batch__origin_id", "batch__destination_id"
    )
    route = {case_id: (origin, destination) for case_id, origin, destination in trips}
    assert len(trips) == len(route) == len(agency)
    assert all(route[case_id] == (room, hall) and saved >= 1 for case_id, room, hall, saved in agency)


async def test_demo_users_sign_in_with_the_demo_password(fixture_db):
    users = {u.username: u for u in await User.filter(is_demo=True)}
    assert set(users) == {"admin", "supervisor", "clerk", "hall_clerk", "agent", "integrator"}
    assert all(verify_password(u.password_hash, DEMO_PASSWORD) for u in users.values())
