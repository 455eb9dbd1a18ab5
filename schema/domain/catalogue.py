"""Catalogue verbs: revoking item assignments (撤销下放) together, in one transaction; the
implementation list (实施清单) out as a spreadsheet and in with a dry run first
(api/services/catalogue_file.py).

Revocation is one-way and only happens here (the generated update does not set `revokedAt`): each
assignment is stamped with a compare-and-set (`... WHERE revoked_at IS NULL`), so two revocations
racing for one assignment cannot both succeed, in ascending id order, so two calls naming the
same assignments in different orders cannot deadlock.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from enum import Enum
from typing import Any

import strawberry
from tortoise.transactions import in_transaction

from api.errors import DomainError
from api.models.audit import AuditAction
from api.models.item import GuideRevision, Item, ItemAssignment, ItemLocal, Material
from api.services import catalogue_file, outbox
from api.services.deadlines import local_date
from schema.audit import audit_write, request_actor
from schema.domain.cases import now
from schema.generator.errors import EngineError
from schema.generator.mutations import MAX_BULK, bulk_keys, signed_in, snapshot
from schema.generator.policy import Op
from schema.generator.resolvers import REQUIRED, resolver


@strawberry.enum(description="Format of the implementation list file (清单格式)")
class CatalogueFormat(Enum):
    XLSX = "xlsx"
    CSV = "csv"


@strawberry.type(description="A file of the implementation list (实施清单), its bytes in base64")
class CatalogueFile:
    filename: str = strawberry.field(description="A name to save it under")
    content_type: str = strawberry.field(description="Its media type")
    content_base64: str = strawberry.field(description="The file's bytes, base64-encoded")
    rows: int = strawberry.field(description="Items in it (0 for the template)")


@strawberry.type(description="What importing one row of the list does (or would do)")
class CatalogueImportRow:
    row: int = strawberry.field(description="The row's number in the sheet (the header is row 1)")
    code: str = strawberry.field(description="The item's code (事项编码) on the row")
    status: str = strawberry.field(description="NEW, CHANGED or INVALID")
    changes: list[str] = strawberry.field(description="Headers of the columns that change (CHANGED)")
    reason: str = strawberry.field(description="Why the row cannot be imported (INVALID)")


@strawberry.type(description="The plan of an import, and whether it was written")
class CatalogueImport:
    applied: bool = strawberry.field(description="Whether the changes were written (all of them)")
    new: int = strawberry.field(description="Rows that add an item")
    changed: int = strawberry.field(description="Rows that change an item or this region's values of it")
    unchanged: int = strawberry.field(description="Rows that change nothing")
    invalid: int = strawberry.field(description="Rows that cannot be imported: none may be for `apply`")
    rows: list[CatalogueImportRow] = strawberry.field(
        description="Every new, changed and invalid row, in sheet order (unchanged rows are only counted)"
    )


def catalogue_file_fields(registry) -> dict[str, Any]:
    """`catalogueFile` (query) and `importCatalogue` (mutation), for the caller's region."""
    items, locals_ = registry.node(Item), registry.node(ItemLocal)
    guides, materials = registry.node(GuideRevision), registry.node(Material)

    async def region(info):
        access = await registry.access(info)
        if access.caller.anonymous:
            raise DomainError(
                "UNAUTHENTICATED", "sign in to read or import your region's implementation list"
            )
        found = await catalogue_file.region_of(access.caller.organization_id)
        if found is None:
            raise DomainError(
                "FORBIDDEN", "the implementation list is kept per region: your organization has none above it"
            )
        return access, found

    async def export(root, info, format: CatalogueFormat, template: bool) -> CatalogueFile:
        kind = format.value
        if template:
            content, rows = catalogue_file.template(kind), 0
            name = f"实施清单模板.{kind}"
        else:
            access, found = await region(info)
            access.require(items, Op.READ)
            rows = await catalogue_file.export_rows(found)
            content = catalogue_file.render(kind, rows)
            name = f"实施清单-{found.code}-{local_date(now(info)).isoformat()}.{kind}"
        return CatalogueFile(
            filename=name,
            content_type=catalogue_file.FORMATS[kind],
            content_base64=base64.b64encode(content).decode("ascii"),
            rows=len(rows) if not template else 0,
        )

    async def import_(root, info, file: str, filename: str, apply: bool) -> CatalogueImport:
        access, found = await region(info)
        for node in (items, locals_):
            access.require(node, Op.CREATE)
            access.require(node, Op.UPDATE)
        for node in (guides, materials):  # changed materials publish a guide revision
            access.require(node, Op.CREATE)
        try:
            content = base64.b64decode(file, validate=True)
        except (binascii.Error, ValueError):
            raise DomainError(
                "FILE_INVALID", "file must be the file's bytes in base64", field="file"
            ) from None
        rows = await asyncio.to_thread(catalogue_file.read_table, content, filename)  # off the event loop
        plan = await catalogue_file.plan(rows, access.area, found)
        applied = False
        if apply:
            await catalogue_file.apply(plan, request_actor(info), local_date(now(info)))
            applied = True
        summary = plan.summary()
        return CatalogueImport(
            applied=applied,
            new=summary["NEW"],
            changed=summary["CHANGED"],
            unchanged=summary["UNCHANGED"],
            invalid=summary["INVALID"],
            rows=[
                CatalogueImportRow(
                    row=r.line, code=r.code, status=r.status, changes=r.changes, reason=r.reason
                )
                for r in plan.rows
                if r.status != "UNCHANGED"
            ],
        )

    query = {
        "catalogue_file": strawberry.field(
            resolver=resolver(
                export,
                CatalogueFile,
                {
                    "format": (CatalogueFormat, CatalogueFormat.XLSX, "xlsx (default) or csv"),
                    "template": (bool, False, "The empty template (header and column notes) instead"),
                },
            ),
            name="catalogueFile",
            description="The catalogue as the implementation list (实施清单): one row per item with your "
            "region's local values and the materials of its latest guide; or the empty template",
        )
    }
    mutation = {
        "import_catalogue": strawberry.field(
            permission_classes=[signed_in(registry.policy)],
            resolver=resolver(
                import_,
                CatalogueImport,
                {
                    "file": (str, REQUIRED, "The .xlsx or .csv file's bytes, base64-encoded"),
                    "filename": (str, REQUIRED, "The file's name (its extension tells .xlsx from .csv)"),
                    "apply": (
                        bool,
                        False,
                        "Write the changes: all in one transaction, refused if any row is invalid",
                    ),
                },
            ),
            name="importCatalogue",
            description="Import the implementation list for your region: a dry run (each row new, changed "
            "or invalid with the reason) unless `apply`; with `apply`, every row or none, audited, changed "
            "materials published as a new guide revision; an invalid row refuses it all (VALIDATION_FAILED)",
        )
    }
    return {"query": query, "mutation": mutation}


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
