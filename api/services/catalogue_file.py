"""The catalogue in and out as the implementation list (实施清单) spreadsheet, .xlsx or .csv.

Export writes one row per item: its shared fields, the acting region's local values (promised
limit, fee note, phones) and the materials of its latest guide revision. Import reads such a file
and first plans: each row is new, changed (naming the fields), unchanged or invalid (with the
reason). Applying a plan writes it all in one transaction, or nothing when any row is invalid:
new and changed items, the region's local values, and a new guide revision (with its change note)
for each item whose materials changed; every write is audited. Items missing from the file stay as
they are (an item leaves the catalogue with 在用 = 否), and cases keep the revision they were filed
under.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any
from xml.etree.ElementTree import ParseError

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from api.auth.caller import Caller
from api.errors import DomainError
from api.models.audit import AuditAction, AuditEntry
from api.models.item import (
    CaseKind,
    GuideRevision,
    Item,
    ItemLocal,
    ItemSource,
    ItemType,
    Material,
    MaterialForm,
    validate_base_code,
    validate_implementation_code,
)
from api.models.org import Organization, Tier
from api.services import audit, outbox, rollup
from api.services.catalogue import LOCAL_FIELDS as LOCAL
from api.services.catalogue import PUBLISHED_FIELDS, chain_of, published_values, served_values

MAX_FILE_BYTES = 16 * 1024 * 1024
MAX_ROWS = 20_000
MAX_SHEET_ROWS = 2 * MAX_ROWS  # rows read, blank ones included, before a sheet is refused
# What a damaged workbook or text raises while it is read (a zip, XML or cell that is not what it says)
UNREADABLE = (zipfile.BadZipFile, ParseError, KeyError, OSError, ValueError, TypeError, IndexError)
SHEET = "实施清单"
FORMATS = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "csv": "text/csv"}

TYPE_WORDS = {
    ItemType.LICENSING: "行政许可",
    ItemType.PUNISHMENT: "行政处罚",
    ItemType.ENFORCEMENT: "行政强制",
    ItemType.LEVY: "行政征收",
    ItemType.BENEFIT: "行政给付",
    ItemType.INSPECTION: "行政检查",
    ItemType.CONFIRMATION: "行政确认",
    ItemType.REWARD: "行政奖励",
    ItemType.ADJUDICATION: "行政裁决",
    ItemType.OTHER_POWER: "其他行政权力",
    ItemType.PUBLIC_SERVICE: "公共服务",
}
SOURCE_WORDS = {
    ItemSource.DELEGATED_BY_CITY: "市级下放",
    ItemSource.ENTRUSTED_BY_COUNTY: "县级委托",
    ItemSource.OWN: "本级",
}
KIND_WORDS = {CaseKind.IMMEDIATE: "即办件", CaseKind.PROMISED: "承诺件"}
FORM_WORDS = {
    MaterialForm.ORIGINAL: "原件",
    MaterialForm.COPY: "复印件",
    MaterialForm.ORIGINAL_AND_COPY: "原件及复印件",
    MaterialForm.ELECTRONIC: "电子材料",
}
TAG_WORDS = (("tag_immediate", "马上办"), ("tag_online", "网上办"), ("tag_one_visit", "一次办"))
YES, NO = "是", "否"
REQUIRED_WORDS = {"必要": True, "非必要": False, "可选": False}
PHONE = re.compile(r"(?=.*[0-9])[0-9+()\- ]{1,20}")
MATERIAL_SEPARATOR = "|"
AUDIT_DETAIL = "实施清单导入"  # the audit entries' and new revisions' note


@dataclass(frozen=True)
class Column:
    header: str
    key: str
    help: str
    required: bool = True  # the header must be present


COLUMNS = (  # the help is the template's notes sheet (填写说明), for the people who fill it in
    Column("事项编码", "code", "本系统中的事项编码，唯一，用于识别每一行"),
    Column("事项名称", "name", "事项名称，必填"),
    Column("基本编码", "base_code", "3 位数字 + 1 位字母或数字 + 10 位数字，可空"),
    Column(
        "实施编码", "implementation_code", "基本编码-12 位区划代码-000-统一社会信用代码-层级-办理项，可空"
    ),
    Column("事项类型", "type", "、".join(TYPE_WORDS.values())),
    Column("权力来源", "source", "、".join(SOURCE_WORDS.values())),
    Column("实施部门", "department", "实施部门，必填"),
    Column("办件类型", "case_kind", "、".join(KIND_WORDS.values())),
    Column("法定时限（工作日）", "legal_limit_days", "法定办结时限，0 或正整数"),
    Column("承诺时限（工作日）", "promised_limit_days", "本地区承诺办结时限，不超过法定时限"),
    Column("收费（元）", "fee", "收费金额，最多两位小数；不收费填 0"),
    Column("收费说明", "fee_note", "本地区收费说明，可空"),
    Column("到办事现场次数", "visits_required", "0 或正整数"),
    Column("网上办理", "online", "是 或 否"),
    Column("入户调查", "needs_home_visit", "是 或 否"),
    Column("村公示", "needs_village_publicity", "是 或 否"),
    Column("三办标签", "tags", "马上办、网上办、一次办：由办件类型、网上办理和到现场次数决定，导入时核对"),
    Column(
        "申请材料",
        "materials",
        "每行一项：名称 | 形式（原件、复印件、原件及复印件、电子材料）| 份数 | 必要或非必要 | 来源",
    ),
    Column("咨询电话", "consult_phone", "本地区咨询电话"),
    Column("监督投诉电话", "complaint_phone", "本地区监督投诉电话"),
    Column("在用", "in_force", "是 或 否（否：事项退出目录，不会删除）"),
    Column("发布层级", "publisher", "发布该事项的区域编码；空表示上级（省级）统一发布"),
)
HEADERS = tuple(c.header for c in COLUMNS)
SHARED = (
    "name",
    "base_code",
    "implementation_code",
    "type",
    "source",
    "department",
    "case_kind",
    "legal_limit_days",
    "fee_fen",
    "visits_required",
    "online",
    "needs_home_visit",
    "needs_village_publicity",
    "in_force",
)
FIELD_HEADERS = {c.key: c.header for c in COLUMNS} | {"fee_fen": "收费（元）"}


class CatalogueFileError(DomainError):
    """The file as a whole cannot be read as an implementation list."""

    def __init__(self, message: str) -> None:
        super().__init__("FILE_INVALID", message, field="file")


@dataclass(frozen=True)
class MaterialRow:
    name: str
    form: str
    copies: int
    required: bool
    source: str

    def text(self) -> str:
        need = "必要" if self.required else "非必要"
        parts = [self.name, FORM_WORDS[MaterialForm(self.form)], str(self.copies), need, self.source]
        return f" {MATERIAL_SEPARATOR} ".join(parts).rstrip(f" {MATERIAL_SEPARATOR}")


@dataclass
class RowPlan:
    """What importing one row would do."""

    line: int  # the row's number in the sheet (the header is row 1)
    code: str
    status: str  # NEW, CHANGED, UNCHANGED or INVALID
    changes: list[str] = field(default_factory=list)  # headers of the fields that change
    problems: list[str] = field(default_factory=list)
    shared: dict[str, Any] = field(default_factory=dict)
    local: dict[str, Any] = field(default_factory=dict)
    materials: list[MaterialRow] | None = None
    publisher_id: int | None = None
    shared_changed: bool = False  # shared fields or materials: the publisher's to change
    planned_from: tuple | None = None  # the item as the plan read it (updated_at, publisher)
    materials_changed: bool = False
    local_changed: bool = False  # the acting region's own values

    @property
    def reason(self) -> str:
        return "; ".join(self.problems)


@dataclass
class Plan:
    region_id: int
    rows: list[RowPlan]

    def count(self, status: str) -> int:
        return sum(row.status == status for row in self.rows)

    @property
    def valid(self) -> bool:
        return not any(row.status == "INVALID" for row in self.rows)

    def summary(self) -> dict[str, int]:
        return {s: self.count(s) for s in ("NEW", "CHANGED", "UNCHANGED", "INVALID")}


Progress = Callable[[int, int], None]


# -- acting for a region


async def region_of(organization_id: int | None) -> Organization | None:
    """The region (district or province) an organization belongs to: itself or the nearest above."""
    if organization_id is None:
        return None
    found = await Organization.get_or_none(id=organization_id)
    if found is None:
        return None
    chain = chain_of(found.path)
    regions = {o.id: o for o in await Organization.filter(id__in=chain, tier=Tier.REGION)}
    return next((regions[pk] for pk in reversed(chain) if pk in regions), None)


async def sole_district() -> Organization:
    """The region whose values the command line reads and writes when none is named."""
    districts = await Organization.filter(tier=Tier.REGION).order_by("id")
    if len(districts) == 1:
        return districts[0]
    named = ", ".join(o.code for o in districts[:10]) or "none"
    raise DomainError(
        "VALIDATION_FAILED",
        f"name the region whose local values to use with --region (regions: {named})",
        field="region",
    )


# -- export


async def export_rows(region: Organization | None) -> list[list[Any]]:
    """The catalogue as rows of cells, in COLUMNS order, items by code."""
    items = await Item.all().order_by("code")
    publishers = dict(await Organization.filter(tier=Tier.REGION).values_list("id", "code"))
    locals_ = await served_values(region.path, [i.id for i in items])
    materials = await latest_materials([i.id for i in items])
    rows = []
    for item in items:
        local = locals_.get(item.id) or published_values(item)
        values = {
            "code": item.code,
            "name": item.name,
            "base_code": item.base_code or "",
            "implementation_code": item.implementation_code or "",
            "type": TYPE_WORDS[ItemType(item.type)],
            "source": SOURCE_WORDS[ItemSource(item.source)],
            "department": item.department,
            "case_kind": KIND_WORDS[CaseKind(item.case_kind)],
            "legal_limit_days": item.legal_limit_days,
            "promised_limit_days": local["promised_limit_days"],
            "fee": _yuan(item.fee_fen),
            "fee_note": local["fee_note"],
            "visits_required": item.visits_required,
            "online": _yes(item.online),
            "needs_home_visit": _yes(item.needs_home_visit),
            "needs_village_publicity": _yes(item.needs_village_publicity),
            "tags": "、".join(word for name, word in TAG_WORDS if getattr(item, name)),
            "materials": "\n".join(m.text() for m in materials.get(item.id, [])),
            "consult_phone": local["consult_phone"],
            "complaint_phone": local["complaint_phone"],
            "in_force": _yes(item.in_force),
            "publisher": publishers.get(item.publisher_id, "") if item.publisher_id else "",
        }
        rows.append([values[c.key] for c in COLUMNS])
    return rows


async def export_file(kind: str, region: Organization | None) -> bytes:
    return render(kind, await export_rows(region))


def render(kind: str, rows: list[list[Any]]) -> bytes:
    """The rows under the header as an .xlsx workbook (with a sheet of column notes) or UTF-8 CSV
    (with a byte-order mark, so that Excel reads the Chinese)."""
    if kind == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(HEADERS)
        writer.writerows([[_inert(value) for value in row] for row in rows])
        return ("\ufeff" + out.getvalue()).encode("utf-8")
    if kind != "xlsx":
        raise CatalogueFileError(f"unknown format {kind!r}: use xlsx or csv")
    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE  # control characters a workbook cannot hold
    from openpyxl.styles import Alignment, Font

    book = Workbook(write_only=False)
    sheet = book.active
    sheet.title = SHEET
    sheet.append(HEADERS)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append([ILLEGAL_CHARACTERS_RE.sub("", v) if isinstance(v, str) else v for v in row])
        for cell in sheet[sheet.max_row]:
            if cell.data_type == "f":  # text that starts with "=" is text here, never a formula
                cell.data_type = "s"
    materials = HEADERS.index("申请材料") + 1
    for (cell,) in sheet.iter_rows(min_row=2, min_col=materials, max_col=materials):
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    sheet.freeze_panes = "C2"
    notes = book.create_sheet("填写说明")
    notes.append(["列", "说明"])
    for column in COLUMNS:
        notes.append([column.header, column.help])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def template(kind: str) -> bytes:
    """An empty implementation list: the header and, in .xlsx, the notes on each column."""
    return render(kind, [])


# -- reading a file


def read_table(content: bytes, filename: str) -> list[tuple[int, dict[str, str]]]:
    """The file's data rows as (row number, {key: text}), or CatalogueFileError saying why not."""
    if len(content) > MAX_FILE_BYTES:
        raise CatalogueFileError(
            f"the file is {len(content) / 1048576:.1f} MB; an implementation list may be up to "
            f"{MAX_FILE_BYTES // 1048576} MB"
        )
    if not content.strip():
        raise CatalogueFileError("the file is empty")
    kind = file_kind(content, filename)
    table = _xlsx_rows(content) if kind == "xlsx" else _csv_rows(content)
    try:
        header = next(table, None)
    except UNREADABLE as error:
        raise CatalogueFileError(f"the sheet cannot be read: {error}") from None
    if header is None:
        raise CatalogueFileError("the file has no header row")
    names = [str(h).strip() if h is not None else "" for h in header]
    while names and not names[-1]:
        names.pop()
    unknown = [n for n in names if n not in HEADERS]
    missing = [h for h in HEADERS if h not in names]
    repeated = sorted({n for n in names if names.count(n) > 1 and n})
    if unknown or missing or repeated:
        parts = []
        if missing:
            parts.append("missing columns: " + "、".join(missing))
        if unknown:
            parts.append("unknown columns: " + "、".join(n or "(blank)" for n in unknown[:10]))
        if repeated:
            parts.append("repeated columns: " + "、".join(repeated))
        raise CatalogueFileError(
            "the header is not the implementation list's (download the template): " + "; ".join(parts)
        )
    keys = {c.header: c.key for c in COLUMNS}
    out = []
    try:
        for number, cells in enumerate(table, start=2):
            if number > MAX_SHEET_ROWS:  # blank rows count too: a sheet can claim a million of them
                raise CatalogueFileError(f"more than {MAX_ROWS:,} rows: split the list into several files")
            values = {keys[name]: _text(cells[i] if i < len(cells) else None) for i, name in enumerate(names)}
            if not any(values.values()):
                continue  # a blank line
            if len(out) >= MAX_ROWS:
                raise CatalogueFileError(f"more than {MAX_ROWS:,} rows: split the list into several files")
            out.append((number, values))
    except UNREADABLE as error:
        raise CatalogueFileError(f"the sheet cannot be read: {error}") from None
    return out


