from datetime import UTC, date, datetime

import pytest
from tortoise.exceptions import IntegrityError
from tortoise.functions import Sum

from api.errors import DomainError
from api.models.funding import Funding, FundingPurpose
from api.models.item import CaseKind, Item, ItemAssignment, ItemSource, ItemType, Power
from tests.factories import make_tree


async def make_item(**overrides) -> Item:
    fields = {
        "code": "XK-001",
        "name": "食品经营许可",
        "type": ItemType.LICENSING,
        "source": ItemSource.DELEGATED_BY_CITY,
        "department": "市场监督管理局",
        "case_kind": CaseKind.PROMISED,
        "legal_limit_days": 20,
        "promised_limit_days": 10,
        "visits_required": 1,
        "online": True,
    }
    return await Item.create(**{**fields, **overrides})


async def assign(item, org, power=Power.FULL) -> ItemAssignment:
    return await ItemAssignment.create(
        item=item, organization=org, power=power, legal_basis="决定", effective_from=date(2017, 5, 1)
    )


async def test_one_active_assignment_per_item_and_organization(fresh_db):
    _, center, _ = await make_tree()
    item = await make_item()
    await assign(item, center)
    with pytest.raises(IntegrityError):
        await assign(item, center, Power.AGENCY_ONLY)
    assert await ItemAssignment.filter(item=item, organization=center).count() == 1


async def test_a_revoked_assignment_stays_as_history_and_frees_the_pair(fresh_db):
    _, center, _ = await make_tree()
    item = await make_item()
    first = await assign(item, center)
    first.revoked_at = datetime(2018, 1, 1, tzinfo=UTC)
    await first.save()
    await assign(item, center, Power.ACCEPT_AND_PRE_REVIEW)
    rows = await ItemAssignment.filter(item=item, organization=center).order_by("id")
    assert [(r.power, r.active) for r in rows] == [(Power.FULL, None), (Power.ACCEPT_AND_PRE_REVIEW, True)]


async def test_database_refuses_an_active_marker_on_a_revoked_assignment(fresh_db):
    _, center, _ = await make_tree()
    row = await assign(await make_item(), center)
    with pytest.raises(IntegrityError):
        await ItemAssignment.filter(id=row.id).update(revoked_at=datetime(2018, 1, 1, tzinfo=UTC))


async def test_three_ban_tags_follow_the_item_facts(fresh_db):
    item = await make_item(case_kind=CaseKind.IMMEDIATE, legal_limit_days=0, promised_limit_days=0)
    assert (item.tag_immediate, item.tag_online, item.tag_one_visit) == (True, True, True)
    item.visits_required, item.online = 2, False
    await item.save(update_fields=["visits_required", "online"])
    stored = await Item.get(id=item.id)
    assert (stored.tag_immediate, stored.tag_online, stored.tag_one_visit) == (True, False, False)


async def test_promised_limit_above_the_legal_limit_is_refused(fresh_db):
    with pytest.raises(DomainError) as error:
        await make_item(legal_limit_days=5, promised_limit_days=8)
    assert error.value.field == "promised_limit_days"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"base_code": "51A0138"}, "base_code"),
        ({"base_code": "511A0138000000", "implementation_code": "511A0138000000-1"}, "implementation_code"),
        (
            {
                "base_code": "511A0138000000",
                "implementation_code": "511A0138000000-511602000000-000-115113010833722044-1-00",
            },
            "implementation_code",
        ),
        (
            {
                "base_code": "511A0138000001",
                "implementation_code": "511A0138000000-511602000000-000-115113010833722043-1-00",
            },
            "implementation_code",
        ),
    ],
)
async def test_codes_are_validated_strings(fresh_db, fields, field):
    with pytest.raises(DomainError) as error:
        await make_item(**fields)
    assert error.value.field == field


async def test_a_well_formed_implementation_code_is_kept(fresh_db):
    code = "511A0138000000-511602000000-000-115113010833722043-1-00"
    item = await make_item(base_code="511A0138000000", implementation_code=code)
    assert (await Item.get(id=item.id)).implementation_code == code


async def test_money_is_integer_fen_and_sums_exactly(fresh_db):
    _, center, _ = await make_tree()
    amounts = [1, 2, 10_000_000_001, 33_333_333]  # beyond 32-bit, and cents that floats would blur
    for amount in amounts:
        await Funding.create(
            organization=center,
            amount_fen=amount,
            purpose=FundingPurpose.OTHER,
            granted_on=date(2017, 5, 1),
            source="财政",
        )
    total = (await Funding.all().annotate(total=Sum("amount_fen")).first().values("total"))["total"]
    assert int(total) == sum(amounts)
    assert isinstance((await Funding.first()).amount_fen, int)


async def test_zero_or_negative_funding_is_refused_by_the_database(fresh_db):
    _, center, _ = await make_tree()
    with pytest.raises(IntegrityError):
        await Funding.create(
            organization=center,
            amount_fen=0,
            purpose=FundingPurpose.OTHER,
            granted_on=date(2017, 5, 1),
            source="x",
        )
