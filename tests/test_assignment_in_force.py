"""An assignment that starts later: not in force yet, and filing a case for it says when it starts."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.conftest import serving

TODAY = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)  # 18:00 in the district, 1 December
ASSIGN = """mutation($input: CreateItemAssignmentInput!) {
  createItemAssignment(input: $input) { id active inForce effectiveFrom } }"""
FILE = """mutation($item: ID!) { submitCase(input: {itemId: $item, applicantType: PERSON,
  applicantName: "李四", applicantIdNumber: "11010519491231002X", applicantPhone: "13800138000"}) {
  case { number handlingOrganization { code } } } }"""


async def ids(client, query: str) -> str:
    data = await client.data(query)
    return next(iter(data.values()))["nodes"][0]["id"]


async def test_an_assignment_is_in_force_from_its_first_day_and_filing_waits_for_it(seeded_url):
    moment = {"now": TODAY.timestamp()}
    async with serving(seeded_url, clock=lambda: moment["now"]) as anonymous:
        admin, hall_clerk = await anonymous.sign_in("admin"), await anonymous.sign_in("hall_clerk")
        hall = await ids(admin, '{ organizations(where: {code: {eq: "QJL-H1"}}) { nodes { id } } }')
        unassigned = '{ items(first: 1, where: {not: {assignments: {organization: {code: {eq: "QJL-H1"}}}}}) '
        found = (await admin.data(unassigned + "{ nodes { id code } } }"))["items"]["nodes"][0]
        item, code = found["id"], found["code"]
        made = await admin.data(
            ASSIGN,
            {
                "input": {
                    "itemId": item,
                    "organizationId": hall,
                    "power": "FULL",
                    "legalBasis": "委托（测试）",
                    "effectiveFrom": "2026-12-10",
                }
            },
        )
        assignment = made["createItemAssignment"]
        assert (assignment["active"], assignment["inForce"]) == (True, False)

        error = await hall_clerk.error(FILE, {"item": item})
        assert error["extensions"] == {"code": "FORBIDDEN", "field": "item"}
        assert error["message"] == (
            f"the assignment of item {code} to your organization starts on 2026-12-10: "
            "cases can be filed for it from that day"
        )
        count = "query($c: String!) { cases(where: {item: {code: {eq: $c}}}) { totalCount } }"
        before = (await admin.data(count, {"c": code}))["cases"]["totalCount"]

        # Read alone (only its own columns loaded), in a list and through the item's relation.
        listed = """query($c: String!) {
          itemAssignments(where: {item: {code: {eq: $c}}, organization: {code: {eq: "QJL-H1"}}}) {
            nodes { inForce } }
          items(where: {code: {eq: $c}}) { nodes {
            assignments(where: {organization: {code: {eq: "QJL-H1"}}}) { nodes { inForce } } } } }"""

        def in_force(data: dict) -> tuple[bool, bool]:
            nested = data["items"]["nodes"][0]["assignments"]["nodes"]
            return data["itemAssignments"]["nodes"][0]["inForce"], nested[0]["inForce"]

        assert in_force(await admin.data(listed, {"c": code})) == (False, False)

        moment["now"] = datetime(2026, 12, 9, 16, 0, tzinfo=UTC).timestamp()  # 00:00 on the 10th there
        read = f'{{ node(id: "{assignment["id"]}") {{ ... on ItemAssignment {{ inForce }} }} }}'
        assert (await admin.data(read))["node"]["inForce"] is True
        assert in_force(await admin.data(listed, {"c": code})) == (True, True)
        filed = (await hall_clerk.data(FILE, {"item": item}))["submitCase"]["case"]
        assert filed["handlingOrganization"]["code"] == "QJL-H1"
        assert filed["number"].startswith("QJL20261210")
        assert (await admin.data(count, {"c": code}))["cases"]["totalCount"] == before + 1

        revoke = "mutation($ids: [ID!]!) { revokeItemAssignments(ids: $ids) { active inForce } }"
        revoked = await admin.data(revoke, {"ids": [assignment["id"]]})
        assert revoked["revokeItemAssignments"] == [{"active": None, "inForce": False}]
