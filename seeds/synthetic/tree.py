"""The province's tree as rows: a root, its districts, each a center, halls and rooms, with the
staff who work there and a user for every organization (all illustrative, see README.md)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta

from api.models.org import ConstructionStatus, OrgKind, Tier
from api.models.user import Role
from seeds.qujialing.names import NameMaker
from seeds.synthetic.timeline import END_DAY, SET_UP_ON, Clock, moment

PROVINCE_CODE = "PROV"
PROVINCE_SUPERVISOR = "province_supervisor"
HALLS = (8, 12)  # halls per district, inclusive
ROOMS = (20, 32)  # rooms per hall
CENTER_STAFF = 8
BASE_LON, BASE_LAT = 108.6, 29.3  # the province's south-west corner (illustrative)
PLACE_CHARS = "青柳荷白双新桥杨石高长兴滨河山湾塘庙堰林东西南北中安和平乐丰康宁华泰福"
NUMERALS = "一二三四五六七八九十"
ROOM_STATUSES = (  # share of rooms in each state; only built ones handle cases
    (0.06, ConstructionStatus.PLANNED),
    (0.16, ConstructionStatus.UNDER_CONSTRUCTION),
    (0.40, ConstructionStatus.BUILT),
    (1.00, ConstructionStatus.STANDARDIZED),
)


@dataclass(frozen=True)
class Person:
    """Who acts at an organization: a user, the staff record behind it, and the name events show."""

    user_id: int
    staff_id: int
    name: str
    role: str


@dataclass(frozen=True)
class Place:
    id: int
    code: str
    people: tuple[Person, ...]  # who takes the steps there
    carrier: int  # the staff member who carries its agency batches (专人代办)
    hall_id: int | None = None  # a room's hall
    since: date | None = None  # a room's first day of service (None: not built)


@dataclass
class District:
    """What a worker needs to generate one district's cases and assignments."""

    index: int
    code: str
    name: str
    region_id: int
    center: Place
    halls: list[Place]
    rooms: list[Place]
    admin_id: int
    supervisor_id: int
    cases: int = 0
    case_base: int = 0  # the district's first case id
    batch_base: int = 0  # its agency batches take ids from here, at most one per case


@dataclass
class Tree:
    rows: dict[str, list[tuple]] = field(
        default_factory=lambda: {"organization": [], "staff": [], "app_user": []}
    )
    districts: list[District] = field(default_factory=list)


class Builder:
    """Numbers organizations, staff and users from the given first ids, in one fixed order."""

    def __init__(
        self, rng: random.Random, first_ids: dict[str, int], password_hash: str, clock: Clock
    ) -> None:
        self.rng, self.names, self.hash = rng, NameMaker(rng), password_hash
        self.next = dict(first_ids)
        self.tree = Tree()
        self.created = clock.stamp(moment(SET_UP_ON, 30))
        self.paths: dict[int, str] = {}
        self.duty_phone = 5_200_000

    def take(self, table: str) -> int:
        pk = self.next[table]
        self.next[table] += 1
        return pk

    def organization(
        self, code: str, name: str, tier: Tier, kind: OrgKind, parent: int | None, **extra
    ) -> int:
        pk = self.take("organization")
        self.paths[pk] = f"{self.paths[parent] if parent else '/'}{pk}/"
        self.duty_phone += 17
        status, *days = extra.get("construction", (None, None, None, None))
        construction = (status, *(day.isoformat() if day else None for day in days))
        self.tree.rows["organization"].append(
            (pk, code, name, tier.value, kind.value, parent, self.paths[pk], extra.get("population"),
             extra.get("address", ""), extra.get("lon"), extra.get("lat"), f"0724-{self.duty_phone:07d}",
             *construction, self.created, self.created)
        )  # fmt: skip
        return pk

    def staff(self, org: int, position: str) -> tuple[int, str]:
        pk, name = self.take("staff"), self.names.person()
        phone, id_number = self.names.phone(), self.names.id_number(1965, 2000)
        self.tree.rows["staff"].append((pk, name, org, None, position, phone, id_number, True, self.created))
        return pk, name

    def person(self, org: int, position: str, username: str, role: Role) -> Person:
        staff, name = self.staff(org, position)
        return Person(self.user(username, role, org, staff), staff, name, role.value)

    def user(self, username: str, role: Role, org: int, staff: int | None = None) -> int:
        pk = self.take("app_user")
        self.tree.rows["app_user"].append(
            (pk, username, self.hash, role.value, org, staff, True, True, None, self.created)
        )
        return pk


