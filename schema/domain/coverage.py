"""Hand-written coverage query: halls and rooms built per tier, with the rate's formula."""

from __future__ import annotations

from typing import Annotated

import strawberry

from api.models.org import Tier as TierEnum
from api.services import coverage as coverage_service
from schema.generator.ids import from_global_id, to_global_id
from schema.generator.scalars import graphql_enum

Tier = graphql_enum(TierEnum)


@strawberry.type(
    description="Coverage of one tier (覆盖率): built counts BUILT and STANDARDIZED; rate = built / total"
)
class TierCoverage:
    tier: Tier = strawberry.field(description="Tier counted (层级)")
    total: int = strawberry.field(description="Organizations of this tier")
    built: int = strawberry.field(description="Built or standardized (已建成)")
    standardized: int = strawberry.field(description="Standardized: all six checks passed (标准化)")
    under_construction: int = strawberry.field(description="Under construction (在建)")
    planned: int = strawberry.field(description="Planned, not yet started (规划中)")
    rate: float | None = strawberry.field(description="built / total as a fraction; null when total is 0")
    built_or_under_construction_rate: float | None = strawberry.field(
        description="(built + under construction) / total"
    )
    formula: str = strawberry.field(description="How the rate was computed, e.g. built 31 / total 38 = 81.6%")


@strawberry.type(
    description="One organization's whole area (it and every organization below it): its size and "
    "the coverage of its halls and rooms"
)
class AreaCoverage:
    organization_id: strawberry.ID = strawberry.field(description="Global id of the organization")
    code: str = strawberry.field(description="Its code (编码)")
    name: str = strawberry.field(description="Its name (名称)")
    tier: Tier = strawberry.field(description="Its tier (层级)")
    longitude: float | None = strawberry.field(description="Its longitude, WGS 84 (经度)")
    latitude: float | None = strawberry.field(description="Its latitude, WGS 84 (纬度)")
    organizations: int = strawberry.field(description="Organizations in the area, itself included")
    halls: TierCoverage = strawberry.field(description="Coverage of the area's halls")
    rooms: TierCoverage = strawberry.field(description="Coverage of the area's rooms")


def _tier_coverage(c: coverage_service.TierCoverage) -> TierCoverage:
    return TierCoverage(
        tier=c.tier,
        total=c.total,
        built=c.built,
        standardized=c.standardized,
        under_construction=c.under_construction,
        planned=c.planned,
        rate=c.rate,
        built_or_under_construction_rate=c.built_or_under_construction_rate,
        formula=c.formula,
    )


def _root(root_global_id: strawberry.ID | None) -> int | None:
    """The `root` argument's organization (None: every organization)."""
    return None if root_global_id is None else from_global_id(root_global_id, "Organization", field="root")


@strawberry.type
class CoverageQuery:
    @strawberry.field(
        description="Coverage per buildable tier (halls, rooms) under `root`, or over every organization"
    )
    async def coverage(
        self,
        root_global_id: Annotated[
            strawberry.ID | None,
            strawberry.argument(name="root", description="Organization whose subtree is counted"),
        ] = None,
    ) -> list[TierCoverage]:
        return [_tier_coverage(c) for c in await coverage_service.coverage(_root(root_global_id))]

    @strawberry.field(
        name="coverageByArea",
        description="The coverage of each area directly under `root` (without it: of each top "
        "organization), for a map drawn per district or hall and opened one level at a time",
    )
    async def coverage_by_area(
        self,
        root_global_id: Annotated[
            strawberry.ID | None,
            strawberry.argument(name="root", description="Organization whose children's areas are counted"),
        ] = None,
    ) -> list[AreaCoverage]:
        out = []
        for area in await coverage_service.coverage_by_area(_root(root_global_id)):
            org = area.organization
            halls, rooms = (_tier_coverage(c) for c in area.tiers)
            out.append(
                AreaCoverage(
                    organization_id=strawberry.ID(to_global_id("Organization", org.id)),
                    code=org.code,
                    name=org.name,
                    tier=org.tier,
                    longitude=org.longitude,
                    latitude=org.latitude,
                    organizations=area.organizations,
                    halls=halls,
                    rooms=rooms,
                )
            )
        return out
