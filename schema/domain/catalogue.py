"""Catalogue verbs: revoking item assignments (撤销下放) together, in one transaction."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import strawberry
from tortoise.transactions import in_transaction

from api.errors import DomainError
from api.models.item import ItemAssignment
from schema.domain.cases import now
from schema.generator.access import request_access
from schema.generator.mutations import MAX_BULK, MutationBuilder, SignedIn, Writer, request_actor
from schema.generator.resolvers import REQUIRED, resolver
from schema.ids import from_global_id


def catalogue_fields(registry, builder: MutationBuilder) -> dict[str, Any]:
    node = registry.node(ItemAssignment)

    async def resolve(root, info, ids):
        if not ids:
            raise DomainError("VALIDATION_FAILED", "name at least one assignment to revoke", field="ids")
        if len(ids) > MAX_BULK:
            raise DomainError("VALIDATION_FAILED", f"at most {MAX_BULK} assignments per call", field="ids")
        keys = [from_global_id(global_id, "ItemAssignment", field="ids") for global_id in ids]
        for index, pk in enumerate(keys):
            if pk in keys[:index]:
                raise DomainError("VALIDATION_FAILED", f"ids[{index}] names an assignment twice", field="ids")
        writer = Writer(request_actor(info), await request_access(info))
        change = SimpleNamespace(revoked_at=now(info))  # the generated update's input, one field set
        async with in_transaction():
            revoked = []
            for index, (global_id, pk) in enumerate(zip(ids, keys, strict=True)):
                try:
                    await writer.access.check_in_area(node, pk, f"ItemAssignment {global_id}", "ids")
                    current = await ItemAssignment.get(id=pk)
                    if current.revoked_at is not None:
                        raise DomainError(
                            "INVALID_TRANSITION",
                            f"ItemAssignment {global_id} was already revoked at "
                            f"{current.revoked_at.isoformat()}",
                            field="ids",
                        )
                    # The generated update: the same grants, area check and audit entry.
                    revoked.append(await builder.update(node, pk, change, writer))
                except DomainError as error:
                    raise DomainError(error.code, f"ids[{index}]: {error.message}", field="ids") from error
        return revoked

    return {
        "revoke_item_assignments": strawberry.field(
            permission_classes=[SignedIn],
            resolver=resolver(
                resolve,
                list[node.object_type],
                {"ids": (list[strawberry.ID], REQUIRED, "Global ids of the active assignments to revoke")},
            ),
            name="revokeItemAssignments",
            description=f"Revoke up to {MAX_BULK} item assignments (撤销下放) in one transaction: all or "
            "none; each is stamped revokedAt now and audited; one already revoked is refused",
        )
    }
