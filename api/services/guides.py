"""Service guides (服务指南): an item's revisions are numbered one after another and come into force
in that order; each after the first says what changed; a revision lists each material once.

The rules run after a generated create or update of a revision or a material, in its transaction,
so a broken one leaves nothing behind (a revision published with its materials is all or none).
"""

from __future__ import annotations

from typing import Any

from api.errors import DomainError
from api.models.item import GuideRevision, Material
from api.services import outbox


async def revision_written(revision: GuideRevision, before: dict[str, Any] | None) -> None:
    others = GuideRevision.filter(item_id=revision.item_id).exclude(id=revision.id)
    if before is None:  # just created
        latest = await others.order_by("-revision").first()
        expected = latest.revision + 1 if latest else 1
        if revision.revision != expected:
            now = f"revision {latest.revision} is the latest" if latest else "the item has no guide yet"
            raise DomainError(
                "VALIDATION_FAILED", f"the next revision of this item is {expected} ({now})", field="revision"
            )
    if revision.revision > 1 and not revision.change_note.strip():
        raise DomainError(
            "VALIDATION_FAILED", "say what changed since the previous revision", field="change_note"
        )
    day = revision.effective_from
    earlier = (
        await others.filter(revision__lt=revision.revision, effective_from__gt=day)
        .order_by("-revision")
        .first()
    )
    if earlier is not None:
        raise DomainError(
            "VALIDATION_FAILED",
            f"revision {earlier.revision} is in force from {earlier.effective_from}: "
            f"revision {revision.revision} cannot come into force before it",
            field="effective_from",
        )
    later = (
        await others.filter(revision__gt=revision.revision, effective_from__lt=day)
        .order_by("revision")
        .first()
    )
    if later is not None:
        raise DomainError(
            "VALIDATION_FAILED",
            f"revision {later.revision} is in force from {later.effective_from}: "
            f"revision {revision.revision} cannot come into force after it",
            field="effective_from",
        )
    if before is None:
        await outbox.revision_published(revision)


async def material_written(material: Material, before: dict[str, Any] | None) -> None:
    name = material.name.strip()
    if not name:
        raise DomainError("VALIDATION_FAILED", "a material needs a name", field="name")
    for field in ("name", "source"):  # one line of the implementation list's 申请材料 cell each
        if any(mark in getattr(material, field) for mark in ("|", "\n", "\r")):
            raise DomainError(
                "VALIDATION_FAILED", f"a material's {field} holds no | and no line break", field=field
            )
    siblings = Material.filter(guide_revision_id=material.guide_revision_id).exclude(id=material.id)
    for other in await siblings.values("position", "name"):
        if other["name"].strip() == name:
            raise DomainError(
                "VALIDATION_FAILED",
                f"“{name}” is already material {other['position']} of this revision",
                field="name",
            )
