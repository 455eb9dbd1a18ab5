"""Load the Qujialing fixture in one transaction; a second run finds it and changes nothing."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from tortoise.transactions import in_transaction

from api.models.funding import STANDARDIZATION_CHECKS, Funding, FundingPurpose, RoomInspection
from api.models.item import (
    GuideRevision,
    Item,
    ItemAssignment,
    ItemSource,
    ItemType,
    Material,
    Power,
    WindowItem,
)
from api.models.org import ConstructionStatus, Organization, Tier, Window
from api.models.staff import DutyPeriod, DutyShift, Staff
from api.models.user import Role, User
from api.services import calendar as calendar_service
from api.services import catalogue, rollup
from api.services.deadlines import DISTRICT_ZONE
from api.services.users import create_user
from seeds.qujialing import cases
from seeds.qujialing.names import AREA_CODE, NameMaker
from seeds.qujialing.organizations import CENTER_CODE, REGION_CODE, organization_specs
from seeds.qujialing.reports import load_starter_reports

CATALOGUE = Path(__file__).with_name("catalogue.json")
TZ = DISTRICT_ZONE  # the district's zone (api.settings)
SEED = 20170430
BUREAU_FORMED = date(2017, 4, 28)
HALL_DELEGATION = date(2017, 7, 3)
MATERIAL_REFORM = date(2017, 6, 1)
CENTER_STAFF = 60
HALL_STAFF = 6
ROOM_STAFF = 2

# Windows of the center (窗口); the two the article names and the usual others (illustrative).
WINDOWS = (
    ("W01", "综合受理窗口", "一门通办：统一收件、统一出件", None),
    ("W02", "国地税联合办税窗口", "国税、地税联合办税", ("税务局",)),
    (
        "W03",
        "城建、规划、房产、不动产窗口",
        "与市场主体和群众利益密切相关的一条龙服务",
        ("住房和城乡建设局", "自然资源和规划局", "不动产登记中心"),
    ),
    ("W04", "市场准入窗口", "企业登记与市场准入许可", ("市场监督管理局",)),
    ("W05", "企业审批主动代办窗口", "受理+代办：为企业代为网上申报、上传资料", None),
    (
        "W06",
        "社会事务窗口",
        "民政、人社、医保、卫健等公共服务",
        ("民政局", "人力资源和社会保障局", "医疗保障局", "卫生健康局"),
    ),
)
DEMO_USERS = (
    ("admin", Role.ADMIN, REGION_CODE),
    ("supervisor", Role.SUPERVISOR, REGION_CODE),
    ("clerk", Role.CLERK, CENTER_CODE),
    ("hall_clerk", Role.CLERK, "QJL-H1"),
    ("agent", Role.AGENT, "QJL-H1-R01"),
    ("integrator", Role.INTEGRATOR, REGION_CODE),
)
LEGAL_BASIS = {
    ItemSource.DELEGATED_BY_CITY: "荆门市人民政府关于向屈家岭管理区下放行政许可事项的决定（示例文号）",
    ItemSource.ENTRUSTED_BY_COUNTY: "行政许可事项委托书（示例文号）",
    ItemSource.OWN: "屈家岭管理区政务服务事项目录（2017年版，示例）",
}
HALL_BASIS = "管委会关于向办事处便民服务大厅下放便民服务事项的通知（示例文号）"
ROOM_BASIS = "管委会关于基层便民服务室受理初审和代办事项的通知（示例文号）"
AGENCY_BASIS = "管委会关于行政许可事项基层代办的通知（示例文号）"


@dataclass(frozen=True)
class SeedReport:
    loaded: bool
    counts: dict[str, int]


Progress = Callable[[str], object]


async def load(demo_password: str, progress: Progress | None = None) -> SeedReport:
    """Load the fixture unless its region already exists; report what the database holds."""
    say = progress or (lambda _msg: None)
    if await Organization.exists(code=REGION_CODE):
        say("fixture already loaded; nothing to do")
        return SeedReport(False, await _counts())
    rng = random.Random(SEED)
    names = NameMaker(rng)
    async with in_transaction():
        say("calendar 2017-2018")
        for year in (2017, 2018):
            await calendar_service.load_year(year)
        say("organizations")
        orgs = await _organizations(rng)
        say("windows and staff")
        windows = await _windows(orgs[CENTER_CODE])
        staff = await _staff(orgs, windows, names, rng)
        say("users")
        users = await _users(orgs, staff, demo_password)
        say("catalogue and guides")
        items = await load_catalogue_items(names)
        await catalogue.adopt_defaults(orgs[REGION_CODE], list(items.values()))
        say("assignments")
        await _assignments(orgs, items, windows, users["admin"])
        say("inspections, duty roster and funding")
        await _inspections(orgs, users["supervisor"], rng)
        await _duty_roster(orgs, staff)
        await _funding(orgs)
        say("a year of cases")
        await cases.generate(orgs, items, staff, users, names, rng, say)
        say("starter reports")
        await load_starter_reports(users["admin"], orgs[REGION_CODE])
        say("service statistics rollups")
        await rollup.rebuild()
    # Planner statistics now: autovacuum never analyzes a table of fewer than 50 rows (the 44
    # organizations), and without them PostgreSQL guesses one row and picks nested loops.
    say("statistics for the planner")
    await Organization._meta.db.execute_script("ANALYZE")
    return SeedReport(True, await _counts())


async def _counts() -> dict[str, int]:
    from api.models.case import AgencyBatch, Case, CaseEvent, Evaluation

    models = (Organization, Window, Staff, User, Item, GuideRevision, Material, ItemAssignment)
    models += (RoomInspection, Funding, Case, CaseEvent, AgencyBatch, Evaluation)
    return {model.__name__: await model.all().count() for model in models}


async def _organizations(rng: random.Random) -> dict[str, Organization]:
    orgs: dict[str, Organization] = {}
    for spec in organization_specs(rng):
        orgs[spec.code] = await Organization.create(
            code=spec.code,
            name=spec.name,
            tier=spec.tier,
            kind=spec.kind,
            parent=orgs.get(spec.parent_code) if spec.parent_code else None,
            population=spec.population,
            longitude=spec.longitude,
            latitude=spec.latitude,
            address=spec.address,
            duty_phone=f"0724-{5_200_000 + len(orgs) * 17:07d}",
            construction_status=spec.status,
            construction_started_on=spec.started_on,
            built_on=spec.built_on,
            standardized_on=spec.standardized_on,
        )
    return orgs


async def _windows(center: Organization) -> dict[str, Window]:
    windows = {}
    for code, name, description, _departments in WINDOWS:
        windows[code] = await Window.create(
            organization=center, code=code, name=name, description=description
        )
    return windows


async def _staff(orgs, windows, names: NameMaker, rng) -> dict[str, list[Staff]]:
    """60 at the center (leaders and window staff), 6 per hall, 2 per built room, 1 per room being built."""
    rows: list[Staff] = []
    center = orgs[CENTER_CODE]
    window_list = list(windows.values())
    for i in range(CENTER_STAFF):
        if i < 4:
            position, window = ("局长", "副局长", "副局长", "办公室主任")[i], None
        else:
            window = window_list[(i - 4) % len(window_list)]
            position = "窗口负责人" if i - 4 < len(window_list) else "窗口工作人员"
        rows.append(_person(names, center, position, window))
    for org in orgs.values():
        if org.tier == Tier.HALL:
            rows += [_person(names, org, "大厅负责人" if i == 0 else "工作人员") for i in range(HALL_STAFF)]
        elif org.tier == Tier.ROOM:
            count = 1 if org.construction_status == ConstructionStatus.UNDER_CONSTRUCTION else ROOM_STAFF
            rows += [_person(names, org, "代办员" if i else "服务室负责人") for i in range(count)]
    await Staff.bulk_create(rows, batch_size=200)
    by_org: dict[str, list[Staff]] = {code: [] for code in orgs}
    code_of = {org.id: code for code, org in orgs.items()}
    for person in await Staff.all().order_by("id"):
        by_org[code_of[person.organization_id]].append(person)
    return by_org


def _person(names: NameMaker, org: Organization, position: str, window: Window | None = None) -> Staff:
    return Staff(
        name=names.person(),
        organization=org,
        window=window,
        position=position,
        phone=names.phone(),
        id_number=names.id_number(1965, 1995),
    )


async def _users(orgs, staff, demo_password: str) -> dict[str, User]:
    users = {}
    for username, role, org_code in DEMO_USERS:
        person = staff[org_code][0] if staff.get(org_code) else None
        users[username] = await create_user(
            username,
            demo_password,
            role,
            organization_code=org_code,
            staff_id=person.id if person and role in (Role.CLERK, Role.AGENT) else None,
            is_demo=True,
            enforce_policy=False,
        )
    return users


async def load_catalogue_items(names: NameMaker) -> dict[str, Item]:
    """The shared catalogue (catalogue.json): items, their guides and materials, by item code."""
    entries = json.loads(CATALOGUE.read_text(encoding="utf-8"))["items"]
    credit = names.credit_code("11")  # the administrative approval bureau's code (illustrative)
    items: dict[str, Item] = {}
    for n, entry in enumerate(entries, start=1):
        base_code = f"{AREA_CODE[:3]}{'A' if entry['type'] == 'LICENSING' else 'Z'}{n:010d}"
        items[entry["code"]] = item = await Item.create(
            code=entry["code"],
            name=entry["name"],
            type=entry["type"],
            source=entry["source"],
            base_code=base_code,
            implementation_code=f"{base_code}-{AREA_CODE}000000-000-{credit}-1-00",
            department=entry["department"],
            case_kind=entry["case_kind"],
            legal_limit_days=entry["legal_limit_days"],
            promised_limit_days=entry["promised_limit_days"],
            fee_fen=entry["fee_fen"],
            online=entry["online"],
            visits_required=entry["visits_required"],
            needs_home_visit=entry["needs_home_visit"],
            needs_village_publicity=entry["needs_village_publicity"],
            consult_phone="0724-5201234",
            complaint_phone="0724-12345",
        )
        item.fixture = entry
        await _guides(item, entry)
    return items


async def _guides(item: Item, entry: dict) -> None:
    """Revision 1 when the bureau formed; the three permits get revision 2 with fewer materials."""
    history = (
        [entry["previous_materials"], entry["materials"]]
        if entry["previous_materials"]
        else [entry["materials"]]
    )
    for number, materials in enumerate(history, start=1):
        reduced = number == 2
        revision = await GuideRevision.create(
            item=item,
            revision=number,
            effective_from=MATERIAL_REFORM if reduced else BUREAU_FORMED,
            conditions="符合法律法规规定的申请条件",
            process="申请 → 受理 → 审查 → 决定 → 办结 → 送达",
            change_note=(
                f"投资项目申报材料精简：{len(history[0])} 项缩减为 {len(materials)} 项"
                if reduced
                else "首次编制公开"
            ),
        )
        await Material.bulk_create(
            [
                Material(
                    guide_revision=revision,
                    position=p,
                    name=m["name"],
                    form=m["form"],
                    copies=m["copies"],
                    required=m["required"],
                )
                for p, m in enumerate(materials, start=1)
            ]
        )


async def _assignments(orgs, items: dict[str, Item], windows, admin: User) -> None:
    halls = [o for o in orgs.values() if o.tier == Tier.HALL]
    built_rooms = [
        o
        for o in orgs.values()
        if o.tier == Tier.ROOM and o.construction_status != ConstructionStatus.UNDER_CONSTRUCTION
    ]
    rows: list[ItemAssignment] = []
    for item in items.values():
        entry = item.fixture
        if entry["at_center"]:
            rows.append(
                _assignment(
                    item, orgs[CENTER_CODE], Power.FULL, LEGAL_BASIS[item.source], BUREAU_FORMED, admin
                )
            )
        if entry["at_halls"]:
            rows += [
                _assignment(item, hall, Power.FULL, HALL_BASIS, HALL_DELEGATION, admin) for hall in halls
            ]
            power = (
                Power.ACCEPT_AND_PRE_REVIEW
                if item.needs_home_visit or item.needs_village_publicity
                else Power.AGENCY_ONLY
            )
            rows += [
                _assignment(item, room, power, ROOM_BASIS, HALL_DELEGATION, admin) for room in built_rooms
            ]
        elif entry["at_center"] and item.type == ItemType.LICENSING:
            # 大事到中心: halls and rooms collect licensing papers and carry them to the center (代办).
            rows += [
                _assignment(item, org, Power.AGENCY_ONLY, AGENCY_BASIS, HALL_DELEGATION, admin)
                for org in (*halls, *built_rooms)
            ]
    await ItemAssignment.bulk_create(rows, batch_size=500)
    await WindowItem.bulk_create(_window_items(items, windows), batch_size=500)


def _assignment(item, org, power, basis, since, admin) -> ItemAssignment:
    return ItemAssignment(
        item=item, organization=org, power=power, legal_basis=basis, effective_from=since, decided_by=admin
    )


def _window_items(items: dict[str, Item], windows) -> list[WindowItem]:
    """Every center item at the general window, and at the window of its department if there is one."""
    rows = []
    by_department = {d: windows[code] for code, _n, _d, departments in WINDOWS for d in departments or ()}
    for item in items.values():
        if not item.fixture["at_center"]:
            continue
        rows.append(WindowItem(window=windows["W01"], item=item))
        window = by_department.get(item.department)
        if window is not None:
            rows.append(WindowItem(window=window, item=item))
        if item.type == "LICENSING" and item.source != ItemSource.OWN:
            rows.append(WindowItem(window=windows["W05"], item=item))
    return rows


async def _inspections(orgs, supervisor: User, rng: random.Random) -> None:
    """One inspection per built room: standardized rooms pass all six, built ones miss one or two."""
    rows = []
    for org in orgs.values():
        if org.tier != Tier.ROOM or org.construction_status == ConstructionStatus.UNDER_CONSTRUCTION:
            continue
        passed = org.construction_status == ConstructionStatus.STANDARDIZED
        missing = set() if passed else set(rng.sample(STANDARDIZATION_CHECKS[3:], rng.randint(1, 2)))
        inspected = org.standardized_on or (org.built_on + timedelta(days=14))
        rows.append(
            RoomInspection(
                organization=org,
                inspected_on=inspected,
                inspector=supervisor,
                inspector_name="督查组（示例）",
                notes="六项标准全部达到" if passed else "待完善：" + "、".join(sorted(missing)),
                **{check: check not in missing for check in STANDARDIZATION_CHECKS},
            )
        )
    await RoomInspection.bulk_create(rows)


async def _duty_roster(orgs, staff) -> None:
    """A published week of duty (值班人员信息公开) for every hall and built room."""
    week = [date(2018, 1, 15) + timedelta(days=d) for d in range(5)]
    published = datetime(2018, 1, 12, 17, 0, tzinfo=TZ)
    rows = []
    for code, org in orgs.items():
        people = staff.get(code) or []
        if org.tier not in (Tier.HALL, Tier.ROOM) or not people:
            continue
        if org.construction_status == ConstructionStatus.UNDER_CONSTRUCTION:
            continue
        rows += [
            DutyShift(
                organization=org,
                staff=people[d % len(people)],
                duty_date=day,
                period=DutyPeriod.FULL_DAY,
                published_at=published,
            )
            for d, day in enumerate(week)
        ]
    await DutyShift.bulk_create(rows, batch_size=500)


# (organization code or "halls", purpose, yuan, granted on, source, note) — totals from the article
FUNDING = (
    (
        CENTER_CODE,
        FundingPurpose.HALL_CONSTRUCTION,
        2_180_000,
        date(2017, 3, 20),
        "管理区财政",
        "政务服务大厅装修改造",
    ),
    (CENTER_CODE, FundingPurpose.HALL_CONSTRUCTION, 860_000, date(2017, 4, 18), "管理区财政", "大厅设备购置"),
    (
        CENTER_CODE,
        FundingPurpose.NETWORK_PLATFORM,
        360_000,
        date(2017, 6, 12),
        "管理区财政",
        "政务服务外网建设",
    ),
    (
        CENTER_CODE,
        FundingPurpose.NETWORK_PLATFORM,
        150_000,
        date(2017, 9, 5),
        "管理区财政",
        "对接全省一网、全市一网",
    ),
    (
        "halls",
        FundingPurpose.REWARD_SUBSIDY,
        1_060_000,
        date(2017, 5, 25),
        "管理区以奖代补资金",
        "基层便民服务场所建设",
    ),
)


async def _funding(orgs) -> None:
    rows = []
    halls = sorted((o for o in orgs.values() if o.tier == Tier.HALL), key=lambda o: o.code)
    for code, purpose, yuan, granted, source, note in FUNDING:
        targets = halls if code == "halls" else [orgs[code]]
        share, rest = divmod(yuan * 100, len(targets))
        rows += [
            Funding(
                organization=org,
                amount_fen=share + (rest if i == 0 else 0),
                purpose=purpose,
                granted_on=granted,
                source=source,
                note=note,
            )
            for i, org in enumerate(targets)
        ]
    await Funding.bulk_create(rows)
