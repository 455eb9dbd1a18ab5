"""Small builders shared by tests that need a few rows, not the whole fixture."""

from api.models.org import ConstructionStatus, Organization, OrgKind, Tier


async def make_tree():
    region = await Organization.create(code="R", name="区", tier=Tier.REGION, kind=OrgKind.DISTRICT)
    center = await Organization.create(
        code="C", name="中心", tier=Tier.CENTER, kind=OrgKind.ADMINISTRATION, parent=region
    )
    hall = await Organization.create(
        code="H",
        name="大厅",
        tier=Tier.HALL,
        kind=OrgKind.SUB_DISTRICT,
        parent=center,
        construction_status=ConstructionStatus.BUILT,
    )
    return region, center, hall
