"""Generated create/update/delete mutations, bulk create and nested create, each in one transaction."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import strawberry
from strawberry.permission import BasePermission
from strawberry.utils.str_converters import to_camel_case
from tortoise.exceptions import IntegrityError, ValidationError
from tortoise.fields import CASCADE
from tortoise.transactions import in_transaction

from schema.generator.access import RequestAccess
from schema.generator.errors import EngineError
from schema.generator.ids import from_global_id
from schema.generator.policy import Grant, Op, Policy
from schema.generator.registry import field_type
from schema.generator.resolvers import REQUIRED, resolver
from schema.generator.spec import ForwardRelation, ReverseRelation

if TYPE_CHECKING:
    from schema.generator.registry import ModelNode, Registry

MAX_BULK = 500


def bulk_keys(ids: list[str], type_name: str, noun: str, plural: str) -> list[int]:
    """The keys of a domain verb's `ids` (1 to MAX_BULK global ids of `type_name`, none twice);
    `noun` with its article ("an assignment"), for the messages."""
    if not ids:
        raise EngineError("VALIDATION_FAILED", f"name at least one {noun.split(' ', 1)[1]}", field="ids")
    if len(ids) > MAX_BULK:
        raise EngineError("VALIDATION_FAILED", f"at most {MAX_BULK} {plural} per call", field="ids")
    keys = [from_global_id(global_id, type_name, field="ids") for global_id in ids]
    for index, pk in enumerate(keys):
        if pk in keys[:index]:
            raise EngineError("VALIDATION_FAILED", f"ids[{index}] names {noun} twice", field="ids")
    return keys


def signed_in(policy: Policy) -> type[BasePermission]:
    """The permission class of writes: a caller who is not anonymous (what each caller may change is
    the permission table's)."""

    class SignedIn(BasePermission):
        message = policy.sign_in_hint
        error_extensions: ClassVar[dict[str, str]] = {"code": "UNAUTHENTICATED"}

        def has_permission(self, source: Any, info: strawberry.Info, **kwargs: Any) -> bool:
            return not policy.caller(info.context).anonymous

    return SignedIn


@strawberry.type(description="The id of a deleted object")
class DeletePayload:
    id: strawberry.ID = strawberry.field(description="Global id the object had")


@dataclass(frozen=True)
class InputShape:
    """The generated input for creating a model, optionally without the foreign key to its parent."""

    node: ModelNode
    without: str | None
    cls: type


class MutationBuilder:
    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.signed_in = signed_in(registry.policy)
        self._create_inputs: dict[tuple[type, str | None], type] = {}

    # -- inputs
    def create_input(self, node: ModelNode, without: str | None = None) -> type:
        key = (node.model, without)
        if key in self._create_inputs:
            return self._create_inputs[key]
        e = node.exposure
        name = (
            f"{e.type_name}CreateWithout{_pascal(without)}Input" if without else f"Create{e.type_name}Input"
        )
        cls = type(name, (), {"__annotations__": {}})
        self._create_inputs[key] = cls
        for attribute, annotation, value in self._writable(
            node, e.create, required_when_no_default=True, skip=without
        ):
            cls.__annotations__[attribute] = annotation
            setattr(cls, attribute, value)
        for relation in self._nested(node):
            child = self.registry.node(relation.model)
            child_input = self.create_input(child, without=relation.fk_name)
            cls.__annotations__[relation.name] = list[child_input] | None
            setattr(
                cls,
                relation.name,
                strawberry.field(default=None, description=f"{relation.name} created with it"),
            )
        description = f"Fields of a new {e.type_name}" + (
            f" (its {without} is the enclosing object)" if without else ""
        )
        return strawberry.input(cls, description=description)

    def update_input(self, node: ModelNode) -> type:
        e = node.exposure
        cls = type(f"Update{e.type_name}Input", (), {"__annotations__": {}})
        for attribute, annotation, value in self._writable(node, e.update, required_when_no_default=False):
            cls.__annotations__[attribute] = annotation
            setattr(cls, attribute, value)
        if "version" in node.model._meta.fields_map:
            cls.__annotations__["version"] = int
            cls.version = strawberry.field(description="The version you read; a newer one means CONFLICT")
        return strawberry.input(
            cls, description=f"Changes to a {e.type_name}; omitted fields stay as they are"
        )

    def _writable(
        self, node: ModelNode, names: tuple[str, ...], *, required_when_no_default: bool, skip=None
    ):
        e = node.exposure
        relations = {r.name: r for r in e.forward()}
        scalars = {s.name: s for s in node.scalars}
        for name in names:
            if name == skip:
                continue
            if name in relations:
                relation = relations[name]
                required = required_when_no_default and not relation.nullable
                annotation = strawberry.ID if required else strawberry.ID | None
                default = {} if required else {"default": strawberry.UNSET}
                yield (
                    f"{name}_id",
                    annotation,
                    strawberry.field(description=f"Global id of the {name}", **default),
                )
                continue
            scalar = scalars[name]
            required = required_when_no_default and not scalar.has_default
            base = field_type(scalar)
            annotation = base if required else (base | None if not scalar.nullable else base)
            default = {} if required else {"default": strawberry.UNSET}
            yield name, annotation, strawberry.field(description=e.describe(name), **default)

    def _nested(self, node: ModelNode) -> list[ReverseRelation]:
        return [r for r in node.backward if r.name in node.exposure.nested_create and not r.one]

    # -- fields
    def fields(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for node in self.registry.nodes.values():
            e = node.exposure
            if "create" in e.mutations:
                create_input = self.create_input(node)
                out[f"create_{e.singular}"] = strawberry.field(
                    permission_classes=[self.signed_in],
                    resolver=self._create_resolver(node, create_input),
                    name=f"create{e.type_name}",
                    description=f"Create a {e.type_name}, with nested children where allowed, atomically",
                )
                out[f"create_{e.plural}"] = strawberry.field(
                    permission_classes=[self.signed_in],
                    resolver=self._bulk_resolver(node, create_input),
                    name=f"create{e.plural[0].upper()}{e.plural[1:]}",
                    description=f"Create up to {MAX_BULK} {e.plural} in one transaction: all or none",
                )
            if "update" in e.mutations:
                out[f"update_{e.singular}"] = strawberry.field(
                    permission_classes=[self.signed_in],
                    resolver=self._update_resolver(node, self.update_input(node)),
                    name=f"update{e.type_name}",
                    description=f"Change a {e.type_name}",
                )
            if "delete" in e.mutations:
                out[f"delete_{e.singular}"] = strawberry.field(
                    permission_classes=[self.signed_in],
                    resolver=self._delete_resolver(node),
                    name=f"delete{e.type_name}",
                    description=f"Delete a {e.type_name} that nothing references",
                )
        return out

    def _create_resolver(self, node: ModelNode, input_type: type):
        builder = self

        async def resolve(root, info, input):
            writer = Writer(info.context, await builder.registry.access(info))
            async with in_transaction():
                return await builder.create(node, input, writer)

        return resolver(
            resolve, node.object_type, {"input": (input_type, REQUIRED, "Fields of the new object")}
        )

    def _bulk_resolver(self, node: ModelNode, input_type: type):
        builder = self

        async def resolve(root, info, inputs):
            if len(inputs) > MAX_BULK:
                raise EngineError("VALIDATION_FAILED", f"at most {MAX_BULK} objects per call", field="inputs")
            writer = Writer(info.context, await builder.registry.access(info))
            async with in_transaction():
                created = []
                for index, item in enumerate(inputs):
                    try:
                        created.append(await builder.create(node, item, writer))
                    except EngineError as error:  # the application's own codes kept (its class)
                        raise type(error)(
                            error.code, f"inputs[{index}]: {error.message}", field=error.field
                        ) from error
                return created

        return resolver(
            resolve, list[node.object_type], {"inputs": (list[input_type], REQUIRED, "Objects to create")}
        )

    def _update_resolver(self, node: ModelNode, input_type: type):
        builder = self

        async def resolve(root, info, id, input):
            writer = Writer(info.context, await builder.registry.access(info))
            pk = from_global_id(id, node.exposure.type_name)
            async with in_transaction():
                return await builder.update(node, pk, input, writer)

        return resolver(
            resolve,
            node.object_type,
            {"id": (strawberry.ID, REQUIRED, "Global id"), "input": (input_type, REQUIRED, "Changes")},
        )

    def _delete_resolver(self, node: ModelNode):
        registry = self.registry

        async def resolve(root, info, id):
            access = await registry.access(info)
            access.require(node, Op.DELETE)
            pk = from_global_id(id, node.exposure.type_name)
            async with in_transaction():
                obj = await _target(node, pk, access)
                await _no_cascade_outside(registry, node, pk, access)
                before = snapshot(node, obj)
                try:
                    await obj.delete()
                except IntegrityError as error:
                    raise integrity_error(error, node) from None
                type_name = node.exposure.type_name
                await registry.hooks.written(info.context, Op.DELETE, type_name, pk, before=before)
            return DeletePayload(id=id)

        return resolver(resolve, DeletePayload, {"id": (strawberry.ID, REQUIRED, "Global id")})

    # -- execution
    async def create(self, node: ModelNode, data: Any, writer: Writer, parent: tuple[str, int] | None = None):
        granted = writer.access.require(node, Op.CREATE)
        values = await self._values(node, data, node.exposure.create, granted, writer.access)
        if parent is not None:
            values[f"{parent[0]}_id"] = parent[1]
        stamp = node.exposure.access.stamp
        if stamp is not None:
            values.update(stamp(writer.access.caller))  # its owner: the caller, whatever the input says
        obj = node.model(**values)
        await _save(node, obj)
        await _still_in_area(node, obj.pk, writer.access)
        if node.exposure.after_write is not None:
            await node.exposure.after_write(obj, None)
        await writer.written(node, Op.CREATE, obj.pk, after=snapshot(node, obj))
        for relation in self._nested(node):
            child = self.registry.node(relation.model)
            for child_data in getattr(data, relation.name, None) or []:
                await self.create(child, child_data, writer, parent=(relation.fk_name, obj.pk))
        return obj

    async def update(self, node: ModelNode, pk: int, data: Any, writer: Writer):
        granted = writer.access.require(node, Op.UPDATE)
        obj = await _target(node, pk, writer.access, lock=True)
        before = snapshot(node, obj)
        version = getattr(data, "version", None)
        if version is not None and obj.version != version:
            raise EngineError(
                "CONFLICT",
                f"{node.exposure.type_name} changed since you read it (version {obj.version})",
                field="version",
            )
        values = await self._values(node, data, node.exposure.update, granted, writer.access)
        for name, value in values.items():
            setattr(obj, name, value)
        changed = list(values)
        if version is not None:
            obj.version = version + 1
            changed.append("version")
        # Only the columns given are written: a concurrent change to other columns stays.
        await _save(node, obj, [*changed, *_auto_now(node)])
        await _still_in_area(node, pk, writer.access)
        if node.exposure.after_write is not None:
            await node.exposure.after_write(obj, before)
        await writer.written(node, Op.UPDATE, pk, before=before, after=snapshot(node, obj))
        return obj

    async def _values(
        self, node: ModelNode, data: Any, names: tuple[str, ...], granted: Grant, access: RequestAccess
    ) -> dict[str, Any]:
        """The given fields as model values; a field the role may not set is refused, not dropped."""
        relations: dict[str, ForwardRelation] = {r.name: r for r in node.exposure.forward()}
        nullable = {s.name: s.nullable for s in node.scalars}
        nullable |= {r.name: r.nullable for r in relations.values()}
        values: dict[str, Any] = {}
        for name in names:
            attribute = f"{name}_id" if name in relations else name
            value = getattr(data, attribute, strawberry.UNSET)
            if value is strawberry.UNSET:
                continue
            if not granted.may_set(name):
                raise EngineError(
                    "FORBIDDEN",
                    f"role {access.caller.role} may not set {name} of a {node.exposure.type_name}",
                    field=attribute,
                )
            # Optional in the input (it has a default, or stays as it is) is not nullable in the table.
            if value is None and not nullable[name]:
                raise EngineError(
                    "VALIDATION_FAILED", f"{to_camel_case(attribute)} cannot be null", field=attribute
                )
            if name in relations and value is not None:
                value = await _related_pk(self.registry, relations[name], value, attribute, access)
            values[attribute] = value
        return values


@dataclass(frozen=True)
class Writer:
    """Who writes: the request's context (for the hooks) and its permissions."""

    context: dict[str, Any]
    access: RequestAccess

    async def written(self, node: ModelNode, op: Op, pk: int, **change: Any) -> None:
        await node.registry.hooks.written(self.context, op, node.exposure.type_name, pk, **change)


def snapshot(node: ModelNode, obj) -> dict[str, Any]:
    """The object as the write's record keeps it: without hidden columns and personal data."""
    return node.registry.hooks.snapshot(obj, (*node.exposure.hidden, *node.exposure.pii))


async def _related_pk(
    registry: Registry, relation: ForwardRelation, global_id: str, attribute: str, access: RequestAccess
) -> int:
    """The key of a referenced object, which must lie in the caller's area (when it has one), or
    only be readable by the caller for a model `referenced_anywhere`."""
    target = registry.node(relation.model)
    pk = from_global_id(global_id, target.exposure.type_name, field=attribute)
    what = f"{target.exposure.type_name} {global_id}"
    if target.exposure.access.referenced_anywhere:
        if not await target.model.filter(access.rows(target, per_row=True), id=pk).exists():
            raise EngineError("NOT_FOUND", f"{what} does not exist", field=attribute)
        return pk
    await access.check_in_area(target, pk, what, attribute)
    return pk


async def _target(node: ModelNode, pk: int, access: RequestAccess, lock: bool = False):
    """The object a mutation changes: it must exist and lie in the caller's area. `lock`: read FOR
    UPDATE (in the write's transaction, on PostgreSQL), so the fields an update starts from, and
    the `before` its domain rule is given, are the row as it stands until the write commits, not a
    copy another writer is changing (whose values a save of every derived column would put back)."""
    await access.check_in_area(node, pk, f"{node.exposure.type_name} {pk}", "id")
    rows = node.model.filter(id=pk)
    if lock and node.model._meta.db.capabilities.dialect == "postgres":
        rows = rows.select_for_update()
    return await rows.get()


async def _no_cascade_outside(registry: Registry, node: ModelNode, pk: int, access: RequestAccess) -> None:
    """Refuse a delete whose cascade would remove rows outside the caller's area.

    (A shared catalogue item served at another district's window, say.)
    """
    if access.area is None:
        return
    meta = node.model._meta
    for name in meta.backward_fk_fields | meta.backward_o2o_fields:
        relation = meta.fields_map[name]
        child = registry.nodes.get(relation.related_model)
        forward = relation.related_model._meta.fields_map[relation.relation_field.removesuffix("_id")]
        if child is None or not child.exposure.access.scoped or forward.on_delete != CASCADE:
            continue
        rows = child.model.filter(**{relation.relation_field: pk})
        if await rows.filter(~access.within_area(child)).exists():
            raise EngineError(
                "FORBIDDEN",
                f"deleting this {node.exposure.type_name} would also delete {child.exposure.plural} "
                "outside your area",
            )


async def _still_in_area(node: ModelNode, pk: int, access: RequestAccess) -> None:
    """After the write (in its transaction): the object must not have left the caller's area."""
    if not node.exposure.access.scoped:
        return
    if access.policy.moves_areas(node.model):
        await access.refresh()  # the areas themselves changed
    if not await access.holds(node, pk):
        raise EngineError(
            "FORBIDDEN",
            f"the {node.exposure.type_name} would leave your area ({access.policy.area_words})",
        )


def _auto_now(node: ModelNode) -> list[str]:
    return [name for name, f in node.model._meta.fields_map.items() if getattr(f, "auto_now", False)]


async def _save(node: ModelNode, obj, update_fields: list[str] | None = None) -> None:
    try:
        await obj.save(update_fields=update_fields)
    except IntegrityError as error:
        raise integrity_error(error, node) from None
    except ValidationError as error:  # a field's own validator (length, required, enum)
        field, _, reason = str(error).partition(": ")
        raise EngineError("VALIDATION_FAILED", f"{field}: {reason or error}", field=field) from None
    except EngineError as error:
        # The model names a relation ("parent"); the input field is its id ("parentId").
        if error.field in {r.name for r in node.exposure.forward()}:
            error.field = f"{error.field}_id"
        raise


_SQLITE_UNIQUE = re.compile(r"UNIQUE constraint failed: ([\w.]+(?:, [\w.]+)*)")
_PG_KEY = re.compile(r"Key \(([^)]+)\)=")


def integrity_error(error: IntegrityError, node: ModelNode) -> EngineError:
    """A database constraint failure as a coded error naming the field where it can."""
    cause = error.__cause__ or (error.args[0] if error.args else error)
    text = str(cause)
    sqlstate = getattr(cause, "sqlstate", "")
    detail = getattr(cause, "detail", "") or ""
    type_name = node.exposure.type_name
    unique = _SQLITE_UNIQUE.search(text)
    if unique or sqlstate == "23505":
        columns = [c.split(".")[-1] for c in unique.group(1).split(", ")] if unique else _pg_columns(detail)
        fields = [c.removesuffix("_id") for c in columns]
        return EngineError(
            "CONFLICT",
            f"another {type_name} already has this {' + '.join(fields)}",
            field=fields[0] if fields else None,
        )
    if "FOREIGN KEY" in text or sqlstate == "23503":
        return EngineError(
            "CONSTRAINT", f"{type_name} is referenced by other records or refers to a missing one"
        )
    check = re.search(r"(ck_\w+)", text) or re.search(
        r"(ck_\w+)", getattr(cause, "constraint_name", "") or ""
    )
    if check:
        return EngineError("CONSTRAINT", f"{type_name} breaks the rule {check.group(1)}")
    return EngineError("CONSTRAINT", f"{type_name} breaks a database rule: {text.splitlines()[0]}")


def _pg_columns(detail: str) -> list[str]:
    match = _PG_KEY.search(detail)
    return [c.strip() for c in match.group(1).split(",")] if match else []


def _pascal(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))
