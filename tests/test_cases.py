"""Case, evaluation and staff records refuse bad data in the model and in the database."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from tortoise.exceptions import IntegrityError

from api import db
from api.errors import DomainError
from api.models.case import ApplicantType, Case, CaseStatus, Channel, Decision, Evaluation
from api.models.item import GuideRevision, Item, ItemType
from api.models.org import Organization, Window
from api.models.staff import Staff
from api.settings import Settings


@pytest.fixture
async def fixture_copy(seeded_url):
    async with db.database(Settings(database_url=seeded_url)) as ctx:
        yield ctx


async def new_case(**overrides) -> Case:
    item = await Item.get(code="GG-001")
    center = await Organization.get(code="QJL-ZWFW")
    fields = {
        "number": "TEST0001",
        "item": item,
        "guide_revision": await GuideRevision.filter(item=item).first(),
        "applicant_type": ApplicantType.PERSON,
        "applicant_name": "测试",
        "applicant_id_number": "11010519491231002X",
        "applicant_phone": "13800138000",
        "channel": Channel.COUNTER,
        "submitted_at": datetime(2018, 5, 2, 1, 0, tzinfo=UTC),
        "submitted_at_organization": center,
        "handling_organization": center,
        "status": CaseStatus.SUBMITTED,
    }
    return await Case.create(**{**fields, **overrides})


async def test_a_case_with_a_valid_applicant_is_stored(fixture_copy):
    case = await new_case(applicant_id_number="11010519491231002x")
    assert (await Case.get(id=case.id)).applicant_id_number == "11010519491231002X"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"applicant_id_number": "110105194912310021"}, "applicant_id_number"),
        (
            {"applicant_type": ApplicantType.COMPANY, "applicant_id_number": "91350100M000100Y44"},
            "applicant_id_number",
        ),
        ({"applicant_phone": "123"}, "applicant_phone"),
    ],
)
async def test_bad_applicant_identifiers_are_refused(fixture_copy, overrides, field):
    with pytest.raises(DomainError) as error:
        await new_case(**overrides)
    assert error.value.field == field
    assert not await Case.exists(number="TEST0001")


async def test_a_guide_revision_of_another_item_is_refused(fixture_copy):
    other = await GuideRevision.filter(item__type=ItemType.LICENSING).first()
    with pytest.raises(DomainError) as error:
        await new_case(guide_revision=other)
    assert error.value.field == "guide_revision"


async def test_the_database_ties_a_decision_to_the_decided_states(fixture_copy):
    case = await new_case()
    with pytest.raises(IntegrityError):
        await Case.filter(id=case.id).update(decision=Decision.APPROVED)
    with pytest.raises(IntegrityError):
        await Case.filter(id=case.id).update(completed_at=datetime(2018, 5, 3, tzinfo=UTC))


async def test_case_numbers_are_unique(fixture_copy):
    await new_case()
    with pytest.raises(IntegrityError):
        await new_case()


async def test_a_bad_rating_needs_a_reason(fixture_copy):
    case = await Case.filter(status=CaseStatus.DELIVERED, evaluation=None).first()
    with pytest.raises(DomainError) as error:
        await Evaluation.create(case=case, score=2, reason=" ", rated_at=datetime.now(UTC))
    assert error.value.field == "reason"
    with pytest.raises(IntegrityError):
        await Evaluation.bulk_create([Evaluation(case=case, score=1, reason="", rated_at=datetime.now(UTC))])
    with pytest.raises(IntegrityError):  # a bad rating without its rectification deadline
        await Evaluation.create(case=case, score=2, reason="等待时间过长", rated_at=datetime.now(UTC))
    due = date(2018, 6, 1)
    await Evaluation.create(
        case=case, score=2, reason="等待时间过长", rated_at=datetime.now(UTC), rectification_due_date=due
    )
    with pytest.raises(IntegrityError):
        await Evaluation.create(case=case, score=5, rated_at=datetime.now(UTC))


async def test_staff_window_must_be_at_their_own_organization(fixture_copy):
    hall = await Organization.get(code="QJL-H1")
    center_window = await Window.filter(organization__code="QJL-ZWFW").first()
    with pytest.raises(DomainError) as error:
        await Staff.create(name="张三", organization=hall, window=center_window)
    assert error.value.field == "window"
