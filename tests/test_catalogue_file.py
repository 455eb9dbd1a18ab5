"""The implementation list (实施清单) out and in: export, a dry run per row, all-or-nothing apply."""

from __future__ import annotations

import base64
import csv
import io
import os
import zipfile
from datetime import date

import pytest
from openpyxl import load_workbook

from api import db
from api.auth import apikeys
from api.errors import DomainError
from api.models.audit import AuditEntry
from api.models.item import GuideRevision, Item, ItemLocal, Material
from api.models.outbox import OutboxEvent
from api.services import catalogue_file
from api.settings import Settings
from schema.generator.ids import to_global_id
from tests.test_cli import one_error_line, sanji

EXPORT = """query($format: CatalogueFormat!, $template: Boolean!) {
  catalogueFile(format: $format, template: $template) { filename contentType contentBase64 rows } }"""
IMPORT = """mutation($file: String!, $filename: String!, $apply: Boolean!) {
  importCatalogue(file: $file, filename: $filename, apply: $apply) {
    applied new changed unchanged invalid rows { row code status changes reason } } }"""
H = {c.key: c.header for c in catalogue_file.COLUMNS}


async def export(client, kind: str = "XLSX", template: bool = False) -> bytes:
    data = await client.data(EXPORT, {"format": kind, "template": template})
    return base64.b64decode(data["catalogueFile"]["contentBase64"])


async def upload(client, content: bytes, filename: str, apply: bool = False) -> dict:
    body = await client(
        IMPORT, {"file": base64.b64encode(content).decode(), "filename": filename, "apply": apply}
    )
    return body


def sheet_rows(content: bytes) -> list[dict[str, str]]:
    sheet = load_workbook(io.BytesIO(content)).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    header = rows[0]
    return [{h: ("" if v is None else str(v)) for h, v in zip(header, row, strict=True)} for row in rows[1:]]


