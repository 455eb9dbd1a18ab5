"""What a caller may read and change of each model, for permission introspection (an application's
`myPermissions` field shows them, so a UI can hide the rest)."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

import strawberry
from strawberry.utils.str_converters import to_camel_case

from schema.generator.access import RequestAccess
from schema.generator.policy import Grant, Op

if TYPE_CHECKING:
    from schema.generator.registry import ModelNode


@strawberry.enum(description="Which rows of a model a caller reads")
class RowScope(StrEnum):
    ALL = "ALL"
    AREA = "AREA"
    OWN_AND_SHARED = "OWN_AND_SHARED"


@strawberry.type(description="What the caller may do with one model")
class ModelPermission:
    model: str = strawberry.field(description="GraphQL type name, e.g. Case")
    plural: str = strawberry.field(description="Name of its list field, e.g. cases")
    read: bool = strawberry.field(description="May list and look up its objects")
    row_scope: RowScope | None = strawberry.field(
        description="ALL: every row; AREA: rows of your area only; OWN_AND_SHARED: your own rows and "
        "those shared with you (saved reports); null: none"
    )
    create: bool = strawberry.field(description="May create objects (create<Model>)")
    update: bool = strawberry.field(description="May change objects of its area (update<Model>)")
    delete: bool = strawberry.field(description="May delete objects of its area (delete<Model>)")
    creatable_fields: list[str] = strawberry.field(description="Input fields it may set when creating")
    updatable_fields: list[str] = strawberry.field(description="Input fields it may set when changing")
    clear_fields: list[str] = strawberry.field(
        description="Personal-data fields it reads in clear (each read audited); others come masked"
    )


def model_permission(node: ModelNode, access: RequestAccess) -> ModelPermission:
    e = node.exposure
    read = access.can(node, Op.READ)
    scope = None
    if read is not None:
        scope = RowScope.ALL if read.everywhere or not e.access.scoped else RowScope.AREA
        if e.access.readers is not None:
            scope = RowScope.OWN_AND_SHARED

    def granted(op: Op) -> Grant | None:
        """The caller's grant for a generated mutation the model has."""
        return access.can(node, op) if op in e.mutations_ops else None

    def writable(op: Op, names: tuple[str, ...]) -> list[str]:
        found = granted(op)
        if found is None:
            return []
        relations = {r.name for r in e.forward()}
        return [to_camel_case(f"{n}_id" if n in relations else n) for n in names if found.may_set(n)]

    return ModelPermission(
        model=e.type_name,
        plural=e.plural,
        read=read is not None,
        row_scope=scope,
        create=granted(Op.CREATE) is not None,
        update=granted(Op.UPDATE) is not None,
        delete=granted(Op.DELETE) is not None,
        creatable_fields=writable(Op.CREATE, e.create),
        updatable_fields=writable(Op.UPDATE, e.update),
        clear_fields=[to_camel_case(n) for n in e.pii] if read and access.sees_pii(node) else [],
    )