def build(districts: int, seed: int, first_ids: dict[str, int], password_hash: str, clock: Clock) -> Tree:
    """The province: its root, `districts` districts and their people."""
    rng = random.Random(f"sanji-synthetic:{seed}:tree")
    builder = Builder(rng, first_ids, password_hash, clock)
    root = builder.organization(PROVINCE_CODE, "示例省", Tier.REGION, OrgKind.PROVINCE, None)
    builder.user(PROVINCE_SUPERVISOR, Role.SUPERVISOR, root)
    width = max(3, len(str(districts)))
    names = district_names(rng, districts)
    for index in range(1, districts + 1):
        builder.tree.districts.append(
            _district(builder, root, index, f"D{index:0{width}d}", names[index - 1])
        )
    return builder.tree


def district_names(rng: random.Random, count: int) -> list[str]:
    names: list[str] = []
    seen: set[str] = set()
    while len(names) < count:
        name = "".join(rng.sample(PLACE_CHARS, 2)) + "区"
        if name in seen:
            name = f"{name[:2]}{len(names) + 1}区"
        seen.add(name)
        names.append(name)
    return names


def _district(b: Builder, root: int, index: int, code: str, name: str) -> District:
    rng = b.rng
    lon = BASE_LON + (index - 1) % 10 * 0.8 + rng.uniform(0, 0.3)
    lat = BASE_LAT + (index - 1) // 10 % 10 * 0.45 + rng.uniform(0, 0.2)
    region = b.organization(code, name, Tier.REGION, OrgKind.DISTRICT, root)
    admin = b.user(f"{code.lower()}_admin", Role.ADMIN, region)
    supervisor = b.user(f"{code.lower()}_supervisor", Role.SUPERVISOR, region)
    center = b.organization(
        f"{code}-ZWFW", f"{name}政务服务中心", Tier.CENTER, OrgKind.ADMINISTRATION, region,
        lon=round(lon, 5), lat=round(lat, 5), address=f"{name}政务服务大厅（示例地址）",
    )  # fmt: skip
    clerks = []
    for i in range(CENTER_STAFF):
        position = ("中心主任", "副主任")[i] if i < 2 else "窗口工作人员"
        suffix = "" if i == 0 else str(i + 1)
        clerks.append(b.person(center, position, f"{code.lower()}_clerk{suffix}", Role.CLERK))
    place = Place(center, f"{code}-ZWFW", tuple(clerks), carrier=clerks[-1].staff_id)
    district = District(index, code, name, region, place, [], [], admin, supervisor)
    for h in range(1, rng.randint(*HALLS) + 1):
        _hall(b, district, h, lon, lat)
    return district


