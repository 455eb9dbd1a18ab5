"""Small builders shared by tests that need a few rows, not the whole fixture."""

from api.models.org import ConstructionStatus, Organization, OrgKind, Tier


async def make_tree(prefix: str = ""):
    """A region, its center and one hall; codes R, C, H (after the prefix, joined by "-")."""

    def code(suffix: str) -> str:
        return f"{prefix}-{suffix}" if prefix else suffix

    region = await Organization.create(code=prefix or "R", name="区", tier=Tier.REGION, kind=OrgKind.DISTRICT)
    center = await Organization.create(
        code=code("C"), name="中心", tier=Tier.CENTER, kind=OrgKind.ADMINISTRATION, parent=region
    )
    hall = await Organization.create(
        code=code("H"),
        name="大厅",
        tier=Tier.HALL,
        kind=OrgKind.SUB_DISTRICT,
        parent=center,
        construction_status=ConstructionStatus.BUILT,
    )
    return region, center, hall


async def make_district(prefix: str):
    """Another district: region `prefix`, center `prefix-C`, hall `prefix-H`, room `prefix-R`."""
    region, center, hall = await make_tree(prefix)
    room = await Organization.create(
        code=f"{prefix}-R",
        name="服务室",
        tier=Tier.ROOM,
        kind=OrgKind.VILLAGE,
        parent=hall,
        construction_status=ConstructionStatus.BUILT,
    )
    return region, center, hall, room


async def make_item(code: str):
    """A plain catalogue item with nothing attached."""
    from api.models.item import Item

    return await Item.create(
        code=code,
        name=f"测试事项{code}",
        type="PUBLIC_SERVICE",
        source="OWN",
        department="测试",
        case_kind="PROMISED",
        legal_limit_days=10,
        promised_limit_days=5,
    )
