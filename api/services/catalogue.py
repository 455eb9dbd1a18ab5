"""Catalogue figures (items and guides per type and source, what each tier handles) and the rule
that keeps revoked item assignments as they were."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tortoise.expressions import Subquery
from tortoise.functions import Count

from api.errors import DomainError
from api.models.item import GuideRevision, Item, ItemAssignment, ItemLocal, ItemType, Power
from api.models.org import Organization, Tier
from api.services import outbox
from api.services.coverage import subtree_ids


@dataclass(frozen=True)
class CatalogueCounts:
    items_by_type: dict[str, int]
    guides_by_type: dict[str, int]
    items_by_source: dict[str, dict[str, int]]
    center_items_by_type: dict[str, int]
    center_licensing_by_source: dict[str, int]
    items_at_every_hall: int
    halls: int
    items_accepted_at_rooms: int


async def catalogue_counts(root_id: int | None = None) -> CatalogueCounts:
    """Counts computed from items, guides and active assignments (never typed in)."""
    items_by_type = await _grouped(Item.filter(in_force=True), "type")
    guides_by_type = await _grouped(
        Item.filter(in_force=True, id__in=Subquery(GuideRevision.all().values("item_id"))), "type"
    )
    by_source_rows = (
        await Item.filter(in_force=True)
        .annotate(n=Count("id"))
        .group_by("type", "source")
        .values("type", "source", "n")
    )
    items_by_source: dict[str, dict[str, int]] = {}
    for row in by_source_rows:
        items_by_source.setdefault(row["type"], {})[row["source"]] = row["n"]

    ids = await subtree_ids(root_id)
    orgs = Organization.all() if ids is None else Organization.filter(id__in=ids)
    active = ItemAssignment.filter(active=True)
    center_ids = await orgs.filter(tier=Tier.CENTER).values_list("id", flat=True)
    hall_ids = await orgs.filter(tier=Tier.HALL).values_list("id", flat=True)
    room_ids = await orgs.filter(tier=Tier.ROOM).values_list("id", flat=True)

    center_items = Item.filter(
        id__in=Subquery(active.filter(organization_id__in=center_ids).values("item_id"))
    )
    center_items_by_type = await _grouped(center_items, "type")
    center_licensing_by_source = await _grouped(center_items.filter(type=ItemType.LICENSING), "source")
    at_every_hall = 0
    if hall_ids:
        at_every_hall = len(
            # Delegated (下放) means handled there; collecting papers for the center (代办) is not.
            await active.filter(organization_id__in=hall_ids)
            .exclude(power=Power.AGENCY_ONLY)
            .annotate(n=Count("organization_id", distinct=True))
            .group_by("item_id")
            .filter(n=len(hall_ids))
            .values_list("item_id", flat=True)
        )
    at_rooms = (
        await active.filter(organization_id__in=room_ids, power="ACCEPT_AND_PRE_REVIEW")
        .distinct()
        .values_list("item_id", flat=True)
    )
    return CatalogueCounts(
        items_by_type=items_by_type,
        guides_by_type=guides_by_type,
        items_by_source=items_by_source,
        center_items_by_type=center_items_by_type,
        center_licensing_by_source=center_licensing_by_source,
        items_at_every_hall=at_every_hall,
        halls=len(hall_ids),
        items_accepted_at_rooms=len(set(at_rooms)),
    )


async def _grouped(query, field: str) -> dict[str, int]:
    rows = await query.annotate(n=Count("id")).group_by(field).values(field, "n")
    return {str(row[field]): row["n"] for row in rows}


async def assignment_written(assignment: ItemAssignment, before: dict[str, Any] | None) -> None:
    """A revoked assignment is history: its power and basis stay as they were when it was revoked.
    A new one is an event for other systems (docs/events.md)."""
    if before is None:
        await outbox.assignment_created(assignment)
    if before is not None and assignment.revoked_at is not None:
        raise DomainError(
            "INVALID_TRANSITION",
            f"the assignment was revoked at {assignment.revoked_at.isoformat()}: assign the item again",
        )


LOCAL_FIELDS = ("promised_limit_days", "fee_note", "consult_phone", "complaint_phone")
PUBLISHED_FIELDS = ("promised_limit_days", "consult_phone", "complaint_phone")  # defaults on the item


def chain_of(path: str) -> list[int]:
    """The ids of an organization's path, from its root down to it ("/1/5/23/" -> [1, 5, 23])."""
    return [int(part) for part in path.strip("/").split("/") if part]


async def served_values(path: str, item_ids: list[int]) -> dict[int, dict[str, Any]]:
    """Per item, the local values the organization at `path` serves it with: those of the nearest
    region at or above it that keeps some (ItemLocal); an item with none is not in the answer (its
    published defaults apply)."""
    chain = chain_of(path)
    depth = {pk: n for n, pk in enumerate(chain)}
    found: dict[int, tuple[int, dict[str, Any]]] = {}
    rows = ItemLocal.filter(organization_id__in=chain, item_id__in=item_ids)
    for row in await rows.values("item_id", "organization_id", *LOCAL_FIELDS):
        at = depth[row["organization_id"]]
        if row["item_id"] not in found or found[row["item_id"]][0] < at:
            found[row["item_id"]] = (at, {name: row[name] for name in LOCAL_FIELDS})
    return {item_id: values for item_id, (_, values) in found.items()}


def published_values(item: Item) -> dict[str, Any]:
    """The item's published defaults, as a region's own values would give them."""
    return {**{name: getattr(item, name) for name in PUBLISHED_FIELDS}, "fee_note": ""}


async def localize(item: Item, organization_id: int | None) -> Item:
    """The item as the district of `organization_id` serves it: its own promised limit and phones
    (`served_values`) in place of the published defaults. Changes the object in memory only: it is
    never saved from here."""
    if organization_id is None:
        return item
    path = await Organization.filter(id=organization_id).values_list("path", flat=True)
    if not path:
        return item
    own = (await served_values(path[0], [item.id])).get(item.id)
    if own is not None:
        for name in PUBLISHED_FIELDS:
            setattr(item, name, own[name])
    return item


async def adopt_defaults(region: Organization, items: list[Item]) -> None:
    """The region keeps the published values of these items as its own (ItemLocal)."""
    await ItemLocal.bulk_create(
        [ItemLocal(item_id=item.id, organization_id=region.id, **published_values(item)) for item in items]
    )
