"""The district's organizations: the region, the center, 4 halls and 38 rooms (7 still being built).

Figures follow the article; hall and room names, addresses, coordinates and populations per
organization are illustrative (see README.md beside this file).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

from api.models.org import ConstructionStatus, OrgKind, Tier

REGION_CODE = "QJL"
CENTER_CODE = "QJL-ZWFW"
BASE_LON, BASE_LAT = 112.90, 30.84


@dataclass(frozen=True)
class OrgSpec:
    code: str
    name: str
    tier: Tier
    kind: OrgKind
    parent_code: str | None
    population: int | None = None
    longitude: float | None = None
    latitude: float | None = None
    address: str = ""
    status: ConstructionStatus | None = None
    started_on: date | None = None
    built_on: date | None = None
    standardized_on: date | None = None


# (hall short name, population served, communities, villages, teams, rooms under construction)
HALLS = (
    ("第一办事处", 23_600, ("屈岭社区",), ("青山村", "柳湾村", "荷塘村"), 6, 2),
    ("第二办事处", 19_400, ("长青社区",), ("白庙村", "双河村"), 6, 2),
    ("第三办事处", 21_300, ("兴华社区",), ("新堰村", "桥头村", "杨林村"), 6, 1),
    ("第四办事处", 15_700, ("滨河社区",), ("石板村", "高湾村"), 6, 2),
)
TEAM_NUMERALS = "一二三四五六七八九十"
ROOMS_WITHOUT_COORDINATES = 3
STANDARDIZED_SHARE = 24  # of the 31 built rooms; the rest are BUILT and still miss a check


def organization_specs(rng: random.Random) -> list[OrgSpec]:
    specs = [
        OrgSpec(REGION_CODE, "屈家岭管理区", Tier.REGION, OrgKind.DISTRICT, None),
        OrgSpec(
            CENTER_CODE,
            "屈家岭管理区政务服务中心",
            Tier.CENTER,
            OrgKind.ADMINISTRATION,
            REGION_CODE,
            longitude=BASE_LON,
            latitude=BASE_LAT,
            address="屈家岭管理区政务服务大厅（示例地址）",
        ),
    ]
    rooms: list[OrgSpec] = []
    for h, (hall_name, population, communities, villages, teams, building) in enumerate(HALLS, start=1):
        hall_code = f"QJL-H{h}"
        hall_lon = BASE_LON + rng.uniform(-0.09, 0.09)
        hall_lat = BASE_LAT + rng.uniform(-0.06, 0.06)
        specs.append(
            OrgSpec(
                hall_code,
                f"{hall_name}便民服务大厅",
                Tier.HALL,
                OrgKind.SUB_DISTRICT,
                CENTER_CODE,
                population=population,
                longitude=round(hall_lon, 5),
                latitude=round(hall_lat, 5),
                address=f"{hall_name}（示例地址）",
                status=ConstructionStatus.STANDARDIZED,
                started_on=date(2017, 1, 9) + timedelta(days=7 * h),
                built_on=date(2017, 4, 10) + timedelta(days=7 * h),
                standardized_on=date(2017, 6, 30),
            )
        )
        names = [(f"{c}便民服务室", OrgKind.COMMUNITY) for c in communities]
        names += [(f"{v}便民服务室", OrgKind.VILLAGE) for v in villages]
        names += [(f"{hall_name[:2]}{TEAM_NUMERALS[t]}队便民服务室", OrgKind.TEAM) for t in range(teams)]
        shares = _split(population, len(names), rng)
        for r, ((name, kind), share) in enumerate(zip(names, shares, strict=True), start=1):
            is_building = r > len(names) - building
            rooms.append(
                OrgSpec(
                    f"{hall_code}-R{r:02d}",
                    name,
                    Tier.ROOM,
                    kind,
                    hall_code,
                    population=share,
                    longitude=round(hall_lon + rng.uniform(-0.04, 0.04), 5),
                    latitude=round(hall_lat + rng.uniform(-0.03, 0.03), 5),
                    address=f"{hall_name}{name.removesuffix('便民服务室')}（示例地址）",
                    status=ConstructionStatus.UNDER_CONSTRUCTION if is_building else ConstructionStatus.BUILT,
                    started_on=date(2017, 5, 2) + timedelta(days=rng.randint(0, 150)),
                )
            )
    return specs + _finish_rooms(rooms, rng)


def _finish_rooms(rooms: list[OrgSpec], rng: random.Random) -> list[OrgSpec]:
    """Give built rooms their dates, mark the standardized ones, drop a few coordinates."""
    built = [r for r in rooms if r.status == ConstructionStatus.BUILT]
    standardized = {r.code for r in rng.sample(built, STANDARDIZED_SHARE)}
    no_coordinates = {r.code for r in rng.sample(rooms, ROOMS_WITHOUT_COORDINATES)}
    finished = []
    for room in rooms:
        fields = room.__dict__.copy()
        if room.status == ConstructionStatus.BUILT:
            fields["built_on"] = room.started_on + timedelta(days=rng.randint(45, 90))
            if room.code in standardized:
                fields["status"] = ConstructionStatus.STANDARDIZED
                fields["standardized_on"] = fields["built_on"] + timedelta(days=rng.randint(20, 60))
        if room.code in no_coordinates:
            fields["longitude"] = fields["latitude"] = None
        finished.append(OrgSpec(**fields))
    return finished


def _split(total: int, parts: int, rng: random.Random) -> list[int]:
    weights = [rng.uniform(0.6, 1.4) for _ in range(parts)]
    shares = [int(total * w / sum(weights)) for w in weights]
    shares[0] += total - sum(shares)
    return shares
