"""The public progress lookup (办件查询): a case's steps as its applicant may see them, nothing more."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from api.models.case import Case, CaseAction, CaseEvent, CaseStatus
from api.models.staff import Staff
from api.services.pii import PiiKind, mask, mask_name, mask_text

STAFF_NAME_SHOWN_AS = "工作人员"  # a staff member named in a note is shown as "the staff"
_LIST_SEPARATOR = re.compile(r"[\r\n;；]+")
# A list marker at the head of an entry: "1.", "2、", "(3)", "（4）", "⑤", "-", "•".
_MARKER = re.compile(r"^\s*(?:[-•·*]|\d{1,2}\s*[.、．)）]|[(（]\d{1,2}[)）]|[①-⑳])\s*")


@dataclass(frozen=True)
class PublicStep:
    action: CaseAction
    status: CaseStatus
    organization: str
    occurred_at: datetime
    to_bring: list[str] | None  # a supplement request's list; None for every other step


async def timeline(case: Case) -> list[PublicStep]:
    """The case's steps, where and when; a supplement request also says what to bring."""
    events = (
        await CaseEvent.filter(case_id=case.id).order_by("occurred_at", "id").prefetch_related("organization")
    )
    hidden: list[str] = []
    if any(e.action == CaseAction.REQUEST_SUPPLEMENT for e in events):
        hidden = await _staff_names(events)
    return [
        PublicStep(
            action=e.action,
            status=e.to_status,
            organization=e.organization.name,
            occurred_at=e.occurred_at,
            to_bring=to_bring(e.comment, hidden, case) if e.action == CaseAction.REQUEST_SUPPLEMENT else None,
        )
        for e in events
    ]


def to_bring(note: str, staff_names: Iterable[str], case: Case) -> list[str]:
    """The entries of a supplement request's note (one a line or between semicolons, list markers
    dropped), with staff names replaced and the applicant's personal data masked."""
    text = note
    # The applicant's own data first, whatever the patterns below would catch: the name (before the
    # staff names, one of which may lie inside it), then the case's own ID number and phone.
    if case.applicant_name:
        text = text.replace(case.applicant_name, mask_name(case.applicant_name, case.applicant_type))
    for value, kind in ((case.applicant_id_number, PiiKind.ID_NUMBER), (case.applicant_phone, PiiKind.PHONE)):
        if value:
            text = text.replace(value, mask(value, kind))
    text = mask_text(_without_names(text, staff_names))
    entries = (_MARKER.sub("", part).strip() for part in _LIST_SEPARATOR.split(text))
    return [entry for entry in entries if entry]


def _without_names(text: str, names: Iterable[str]) -> str:
    # Longest first, so that a name containing another is replaced whole; one character is too
    # common to be taken for a name.
    for name in sorted({n.strip() for n in names if len(n.strip()) >= 2}, key=len, reverse=True):
        text = text.replace(name, STAFF_NAME_SHOWN_AS)
    return text


async def _staff_names(events: list[CaseEvent]) -> list[str]:
    """Every staff member's name (a note may name a colleague anywhere), and whoever acted on the case
    (an account without a staff record acts under its username)."""
    staff = await Staff.all().values_list("name", flat=True)
    return [*staff, *(e.actor_name for e in events)]
