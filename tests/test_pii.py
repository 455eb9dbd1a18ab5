"""ID numbers and phones are masked unless the role needs them; every clear read is audited."""

from __future__ import annotations

import re

import pytest

from api import db
from api.errors import DomainError
from api.models.audit import AuditEntry
from api.services.identifiers import normalize_id_number, normalize_uscc
from api.services.pii import PiiKind, mask
from api.settings import Settings
from schema.generator.ids import to_global_id
from tests.conftest import serving

CASES = """{ cases(first: 5, where: {applicantType: {eq: PERSON}}, orderBy: [{number: ASC}]) {
  nodes { number applicantIdNumber applicantPhone } } }"""
MASKED_ID = re.compile(r"^\d{6}\*{8}[\dX]{4}$")
MASKED_PHONE = re.compile(r"^1\d{2}\*{4}\d{4}$")


def test_masking_rules():
    assert mask("420802199001011234", PiiKind.ID_NUMBER) == "420802********1234"
    assert mask("13812345678", PiiKind.PHONE) == "138****5678"
    assert mask("0724-5201234", PiiKind.PHONE) == "072*****1234"
    assert mask("123", PiiKind.PHONE) == "***"
    assert mask(None, PiiKind.PHONE) is None


@pytest.mark.parametrize("username", ["supervisor", "integrator"])
async def test_roles_that_do_not_need_personal_data_see_it_masked(writable, username):
    _admin, url = writable
    async with serving(url) as api:
        refused = await api.error(CASES)  # the public reads no cases at all
        assert refused["extensions"]["code"] == "UNAUTHENTICATED"
        api = await api.sign_in(username)
        nodes = (await api.data(CASES))["cases"]["nodes"]
    assert len(nodes) == 5
    assert all(MASKED_ID.match(n["applicantIdNumber"]) for n in nodes)
    assert all(MASKED_PHONE.match(n["applicantPhone"]) for n in nodes)
    async with db.database(Settings(database_url=url)):
        assert not await AuditEntry.filter(action="READ_PII").exists()


async def test_a_clerk_sees_them_in_clear_and_each_read_is_audited(writable):
    _admin, url = writable
    async with serving(url) as api:
        clerk = await api.sign_in("clerk")
        nodes = (await clerk.data(CASES))["cases"]["nodes"]
    assert all(normalize_id_number(n["applicantIdNumber"]) for n in nodes)
    assert all(re.match(r"^1\d{10}$", n["applicantPhone"]) for n in nodes)
    async with db.database(Settings(database_url=url)):
        reads = await AuditEntry.filter(action="READ_PII").order_by("object_id")
    assert len(reads) == 5
    assert {r.object_type for r in reads} == {"Case"}
    assert {r.detail for r in reads} == {"applicant_id_number, applicant_phone"}
    assert {r.actor_role for r in reads} == {"CLERK"}


async def test_company_credit_codes_are_masked_too(api):
    query = """{ cases(first: 3, where: {applicantType: {eq: COMPANY}}) { nodes { applicantIdNumber } } }"""
    nodes = (await (await api.sign_in("supervisor")).data(query))["cases"]["nodes"]
    assert nodes and all(re.match(r"^[0-9A-Z]{6}\*{8}[0-9A-Z]{4}$", n["applicantIdNumber"]) for n in nodes)
    with pytest.raises(DomainError):
        normalize_uscc(nodes[0]["applicantIdNumber"])


async def test_personal_data_cannot_be_filtered_sorted_or_grouped(api):
    for query in (
        '{ cases(where: {applicantPhone: {startsWith: "138"}}) { totalCount } }',
        "{ cases(orderBy: [{applicantIdNumber: ASC}]) { totalCount } }",
        "{ casesAggregate(groupBy: [{applicantPhone: true}]) { count } }",
    ):
        error = await api.error(query)
        assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


async def test_invalid_id_numbers_and_phones_are_refused_with_the_field(writable):
    admin, url = writable
    async with db.database(Settings(database_url=url)):
        from api.models.org import Organization

        hall = to_global_id("Organization", (await Organization.get(code="QJL-H1")).pk)
    create = """mutation($input: CreateStaffInput!) { createStaff(input: $input) { idNumber phone } }"""
    base = {"organizationId": hall, "name": "新同事"}
    bad_check_digit = await admin.error(create, {"input": {**base, "idNumber": "420802199001011235"}})
    assert bad_check_digit["extensions"] == {"code": "VALIDATION_FAILED", "field": "idNumber"}
    assert "check" in bad_check_digit["message"]
    bad_phone = await admin.error(create, {"input": {**base, "phone": "12345"}})
    assert bad_phone["extensions"] == {"code": "VALIDATION_FAILED", "field": "phone"}
    good = await admin.data(
        create, {"input": {**base, "idNumber": "11010519491231002x", "phone": "13812345678"}}
    )
    assert good["createStaff"] == {"idNumber": "11010519491231002X", "phone": "13812345678"}  # ADMIN: clear
    async with db.database(Settings(database_url=url)):
        from api.models.staff import Staff

        assert await Staff.filter(name="新同事").count() == 1  # the refused ones wrote nothing