def file_kind(content: bytes, filename: str) -> str:
    name = filename.lower()
    if content.startswith(b"PK\x03\x04"):
        return "xlsx"
    if name.endswith((".xlsx", ".xlsm")):
        raise CatalogueFileError(f"{filename} is not an .xlsx workbook (it is not a zip file)")
    if name.endswith(".xls"):
        raise CatalogueFileError("old .xls workbooks are not read: save the list as .xlsx or .csv")
    return "csv"


def _xlsx_rows(content: bytes):
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (InvalidFileException, *UNREADABLE) as error:
        raise CatalogueFileError(f"not a readable .xlsx workbook: {error}") from None
    sheet = book[SHEET] if SHEET in book.sheetnames else book.worksheets[0]
    return iter(sheet.iter_rows(values_only=True))


def _csv_rows(content: bytes):
    if b"\x00" in content:
        raise CatalogueFileError("not a spreadsheet: the file holds binary data (use .xlsx or .csv)")
    for encoding in ("utf-8-sig", "gb18030"):  # Excel in Chinese saves CSV as GB18030
        try:
            text = content.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise CatalogueFileError("not a spreadsheet: a .csv must be UTF-8 or GB18030 text")
    try:
        return iter(list(csv.reader(io.StringIO(text, newline=""))))
    except csv.Error as error:
        raise CatalogueFileError(f"not a readable .csv: {error}") from None


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value)
    if text.startswith(FORMULA_GUARDS):
        return text[1:].strip()
    return text.strip()


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # a spreadsheet runs a cell that starts so
FORMULA_GUARDS = tuple("'" + start for start in FORMULA_STARTS)  # how a .csv cell keeps it text


