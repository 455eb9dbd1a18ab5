"""Coverage of the buildable tiers (halls and rooms): how many exist, are built, are being built."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from tortoise.expressions import Q, RawSQL
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
    return [_tier(tier, c) for tier, c in counts.items()]


@dataclass(frozen=True)
class AreaCoverage:
    """One organization's whole area (it and everything below it): how many organizations, and
    the coverage of its halls and rooms."""

    organization: Organization  # its id, code, name, tier and coordinates
    organizations: int
    tiers: list[TierCoverage]


async def coverage_by_area(root_id: int | None = None) -> list[AreaCoverage]:
    """The coverage of each area directly under `root_id` (under no root: of each root), in one
    grouped statement over the organizations below: a province's map drawn per district, then per
    hall, instead of 27,000 points at once."""
    if root_id is None:
        children, root_path, below = Organization.filter(parent_id__isnull=True), "/", Q()
    else:
        root_path = await subtree(root_id)
        if root_path is None:
            raise DomainError("NOT_FOUND", f"organization {root_id} does not exist", field="root")
        children, below = Organization.filter(parent_id=root_id), within(root_path)
    found = await children.order_by("code").only("id", "code", "name", "tier", "longitude", "latitude")
    if not found:
        return []
    dialect = Organization._meta.db.capabilities.dialect
    rows = (
        await Organization.filter(below)
        .annotate(area=RawSQL(_child_of(root_path, dialect)), n=Count("id"))
        .group_by("area", "tier", "construction_status")
        .values("area", "tier", "construction_status", "n")
    )
    counts: dict[str, dict[Tier, Counter]] = {}
    sizes: Counter = Counter()
    for row in rows:
        area = str(row["area"] or "")
        if not area:  # the root itself
            continue
        sizes[area] += row["n"]
        tier, status = row["tier"], row["construction_status"]
        if tier in BUILDABLE_TIERS and status is not None:
            tiers = counts.setdefault(area, {})
            tiers.setdefault(Tier(tier), Counter())[ConstructionStatus(status)] += row["n"]
    out = []
    for org in found:
        tiers = counts.get(str(org.id), {})
        coverages = [_tier(tier, tiers.get(tier, Counter())) for tier in (Tier.HALL, Tier.ROOM)]
        out.append(AreaCoverage(org, sizes[str(org.id)], coverages))
    return out


def _child_of(root_path: str, dialect: str) -> str:
    """SQL: the id of the organization directly under the root that a row's path goes through, as
    text ('' for the root itself). Paths are system-made digits and slashes (PATH_SHAPE)."""
    start = len(root_path) + 1
    rest = f'substr("path", {start})'
    if dialect == "postgres":
        return f"split_part({rest}, '/', 1)"
    return f"substr({rest}, 1, instr({rest}, '/') - 1)"


def _tier(tier: Tier, c: Counter) -> TierCoverage:
    return TierCoverage(
        tier=tier,
        total=sum(c.values()),
        built=sum(c[s] for s in BUILT_STATUSES),
        standardized=c[ConstructionStatus.STANDARDIZED],
        under_construction=c[ConstructionStatus.UNDER_CONSTRUCTION],
        planned=c[ConstructionStatus.PLANNED],
    )
