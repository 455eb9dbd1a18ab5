"""`myPermissions`: the caller's role, area and what it may read and change, model by model."""

from __future__ import annotations

import strawberry

from api.auth.permissions import ROLE_DESCRIPTIONS, area_size
from api.services.catalogue_file import region_of
from schema.generator.ids import to_global_id
from schema.generator.permissions import ModelPermission, model_permission
from schema.generator.registry import Registry
from schema.generator.resolvers import resolver


@strawberry.type(description="The caller's role, area and rights (permission introspection)")
class MyPermissions:
    role: str = strawberry.field(description="ADMIN, SUPERVISOR, CLERK, AGENT, INTEGRATOR, or PUBLIC")
    role_description: str = strawberry.field(description="What the role is for")
    organization_id: strawberry.ID | None = strawberry.field(
        description="Global id of the organization the caller acts for"
    )
    region_id: strawberry.ID | None = strawberry.field(
        description="Global id of the region (district or province) the caller's organization belongs "
        "to: whose local item values (itemLocals) and implementation list it keeps"
    )
    area_size: int | None = strawberry.field(
        description="Organizations in the caller's area; null when that is every organization"
    )
    api_key_scopes: list[str] | None = strawberry.field(description="Scopes of the API key, when one is used")
    models: list[ModelPermission] = strawberry.field(description="Rights per model")


def my_permissions_field(registry: Registry):
    async def resolve(root, info) -> MyPermissions:
        access = await registry.access(info)
        caller = access.caller
        region = await region_of(caller.organization_id)
        return MyPermissions(
            role=caller.role,
            role_description=ROLE_DESCRIPTIONS.get(caller.role, ""),
            organization_id=(
                strawberry.ID(to_global_id("Organization", caller.organization_id))
                if caller.organization_id is not None
                else None
            ),
            region_id=strawberry.ID(to_global_id("Organization", region.pk)) if region is not None else None,
            area_size=await area_size(access.area),
            api_key_scopes=sorted(caller.key_scopes) if caller.key_scopes is not None else None,
            models=[model_permission(node, access) for node in registry.nodes.values()],
        )

    return strawberry.field(
        resolver=resolver(resolve, MyPermissions),
        name="myPermissions",
        description="What you may read and change, per model: for UIs that show only what works",
    )
