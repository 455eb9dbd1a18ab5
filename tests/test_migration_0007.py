"""Migration 0007 carries cases made before the workflow service forward, on SQLite and PostgreSQL."""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime

from api import db
from api.auth.caller import Caller
from api.models.case import Case, CaseAction, CaseStatus, Evaluation
from api.services import cases
from api.services.workflow import Move
from api.settings import Settings
from tests.test_migrations import MIGRATIONS

NOW = "2018-03-01 01:00:00+00:00"
MARCH_1 = NOW
ORGS = [(1, "D", "CENTER", None), (2, "D-H1", "HALL", 1), (3, "D-H1-R01", "ROOM", 2)]
S, A, PR, SR = "SUBMITTED", "ACCEPTED", "PRE_REVIEWED", "SUPPLEMENT_REQUESTED"
# (id, status, filed at, handled at, accepted, completed, events as (action, from, to))
CASES = [
    (1, "COMPLETED", 2, 2, MARCH_1, "2018-03-06 08:00:00+00:00",
     [("SUBMIT", None, S), ("ACCEPT", S, A), ("REVIEW", A, "REVIEWED"), ("DECIDE", "REVIEWED", "DECIDED"),
      ("COMPLETE", "DECIDED", "COMPLETED")]),
    (2, S, 3, 2, None, None, [("SUBMIT", None, S), ("DISPATCH", S, S)]),
    (3, SR, 2, 2, MARCH_1, None,
     [("SUBMIT", None, S), ("ACCEPT", S, A), ("PRE_REVIEW", A, PR), ("REQUEST_SUPPLEMENT", PR, SR)]),
]  # fmt: skip
ITEM = {
    "id": 1, "code": "GG-1", "name": "临时救助", "type": "PUBLIC_SERVICE", "source": "OWN",
    "department": "民政",
    "case_kind": "PROMISED", "legal_limit_days": 20, "promised_limit_days": 5, "fee_fen": 0, "online": False,
    "visits_required": 1, "tag_immediate": False, "tag_online": False, "tag_one_visit": True,
    "needs_home_visit": False, "needs_village_publicity": False, "consult_phone": "", "complaint_phone": "",
    "in_force": True, "created_at": NOW, "updated_at": NOW,
}  # fmt: skip


def insert(table: str, row: dict) -> str:
    """An INSERT with literal values, the same text on SQLite and PostgreSQL."""

    def literal(value) -> str:
        if value is None:
            return "NULL"
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value) if isinstance(value, int) else f"'{value}'"

    return f"INSERT INTO {table} ({', '.join(row)}) VALUES ({', '.join(literal(v) for v in row.values())})"


