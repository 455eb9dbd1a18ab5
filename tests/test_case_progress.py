"""The public lookup (caseProgress) shows what a supplement request asks the applicant to bring,
with no staff name and the applicant's personal data masked."""

from __future__ import annotations

import json

from api.models.case import ApplicantType, Case
from api.services import progress
from tests.conftest import GraphQLClient

VILLAGER_ID, VILLAGER_PHONE = "11010519491231002X", "13800138000"
LOOKUP = """query($n: String!, $c: String!) { caseProgress(number: $n, queryCode: $c) {
  number item status applicant promisedDueDate
  timeline { action status organization occurredAt toBring } } }"""
STAFF = "query($o: String!) { staffMembers(where: {organization: {code: {eq: $o}}}) { nodes { name } } }"
SUBMIT = """mutation($item: ID!, $id: String!, $phone: String!) { submitCase(input: {itemId: $item,
  applicantType: PERSON, applicantName: "王小明", applicantIdNumber: $id, applicantPhone: $phone})
  { queryCode case { id number } } }"""


async def staff_names(admin, organization: str) -> list[str]:
    data = await admin.data(STAFF, {"o": organization})
    return [node["name"] for node in data["staffMembers"]["nodes"]]


async def test_a_supplement_request_shows_what_to_bring_without_staff_names_or_personal_data(writable):
    admin, _ = writable
    agent = await admin.sign_in("agent")
    items = await admin.data('{ items(where: {code: {eq: "GG-003"}}) { nodes { id } } }')
    variables = {"item": items["items"]["nodes"][0]["id"], "id": VILLAGER_ID, "phone": VILLAGER_PHONE}
    filed = (await agent.data(SUBMIT, variables))["submitCase"]
    case = filed["case"]
    await agent.data(f'mutation {{ acceptCase(id: "{case["id"]}", version: 1) {{ id }} }}')
    room, center = await staff_names(admin, "QJL-H1-R01"), await staff_names(admin, "QJL-ZWFW")
    note = (
        f"1. 户口簿复印件；2. 王小明的身份证 {VILLAGER_ID} 复印件\n"
        f"（3）联系电话{VILLAGER_PHONE}的本人签字\n请交给{room[-1]}，或到中心找{center[0]}"
    )
    await agent.data(
        "mutation($id: ID!, $c: String!) { requestSupplement(id: $id, version: 2, comment: $c) { id } }",
        {"id": case["id"], "c": note},
    )
    acted = await agent.data(
        f'{{ case(id: "{case["id"]}") {{ events {{ edges {{ node {{ actorName }} }} }} }} }}'
    )

    anonymous = GraphQLClient(admin.http)
    answer = (await anonymous.data(LOOKUP, {"n": case["number"], "c": filed["queryCode"]}))["caseProgress"]
    assert [(s["action"], s["toBring"]) for s in answer["timeline"]] == [
        ("SUBMIT", None),
        ("ACCEPT", None),
        (
            "REQUEST_SUPPLEMENT",
            [
                "户口簿复印件",
                "王**的身份证 110105********002X 复印件",
                "联系电话138****8000的本人签字",
                "请交给工作人员，或到中心找工作人员",
            ],
        ),
    ]
    assert (answer["status"], answer["applicant"]) == ("SUPPLEMENT_REQUESTED", "王**")
    text = json.dumps(answer, ensure_ascii=False)
    actors = {edge["node"]["actorName"] for edge in acted["case"]["events"]["edges"]}
    for secret in {*room, *center, *actors, "王小明", VILLAGER_ID, VILLAGER_PHONE}:
        assert secret not in text, secret


def test_a_note_becomes_entries_with_identifiers_masked_and_names_replaced():
    company = Case(applicant_name="屈家岭示例农业有限公司", applicant_type=ApplicantType.COMPANY)
    note = "- 营业执照副本（91350100M000100Y43）;\n\n① 法人委托书 ；② 经办人电话 0724-5201234\r\n2、联系李四"
    assert progress.to_bring(note, ["李四", "王"], company) == [
        "营业执照副本（913501********0Y43）",
        "法人委托书",
        "经办人电话 072*****1234",
        "联系工作人员",
    ]


def test_identifiers_written_as_people_write_them_are_masked_too():
    person = Case(
        applicant_name="王小明",
        applicant_type=ApplicantType.PERSON,
        applicant_id_number="11010519491231002X",
        applicant_phone="13800138000",
    )
    note = (
        "身份证 110105 19491231 002X；手机 138 0013 8000；+8613800138000；138-0013-8000；"
        "信用代码 91350100m000100y43；银行卡 6222021234567890123；王小明本人到场"
    )
    entries = progress.to_bring(note, ["王小"], person)  # a staff name inside the applicant's
    assert entries == [
        "身份证 110105**********002X",
        "手机 138******8000",
        "+86138****8000",  # the case's own phone, masked where it stands
        "138******8000",
        "信用代码 913501********0y43",
        "银行卡 622202*********0123",
        "王**本人到场",
    ]
