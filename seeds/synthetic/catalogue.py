"""The shared catalogue (the fixture's 304 items, loaded once by the fixture's own code) and, per
district, which organization handles which item with which power: the fixture's rules, per tier."""

from __future__ import annotations

import random
from dataclasses import dataclass

from api.models.item import GuideRevision, Item, ItemSource, ItemType, Power
from seeds.qujialing.loader import AGENCY_BASIS, HALL_BASIS, ROOM_BASIS, load_catalogue_items
from seeds.qujialing.names import NameMaker
from seeds.synthetic.timeline import FIRST_DAY, SET_UP_ON, Clock, moment, set_up_at
from seeds.synthetic.tree import District

CENTER_BASIS = {
    ItemSource.DELEGATED_BY_CITY: "市人民政府关于向{}下放行政许可事项的决定（示例文号）",
    ItemSource.ENTRUSTED_BY_COUNTY: "行政许可事项委托书（示例文号）",
    ItemSource.OWN: "{}政务服务事项目录（示例）",
}


@dataclass(frozen=True)
class Facts:
    """What generating a case needs of an item."""

    id: int
    type: str
    source: str
    legal: int
    promised: int
    visits: int
    online: bool
    home_visit: bool
    publicity: bool
    at_center: bool
    at_halls: bool
    revision_id: int  # the guide in force throughout the span

    @property
    def licensing(self) -> bool:
        return self.type == ItemType.LICENSING


async def load_catalogue(seed: int) -> list[Facts]:
    """Write the fixture's catalogue (items, guide revisions, materials) and return its facts."""
    items = await load_catalogue_items(NameMaker(random.Random(f"sanji-synthetic:{seed}:catalogue")))
    # Written at the set-up moment like every synthetic row, not when the loader ran.
    await Item.all().update(created_at=set_up_at(), updated_at=set_up_at())
    await GuideRevision.all().update(created_at=set_up_at())
    # Every revision of the fixture starts in 2017, long before the span: the latest is in force.
    in_force = dict(
        await GuideRevision.filter(effective_from__lte=FIRST_DAY)
        .order_by("effective_from", "id")
        .values_list("item_id", "id")
    )
    return [
        Facts(
            item.id,
            str(item.type),
            str(item.source),
            item.legal_limit_days,
            item.promised_limit_days,
            item.visits_required,
            item.online,
            item.needs_home_visit,
            item.needs_village_publicity,
            item.fixture["at_center"],
            item.fixture["at_halls"],
            in_force[item.id],
        )
        for item in sorted(items.values(), key=lambda i: i.id)
    ]


@dataclass(frozen=True)
class Plan:
    """The items of each tier by power, as the fixture assigns them (seeds/qujialing/loader.py):
    the center handles its items in full; halls their delegated items in full and carry licences
    to the center; built rooms pre-review home-visit and publicity items, carry the rest up."""

    center: tuple[Facts, ...]
    hall: tuple[Facts, ...]
    hall_licences: tuple[Facts, ...]
    room_pre_review: tuple[Facts, ...]
    room_agency: tuple[Facts, ...]
    room_licences: tuple[Facts, ...]

    @classmethod
    def of(cls, items: list[Facts]) -> Plan:
        delegated = [i for i in items if i.at_halls]
        licences = tuple(i for i in items if i.at_center and i.licensing)
        return cls(
            center=tuple(i for i in items if i.at_center),
            hall=tuple(delegated),
            hall_licences=licences,
            room_pre_review=tuple(i for i in delegated if i.home_visit or i.publicity),
            room_agency=tuple(i for i in delegated if not (i.home_visit or i.publicity)),
            room_licences=licences,
        )

    def hall_items(self) -> list[tuple[Facts, Power]]:
        return [(i, Power.FULL) for i in self.hall] + [
            (i, Power.AGENCY_ONLY) for i in self.hall_licences if not i.at_halls
        ]

    def room_items(self) -> list[tuple[Facts, Power]]:
        return (
            [(i, Power.ACCEPT_AND_PRE_REVIEW) for i in self.room_pre_review]
            + [(i, Power.AGENCY_ONLY) for i in self.room_agency]
            + [(i, Power.AGENCY_ONLY) for i in self.room_licences if not i.at_halls]
        )


def assignments(district: District, plan: Plan, clock: Clock) -> list[tuple]:
    """The district's assignment rows, organization by organization; rooms from the day they open."""
    rows: list[tuple] = []
    since = SET_UP_ON.isoformat()
    created = clock.stamp(moment(SET_UP_ON, 60))
    admin = district.admin_id
    for item in plan.center:
        basis = CENTER_BASIS[ItemSource(item.source)].format(district.name)
        rows.append((item.id, district.center.id, Power.FULL.value, basis, since, None, True, admin, created))
    hall_items = [
        (i.id, p.value, HALL_BASIS if p == Power.FULL else AGENCY_BASIS) for i, p in plan.hall_items()
    ]
    for hall in district.halls:
        rows += [
            (item, hall.id, power, basis, since, None, True, admin, created)
            for item, power, basis in hall_items
        ]
    room_items = [(i.id, p.value, AGENCY_BASIS if i.licensing else ROOM_BASIS) for i, p in plan.room_items()]
    for room in district.rooms:
        if room.since is None:
            continue
        opened = room.since.isoformat()
        at = clock.stamp(moment(room.since, 60))
        rows += [
            (item, room.id, power, basis, opened, None, True, admin, at) for item, power, basis in room_items
        ]
    return rows
