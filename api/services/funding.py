"""Funding totals per purpose, summed in SQL over integer fen."""

from __future__ import annotations

from dataclasses import dataclass

from tortoise.functions import Count, Sum

from api.models.funding import Funding
from api.services.coverage import subtree_ids


@dataclass(frozen=True)
class FundingTotal:
    purpose: str
    records: int
    amount_fen: int

    @property
    def amount_yuan(self) -> str:
        yuan, fen = divmod(self.amount_fen, 100)
        return f"{yuan:,}.{fen:02d}"


async def funding_totals(root_id: int | None = None) -> list[FundingTotal]:
    query = Funding.all()
    ids = await subtree_ids(root_id)
    if ids is not None:
        query = query.filter(organization_id__in=ids)
    rows = (
        await query.annotate(total=Sum("amount_fen"), records=Count("id"))
        .group_by("purpose")
        .order_by("purpose")
        .values("purpose", "total", "records")
    )
    return [FundingTotal(str(r["purpose"]), r["records"], int(r["total"])) for r in rows]
