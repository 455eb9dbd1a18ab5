"""Organizations of the three tiers (center, halls, rooms) under a region, and their windows."""

from __future__ import annotations

import re
from enum import StrEnum

from tortoise import fields
from tortoise.expressions import Q
from tortoise.migrations.constraints import CheckConstraint
from tortoise.models import Model
from tortoise.transactions import in_transaction

from api.errors import DomainError


class Tier(StrEnum):
    REGION = "REGION"
    CENTER = "CENTER"
    HALL = "HALL"
    ROOM = "ROOM"


class OrgKind(StrEnum):
    PROVINCE = "PROVINCE"
    DISTRICT = "DISTRICT"
    ADMINISTRATION = "ADMINISTRATION"
    SUB_DISTRICT = "SUB_DISTRICT"
    TEAM = "TEAM"
    VILLAGE = "VILLAGE"
    COMMUNITY = "COMMUNITY"


class ConstructionStatus(StrEnum):
    PLANNED = "PLANNED"
    UNDER_CONSTRUCTION = "UNDER_CONSTRUCTION"
    BUILT = "BUILT"
    STANDARDIZED = "STANDARDIZED"


# The tier each tier may hang under; None means "may be a root".
ALLOWED_PARENT_TIERS: dict[Tier, frozenset[Tier | None]] = {
    Tier.REGION: frozenset({None, Tier.REGION}),
    Tier.CENTER: frozenset({None, Tier.REGION}),
    Tier.HALL: frozenset({Tier.CENTER}),
    Tier.ROOM: frozenset({Tier.HALL}),
}
ALLOWED_KINDS: dict[Tier, frozenset[OrgKind]] = {
    Tier.REGION: frozenset({OrgKind.PROVINCE, OrgKind.DISTRICT}),
    Tier.CENTER: frozenset({OrgKind.ADMINISTRATION}),
    Tier.HALL: frozenset({OrgKind.SUB_DISTRICT}),
    Tier.ROOM: frozenset({OrgKind.TEAM, OrgKind.VILLAGE, OrgKind.COMMUNITY}),
}
BUILDABLE_TIERS = frozenset({Tier.HALL, Tier.ROOM})
MAX_DEPTH = 16


class Organization(Model):
    """A region, the service center (政务服务中心), a hall (便民服务大厅) or a room (便民服务室)."""

    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=32, unique=True)
    name = fields.CharField(max_length=100)
    tier = fields.CharEnumField(Tier, max_length=16, db_index=True)
    kind = fields.CharEnumField(OrgKind, max_length=16)
    parent: fields.ForeignKeyNullableRelation[Organization] = fields.ForeignKeyField(
        "models.Organization", related_name="children", null=True, on_delete=fields.RESTRICT, db_index=True
    )
    # The ids from the root down to this organization, "/1/5/23/": an area is one range of paths.
    # Written only by save() (see Organization._place); never set by hand.
    path = fields.CharField(max_length=255, default="", db_index=True)
    population = fields.IntField(null=True)
    address = fields.CharField(max_length=200, default="")
    longitude = fields.FloatField(null=True)
    latitude = fields.FloatField(null=True)
    duty_phone = fields.CharField(max_length=20, default="")
    construction_status = fields.CharEnumField(ConstructionStatus, max_length=24, null=True)
    construction_started_on = fields.DateField(null=True)
    built_on = fields.DateField(null=True)
    standardized_on = fields.DateField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "organization"
        constraints = (
            CheckConstraint(check="population IS NULL OR population >= 0", name="ck_org_population"),
            CheckConstraint(
                check="longitude IS NULL OR (longitude >= -180 AND longitude <= 180)",
                name="ck_org_longitude",
            ),
            CheckConstraint(
                check="latitude IS NULL OR (latitude >= -90 AND latitude <= 90)",
                name="ck_org_latitude",
            ),
            CheckConstraint(
                check="(tier IN ('HALL', 'ROOM')) = (construction_status IS NOT NULL)",
                name="ck_org_construction_status_tier",
            ),
            CheckConstraint(check="parent_id IS NULL OR parent_id <> id", name="ck_org_not_own_parent"),
        )

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    async def save(self, *args, **kwargs) -> None:
        """Validate, write, and keep `path` right for this organization and everything below it."""
        parent = await self.validate_rules()
        async with in_transaction() as connection:
            kwargs["using_db"] = connection  # the caller's connection would wait for this transaction
            before = None
            if self.id is not None:
                before = await Organization.filter(id=self.id).first().values_list("path", flat=True)
            await super().save(*args, **kwargs)
            await self._place(connection, parent, before)

    async def _place(self, connection, parent: Organization | None, before: str | None) -> None:
        """Write the path; a move rewrites the paths of the whole subtree in one statement.

        The one code path that changes the tree: every area condition reads these paths.
        """
        path = f"{parent.path if parent is not None else '/'}{self.id}/"
        self.path = path
        if before == path:
            return
        mark = "?" if connection.capabilities.dialect == "sqlite" else "${}"
        p = [mark.format(i) for i in range(1, 5)]
        if not before:
            await connection.execute_query(
                f"UPDATE organization SET path = {p[0]} WHERE id = {p[1]}", [path, self.id]
            )
            return
        low, high = area_range(before)
        await connection.execute_query(
            f"UPDATE organization SET path = {p[0]} || substr(path, {p[1]}) "
            f"WHERE path >= {p[2]} AND path < {p[3]}",
            [path, len(before) + 1, low, high],
        )

    async def validate_rules(self) -> Organization | None:
        """Tier/parent/kind/construction rules; raises VALIDATION_FAILED naming the field."""
        if self.kind not in ALLOWED_KINDS[self.tier]:
            allowed = ", ".join(sorted(ALLOWED_KINDS[self.tier]))
            raise DomainError(
                "VALIDATION_FAILED",
                f"a {self.tier} cannot be of kind {self.kind}; allowed: {allowed}",
                field="kind",
            )
        if self.population is not None and self.population < 0:
            raise DomainError("VALIDATION_FAILED", "population cannot be negative", field="population")
        for name, bound in (("longitude", 180), ("latitude", 90)):
            value = getattr(self, name)
            if value is not None and not -bound <= value <= bound:
                raise DomainError("VALIDATION_FAILED", f"{name} must be within ±{bound}", field=name)
        if self.tier in BUILDABLE_TIERS and self.construction_status is None:
            raise DomainError(
                "VALIDATION_FAILED",
                f"a {self.tier} needs a construction status",
                field="construction_status",
            )
        if self.tier not in BUILDABLE_TIERS and self.construction_status is not None:
            raise DomainError(
                "VALIDATION_FAILED",
                f"a {self.tier} has no construction status",
                field="construction_status",
            )
        return await self._validate_parent()

    async def _validate_parent(self) -> Organization | None:
        parent = await _get_parent(self.parent_id)
        parent_tier = parent.tier if parent is not None else None
        if parent_tier not in ALLOWED_PARENT_TIERS[self.tier]:
            allowed = sorted(str(t) if t else "none" for t in ALLOWED_PARENT_TIERS[self.tier])
            raise DomainError(
                "VALIDATION_FAILED",
                f"a {self.tier} cannot be placed under "
                f"{'no parent' if parent is None else f'a {parent_tier} ({parent.code})'}; "
                f"its parent must be: {', '.join(allowed)}",
                field="parent",
            )
        if parent is None:
            return None
        if self.id is not None and f"/{self.id}/" in parent.path:
            raise DomainError(
                "VALIDATION_FAILED",
                f"placing {self.code} under {parent.code} would make a cycle",
                field="parent",
            )
        if parent.path.count("/") > MAX_DEPTH:  # the parent's depth, plus this one
            raise DomainError("VALIDATION_FAILED", "organization tree too deep", field="parent")
        return parent