def _inert(value: Any) -> Any:
    """A cell of a .csv that a spreadsheet opens as text: one starting with = + - @ or a tab would
    run as a formula (CSV injection), so it gets a leading quote, which the import takes off."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


# -- planning


async def plan(
    rows: list[tuple[int, dict[str, str]]], caller_area: str | None, region: Organization | None
) -> Plan:
    """Each row as new, changed, unchanged or invalid, for a caller whose area is `caller_area`
    (None: everything) acting for `region` (whose local values the file's local columns are)."""
    if region is None:
        raise DomainError(
            "FORBIDDEN", "the catalogue's local values belong to a region: act for a district or the province"
        )
    if not _publishes(caller_area, region):
        raise DomainError(
            "FORBIDDEN",
            f"the list holds the values of {region.code}, the region of your organization, and your area "
            "does not hold it: its administrators import it",
        )
    codes = [values.get("code", "") for _, values in rows]
    existing = {i.code: i for i in await Item.filter(code__in=[c for c in codes if c])}
    by_implementation = dict(
        await Item.filter(
            implementation_code__in=[v["implementation_code"] for _, v in rows if v["implementation_code"]]
        ).values_list("implementation_code", "code")
    )
    regions = {o.code: o for o in await Organization.filter(tier=Tier.REGION)}
    region_ids = {o.id: o for o in regions.values()}
    current_locals = await served_values(region.path, [i.id for i in existing.values()])
    current_materials = await latest_materials([i.id for i in existing.values()])
    promised_elsewhere: dict[int, int] = {}  # the highest limit another region promises per item
    for item_id, promised in await ItemLocal.filter(
        item_id__in=[i.id for i in existing.values()], organization_id__not=region.id
    ).values_list("item_id", "promised_limit_days"):
        promised_elsewhere[item_id] = max(promised, promised_elsewhere.get(item_id, 0))
    seen: dict[str, int] = {}
    seen_implementation: dict[str, int] = {}
    out = []
    for line, values in rows:
        row = RowPlan(line, values.get("code", ""), "INVALID")
        _parse(row, values, regions)
        if row.code:
            if row.code in seen:
                row.problems.append(f"duplicate row: 事项编码 {row.code} is also on row {seen[row.code]}")
            else:
                seen[row.code] = line
        code = row.shared.get("implementation_code")
        if code:
            if code in seen_implementation:
                row.problems.append(f"duplicate row: 实施编码 is also on row {seen_implementation[code]}")
            else:
                seen_implementation[code] = line
            holder = by_implementation.get(code)
            if holder is not None and holder != row.code:
                row.problems.append(f"实施编码 {code} belongs to item {holder}")
        item = existing.get(row.code)
        legal = row.shared.get("legal_limit_days")
        if item is not None and legal is not None and promised_elsewhere.get(item.id, 0) > legal:
            row.problems.append(
                f"法定时限 {legal}: another district promises {promised_elsewhere[item.id]} working days for "
                "this item; it lowers its promised limit first"
            )
        if not row.problems:
            _compare(row, item, current_locals, current_materials)
            _check_rights(row, item, caller_area, region, region_ids)
            row.planned_from = (item.updated_at, item.publisher_id) if item is not None else None
        if row.problems:
            row.status = "INVALID"
        out.append(row)
    return Plan(region.id, out)


def _parse(row: RowPlan, values: dict[str, str], regions: dict[str, Organization]) -> None:
    problems = row.problems
    shared, local = row.shared, row.local

    def take(key: str, check: Callable[[str], Any]) -> None:
        try:
            return check(values.get(key, ""))
        except (DomainError, ValueError) as error:
            problems.append(f"{FIELD_HEADERS[key]}: {getattr(error, 'message', None) or error}")
            return None

    if not row.code:
        problems.append("事项编码 is empty")
    elif len(row.code) > 32:
        problems.append("事项编码 is longer than 32 characters")
    shared["name"] = take("name", lambda v: _bounded(v, 200, required=True))
    shared["base_code"] = take("base_code", lambda v: validate_base_code(v) if v else None)
    shared["implementation_code"] = take(
        "implementation_code",
        lambda v: validate_implementation_code(v, shared.get("base_code")) if v else None,
    )
    shared["type"] = take("type", lambda v: _choice(v, TYPE_WORDS, ItemType))
    shared["source"] = take("source", lambda v: _choice(v, SOURCE_WORDS, ItemSource))
    shared["department"] = take("department", lambda v: _bounded(v, 100, required=True))
    shared["case_kind"] = take("case_kind", lambda v: _choice(v, KIND_WORDS, CaseKind))
    legal = shared["legal_limit_days"] = take("legal_limit_days", _count)
    promised = local["promised_limit_days"] = take("promised_limit_days", _count)
    if legal is not None and promised is not None and promised > legal:
        problems.append(f"承诺时限 {promised} is over the legal limit of {legal} working days")
    shared["fee_fen"] = take("fee", _fen)
    local["fee_note"] = take("fee_note", lambda v: _bounded(v, 200))
    shared["visits_required"] = take("visits_required", _count)
    for key in ("online", "needs_home_visit", "needs_village_publicity", "in_force"):
        shared[key] = take(key, _yes_no)
    for key in ("consult_phone", "complaint_phone"):
        local[key] = take(key, _phone)
    row.materials = take("materials", _materials)
    publisher = values.get("publisher", "")
    if publisher and publisher not in regions:
        problems.append(f"发布层级: no region has the code {publisher!r}")
    row.publisher_id = regions[publisher].id if publisher in regions else None
    if not problems:
        expected = _tags(shared)
        given = [w for w in re.split(r"[、,，\s]+", values.get("tags", "")) if w]
        if sorted(given) != sorted(expected):
            problems.append(
                "三办标签 follow from 办件类型, 网上办理 and 到办事现场次数: expected "
                f"{'、'.join(expected) or '(none)'}, got {'、'.join(given) or '(none)'}"
            )


def _compare(row: RowPlan, item: Item | None, locals_: dict, materials: dict) -> None:
    if item is None:
        row.status = "NEW"
        return
    changes = [name for name in SHARED if _stored(getattr(item, name)) != _stored(row.shared[name])]
    if row.publisher_id != item.publisher_id:
        changes.append("publisher")
    current = locals_.get(item.id) or published_values(item)
    local_changes = [name for name in LOCAL if _stored(current[name]) != row.local[name]]
    material_change = materials.get(item.id, []) != row.materials
    row.changes = [FIELD_HEADERS[n] for n in (*changes, *local_changes)]
    if material_change:
        row.changes.append("申请材料")
    row.shared_changed = bool(changes) or material_change
    row.materials_changed = material_change
    row.local_changed = bool(local_changes)
    row.status = "CHANGED" if row.changes else "UNCHANGED"


def _check_rights(
    row: RowPlan, item: Item | None, area: str | None, region: Organization | None, regions: dict
) -> None:
    """A row may change an item's shared fields only where the caller publishes it."""
    if row.status == "UNCHANGED":
        return
    if item is None or row.shared_changed:
        publishers = {row.publisher_id} if item is None else {item.publisher_id, row.publisher_id}
        for publisher in publishers:
            if not _publishes(area, regions.get(publisher)):
                owner = regions[publisher].code if publisher in regions else "the top list (the province)"
                row.problems.append(
                    f"FORBIDDEN: the item is published by {owner}; only its publisher changes its "
                    "shared fields and materials"
                )
                return


def _publishes(area: str | None, publisher: Organization | None) -> bool:
    """Whether the caller's area holds the region (None: the top list, held by an area of everything)."""
    return outbox.in_area(area, publisher.path if publisher is not None else None)


# -- applying


async def apply(plan_: Plan, actor: Caller, today: date, progress: Progress | None = None) -> dict[str, int]:
    """Write the plan in one transaction, audited; refuse a plan with an invalid row (naming it)."""
    bad = [row for row in plan_.rows if row.status == "INVALID"]
    if bad:
        first = bad[0]
        raise DomainError(
            "VALIDATION_FAILED",
            f"{len(bad)} invalid row(s), nothing was imported; row {first.line} ({first.code or 'no code'}): "
            f"{first.reason}",
            field="file",
        )
    work = [row for row in plan_.rows if row.status in ("NEW", "CHANGED")]
    writer = _Writer(actor, today, plan_.region_id)
    try:
        fresh = await _write(plan_, work, writer, progress)
    except IntegrityError:
        raise DomainError(
            "CONFLICT",
            "the catalogue changed while the list was being imported (a code or implementation code "
            "was taken meanwhile): nothing was imported; check the list again",
            field="file",
        ) from None
    return {**plan_.summary(), "created": fresh, "updated": len(work) - fresh}


async def _write(plan_: Plan, work: list[RowPlan], writer: _Writer, progress: Progress | None) -> int:
    async with in_transaction():
        found = Item.filter(code__in=[r.code for r in work])
        if Item._meta.db.capabilities.dialect == "postgres":
            found = found.select_for_update()  # no other write moves them until this one commits
        existing = {i.code: i for i in await found}
        for row in work:  # the items as they were planned from, or nothing is written
            item = existing.get(row.code)
            now = (item.updated_at, item.publisher_id) if item is not None else None
            if now != row.planned_from:
                what = "created" if row.planned_from is None else "changed"
                raise DomainError(
                    "CONFLICT",
                    f"row {row.line}: item {row.code} was {what} while the list was being imported: "
                    "nothing was imported; check the list again",
                    field="file",
                )
        fresh = [row for row in work if row.code not in existing]
        await writer.create_items(fresh)
        done = len(fresh)
        if progress:
            progress(done, len(work))
        own = {
            row["item_id"]: row
            for row in await ItemLocal.filter(
                organization_id=plan_.region_id, item_id__in=[i.id for i in existing.values()]
            ).values("id", "item_id", *LOCAL)
        }
        for row in work:
            item = existing.get(row.code)
            if item is None:
                continue
            await writer.update_item(row, item, own.get(item.id))
            done += 1
            if progress and (done % 100 == 0 or done == len(work)):
                progress(done, len(work))
        await AuditEntry.bulk_create(writer.entries, batch_size=500)
    return len(fresh)


class _Writer:
    """The writes of one import, and the audit entries they make (saved together at the end)."""

    def __init__(self, actor: Caller, today: date, region_id: int) -> None:
        self.actor, self.today, self.region_id = actor, today, region_id
        self.entries: list[AuditEntry] = []

    def audit(self, action: AuditAction, object_type: str, pk: int, before, after) -> None:
        self.entries.append(
            audit.entry(
                action,
                self.actor,
                object_type=object_type,
                object_id=pk,
                before=before,
                after=dict(after),
                detail=AUDIT_DETAIL,
            )
        )

    async def create_items(self, rows: list[RowPlan]) -> None:
        """New items in bulk: each with revision 1 of its guide and the region's values."""
        if not rows:
            return
        items = []
        for row in rows:
            item = Item(code=row.code, publisher_id=row.publisher_id, **row.shared)
            for name in PUBLISHED_FIELDS:  # the published defaults: the importing region's values
                setattr(item, name, row.local[name])
            item.derive_tags()
            items.append(item)
        await Item.bulk_create(items, batch_size=500)
        made = {i.code: i for i in await Item.filter(code__in=[r.code for r in rows])}
        await GuideRevision.bulk_create(
            [
                GuideRevision(
                    item_id=made[row.code].id, revision=1, effective_from=self.today, change_note=AUDIT_DETAIL
                )
                for row in rows
            ],
            batch_size=500,
        )
        published = await GuideRevision.filter(item_id__in=[i.id for i in made.values()]).order_by("id")
        revision_ids = {revision.item_id: revision.id for revision in published}
        for revision in published:  # an event for other systems, as every published guide has
            await outbox.revision_published(revision)
        materials, locals_ = [], []
        for row in rows:
            item = made[row.code]
            materials += _material_rows(revision_ids[item.id], row.materials or [])
            locals_.append(ItemLocal(item_id=item.id, organization_id=self.region_id, **row.local))
            self.audit(
                AuditAction.CREATE, "Item", item.id, None, {**audit.snapshot(item), "local": row.local}
            )
        await Material.bulk_create(materials, batch_size=1000)
        await ItemLocal.bulk_create(locals_, batch_size=1000)

    async def update_item(self, row: RowPlan, item: Item, own: dict | None) -> None:
        """One changed row. The region's existing values first and its new ones last, so that the
        item's check (no district promises more than the legal limit) meets the row's own values."""
        if row.local_changed and own is not None:
            await ItemLocal.filter(id=own["id"]).update(**row.local)  # within the row's legal limit
            self.audit(AuditAction.UPDATE, "ItemLocal", own["id"], {k: own[k] for k in LOCAL}, row.local)
        if row.shared_changed and _fields_differ(row, item):
            before = audit.snapshot(item)
            tags_before = {name: getattr(item, name) for name, _ in TAG_WORDS}
            for name in SHARED:
                setattr(item, name, row.shared[name])
            item.publisher_id = row.publisher_id
            # the published default never exceeds the legal limit: a lowered one lowers it too
            item.promised_limit_days = min(item.promised_limit_days, item.legal_limit_days)
            await item.save()
            self.audit(AuditAction.UPDATE, "Item", item.id, before, audit.snapshot(item))
            if tags_before != {name: getattr(item, name) for name, _ in TAG_WORDS}:
                await rollup.item_written(item, tags_before)
        if row.materials_changed:
            current = (await latest_materials([item.id])).get(item.id, [])
            await self.new_revision(item, current, row.materials or [])
        if row.local_changed and own is None:
            made = await ItemLocal.create(item_id=item.id, organization_id=self.region_id, **row.local)
            self.audit(AuditAction.CREATE, "ItemLocal", made.id, None, audit.snapshot(made))

    async def new_revision(self, item: Item, old: list[MaterialRow], new: list[MaterialRow]) -> None:
        """The next revision of the item's guide with these materials; earlier ones stay as they were
        (cases keep the revision they were filed under)."""
        latest = await GuideRevision.filter(item_id=item.id).order_by("-revision").first()
        revision = await GuideRevision.create(
            item_id=item.id,
            revision=(latest.revision + 1) if latest else 1,
            effective_from=max(self.today, latest.effective_from) if latest else self.today,
            conditions=latest.conditions if latest else "",
            process=latest.process if latest else "",
            change_note=change_note(old, new),
        )
        await Material.bulk_create(_material_rows(revision.id, new))
        await outbox.revision_published(revision)
        self.audit(AuditAction.CREATE, "GuideRevision", revision.id, None, audit.snapshot(revision))


def _fields_differ(row: RowPlan, item: Item) -> bool:
    return row.publisher_id != item.publisher_id or any(
        _stored(getattr(item, name)) != _stored(row.shared[name]) for name in SHARED
    )


def change_note(old: list[MaterialRow], new: list[MaterialRow]) -> str:
    """The materials' diff as the revision's change note (修订说明)."""
    before = {m.name: m for m in old}
    after = {m.name: m for m in new}
    added = [n for n in after if n not in before]
    removed = [n for n in before if n not in after]
    changed = [n for n in after if n in before and after[n] != before[n]]
    parts = []
    if added:
        parts.append("新增：" + "、".join(added))
    if removed:
        parts.append("删除：" + "、".join(removed))
    if changed:
        parts.append("修改：" + "、".join(changed))
    if not parts:
        parts.append("调整材料顺序")
    return (f"{AUDIT_DETAIL}，" + "；".join(parts))[:2000]


def _material_rows(revision_id: int, materials: list[MaterialRow]) -> list[Material]:
    return [
        Material(
            guide_revision_id=revision_id,
            position=n,
            name=m.name,
            form=m.form,
            copies=m.copies,
            required=m.required,
            source=m.source,
        )
        for n, m in enumerate(materials, start=1)
    ]


async def latest_materials(item_ids: list[int]) -> dict[int, list[MaterialRow]]:
    """The materials of each item's latest guide revision, in order."""
    latest: dict[int, tuple[int, int]] = {}
    for item_id, revision, pk in await GuideRevision.filter(item_id__in=item_ids).values_list(
        "item_id", "revision", "id"
    ):
        if item_id not in latest or latest[item_id][0] < revision:
            latest[item_id] = (revision, pk)
    owner = {pk: item_id for item_id, (_, pk) in latest.items()}
    out: dict[int, list[MaterialRow]] = {item_id: [] for item_id in latest}
    rows = (
        await Material.filter(guide_revision_id__in=list(owner))
        .order_by("guide_revision_id", "position")
        .values("guide_revision_id", "name", "form", "copies", "required", "source")
    )
    for m in rows:
        out[owner[m["guide_revision_id"]]].append(
            MaterialRow(
                m["name"].strip(), str(m["form"]), m["copies"], bool(m["required"]), m["source"].strip()
            )
        )
    return out


# -- cells


def _bounded(value: str, length: int, *, required: bool = False) -> str:
    if required and not value:
        raise ValueError("is empty")
    if len(value) > length:
        raise ValueError(f"is longer than {length} characters")
    return value


def _choice(value: str, words: dict, enum) -> str:
    for member, word in words.items():
        if value in (word, member.value):
            return member.value
    raise ValueError(f"unknown value {value!r}: use {'、'.join(words.values())}")


def _count(value: str) -> int:
    if not re.fullmatch(r"\d{1,5}", value):
        raise ValueError(f"must be a whole number of 0 or more, got {value!r}")
    return int(value)


def _fen(value: str) -> int:
    try:
        amount = Decimal(value or "0")
    except InvalidOperation:
        raise ValueError(f"must be an amount in yuan, got {value!r}") from None
    if not amount.is_finite() or amount < 0 or amount != amount.quantize(Decimal("0.01")) or amount > 10**9:
        raise ValueError(f"must be 0 or more yuan with at most 2 decimals, got {value!r}")
    return int(amount * 100)


def _yuan(fen: int) -> str:
    return f"{Decimal(fen) / 100:.2f}"


def _yes(flag: Any) -> str:
    return YES if flag else NO


def _yes_no(value: str) -> bool:
    if value == YES or value.lower() in ("y", "yes", "true", "1"):  # a spreadsheet's TRUE reads "True"
        return True
    if value == NO or value.lower() in ("n", "no", "false", "0"):
        return False
    raise ValueError(f"must be 是 or 否, got {value!r}")


def _phone(value: str) -> str:
    if value and not PHONE.fullmatch(value):
        raise ValueError(f"{value!r} is not a phone number (digits, + ( ) - and spaces, up to 20)")
    return value


def _materials(value: str) -> list[MaterialRow]:
    out = []
    names = set()
    for n, line in enumerate((line.strip() for line in value.splitlines() if line.strip()), start=1):
        parts = [p.strip() for p in line.split(MATERIAL_SEPARATOR)]
        if len(parts) > 5:
            raise ValueError(f"material {n} has more than 5 parts: {line!r}")
        parts += [""] * (5 - len(parts))
        name, form, copies, need, source = parts
        _bounded(name, 200, required=True)
        if name in names:
            raise ValueError(f"material {name!r} is listed twice")
        names.add(name)
        out.append(
            MaterialRow(
                name,
                _choice(form or FORM_WORDS[MaterialForm.ORIGINAL], FORM_WORDS, MaterialForm),
                _count(copies or "1"),
                REQUIRED_WORDS[need] if need in REQUIRED_WORDS else _need(need),
                _bounded(source, 100),
            )
        )
    return out


def _need(value: str) -> bool:
    if not value:
        return True
    raise ValueError(f"material requirement must be 必要 or 非必要, got {value!r}")


def _tags(shared: dict[str, Any]) -> list[str]:
    probe = Item(
        case_kind=shared["case_kind"], online=shared["online"], visits_required=shared["visits_required"]
    )
    probe.derive_tags()
    return [word for name, word in TAG_WORDS if getattr(probe, name)]


def _stored(value: Any) -> Any:
    """A stored value as a file's cell reads it: enums by value, text without surrounding spaces."""
    if hasattr(value, "value"):
        return value.value
    return value.strip() if isinstance(value, str) else value
