"""Coverage of the buildable tiers (halls and rooms): how many exist, are built, are being built."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from tortoise.functions import Count

from api.errors import DomainError
from api.models.org import BUILDABLE_TIERS, ConstructionStatus, Organization, Tier, subtree, within

BUILT_STATUSES = frozenset({ConstructionStatus.BUILT, ConstructionStatus.STANDARDIZED})


@dataclass(frozen=True)
class TierCoverage:
    """Coverage of one tier: `built` counts BUILT and STANDARDIZED; rate = built / total."""

    tier: Tier
    total: int
    built: int
    standardized: int
    under_construction: int
    planned: int

    @property
    def rate(self) -> float | None:
        return self.built / self.total if self.total else None

    @property
    def built_or_under_construction_rate(self) -> float | None:
        return (self.built + self.under_construction) / self.total if self.total else None

    @property
    def formula(self) -> str:
        if not self.total:
            return "no organizations of this tier"
        return f"built {self.built} / total {self.total} = {self.rate:.1%}"


async def subtree_ids(root_id: int | None) -> list[int] | None:
    """Ids of the root and everything below it; None (meaning all) when no root is given."""
    if root_id is None:
        return None
    path = await subtree(root_id)
    if path is None:
        raise DomainError("NOT_FOUND", f"organization {root_id} does not exist", field="root")
    return await Organization.filter(within(path)).order_by("id").values_list("id", flat=True)


async def coverage(root_id: int | None = None) -> list[TierCoverage]:
    """Coverage per buildable tier under `root_id` (or over every organization), counted in SQL."""
    query = Organization.filter(tier__in=sorted(BUILDABLE_TIERS))
    ids = await subtree_ids(root_id)
    if ids is not None:
        query = query.filter(id__in=ids)
    rows = (
        await query.annotate(n=Count("id"))
        .group_by("tier", "construction_status")
        .values("tier", "construction_status", "n")
    )
    counts: dict[Tier, Counter] = {tier: Counter() for tier in (Tier.HALL, Tier.ROOM)}
    for row in rows:
        counts[Tier(row["tier"])][ConstructionStatus(row["construction_status"])] += row["n"]
    return [
        TierCoverage(
            tier=tier,
            total=sum(c.values()),
            built=sum(c[s] for s in BUILT_STATUSES),
            standardized=c[ConstructionStatus.STANDARDIZED],
            under_construction=c[ConstructionStatus.UNDER_CONSTRUCTION],
            planned=c[ConstructionStatus.PLANNED],
        )
        for tier, c in counts.items()
    ]
