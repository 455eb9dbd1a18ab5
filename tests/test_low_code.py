"""A model with only an exposure spec gets list, filter, aggregate and CRUD: no resolver code."""

from __future__ import annotations

from dataclasses import replace

from tortoise.expressions import Q

from api import db
from api.auth.caller import Caller
from api.models import MODEL_MODULES
from api.models.org import Organization
from schema.build import create_schema
from schema.generator.ids import to_global_id
from schema.generator.policy import Access, Op, grant
from schema.generator.spec import MUTATIONS, Exposure, Figure
from schema.specs import EXPOSURES
from tests.lowcode_models import Notice

MODULES = [*MODEL_MODULES, "tests.lowcode_models"]
ADMIN = Caller(role="ADMIN", user_id=1, session_id=0)
NOTICE = Exposure(
    Notice,
    "A notice posted at an organization (公告)",
    plural="notices",
    access=Access({"ADMIN": grant(*Op), "CLERK": grant(Op.READ)}, scope=("organization",)),
    relations=("organization",),
    create=("organization", "title", "body", "pinned", "views", "published_on"),
    update=("title", "body", "pinned"),
    mutations=MUTATIONS,
    figures=(
        Figure(
            "pinned_share",
            "Pinned share: pinned / notices (置顶比例)",
            lambda _t: Q(pinned=True),
            lambda _t: Q(),
        ),
        Figure("popular", "Popular: more than 8 views (热门公告数)", lambda _t: Q(views__gt=8)),
    ),
)


async def test_a_spec_alone_gives_the_full_api(fresh_url):
    config = db.tortoise_config(fresh_url)
    config["apps"]["models"]["models"] = MODULES
    from tortoise.context import TortoiseContext

    async with TortoiseContext() as ctx:
        await ctx.init(config=config)
        await ctx.generate_schemas(safe=True)  # the throwaway table; a real model gets a migration
        from tests.factories import make_tree

        region, center, hall = await make_tree()
        schema = create_schema([*EXPOSURES, NOTICE], model_modules=MODULES)
        admin = replace(ADMIN, organization_id=region.pk)

        async def run(query: str, **variables):
            result = await schema.execute(query, variable_values=variables, context_value={"caller": admin})
            assert result.errors is None, result.errors
            return result.data

        create = (
            """mutation($inputs: [CreateNoticeInput!]!) { createNotices(inputs: $inputs) { id title } }"""
        )
        inputs = [
            {
                "organizationId": to_global_id("Organization", org.pk),
                "title": title,
                "pinned": pinned,
                "views": views,
                "publishedOn": day,
            }
            for org, title, pinned, views, day in (
                (center, "开放时间调整", True, 10, "2018-01-02"),
                (hall, "值班表公示", False, 5, "2018-01-15"),
                (hall, "材料精简公告", True, 20, "2018-02-01"),
            )
        ]
        created = (await run(create, inputs=inputs))["createNotices"]
        assert [n["title"] for n in created] == ["开放时间调整", "值班表公示", "材料精简公告"]

        listed = await run(
            """{ notices(where: {pinned: {eq: true}, organization: {tier: {eq: HALL}}},
                         orderBy: [{views: DESC}]) {
                 totalCount nodes { title organization { code } } } }"""
        )
        assert listed["notices"] == {
            "totalCount": 1,
            "nodes": [{"title": "材料精简公告", "organization": {"code": "H"}}],
        }

        aggregate = await run(
            """{ noticesAggregate(groupBy: [{pinned: true}]) {
                 groups { keys { pinned } count sum { views } } } }"""
        )
        groups = {
            g["keys"]["pinned"]: (g["count"], g["sum"]["views"])
            for g in aggregate["noticesAggregate"]["groups"]
        }
        assert groups == {False: (1, 5), True: (2, 30)}

        # The reports page's builder finds the new model in the schema alone and builds its report:
        # views summed per pinned flag, the same figures (admin_ui/views/reports.py has no Notice code).
        from graphql import introspection_from_schema

        from admin_ui.introspection import Schema, aggregate_document, aggregates, report_rows

        found = {
            a.field: a for a in aggregates(Schema(introspection_from_schema(schema._schema)["__schema"]))
        }
        notices = found["noticesAggregate"]
        assert {g.name for g in notices.groupings} >= {"pinned", "publishedOn", "organizationCode"}
        assert "views" in {f.name for f in notices.measures["sum"]}
        pinned = next(g for g in notices.groupings if g.name == "pinned")
        document = aggregate_document(notices, [(pinned, None)], "sum:views")
        view = {"kind": "bar", "x": "pinned", "y": "sum:views"}
        rows = report_rows(await run(document, where=None), view)
        assert sorted(rows, key=lambda r: r["pinned"]) == [
            {"pinned": False, "sum:views": 5},
            {"pinned": True, "sum:views": 30},
        ]
        # two groupings (a pivot, a stacked bar): pinned per month of publication
        month = next(g for g in notices.groupings if g.name == "publishedOn")
        document = aggregate_document(notices, [(pinned, None), (month, "MONTH")], "count")
        view = {"kind": "pivot", "x": "pinned", "series": "publishedOn", "y": "count"}
        rows = report_rows(await run(document, where=None), view)
        assert sum(r["count"] for r in rows) == 3 and {r["pinned"] for r in rows} == {False, True}
        assert all(set(r) == {"pinned", "publishedOn", "count"} for r in rows)
        # a figure its spec declares is a measure of its own, per group (computed by the API)
        assert {f.name for f in notices.measures["figures"]} == {"pinnedShare", "popular"}
        document = aggregate_document(notices, [(month, "MONTH")], "figures:pinnedShare", "DESC")
        view = {"kind": "line", "x": "publishedOn", "y": "figures:pinnedShare"}
        rows = report_rows(await run(document, where=None), view)
        assert rows == [
            {"publishedOn": "2018-02-01", "figures:pinnedShare": 1.0},
            {"publishedOn": "2018-01-01", "figures:pinnedShare": 0.5},
        ]
        document = aggregate_document(notices, [], "figures:popular")
        assert report_rows(await run(document, where=None), {"kind": "table", "y": "figures:popular"}) == [
            {"figures:popular": 2}
        ]

        first = created[0]["id"]
        updated = await run(
            """mutation($id: ID!) {
                 updateNotice(id: $id, input: {title: "开放时间调整（更新）"}) { title views } }""",
            id=first,
        )
        assert updated["updateNotice"] == {"title": "开放时间调整（更新）", "views": 10}
        await run("mutation($id: ID!) { deleteNotice(id: $id) { id } }", id=first)
        assert await Notice.all().count() == 2
        assert await Organization.all().count() == 3
