"""The starter reports (报表) of the fixture: saved by the district's administrator and shared
with everyone in the district, each opened with the reader's own rights."""

from __future__ import annotations

from api.models.org import Organization
from api.models.report import Report, Visibility
from api.models.user import User

STARTERS = (
    (
        "每月受理办件量",
        "按受理月份统计的办件数量（各单位看到本单位及下级的办件）",
        "query Report($where: CaseWhere) { casesAggregate(where: $where, groupBy: [{acceptedOn: MONTH}]) "
        "{ groups { keys { acceptedOn } count } } }",
        {"where": None},
        {"kind": "line", "x": "acceptedOn", "y": "count"},
    ),
    (
        "便民服务室建设状态",
        "各上级单位下便民服务室的数量，按建设状态（规划、在建、已建成、已标准化）",
        "query Report($where: OrganizationWhere) { organizationsAggregate(where: $where, "
        "groupBy: [{parentName: true}, {constructionStatus: true}]) "
        "{ groups { keys { parentName constructionStatus } count } } }",
        {"where": {"tier": {"eq": "ROOM"}}},
        {"kind": "stacked_bar", "x": "parentName", "series": "constructionStatus", "y": "count"},
    ),
    (
        "在用事项按类型",
        "目录中在用事项的数量，按事项类型",
        "query Report($where: ItemWhere) { itemsAggregate(where: $where, groupBy: [{type: true}]) "
        "{ groups { keys { type } count } } }",
        {"where": {"inForce": {"eq": True}}},
        {"kind": "bar", "x": "type", "y": "count"},
    ),
    (
        "各大厅每月限时办结率",
        "便民服务大厅承办的办件，按受理月份的限时办结率（按承诺时限办结的办件占办结件的比例，口径同统计看板）",
        "query Report($where: CaseWhere) { casesAggregate(where: $where, "
        "groupBy: [{handlingOrganizationName: true}, {acceptedOn: MONTH}]) "
        "{ groups { keys { handlingOrganizationName acceptedOn } count figures { onTimeRate } } } }",
        {"where": {"acceptedOn": {"isNull": False}, "handlingOrganization": {"tier": {"eq": "HALL"}}}},
        {"kind": "pivot", "x": "handlingOrganizationName", "series": "acceptedOn", "y": "figures:onTimeRate"},
    ),
)


async def load_starter_reports(admin: User, region: Organization) -> None:
    for name, description, document, variables, view in STARTERS:
        await Report.create(
            name=name,
            description=description,
            document=document,
            variables=variables,
            view=view,
            visibility=Visibility.AREA,
            owner=admin,
            organization=region,
        )
