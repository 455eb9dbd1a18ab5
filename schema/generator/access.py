"""The permission table applied to one request: grants, row conditions and write checks."""

from __future__ import annotations

from typing import TYPE_CHECKING

import strawberry
from tortoise.expressions import Q

from api.auth.permissions import Caller, Grant, Op, area_of, caller_of, in_area
from api.errors import DomainError

if TYPE_CHECKING:
    from schema.generator.registry import ModelNode

_VERBS = {Op.READ: "read", Op.CREATE: "create", Op.UPDATE: "change", Op.DELETE: "delete"}


class RequestAccess:
    """The caller of one request and its area, loaded once and then used synchronously."""

    def __init__(self, caller: Caller, area: str | None) -> None:
        self.caller = caller
        self.area = area

    @classmethod
    async def load(cls, caller: Caller) -> RequestAccess:
        if caller.area is not None:  # read with the caller's session
            return cls(caller, caller.area.path)
        area = "" if caller.anonymous else await area_of(caller.organization_id)
        return cls(caller, area)

    async def refresh(self) -> None:
        """Recompute the area (after a write changed the organization tree)."""
        if not self.caller.anonymous:
            self.area = await area_of(self.caller.organization_id)

    # -- grants
    def can(self, node: ModelNode, op: Op) -> Grant | None:
        return self.caller.grant(node.exposure.access, op, node.exposure.plural)

    def require(self, node: ModelNode, op: Op) -> Grant:
        found = self.can(node, op)
        if found is not None:
            return found
        plural = node.exposure.plural
        if self.caller.anonymous:
            raise DomainError("UNAUTHENTICATED", f"sign in to {_VERBS[op]} {plural}")
        role_grant = node.exposure.access.grant_for(self.caller.role)
        if self.caller.key_scopes is not None and role_grant is not None and op in role_grant.ops:
            scope = f"{op.key_scope}:{plural}"
            if not self.caller.key_prefix:
                raise DomainError(
                    "FORBIDDEN",
                    f"signed in with a password, an integrator only reads; to {_VERBS[op]} {plural}, "
                    f"call with an API key that has the {scope} scope",
                )
            raise DomainError("FORBIDDEN", f"this API key has no {scope} scope to {_VERBS[op]} {plural}")
        raise DomainError("FORBIDDEN", f"role {self.caller.role} may not {_VERBS[op]} {plural}")

    # -- rows
    def rows(self, node: ModelNode, *, per_row: bool = False) -> Q:
        """The rows the caller may read (refusing a caller that may read none of the model).

        `per_row`: for rows another condition picks first (a parent's children, one id), test
        each row's organizations by key instead of matching the area's set of rows."""
        found = self.require(node, Op.READ)
        if found.everywhere:
            return Q()
        return self.within_area(node, per_row=per_row)

    def require_all(self, node: ModelNode, use: str) -> None:
        """Refuse to sort or group by a related model's field unless the caller reads all its rows.

        Sort keys and group keys come from the related row itself (and sort keys travel in
        cursors): through a relation to a row outside the area they would show what lists hide.
        """
        found = self.require(node, Op.READ)
        if not (found.everywhere or not node.exposure.access.scoped or self.area is None):
            plural = node.exposure.plural
            raise DomainError(
                "FORBIDDEN",
                f"{use} needs reading every one of {plural}; you read those of your area only",
                field=use.split()[-1],
            )

    def within_area(self, node: ModelNode, *, per_row: bool = False) -> Q:
        """The rows of the caller's area, whatever the caller may read: the limit of every write."""
        return in_area(node.model, node.exposure.access.scope, self.area, per_row=per_row)

    def sees_pii(self, node: ModelNode) -> bool:
        return self.caller.role in node.exposure.access.clear_roles

    async def holds(self, node: ModelNode, pk: int) -> bool:
        """Whether the object exists in the caller's area."""
        return await node.model.filter(self.within_area(node), id=pk).exists()

    async def check_in_area(self, node: ModelNode, pk: int, what: str, field: str) -> None:
        """Refuse a write that touches an object outside the caller's area (NOT_FOUND if unreadable)."""
        if await self.holds(node, pk):
            return
        readable = self.can(node, Op.READ) is not None
        if readable and await node.model.filter(self.rows(node), id=pk).exists():
            raise DomainError(
                "FORBIDDEN",
                f"{what} is outside your area (your organization and those below it)",
                field=field,
            )
        raise DomainError("NOT_FOUND", f"{what} does not exist", field=field)


async def request_access(info: strawberry.Info) -> RequestAccess:
    """The access of the current request, loaded on first use and then shared by every resolver."""
    return await context_access(info.context)


async def context_access(context: dict) -> RequestAccess:
    """The access of the request whose GraphQL context this is (loaded once per request)."""
    found = context.get("access")
    if found is None:
        caller = context.get("caller") or caller_of(context.get("claims"))
        found = context["access"] = await RequestAccess.load(caller)
    return found