def old_rows() -> list[str]:
    """The rows, in the columns the tables had at migration 0006."""
    statements = [
        insert(
            "organization",
            {
                "id": i,
                "code": code,
                "name": code,
                "tier": tier,
                "kind": "OFFICE",
                "parent_id": parent,
                "construction_status": None if tier == "CENTER" else "BUILT",
                "address": "",
                "duty_phone": "",
                "created_at": NOW,
                "updated_at": NOW,
            },
        )
        for i, code, tier, parent in ORGS
    ]
    statements.append(insert("item", ITEM))
    statements.append(
        insert(
            "item_assignment",
            {
                "id": 1,
                "item_id": 1,
                "organization_id": 2,
                "power": "FULL",
                "legal_basis": "通知",
                "effective_from": "2017-05-01",
                "active": True,
                "created_at": NOW,
            },
        )
    )
    statements.append(
        insert(
            "guide_revision",
            {
                "id": 1,
                "item_id": 1,
                "revision": 1,
                "effective_from": "2017-05-01",
                "conditions": "",
                "process": "",
                "change_note": "",
                "created_at": NOW,
            },
        )
    )
    for case_id, status, filed, handled, accepted, completed, events in CASES:
        statements.append(
            insert(
                "service_case",
                {
                    "id": case_id,
                    "number": f"D2018030100{case_id:02d}",
                    "item_id": 1,
                    "guide_revision_id": 1,
                    "applicant_type": "PERSON",
                    "applicant_name": "张三",
                    "applicant_id_number": "11010519491231002X",
                    "applicant_phone": "13800138000",
                    "channel": "COUNTER",
                    "submitted_at": NOW,
                    "submitted_at_organization_id": filed,
                    "handling_organization_id": handled,
                    "status": status,
                    "decision": "APPROVED" if status == "COMPLETED" else None,
                    "accepted_at": accepted,
                    "completed_at": completed,
                    "due_dates_estimated": False,
                    "trips_saved": 0,
                    "version": 1,
                    "created_at": NOW,
                    "updated_at": NOW,
                },
            )
        )
        for hour, (action, before, after) in enumerate(events):
            statements.append(
                insert(
                    "case_event",
                    {
                        "case_id": case_id,
                        "action": action,
                        "from_status": before,
                        "to_status": after,
                        "actor_name": "",
                        "organization_id": filed if action in ("SUBMIT", "DISPATCH") else handled,
                        "occurred_at": f"2018-03-0{1 + hour // 4} 0{1 + hour % 4}:00:00+00:00",
                        "comment": "",
                    },
                )
            )
    statements.append(
        insert(
            "evaluation",
            {
                "id": 1,
                "case_id": 1,
                "score": 2,
                "reason": "等了很久",
                "rated_at": "2018-03-07 02:00:00+00:00",
            },
        )
    )
    return statements


def after_0006(folder: str, names: list[str]) -> list[str]:
    """The migrations package as it was at 0006: later migrations and caches left out."""
    return [n for n in names if n == "__pycache__" or (n[:4].isdigit() and int(n[:4]) > 6)]


async def test_cases_from_before_the_workflow_are_carried_forward(empty_url, tmp_path, monkeypatch):
    package = tmp_path / "sanji_until_0006"
    shutil.copytree(MIGRATIONS, package, ignore=after_0006)
    monkeypatch.syspath_prepend(str(tmp_path))
    settings = Settings(database_url=empty_url)
    await db.upgrade(settings, migrations_module="sanji_until_0006")
    async with db.database(settings) as ctx:
        for statement in old_rows():
            await ctx.db().execute_script(statement)

    await db.upgrade(settings)

    async with db.database(settings):
        done, travelling, paused = [await Case.get(id=i) for i in (1, 2, 3)]
        rating = await Evaluation.get(id=1)
    assert (done.accepted_on, done.completed_on, done.held_by_id) == (date(2018, 3, 1), date(2018, 3, 6), 2)
    assert (done.legal_limit_days, done.promised_limit_days) == (20, 5)
    assert done.working_days_taken == 3  # Fri 2, Mon 5, Tue 6 March (no calendar: weekdays)
    assert travelling.held_by_id is None and travelling.accepted_on is None  # dispatched, not received
    assert (paused.status, paused.status_before_pause, paused.held_by_id) == (
        CaseStatus.SUPPLEMENT_REQUESTED,
        CaseStatus.PRE_REVIEWED,
        2,
    )
    # The bad rating got its rectification, 15 working days after 7 March.
    assert rating.rectification_due_date == date(2018, 3, 28)

    # The paused case goes on through the workflow like any other.
    async with db.database(settings):
        clerk = Caller("CLERK", 2, None, "王五")
        resumed = await cases.perform(
            3, Move(CaseAction.RESUME, clerk, datetime(2018, 3, 5, 1, tzinfo=UTC)), 1
        )
    # Paused from the day after 1 March through 5 March: Fri 2 and Mon 5 March are not counted.
    assert (resumed.status, resumed.paused_working_days) == (CaseStatus.PRE_REVIEWED, 2)
    assert (resumed.promised_due_date, resumed.due_dates_estimated) == (date(2018, 3, 12), True)
