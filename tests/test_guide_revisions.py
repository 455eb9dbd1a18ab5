"""Guide revisions over /graphql: the next number, the order of coming into force, a change note,
materials named once; a broken rule leaves nothing behind (the revision and its materials together)."""

from __future__ import annotations

from api import db
from api.models.item import GuideRevision, Item, Material
from api.settings import Settings
from schema.generator.ids import to_global_id

PERMIT = "建设用地规划许可证核发"  # revisions 1 (2017-04-28, 8 materials) and 2 (2017-06-01, 5)
CREATE = """mutation($input: CreateGuideRevisionInput!) {
  createGuideRevision(input: $input) { revision materials { nodes { position name } } } }"""
UPDATE = """mutation($id: ID!, $input: UpdateGuideRevisionInput!) {
  updateGuideRevision(id: $id, input: $input) { effectiveFrom } }"""


async def permit(url: str) -> tuple[str, dict[int, str]]:
    async with db.database(Settings(database_url=url)):
        item = await Item.get(name=PERMIT)
        revisions = await GuideRevision.filter(item=item).values_list("revision", "id")
    return to_global_id("Item", item.pk), {n: to_global_id("GuideRevision", pk) for n, pk in revisions}


async def counts(url: str) -> tuple[int, int]:
    async with db.database(Settings(database_url=url)):
        return await GuideRevision.all().count(), await Material.all().count()


def revision(item: str, number: int, **fields) -> dict:
    materials = [{"position": 1, "name": "申请表"}, {"position": 2, "name": "建设项目批准文件"}]
    return {
        "itemId": item,
        "revision": number,
        "effectiveFrom": "2026-12-01",
        "changeNote": "合并申请表",
        "materials": materials,
        **fields,
    }


async def test_the_next_revision_is_published_with_its_materials(writable):
    api, url = writable
    item, _ = await permit(url)
    created = (await api.data(CREATE, {"input": revision(item, 3)}))["createGuideRevision"]
    assert created["revision"] == 3
    assert [m["name"] for m in created["materials"]["nodes"]] == ["申请表", "建设项目批准文件"]


async def test_a_wrong_number_is_refused_naming_the_next_one(writable):
    api, url = writable
    item, _ = await permit(url)
    before = await counts(url)
    for number in (4, 1000):
        error = await api.error(CREATE, {"input": revision(item, number)})
        assert error["extensions"] == {"code": "VALIDATION_FAILED", "field": "revision"}
        assert error["message"] == "the next revision of this item is 3 (revision 2 is the latest)"
    # A number taken (another administrator published first) is a conflict, as the table says.
    error = await api.error(CREATE, {"input": revision(item, 2)})
    assert error["extensions"] == {"code": "CONFLICT", "field": "item"}
    assert await counts(url) == before


async def test_a_revision_cannot_come_into_force_before_the_one_it_follows(writable):
    api, url = writable
    item, revisions = await permit(url)
    before = await counts(url)
    error = await api.error(CREATE, {"input": revision(item, 3, effectiveFrom="2017-05-31")})
    assert error["extensions"] == {"code": "VALIDATION_FAILED", "field": "effectiveFrom"}
    assert error["message"] == (
        "revision 2 is in force from 2017-06-01: revision 3 cannot come into force before it"
    )
    assert await counts(url) == before
    error = await api.error(UPDATE, {"id": revisions[1], "input": {"effectiveFrom": "2017-06-02"}})
    assert error["message"] == (
        "revision 2 is in force from 2017-06-01: revision 1 cannot come into force after it"
    )
    moved = await api.data(UPDATE, {"id": revisions[2], "input": {"effectiveFrom": "2017-05-01"}})
    assert moved["updateGuideRevision"]["effectiveFrom"] == "2017-05-01"  # still after revision 1


async def test_a_later_revision_says_what_changed(writable):
    api, url = writable
    item, _ = await permit(url)
    error = await api.error(CREATE, {"input": revision(item, 3, changeNote="  ")})
    assert error["extensions"] == {"code": "VALIDATION_FAILED", "field": "changeNote"}
    _, revisions = await permit(url)
    error = await api.error(UPDATE, {"id": revisions[2], "input": {"changeNote": ""}})
    assert error["extensions"] == {"code": "VALIDATION_FAILED", "field": "changeNote"}


async def test_a_material_listed_twice_undoes_the_whole_revision(writable):
    api, url = writable
    item, revisions = await permit(url)
    before = await counts(url)
    twice = [{"position": 1, "name": "申请表"}, {"position": 2, "name": " 申请表 "}]
    error = await api.error(CREATE, {"input": revision(item, 3, materials=twice)})
    assert error["extensions"] == {"code": "VALIDATION_FAILED", "field": "name"}
    assert error["message"] == "“申请表” is already material 1 of this revision"
    assert await counts(url) == before  # the revision went with its materials
    add = """mutation($input: CreateMaterialInput!) { createMaterial(input: $input) { name } }"""
    blank = {"guideRevisionId": revisions[2], "position": 99, "name": "   "}
    error = await api.error(add, {"input": blank})
    assert error["extensions"] == {"code": "VALIDATION_FAILED", "field": "name"}
    assert await counts(url) == before
