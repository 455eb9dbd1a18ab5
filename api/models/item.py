"""The service-item catalogue (政务服务事项), its guides and materials, and its assignment to tiers."""

from __future__ import annotations

import re
from enum import StrEnum

from tortoise import fields
from tortoise.migrations.constraints import CheckConstraint
from tortoise.models import Model

from api.errors import DomainError
from api.services.identifiers import normalize_uscc


class ItemType(StrEnum):
    """The national item types (事项类型), in the order of the national list (1-10, then 20)."""

    LICENSING = "LICENSING"
    PUNISHMENT = "PUNISHMENT"
    ENFORCEMENT = "ENFORCEMENT"
    LEVY = "LEVY"
    BENEFIT = "BENEFIT"
    INSPECTION = "INSPECTION"
    CONFIRMATION = "CONFIRMATION"
    REWARD = "REWARD"
    ADJUDICATION = "ADJUDICATION"
    OTHER_POWER = "OTHER_POWER"
    PUBLIC_SERVICE = "PUBLIC_SERVICE"


class ItemSource(StrEnum):
    DELEGATED_BY_CITY = "DELEGATED_BY_CITY"
    ENTRUSTED_BY_COUNTY = "ENTRUSTED_BY_COUNTY"
    OWN = "OWN"


class CaseKind(StrEnum):
    IMMEDIATE = "IMMEDIATE"
    PROMISED = "PROMISED"


class Power(StrEnum):
    FULL = "FULL"
    ACCEPT_AND_PRE_REVIEW = "ACCEPT_AND_PRE_REVIEW"
    AGENCY_ONLY = "AGENCY_ONLY"


class MaterialForm(StrEnum):
    ORIGINAL = "ORIGINAL"
    COPY = "COPY"
    ORIGINAL_AND_COPY = "ORIGINAL_AND_COPY"
    ELECTRONIC = "ELECTRONIC"


BASE_CODE = re.compile(r"^\d{3}[A-Z0-9]\d{10}$")
IMPLEMENTATION_CODE = re.compile(
    r"^(?P<base>\d{3}[A-Z0-9]\d{10})-(?P<area>\d{12})-(?P<fixed>\d{3})-"
    r"(?P<credit>[0-9A-Z]{18})-(?P<level>\d)-(?P<handling>\d{2})$"
)


def validate_base_code(code: str) -> str:
    if not BASE_CODE.match(code):
        raise DomainError(
            "VALIDATION_FAILED",
            f"base code must be 3 digits, a letter or digit, then 10 digits (e.g. 511A0138000000), "
            f"got {code!r}",
            field="base_code",
        )
    return code


def validate_implementation_code(code: str, base_code: str | None) -> str:
    match = IMPLEMENTATION_CODE.match(code)
    if match is None:
        raise DomainError(
            "VALIDATION_FAILED",
            "implementation code must read <base code>-<12-digit area>-000-<credit code>-<d>-<dd>, "
            f"got {code!r}",
            field="implementation_code",
        )
    normalize_uscc(match["credit"], field="implementation_code")
    if base_code is not None and match["base"] != base_code:
        raise DomainError(
            "VALIDATION_FAILED",
            f"implementation code {code!r} does not start with the item's base code {base_code}",
            field="implementation_code",
        )
    return code