def csv_file(rows: list[dict[str, str]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=[c.header for c in catalogue_file.COLUMNS])
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


async def snapshot(url: str) -> tuple:
    """What an import could change, to show that a refused one changed nothing."""
    async with db.database(Settings(database_url=url)):
        items = await Item.all().order_by("id").values_list("code", "name", "department", "updated_at")
        locals_ = (
            await ItemLocal.all().order_by("id").values_list("item_id", "promised_limit_days", "fee_note")
        )
        return items, locals_, await GuideRevision.all().count(), await Material.all().count()


async def test_the_catalogue_exported_and_imported_again_is_unchanged_row_for_row(writable):
    admin, _url = writable
    for kind, name in (("XLSX", "清单.xlsx"), ("CSV", "清单.csv")):
        content = await export(admin, kind)
        body = await upload(admin, content, name)
        result = body["data"]["importCatalogue"]
        assert (result["new"], result["changed"], result["unchanged"], result["invalid"]) == (0, 0, 304, 0), (
            kind,
            result["rows"][:5],
        )
        assert result["rows"] == [] and result["applied"] is False
    rows = sheet_rows(await export(admin))
    assert len(rows) == 304 and rows[0][H["code"]] == sorted(r[H["code"]] for r in rows)[0]
    first = next(r for r in rows if r[H["code"]] == "GG-003")
    assert first[H["consult_phone"]] == "0724-5201234" and first[H["publisher"]] == ""
    assert " | " in first[H["materials"]] and first[H["tags"]]
    # the template: the header and the notes sheet, no rows
    template = load_workbook(io.BytesIO(await export(admin, template=True)))
    assert [c.value for c in template.worksheets[0][1]] == list(catalogue_file.HEADERS)
    assert template.worksheets[0].max_row == 1 and template.worksheets[1].title == "填写说明"


async def test_an_edited_copy_shows_exactly_the_edits_and_applies_them_audited(writable):
    admin, url = writable
    rows = sheet_rows(await export(admin))
    by_code = {r[H["code"]]: r for r in rows}
    by_code["GG-001"][H["promised_limit_days"]] = "0"
    by_code["GG-001"][H["fee_note"]] = "免费"
    by_code["GG-002"][H["materials"]] += "\n残疾人证 | 复印件 | 1 | 非必要 | 申请人自备"
    by_code["GG-003"][H["department"]] = "区民政局"
    new = dict(by_code["GG-003"])
    new.update(
        {H["code"]: "GG-NEW-1", H["name"]: "新增事项", H["implementation_code"]: "", H["base_code"]: ""}
    )
    content = csv_file([*rows, new])
    body = await upload(admin, content, "edited.csv")
    result = body["data"]["importCatalogue"]
    assert (result["new"], result["changed"], result["unchanged"], result["invalid"]) == (1, 3, 301, 0), (
        result["rows"]
    )
    changes = {r["code"]: (r["status"], r["changes"]) for r in result["rows"]}
    assert changes == {
        "GG-001": ("CHANGED", [H["promised_limit_days"], H["fee_note"]]),
        "GG-002": ("CHANGED", [H["materials"]]),
        "GG-003": ("CHANGED", [H["department"]]),
        "GG-NEW-1": ("NEW", []),
    }
    before = await snapshot(url)
    assert (await snapshot(url)) == before  # the dry run wrote nothing

    body = await upload(admin, content, "edited.csv", apply=True)
    assert body["data"]["importCatalogue"]["applied"] is True, body
    async with db.database(Settings(database_url=url)):
        local = await ItemLocal.get(item__code="GG-001", organization__code="QJL")
        assert (local.promised_limit_days, local.fee_note) == (0, "免费")
        revisions = await GuideRevision.filter(item__code="GG-002").order_by("-revision")
        latest = revisions[0]
        assert (
            latest.revision == revisions[1].revision + 1
            and latest.change_note == "实施清单导入，新增：残疾人证"
        )
        names = (
            await Material.filter(guide_revision=latest).order_by("position").values_list("name", flat=True)
        )
        assert names[-1] == "残疾人证"
        # the earlier revision, which cases were filed under, is as it was
        assert await Material.filter(guide_revision=revisions[1]).count() == len(names) - 1
        assert (await Item.get(code="GG-003")).department == "区民政局"
        made = await Item.get(code="GG-NEW-1")
        assert await GuideRevision.filter(item=made).count() == 1
        audited = await AuditEntry.filter(detail="实施清单导入").values_list("object_type", "action")
        expected = [
            ("ItemLocal", "UPDATE"),
            ("GuideRevision", "CREATE"),
            ("Item", "UPDATE"),
            ("Item", "CREATE"),
        ]
        assert sorted(audited) == sorted(expected)
        # both new guides are events for other systems, as a guide published on the page is
        events = await OutboxEvent.filter(type="guide.revision_published").order_by("-id").limit(2)
        items = {to_global_id("Item", pk) for pk in (made.id, latest.item_id)}
        assert {e.payload["item"] for e in events} == items
        assert {e.payload["changeNote"] for e in events} == {"实施清单导入", latest.change_note}
    # the same file again changes nothing
    again = (await upload(admin, content, "edited.csv"))["data"]["importCatalogue"]
    assert (again["changed"], again["new"], again["unchanged"]) == (0, 0, 305)


@pytest.mark.parametrize(
    ("column", "value", "reason"),
    [
        ("implementation_code", "12345", "实施编码"),
        ("type", "行政许可证", "unknown value '行政许可证'"),
        ("promised_limit_days", "9999", "over the legal limit"),
        ("legal_limit_days", "-1", "whole number"),
        ("fee", "1.234", "at most 2 decimals"),
        ("online", "也许", "是 or 否"),
        ("tags", "马上办", "三办标签 follow from"),
        ("materials", "身份证 | 扫描件", "unknown value '扫描件'"),
        ("consult_phone", "call me", "not a phone number"),
        ("publisher", "NOWHERE", "no region has the code"),
        ("code", "", "事项编码 is empty"),
    ],
)
async def test_a_file_with_one_bad_row_changes_nothing_and_names_the_row(writable, column, value, reason):
    admin, url = writable
    rows = sheet_rows(await export(admin))
    rows[0][H["department"]] = "会被拒绝的修改"
    rows[7][H[column]] = value
    before = await snapshot(url)
    body = await upload(admin, csv_file(rows), "bad.csv", apply=True)
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "VALIDATION_FAILED", error
    assert (
        "row 9" in error["message"]
        and reason in error["message"]
        and "nothing was imported" in error["message"]
    )
    assert await snapshot(url) == before
    result = (await upload(admin, csv_file(rows), "bad.csv"))["data"]["importCatalogue"]
    (invalid,) = [r for r in result["rows"] if r["status"] == "INVALID"]
    assert invalid["row"] == 9 and reason in invalid["reason"], invalid


async def test_duplicate_rows_are_invalid(writable):
    admin, _url = writable
    rows = sheet_rows(await export(admin))
    result = (await upload(admin, csv_file([*rows, rows[3]]), "dup.csv"))["data"]["importCatalogue"]
    (invalid,) = [r for r in result["rows"] if r["status"] == "INVALID"]
    assert invalid["row"] == 306 and "duplicate row" in invalid["reason"] and "row 5" in invalid["reason"]


@pytest.mark.parametrize(
    ("content", "filename", "message"),
    [
        (os.urandom(10 * 1024 * 1024 // 4), "junk.xlsx", "not an .xlsx workbook"),
        (b"PK\x03\x04" + os.urandom(4096), "list.xlsx", "not a readable .xlsx workbook"),
        (b"\x00\x01binary" * 100, "list.csv", "binary data"),
        ("名称,编码\n甲,1\n".encode(), "list.csv", "missing columns"),
        (b"", "list.csv", "empty"),
        (b"\xff\xfe\xfa" * 100, "list.csv", "UTF-8 or GB18030"),
        (b"data", "list.xls", "old .xls"),
    ],
)
async def test_a_malformed_file_gets_a_clear_error(writable, content, filename, message):
    admin, url = writable
    before = await snapshot(url)
    body = await upload(admin, content, filename, apply=True)
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "FILE_INVALID" and message in error["message"], error
    assert await snapshot(url) == before


async def test_ten_megabytes_of_junk_get_a_clear_error(writable):
    admin, _url = writable
    junk = os.urandom(10 * 1024 * 1024)
    # through the API: refused before it is read, over the request size limit
    response = await admin.http.post(
        "/graphql",
        json={"query": IMPORT, "variables": {"file": base64.b64encode(junk).decode(), "filename": "j.xlsx"}},
        headers={"Authorization": f"Bearer {admin.token}"},
    )
    assert response.status_code == 413, response.text
    assert response.json()["errors"][0]["extensions"]["code"] == "REQUEST_TOO_LARGE"
    # from the command line (no request limit): read, and refused for what it is
    for name, message in (("junk.xlsx", "not an .xlsx workbook"), ("junk.csv", "binary data")):
        with pytest.raises(catalogue_file.CatalogueFileError, match=message):
            catalogue_file.read_table(junk, name)
    with pytest.raises(catalogue_file.CatalogueFileError, match="up to 16 MB"):
        catalogue_file.read_table(junk * 2, "junk.csv")


async def test_base64_is_checked(writable):
    admin, _url = writable
    body = await admin(IMPORT, {"file": "not base64!", "filename": "x.csv", "apply": False})
    assert body["errors"][0]["extensions"]["code"] == "FILE_INVALID"


async def test_only_those_who_write_the_catalogue_import_it(writable):
    admin, _url = writable
    content = await export(admin, "CSV")
    supervisor = await admin.sign_in("supervisor")
    body = await upload(supervisor, content, "list.csv")
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN", body
    anonymous = type(admin)(admin.http)
    body = await upload(anonymous, content, "list.csv")
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED", body


async def test_the_command_line_exports_and_imports(seeded_url, tmp_path):
    target = tmp_path / "清单.xlsx"
    result = await sanji(seeded_url, "catalogue", "export", str(target))
    assert result.exit_code == 0, result.output
    result = await sanji(seeded_url, "catalogue", "import", str(target))
    assert result.exit_code == 0 and "unchanged 304, invalid 0" in result.output, result.output
    rows = sheet_rows(target.read_bytes())
    rows[2][H["legal_limit_days"]] = "abc"
    bad = tmp_path / "bad.csv"
    bad.write_bytes(csv_file(rows))
    result = await sanji(seeded_url, "catalogue", "import", str(bad), "--apply")
    assert result.exit_code == 1 and "row 4" in result.output and "nothing was imported" in result.output
    junk = tmp_path / "junk.xlsx"
    junk.write_bytes(b"not a workbook")
    assert "[FILE_INVALID]" in one_error_line(await sanji(seeded_url, "catalogue", "import", str(junk)))


async def test_text_that_looks_like_a_formula_stays_text_both_ways(writable):
    admin, url = writable
    async with db.database(Settings(database_url=url)):
        await Item.filter(code="GG-004").update(name='=HYPERLINK("http://example.invalid")')
    for kind, name in (("XLSX", "l.xlsx"), ("CSV", "l.csv")):
        content = await export(admin, kind)
        if kind == "XLSX":
            sheet = load_workbook(io.BytesIO(content)).worksheets[0]
            (cell,) = [c for c in sheet["B"] if str(c.value).startswith("=HYPERLINK")]
            assert cell.data_type == "s"  # a string cell, not a formula
        else:
            assert "'=HYPERLINK" in content.decode("utf-8-sig")  # opens as text in a spreadsheet
        result = (await upload(admin, content, name))["data"]["importCatalogue"]
        assert (result["unchanged"], result["changed"]) == (304, 0), (kind, result["rows"])


async def test_a_key_below_the_region_cannot_import_the_region_s_values(writable):
    admin, url = writable
    async with db.database(Settings(database_url=url)):
        key = (await apikeys.create("kiosk", "QJL-ZWFW", scopes=frozenset({"read:*", "write:*"}))).key
    content = await export(admin, "CSV")
    response = await admin.http.post(
        "/graphql",
        json={
            "query": IMPORT,
            "variables": {"file": base64.b64encode(content).decode(), "filename": "l.csv", "apply": True},
        },
        headers={"X-API-Key": key},
    )
    (error,) = response.json()["errors"]
    assert error["extensions"]["code"] == "FORBIDDEN" and "QJL" in error["message"], error


async def test_an_item_changed_between_the_plan_and_the_write_refuses_the_import(writable):
    admin, url = writable
    rows = sheet_rows(await export(admin))
    rows[0][H["department"]] = "导入的部门"
    table = catalogue_file.read_table(csv_file(rows), "l.csv")
    async with db.database(Settings(database_url=url)):
        from api.auth.caller import SYSTEM

        region = await catalogue_file.sole_district()
        planned = await catalogue_file.plan(table, None, region)
        assert planned.summary()["CHANGED"] == 1
        first = await Item.get(code=rows[0][H["code"]])
        first.name = first.name + "（另一位管理员改过）"
        await first.save()
        with pytest.raises(DomainError, match="was changed while the list was being imported") as refused:
            await catalogue_file.apply(planned, SYSTEM, date(2026, 12, 2))
        assert refused.value.code == "CONFLICT"
        assert (await Item.get(id=first.id)).department != "导入的部门"


async def test_a_publisher_lowering_a_legal_limit_lowers_the_published_default(writable):
    admin, url = writable
    rows = sheet_rows(await export(admin))
    row = next(
        r for r in rows if int(r[H["legal_limit_days"]]) >= 5 and int(r[H["promised_limit_days"]]) >= 3
    )
    row[H["legal_limit_days"]] = "2"
    row[H["promised_limit_days"]] = "2"
    body = await upload(admin, csv_file(rows), "l.csv", apply=True)
    assert body["data"]["importCatalogue"]["applied"], body
    async with db.database(Settings(database_url=url)):
        item = await Item.get(code=row[H["code"]])
        assert (item.legal_limit_days, item.promised_limit_days) == (2, 2)


def workbook(cells: dict[str, str]) -> bytes:
    """A workbook with these cells (A1 ...) on its one sheet."""
    from openpyxl import Workbook

    book = Workbook()
    for ref, value in cells.items():
        book.active[ref] = value
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_a_sheet_claiming_a_million_rows_is_refused_without_reading_them():
    cells = {f"{chr(65 + n)}1": header for n, header in enumerate(catalogue_file.HEADERS)}
    cells["A1000000"] = "x"
    with pytest.raises(catalogue_file.CatalogueFileError, match="more than 20,000 rows"):
        catalogue_file.read_table(workbook(cells), "l.xlsx")


def test_a_damaged_workbook_is_a_file_error():
    content = workbook({"A1": "事项编码"})
    damaged = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(content)) as source, zipfile.ZipFile(damaged, "w") as target:
        for entry in source.infolist():
            data = source.read(entry)
            target.writestr(entry, data[: len(data) // 2] if entry.filename == "xl/workbook.xml" else data)
    with pytest.raises(catalogue_file.CatalogueFileError, match=r"not a readable \.xlsx workbook"):
        catalogue_file.read_table(damaged.getvalue(), "l.xlsx")


async def test_control_characters_and_leading_signs_export_and_come_back(writable):
    admin, url = writable
    async with db.database(Settings(database_url=url)):
        await Item.filter(code="GG-005").update(name="受理\x07事项")
        await ItemLocal.filter(item__code="GG-006").update(consult_phone="+86 724 5201234")
    workbook_file = await export(admin)  # a workbook cannot hold \x07: it is left out, and shows
    assert next(r for r in sheet_rows(workbook_file) if r[H["code"]] == "GG-005")[H["name"]] == "受理事项"
    result = (await upload(admin, workbook_file, "l.xlsx"))["data"]["importCatalogue"]
    assert [(r["code"], r["changes"]) for r in result["rows"]] == [("GG-005", [H["name"]])]
    content = await export(admin, "CSV")  # text holds both as they are
    assert "'+86 724 5201234" in content.decode("utf-8-sig")  # a spreadsheet would run +86 ...
    result = (await upload(admin, content, "l.csv"))["data"]["importCatalogue"]
    assert (result["unchanged"], result["rows"]) == (304, [])


async def test_a_material_name_holds_no_separator(writable):
    admin, _url = writable
    revision = (await admin.data("{ guideRevisions(first: 1) { nodes { id } } }"))["guideRevisions"]["nodes"][
        0
    ]
    error = await admin.error(
        f'mutation {{ createMaterial(input: {{guideRevisionId: "{revision["id"]}", position: 90, '
        'name: "甲 | 乙"}) { id } }'
    )
    assert error["extensions"]["code"] == "VALIDATION_FAILED" and error["extensions"]["field"] == "name"
