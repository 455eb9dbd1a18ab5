"""The permission table applied to one request: grants, row conditions and write checks."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tortoise.expressions import Q
from tortoise.models import Model

from schema.generator.errors import EngineError
from schema.generator.policy import Caller, Grant, Op, Policy, grant_of

if TYPE_CHECKING:
    from schema.generator.registry import ModelNode

_VERBS = {Op.READ: "read", Op.CREATE: "create", Op.UPDATE: "change", Op.DELETE: "delete"}


class RequestAccess:
    """The caller of one request and its area, loaded once and then used synchronously."""

    def __init__(self, policy: Policy, caller: Caller, area: Any) -> None:
        self.policy = policy
        self.caller = caller
        self.area = area  # the policy's: None for every row

    @classmethod
    async def load(cls, policy: Policy, caller: Caller) -> RequestAccess:
        return cls(policy, caller, await policy.area(caller))

    async def refresh(self) -> None:
        """Read the area again (after a write that may have moved it)."""
        self.area = await self.policy.area(self.caller, fresh=True)

    # -- grants
    def can(self, node: ModelNode, op: Op) -> Grant | None:
        e = node.exposure
        return grant_of(self.caller, e.access, op, e.scope_name, e.explicit_write_scope)

    def require(self, node: ModelNode, op: Op) -> Grant:
        found = self.can(node, op)
        if found is not None:
            return found
        plural = node.exposure.plural
        if self.caller.anonymous:
            raise EngineError("UNAUTHENTICATED", f"sign in to {_VERBS[op]} {plural}")
        role_grant = node.exposure.access.grant_for(self.caller.role)
        if self.caller.key_scopes is not None and role_grant is not None and op in role_grant.ops:
            scope = f"{op.key_scope}:{node.exposure.scope_name}"
            if not self.caller.key_prefix:
                raise EngineError(
                    "FORBIDDEN",
                    f"signed in with a password, an integrator only reads; to {_VERBS[op]} {plural}, "
                    f"call with an API key that has the {scope} scope",
                )
            raise EngineError("FORBIDDEN", f"this API key has no {scope} scope to {_VERBS[op]} {plural}")
        raise EngineError("FORBIDDEN", f"role {self.caller.role} may not {_VERBS[op]} {plural}")

    # -- rows
    def rows(
        self, node: ModelNode, *, per_row: bool = False, counted: bool = False, on: type[Model] | None = None
    ) -> Q:
        """The rows the caller may read (refusing a caller that may read none of the model).

        `per_row`: for rows another condition picks first (a parent's children, one id), test
        each row's organizations by key instead of matching the area's set of rows. `counted`:
        the rows are only counted or aggregated (totalCount, aggregates), never paged. `on`: the
        same condition for another model that carries the node's scope paths (a rollup of it)."""
        found = self.require(node, Op.READ)
        readers = node.exposure.access.readers
        if readers is not None:
            if on is not None:
                raise ValueError(f"{node.exposure.plural} are read per caller: no rollup carries their rule")
            return readers(self.caller, self.area)
        if found.everywhere:
            return Q()
        return self._area(node, per_row=per_row, counted=counted, on=on)

    def reads_everything(self, node: ModelNode) -> bool:
        """Whether the caller reads every row of the model (refusing one that may read none)."""
        found = self.require(node, Op.READ)
        if node.exposure.access.readers is not None:
            return False
        return found.everywhere or not node.exposure.access.scope or self.area is None

    def branches(self, node: ModelNode) -> list[Q]:
        """The rows the caller may read as conditions any one of which admits a row (Policy.branches);
        [Q()] for every row."""
        found = self.require(node, Op.READ)
        scope = node.exposure.access.scope
        if node.exposure.access.readers is not None:
            return [self.rows(node)]
        if found.everywhere or not scope or self.area is None:
            return [Q()]
        return self.policy.branches(node.model, scope, self.area)

    def require_all(self, node: ModelNode, use: str) -> None:
        """Refuse to sort or group by a related model's field unless the caller reads all its rows.

        Sort keys and group keys come from the related row itself (and sort keys travel in
        cursors): through a relation to a row outside the area they would show what lists hide.
        """
        found = self.require(node, Op.READ)
        by_caller = node.exposure.access.readers is not None
        if by_caller or not (found.everywhere or not node.exposure.access.scoped or self.area is None):
            plural = node.exposure.plural
            raise EngineError(
                "FORBIDDEN",
                f"{use} needs reading every one of {plural}; you read those of your area only",
                field=use.split()[-1],
            )

    def within_area(
        self, node: ModelNode, *, per_row: bool = False, counted: bool = False, on: type[Model] | None = None
    ) -> Q:
        """The rows of the caller's area, whatever the caller may read: the limit of every write (and
        of what a delete may cascade into)."""
        return self._area(node, per_row=per_row, counted=counted, on=on)

    def _area(
        self, node: ModelNode, *, per_row: bool = False, counted: bool = False, on: type[Model] | None = None
    ) -> Q:
        scope = node.exposure.access.scope
        if not scope or self.area is None:
            return Q()
        return self.policy.within(on or node.model, scope, self.area, per_row=per_row, counted=counted)

    def sees_pii(self, node: ModelNode) -> bool:
        return self.caller.role in node.exposure.access.clear_roles

    async def holds(self, node: ModelNode, pk: int) -> bool:
        """Whether the caller may change the object: it exists in the caller's area, or, for a
        model whose rows are their owners' (Access.writers), it is the caller's wherever it lies
        (an owner who moved still changes and deletes what they saved)."""
        writers = node.exposure.access.writers
        condition = self.within_area(node) if writers is None else writers(self.caller)
        return await node.model.filter(condition, id=pk).exists()

    async def check_in_area(self, node: ModelNode, pk: int, what: str, field: str) -> None:
        """Refuse a write that touches an object outside the caller's area (NOT_FOUND if unreadable)."""
        if await self.holds(node, pk):
            return
        readable = self.can(node, Op.READ) is not None
        if readable and await node.model.filter(self.rows(node), id=pk).exists():
            raise EngineError(
                "FORBIDDEN",
                f"{what} is outside your area ({self.policy.area_words})",
                field=field,
            )
        raise EngineError("NOT_FOUND", f"{what} does not exist", field=field)


async def context_access(context: dict, policy: Policy) -> RequestAccess:
    """The access of the request whose GraphQL context this is (loaded once per request)."""
    found = context.get("access")
    if found is None:
        found = context["access"] = await RequestAccess.load(policy, policy.caller(context))
    return found