class Item(Model):
    """A service item of the catalogue, one row serving every tier (三统一: same name, code, guide).

    The level that publishes it owns it (`publisher`: a district for its own items, NULL for the
    list published at the top, the province's): its shared fields and guides change only there. The
    promised limit and phones here are the published defaults; a district keeps its own values in
    `ItemLocal`, which its cases use.
    """

    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=32, unique=True)
    name = fields.CharField(max_length=200)
    type = fields.CharEnumField(ItemType, max_length=20, db_index=True)
    source = fields.CharEnumField(ItemSource, max_length=24)
    base_code = fields.CharField(max_length=14, null=True)
    implementation_code = fields.CharField(max_length=64, null=True, unique=True)
    department = fields.CharField(max_length=100)
    case_kind = fields.CharEnumField(CaseKind, max_length=12)
    legal_limit_days = fields.IntField()
    promised_limit_days = fields.IntField()
    fee_fen = fields.BigIntField(default=0)
    online = fields.BooleanField(default=False)
    visits_required = fields.IntField(default=1)
    tag_immediate = fields.BooleanField(default=False)
    tag_online = fields.BooleanField(default=False)
    tag_one_visit = fields.BooleanField(default=False)
    needs_home_visit = fields.BooleanField(default=False)
    needs_village_publicity = fields.BooleanField(default=False)
    consult_phone = fields.CharField(max_length=20, default="")
    complaint_phone = fields.CharField(max_length=20, default="")
    in_force = fields.BooleanField(default=True)
    publisher = fields.ForeignKeyField(
        "models.Organization", related_name="published_items", null=True, on_delete=fields.RESTRICT
    )
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "item"
        constraints = (
            CheckConstraint(check="legal_limit_days >= 0", name="ck_item_legal_limit"),
            CheckConstraint(
                check="promised_limit_days >= 0 AND promised_limit_days <= legal_limit_days",
                name="ck_item_promised_limit",
            ),
            CheckConstraint(check="fee_fen >= 0", name="ck_item_fee"),
            CheckConstraint(check="visits_required >= 0", name="ck_item_visits"),
        )

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    def derive_tags(self) -> None:
        """三办 tags follow from the item's facts: 即办件 → 马上办, online → 网上办, ≤ 1 visit → 一次办."""
        self.tag_immediate = self.case_kind == CaseKind.IMMEDIATE
        self.tag_online = bool(self.online)
        self.tag_one_visit = self.visits_required <= 1

    async def save(self, *args, **kwargs) -> None:
        if self.base_code is not None:
            validate_base_code(self.base_code)
        if self.implementation_code is not None:
            validate_implementation_code(self.implementation_code, self.base_code)
        if self.legal_limit_days < 0 or not 0 <= self.promised_limit_days <= self.legal_limit_days:
            raise DomainError(
                "VALIDATION_FAILED",
                "time limits must satisfy 0 ≤ promised ≤ legal working days "
                f"(got promised {self.promised_limit_days}, legal {self.legal_limit_days})",
                field="promised_limit_days",
            )
        if self.fee_fen < 0:
            raise DomainError("VALIDATION_FAILED", "fee cannot be negative", field="fee_fen")
        if self.publisher_id is not None:
            await must_be_region(
                self.publisher_id,
                "an item is published by a region (a district or the province), not by a {tier}",
                "publisher",
            )
        if self.pk is not None:
            locals_ = ItemLocal.filter(item_id=self.pk, promised_limit_days__gt=self.legal_limit_days)
            over = await locals_.count()
            if over:
                raise DomainError(
                    "VALIDATION_FAILED",
                    f"{over} district(s) promise more than {self.legal_limit_days} working days for this "
                    "item: lower their promised limits first",
                    field="legal_limit_days",
                )
        self.derive_tags()
        update_fields = kwargs.get("update_fields")
        if update_fields is not None:
            kwargs["update_fields"] = list({*update_fields, "tag_immediate", "tag_online", "tag_one_visit"})
        await super().save(*args, **kwargs)


async def must_be_region(organization_id: int, refusal: str, field: str) -> None:
    """Refuse an organization that is not a region (a district or the province) where one is due;
    `refusal` says so, with {tier} for the organization's tier."""
    from api.models.org import Organization, Tier

    tier = await Organization.filter(id=organization_id).values_list("tier", flat=True)
    if tier and tier[0] != Tier.REGION:
        raise DomainError("VALIDATION_FAILED", refusal.format(tier=str(tier[0]).lower()), field=field)


class ItemLocal(Model):
    """A district's own values of an item (承诺时限 set by the implementing body within the legal
    limit, fee notes, phones): its cases take the promised limit from here, not from the item."""

    id = fields.IntField(primary_key=True)
    item: fields.ForeignKeyRelation[Item] = fields.ForeignKeyField(
        "models.Item", related_name="locals", on_delete=fields.CASCADE
    )
    organization = fields.ForeignKeyField(
        "models.Organization", related_name="item_locals", on_delete=fields.CASCADE, db_index=True
    )
    promised_limit_days = fields.IntField()
    fee_note = fields.CharField(max_length=200, default="")
    consult_phone = fields.CharField(max_length=20, default="")
    complaint_phone = fields.CharField(max_length=20, default="")
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "item_local"
        unique_together = (("item", "organization"),)
        constraints = (CheckConstraint(check="promised_limit_days >= 0", name="ck_item_local_promised"),)

    async def save(self, *args, **kwargs) -> None:
        item = Item.filter(id=self.item_id)
        if Item._meta.db.capabilities.dialect == "postgres":
            # the item's row stays as read until this write commits: a concurrent lowering of its
            # legal limit (whose update locks the row first) waits, or is waited for and seen
            item = item.select_for_update()
        legal = await item.values_list("legal_limit_days", flat=True)
        if legal and not 0 <= self.promised_limit_days <= legal[0]:
            raise DomainError(
                "VALIDATION_FAILED",
                f"the promised limit must be between 0 and the item's legal limit ({legal[0]} working "
                f"days), got {self.promised_limit_days}",
                field="promised_limit_days",
            )
        await must_be_region(
            self.organization_id,
            "local values belong to a region (a district or the province), not to a {tier}",
            "organization",
        )
        await super().save(*args, **kwargs)


