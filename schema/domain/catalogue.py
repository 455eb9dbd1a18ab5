"""Catalogue verbs: revoking item assignments (撤销下放) together, in one transaction.

Revocation is one-way and only happens here (the generated update does not set `revokedAt`): each
assignment is stamped with a compare-and-set (`... WHERE revoked_at IS NULL`), so two revocations
racing for one assignment cannot both succeed, in ascending id order, so two calls naming the
same assignments in different orders cannot deadlock.
"""

from __future__ import annotations

from typing import Any

import strawberry
from tortoise.transactions import in_transaction

from api.errors import DomainError
from api.models.audit import AuditAction
from api.models.item import ItemAssignment
from api.services import outbox
from schema.audit import audit_write, request_actor
from schema.domain.cases import now
from schema.generator.errors import EngineError
from schema.generator.mutations import MAX_BULK, bulk_keys, signed_in, snapshot
from schema.generator.policy import Op
from schema.generator.resolvers import REQUIRED, resolver


def catalogue_fields(registry) -> dict[str, Any]:
    node = registry.node(ItemAssignment)

    async def resolve(root, info, ids):
        access = await registry.access(info)
        access.require(node, Op.UPDATE)
        keys = bulk_keys(ids, "ItemAssignment", "an assignment", "assignments")
        at, actor = now(info), request_actor(info)
        revoked: dict[int, ItemAssignment] = {}
        async with in_transaction():
            for index in sorted(range(len(keys)), key=keys.__getitem__):
                pk, what = keys[index], f"ItemAssignment {ids[index]}"
                try:
                    await access.check_in_area(node, pk, what, "ids")
                    before = await ItemAssignment.get(id=pk)
                    stamped = await ItemAssignment.filter(id=pk, revoked_at__isnull=True).update(
                        revoked_at=at, active=None
                    )
                    if not stamped:
                        current = await ItemAssignment.get(id=pk)
                        raise DomainError(
                            "INVALID_TRANSITION",
                            f"{what} was already revoked at {current.revoked_at.isoformat()}",
                        )
                except EngineError as error:
                    raise DomainError(error.code, f"ids[{index}]: {error.message}", field="ids") from error
                after = revoked[pk] = await ItemAssignment.get(id=pk)
                await outbox.assignment_revoked(after)
                await audit_write(
                    AuditAction.UPDATE,
                    actor,
                    node,
                    pk,
                    before=snapshot(node, before),
                    after=snapshot(node, after),
                )
        return [revoked[pk] for pk in keys]

    return {
        "revoke_item_assignments": strawberry.field(
            permission_classes=[signed_in(registry.policy)],
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