PATH_SHAPE = re.compile(r"/(?:\d+/)+")


def area_range(path: str) -> tuple[str, str]:
    """The paths of an area as a half-open range: every path that starts with `path`.

    "/1/5/" covers "/1/5/" up to (not including) "/1/50": "/" sorts just before "0", bytewise.
    """
    if not PATH_SHAPE.fullmatch(path):
        raise ValueError(f"not an organization path: {path!r}")
    return path, path[:-1] + "0"


def within(path: str) -> Q:
    """The organizations of the area of `path` (it and every one below it): one path-index range."""
    low, high = area_range(path)
    return Q(path__gte=low, path__lt=high)


async def subtree(root_id: int) -> str | None:
    """The path of an organization (its area is every path that starts with it); None if absent."""
    return await Organization.filter(id=root_id).first().values_list("path", flat=True)


async def _get_parent(parent_id: int | None) -> Organization | None:
    if parent_id is None:
        return None
    parent = await Organization.get_or_none(id=parent_id)
    if parent is None:
        raise DomainError("NOT_FOUND", f"parent organization {parent_id} does not exist", field="parent")
    return parent


class Window(Model):
    """A service counter (窗口) at the center or a hall, e.g. the joint tax window."""

    id = fields.IntField(primary_key=True)
    organization: fields.ForeignKeyRelation[Organization] = fields.ForeignKeyField(
        "models.Organization", related_name="windows", on_delete=fields.RESTRICT
    )
    code = fields.CharField(max_length=32)
    name = fields.CharField(max_length=100)
    description = fields.TextField(default="")
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "service_window"
        unique_together = (("organization", "code"),)

    def __str__(self) -> str:
        return self.name

    async def save(self, *args, **kwargs) -> None:
        org = await Organization.get_or_none(id=self.organization_id)
        if org is None:
            raise DomainError(
                "NOT_FOUND", f"organization {self.organization_id} does not exist", field="organization"
            )
        if org.tier not in (Tier.CENTER, Tier.HALL):
            raise DomainError(
                "VALIDATION_FAILED",
                f"windows exist at a CENTER or a HALL, not at a {org.tier}",
                field="organization",
            )
        await super().save(*args, **kwargs)


class AreaOutline(Model):
    """The outline of an organization's area (辖区边界) as GeoJSON, drawn on the coverage map."""

    id = fields.IntField(primary_key=True)
    organization: fields.ForeignKeyRelation[Organization] = fields.ForeignKeyField(
        "models.Organization", related_name="outlines", on_delete=fields.CASCADE
    )
    name = fields.CharField(max_length=100, default="")
    geojson = fields.TextField()
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "area_outline"
        unique_together = (("organization",),)