class GuideRevision(Model):
    """One published version of the service guide (服务指南) of an item."""

    id = fields.IntField(primary_key=True)
    item: fields.ForeignKeyRelation[Item] = fields.ForeignKeyField(
        "models.Item", related_name="guide_revisions", on_delete=fields.CASCADE
    )
    revision = fields.IntField()
    effective_from = fields.DateField()
    conditions = fields.TextField(default="")
    process = fields.TextField(default="")
    change_note = fields.TextField(default="")
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "guide_revision"
        unique_together = (("item", "revision"),)
        constraints = (CheckConstraint(check="revision >= 1", name="ck_guide_revision_positive"),)


class Material(Model):
    """A required application material (申请材料) of one guide revision."""

    id = fields.IntField(primary_key=True)
    guide_revision: fields.ForeignKeyRelation[GuideRevision] = fields.ForeignKeyField(
        "models.GuideRevision", related_name="materials", on_delete=fields.CASCADE
    )
    position = fields.IntField()
    name = fields.CharField(max_length=200)
    form = fields.CharEnumField(MaterialForm, max_length=20, default=MaterialForm.ORIGINAL)
    copies = fields.IntField(default=1)
    required = fields.BooleanField(default=True)
    source = fields.CharField(max_length=100, default="")

    class Meta:
        table = "material"
        unique_together = (("guide_revision", "position"),)
        constraints = (
            CheckConstraint(check="position >= 1", name="ck_material_position"),
            CheckConstraint(check="copies >= 0", name="ck_material_copies"),
        )


class ItemAssignment(Model):
    """Which organization handles which item, with which power (下放 / 委托 / 代办).

    `active` is TRUE while the assignment is in force and NULL once revoked, so the plain unique
    constraint over (item, organization, active) allows one active row per pair on both SQLite
    and PostgreSQL (NULLs never collide) while keeping the revoked history.
    """

    id = fields.IntField(primary_key=True)
    item: fields.ForeignKeyRelation[Item] = fields.ForeignKeyField(
        "models.Item", related_name="assignments", on_delete=fields.RESTRICT
    )
    organization = fields.ForeignKeyField(
        "models.Organization", related_name="assignments", on_delete=fields.RESTRICT, db_index=True
    )
    power = fields.CharEnumField(Power, max_length=24)
    legal_basis = fields.CharField(max_length=200)
    effective_from = fields.DateField()
    revoked_at = fields.DatetimeField(null=True)
    active = fields.BooleanField(null=True, default=True)
    decided_by = fields.ForeignKeyField(
        "models.User", related_name="assignment_decisions", null=True, on_delete=fields.SET_NULL
    )
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "item_assignment"
        unique_together = (("item", "organization", "active"),)
        constraints = (
            CheckConstraint(
                check="(revoked_at IS NULL AND active) OR (revoked_at IS NOT NULL AND active IS NULL)",
                name="ck_assignment_active_marker",
            ),
        )

    async def save(self, *args, **kwargs) -> None:
        # The marker follows revocation, so the unique constraint keeps one active row per pair.
        self.active = None if self.revoked_at is not None else True
        update_fields = kwargs.get("update_fields")
        if update_fields is not None:
            kwargs["update_fields"] = list({*update_fields, "active"})
        await super().save(*args, **kwargs)


class WindowItem(Model):
    """An item served at a window (a through model with plain foreign keys)."""

    id = fields.IntField(primary_key=True)
    window = fields.ForeignKeyField("models.Window", related_name="window_items", on_delete=fields.CASCADE)
    item = fields.ForeignKeyField("models.Item", related_name="window_items", on_delete=fields.CASCADE)

    class Meta:
        table = "window_item"
        unique_together = (("window", "item"),)