def _hall(b: Builder, district: District, h: int, lon: float, lat: float) -> None:
    rng, code = b.rng, f"{district.code}-H{h:02d}"
    hall_name = f"第{h}办事处" if h > 10 else f"第{NUMERALS[h - 1]}办事处"
    population = rng.randint(8_000, 30_000)
    hall_lon, hall_lat = lon + rng.uniform(-0.09, 0.09), lat + rng.uniform(-0.06, 0.06)
    started = SET_UP_ON - timedelta(days=rng.randint(300, 700))
    built = started + timedelta(days=rng.randint(60, 120))
    standardized = built + timedelta(days=rng.randint(20, 90)) if rng.random() < 0.8 else None
    status = ConstructionStatus.STANDARDIZED if standardized else ConstructionStatus.BUILT
    hall = b.organization(
        code, f"{district.name}{hall_name}便民服务大厅", Tier.HALL, OrgKind.SUB_DISTRICT, district.center.id,
        population=population, lon=round(hall_lon, 5), lat=round(hall_lat, 5),
        address=f"{district.name}{hall_name}（示例地址）",
        construction=(status.value, started, built, standardized),
    )  # fmt: skip
    clerk = b.person(hall, "大厅负责人", f"{code.lower().replace('-', '_')}_clerk", Role.CLERK)
    b.staff(hall, "工作人员")
    place = Place(hall, code, (clerk,), carrier=b.staff(hall, "代办员")[0])
    district.halls.append(place)
    rooms = rng.randint(*ROOMS)
    shares = _split(population, rooms, rng)
    for r in range(1, rooms + 1):
        _room(b, district, place, hall_name, r, shares[r - 1], (hall_lon, hall_lat))


def _room(
    b: Builder,
    district: District,
    hall: Place,
    hall_name: str,
    r: int,
    population: int,
    near: tuple[float, float],
) -> None:
    rng, code = b.rng, f"{hall.code}-R{r:02d}"
    if r <= 2:
        kind, name = OrgKind.COMMUNITY, "".join(rng.sample(PLACE_CHARS, 2)) + "社区"
    elif r <= 18:
        kind, name = OrgKind.VILLAGE, "".join(rng.sample(PLACE_CHARS, 2)) + "村"
    else:
        kind, name = OrgKind.TEAM, "".join(rng.sample(PLACE_CHARS, 2)) + f"{NUMERALS[(r - 19) % 10]}队"
    draw = rng.random()
    status = next(s for share, s in ROOM_STATUSES if draw < share)
    started = built = standardized = since = None
    if status != ConstructionStatus.PLANNED:
        started = SET_UP_ON - timedelta(days=rng.randint(-200, 500))
    if status in (ConstructionStatus.BUILT, ConstructionStatus.STANDARDIZED):
        built = min(started + timedelta(days=rng.randint(45, 120)), END_DAY - timedelta(days=30))
        since = max(built, SET_UP_ON)
        if status == ConstructionStatus.STANDARDIZED:
            standardized = min(built + timedelta(days=rng.randint(20, 90)), END_DAY)
    lon, lat = near[0] + rng.uniform(-0.04, 0.04), near[1] + rng.uniform(-0.03, 0.03)
    located = rng.random() >= 0.02  # a few rooms have no coordinates yet, as in the fixture
    room = b.organization(
        code, f"{name}便民服务室", Tier.ROOM, kind, hall.id, population=population,
        lon=round(lon, 5) if located else None, lat=round(lat, 5) if located else None,
        address=f"{district.name}{hall_name}{name}（示例地址）",
        construction=(status.value, started, built, standardized),
    )  # fmt: skip
    agent = b.person(room, "服务室负责人", f"{code.lower().replace('-', '_')}_agent", Role.AGENT)
    carrier = b.staff(room, "代办员")[0] if built is not None else agent.staff_id
    district.rooms.append(Place(room, code, (agent,), carrier, hall_id=hall.id, since=since))


def _split(total: int, parts: int, rng: random.Random) -> list[int]:
    weights = [rng.uniform(0.6, 1.4) for _ in range(parts)]
    shares = [int(total * w / sum(weights)) for w in weights]
    shares[0] += total - sum(shares)
    return shares


def share_cases(tree: Tree, total: int, seed: int, first_case: int, first_batch: int) -> None:
    """Split `total` cases among the districts (each its own weight) and give each its id ranges."""
    rng = random.Random(f"sanji-synthetic:{seed}:shares")
    weights = [rng.uniform(0.6, 1.4) for _ in tree.districts]
    shares = [int(total * w / sum(weights)) for w in weights]
    for i in range(total - sum(shares)):
        shares[i % len(shares)] += 1
    case, batch = first_case, first_batch
    for district, share in zip(tree.districts, shares, strict=True):
        district.cases, district.case_base, district.batch_base = share, case, batch
        case += share
        batch += share
