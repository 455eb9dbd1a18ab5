"""Service queries: statistics (serviceStats, overdueCases, ratingStats), the public caseProgress,
the workflow as data, and the calendar import for years the package does not know yet."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import strawberry
from tortoise.expressions import RawSQL
from tortoise.transactions import in_transaction

from api.db import rows_of, serial
from api.errors import DomainError
from api.models.calendar import CalendarDay
from api.models.case import Case, CaseAction, CaseRollup, CaseStatus, Evaluation
from api.models.item import Item
from api.models.org import Organization
from api.models.staff import Staff
from api.services import calendar as calendar_service
from api.services import cases as case_service
from api.services import deadlines, progress, stats, workflow
from api.services.pii import mask_name
from schema.domain.cases import CalendarExceptionInput, CalendarImport, _lookup_budget, now, secret
from schema.generator.compiler import Sql, finish, join, marked
from schema.generator.execution import ROWS_AS_JSON, RawRows, row_plan
from schema.generator.ids import to_global_id
from schema.generator.policy import Op
from schema.generator.resolvers import REQUIRED, resolver
from schema.generator.scalars import graphql_enum

StatsDimension = strawberry.enum(
    stats.Dimension, name="StatsDimension", description="What serviceStats rows are per"
)
RatingDimension = strawberry.enum(stats.RatingDimension, description="What ratingStats rows are per")
Status = graphql_enum(CaseStatus)
Action = graphql_enum(CaseAction)
MAX_SOON_DAYS = 30
MAX_OVERDUE = 500


@strawberry.type(description="Service figures of the cases accepted in a period (by acceptance date)")
class ServiceStatsRow:
    key: str | None = strawberry.field(
        description="Organization or item global id, tier, 三办 tag or month (YYYY-MM-01); null for TOTAL"
    )
    label: str | None = strawberry.field(description="Name of the organization or item, when the key is one")
    accepted: int = strawberry.field(description="Cases accepted (受理)")
    completed: int = strawberry.field(description="Of those, completed (办结)")
    completed_on_time: int = strawberry.field(description="Completed by the promised due date")
    completed_late: int
    overdue_open: int = strawberry.field(description="Open, not paused, past the promised due date on asOf")
    overdue: int = strawberry.field(description="overdueOpen + completedLate")
    due_soon: int = strawberry.field(
        description="Open, not paused, due from asOf to soonDays working days later"
    )
    paused: int = strawberry.field(description="Waiting for supplementary papers (补正)")
    trips_saved: int = strawberry.field(description="Trips the applicants did not have to make (少跑次数)")
    average_working_days: float | None = strawberry.field(
        description="Acceptance to completion, pauses excluded"
    )
    completion_rate: float | None = strawberry.field(description="办结率 = completed / accepted")
    on_time_rate: float | None = strawberry.field(description="限时办结率 = completedOnTime / completed")


@strawberry.type(description="Ratings (好差评) of a group")
class RatingStatsRow:
    key: str | None = strawberry.field(
        description="Organization, staff member or item global id; null for TOTAL"
    )
    label: str | None
    ratings: int
    average_score: float | None
    very_satisfied: int
    satisfied: int
    basically_satisfied: int
    dissatisfied: int
    very_dissatisfied: int
    satisfaction_rate: float | None = strawberry.field(description="基本满意 or better / ratings")
    rectifications_open: int
    rectifications_overdue: int = strawberry.field(description="Open past their 15-working-day limit on asOf")
    rectifications_closed: int


@strawberry.type(description="One step of a case as the public sees it")
class ProgressStep:
    action: Action  # type: ignore[valid-type]
    status: Status  # type: ignore[valid-type]
    organization: str = strawberry.field(description="Where it happened")
    occurred_at: dt.datetime
    to_bring: list[str] | None = strawberry.field(
        description="For a supplement request (补正告知): what the applicant must bring, one entry each "
        "as the clerk listed them (staff names left out, personal data masked); null for other steps"
    )


@strawberry.type(description="A case's progress for its applicant (办件查询): nothing more")
class CaseProgress:
    number: str
    item: str = strawberry.field(description="Item applied for")
    status: Status  # type: ignore[valid-type]
    applicant: str = strawberry.field(description="Applicant, masked")
    promised_due_date: dt.date | None
    timeline: list[ProgressStep]


@strawberry.type(description="One step of the workflow: who may take it, where and from which states")
class WorkflowStep:
    action: Action  # type: ignore[valid-type]
    label: str = strawberry.field(description="Chinese name of the step")
    from_statuses: list[Status]  # type: ignore[valid-type]
    to_status: Status | None = strawberry.field(  # type: ignore[valid-type]
        description="null: the state stays (a handoff) or returns to the one before a pause"
    )
    roles: list[str]
    powers: list[str] = strawberry.field(description="Powers of the acting organization for the item")
    place: str = strawberry.field(description="Where the actor's organization must stand")


FIRST_YEAR, LAST_YEAR = 2000, 2100  # what working-day arithmetic is asked about


def _judged_on(as_of: dt.date | None, info: strawberry.Info) -> dt.date:
    """The day overdue and due-soon are judged on: the given one (within reason) or today."""
    if as_of is None:
        return deadlines.local_date(now(info))
    if not FIRST_YEAR <= as_of.year <= LAST_YEAR:
        raise DomainError(
            "VALIDATION_FAILED", f"asOf must fall in the years {FIRST_YEAR} to {LAST_YEAR}", field="asOf"
        )
    return as_of


LABELLED = {"ORGANIZATION": (Organization, "Organization"), "ITEM": (Item, "Item"), "STAFF": (Staff, "Staff")}


def _number_text(value: str) -> str:
    """A rate or average as the JSON text the resolvers give it (a Python float through orjson):
    its decimals without trailing zeros, a whole number with ".0"; null when there is none."""
    trimmed = f"trim_scale({value})"
    whole = f"scale({trimmed}) = 0"
    return f"coalesce(CASE WHEN {whole} THEN {trimmed}::text || '.0' ELSE {trimmed}::text END, 'null')"


def _ratio(numerator: str, denominator: str) -> str:
    """stats.rounded in SQL: the exact ratio rounded half up (numeric's round) to stats.PLACES."""
    return f'round(m."{numerator}"::numeric / NULLIF(m."{denominator}", 0), {stats.PLACES})'


# What each field of a ServiceStatsRow is as JSON text, over the merged row "m" (its key as text,
# "sort_key"; its figures) and its label's row "l".
ROW_JSON = {
    **{name: f'm."{name}"::text' for name in stats.FIGURES},
    "overdue": '(m."overdue_open" + m."completed_late")::text',
    "completion_rate": _number_text(_ratio("completed", "accepted")),
    "on_time_rate": _number_text(_ratio("completed_on_time", "completed")),
    "average_working_days": _number_text(_ratio("working_days", "timed")),
}


def rows_json(statements: list[tuple[str, list, Any]], by: stats.Dimension, plan: list[tuple]) -> Sql:
    """One statement whose value is the JSON text of serviceStats's rows for the selection `plan`
    (execution.row_plan): the pieces' figures (stats.statements) added up per key, in the keys'
    order as text, each row with its label and global id, the rates rounded as stats.rounded does;
    held to the resolvers' rows by tests/test_stats_json.py."""
    key_text = {
        stats.Dimension.TOTAL: "NULL::text",
        stats.Dimension.MONTH: "to_char(p.\"key\", 'YYYY-MM-DD')",
    }.get(by, 'p."key"::text')
    sums = ", ".join(f'coalesce(SUM(p."{name}"), 0)::bigint AS "{name}"' for name in stats.FIGURES)
    pieces = join([marked(sql, parameters) for sql, parameters, _ in statements], " UNION ALL ")
    selected = ", ".join(f'"{name}"' for name in stats.FIGURES)
    key = '"key"' if by != stats.Dimension.TOTAL else 'NULL::text AS "key"'
    # Each piece's columns by name (a union takes them by position).
    union = Sql(f"SELECT {key}, {selected} FROM (") + pieces + ") AS u"
    merged = Sql(f'SELECT p."key", {key_text} AS sort_key, {sums} FROM (') + union + ') AS p GROUP BY p."key"'
    labelled = LABELLED.get(str(by))
    key_json, label_json, join_label = "to_json(m.sort_key)::text", "'null'", ""
    if labelled is not None:
        model, type_name = labelled
        global_id = f"encode(convert_to('{type_name}:' || m.sort_key, 'UTF8'), 'base64')"
        key_json, label_json = f"to_json({global_id})::text", 'to_json(l."name")::text'
        join_label = f' LEFT JOIN "{model._meta.db_table}" AS l ON l."id" = m."key"'
    values = {"key": key_json, "label": label_json, **ROW_JSON}
    members = []
    for response_key, attribute, leaf, _non_null in plan:
        value = "'\"ServiceStatsRow\"'" if leaf is None else f"coalesce({values[attribute]}, 'null')"
        members.append(f"'{json.dumps(response_key)}:' || {value}")
    row = "'{' || " + (" || ',' || ".join(members) if members else "''") + " || '}'"
    rows = f"string_agg({row}, ',' ORDER BY m.sort_key COLLATE \"C\")"
    return Sql(f"SELECT '[' || coalesce({rows}, '') || ']' FROM (") + merged + f") AS m{join_label}"


class ServiceQueries:
    def __init__(self, registry) -> None:
        self.registry = registry
        self.case_node = registry.node(Case)
        self.evaluation_node = registry.node(Evaluation)

    def fields(self) -> dict[str, Any]:
        return {
            "service_stats": strawberry.field(
                resolver=self._service_stats(),
                name="serviceStats",
                metadata={ROWS_AS_JSON: True},
                description="办结率, 限时办结率, overdue, average working days "
                "and trips saved of the cases in your area, per key",
            ),
            "overdue_cases": strawberry.field(
                resolver=self._overdue(),
                name="overdueCases",
                description="Open cases past their promised due date, or due "
                "within `dueWithinDays` working days; earliest first",
            ),
            "rating_stats": strawberry.field(
                resolver=self._rating_stats(),
                name="ratingStats",
                description="Satisfaction and rectifications (好差评) per key",
            ),
            "case_progress": strawberry.field(
                resolver=self._progress(),
                name="caseProgress",
                description="Anyone with a case number and its query code: the "
                "item, state, masked applicant and steps (a supplement request with what to bring)",
            ),
            "case_workflow": strawberry.field(
                resolver=_workflow, name="caseWorkflow", description="The case state machine, as data"
            ),
        }

    async def _labels(
        self, access, dimension: str, keys: list[str | None]
    ) -> dict[str, tuple[str, str | None]]:
        """Row keys as global ids with names, for rows per organization, item or staff member; a
        staff member's name only for callers who may read that staff record."""
        if dimension not in LABELLED:
            return {}
        model, type_name = LABELLED[dimension]
        ids = [int(k) for k in keys if k and k.isdigit()]
        # The ids as literals (integers, from the rows' own keys): a province's 1,111 organizations
        # as 1,111 bound parameters cost a tenth of the dashboard's request to build and bind.
        rows = model.filter(id__in=RawSQL("(" + ",".join(map(str, ids)) + ")") if ids else [])
        if model is Staff:
            node = self.registry.node(Staff)
            rows = rows.filter(access.rows(node)) if access.can(node, Op.READ) else rows.filter(id__in=[])
        names = {row["id"]: row["name"] for row in await rows_of(rows.values("id", "name"))} if ids else {}
        return {str(pk): (to_global_id(type_name, pk), names.get(pk)) for pk in ids}

    def _service_stats(self):
        node = self.case_node

        async def resolve(root, info, by=stats.Dimension.TOTAL, from_=None, to=None, as_of=None, soon_days=3):
            access = await node.registry.access(info)
            scope = stats.Scope(
                access.rows(node, counted=True),
                access.rows(node, counted=True, on=CaseRollup),
                access.reads_everything(node),
            )
            today = _judged_on(as_of, info)
            if not 0 <= soon_days <= MAX_SOON_DAYS:
                raise DomainError(
                    "VALIDATION_FAILED", f"soonDays must be 0 to {MAX_SOON_DAYS}", field="soonDays"
                )
            soon = deadlines.add_working_days(today, soon_days, await deadlines.calendar_for(today))[0]
            period, dimension = stats.Period(from_, to), stats.Dimension(by)
            plan = row_plan(info)
            if plan is not None and dimension != stats.Dimension.TAG:
                statements = stats.statements(scope, period, dimension, today, soon)
                connection = statements[0][2]
                if connection.capabilities.dialect == "postgres":
                    # One statement, as fast with parallel workers as without: no transaction.
                    text, parameters = finish(rows_json(statements, dimension, plan), True)
                    return RawRows((await connection.execute_query(text, parameters))[1][0][0])
            async with serial(Case):  # the pieces apart: the ends' count would get parallel workers
                rows = await stats.service_stats(scope, period, dimension, today, soon)
            labels = await self._labels(access, str(by), [r.key for r in rows])
            return [
                ServiceStatsRow(
                    key=labels.get(r.key, (r.key, None))[0],
                    label=labels.get(r.key, (r.key, None))[1],
                    accepted=r.accepted,
                    completed=r.completed,
                    completed_on_time=r.completed_on_time,
                    completed_late=r.completed_late,
                    overdue_open=r.overdue_open,
                    overdue=r.overdue,
                    due_soon=r.due_soon,
                    paused=r.paused,
                    trips_saved=r.trips_saved,
                    average_working_days=r.average_working_days,
                    completion_rate=r.completion_rate,
                    on_time_rate=r.on_time_rate,
                )
                for r in rows
            ]

        return resolver(
            resolve,
            list[ServiceStatsRow],
            _period_arguments(
                by=(StatsDimension, stats.Dimension.TOTAL, "What a row is per"),
                soon_days=(int, 3, "How many working days ahead counts as due soon"),
            ),
            names={"from_": "from"},
        )

    def _overdue(self):
        node = self.case_node

        async def resolve(root, info, as_of=None, due_within_days=None, first=100):
            access = await node.registry.access(info)
            if not 1 <= first <= MAX_OVERDUE:
                raise DomainError("VALIDATION_FAILED", f"first must be 1 to {MAX_OVERDUE}", field="first")
            today = _judged_on(as_of, info)
            soon = None
            if due_within_days is not None:
                if not 0 <= due_within_days <= MAX_SOON_DAYS:
                    raise DomainError(
                        "VALIDATION_FAILED",
                        f"dueWithinDays must be 0 to {MAX_SOON_DAYS}",
                        field="dueWithinDays",
                    )
                soon = deadlines.add_working_days(
                    today, due_within_days, await deadlines.calendar_for(today)
                )[0]
            rows = stats.overdue_cases(access.rows(node), today, soon)
            return await rows.order_by("promised_due_date", "id").limit(first)

        return resolver(
            resolve,
            list[node.object_type],
            {
                "as_of": (dt.date | None, None, "The day judged (default: today)"),
                "due_within_days": (
                    int | None,
                    None,
                    "Instead of overdue: due from asOf to this many working days on",
                ),
                "first": (int, 100, f"At most this many (up to {MAX_OVERDUE})"),
            },
        )

    def _rating_stats(self):
        node = self.evaluation_node

        async def resolve(root, info, by=stats.RatingDimension.TOTAL, from_=None, to=None, as_of=None):
            access = await node.registry.access(info)
            today = _judged_on(as_of, info)
            rows = await stats.rating_stats(
                access.rows(node),
                stats.Period(from_, to),
                stats.RatingDimension(by),
                today,
                everywhere=access.reads_everything(node),
            )
            labels = await self._labels(access, str(by), [r.key for r in rows])
            return [
                RatingStatsRow(
                    key=labels.get(r.key, (r.key, None))[0],
                    label=labels.get(r.key, (r.key, None))[1],
                    ratings=r.ratings,
                    average_score=r.average_score,
                    very_satisfied=r.by_level[5],
                    satisfied=r.by_level[4],
                    basically_satisfied=r.by_level[3],
                    dissatisfied=r.by_level[2],
                    very_dissatisfied=r.by_level[1],
                    satisfaction_rate=r.satisfaction_rate,
                    rectifications_open=r.rectifications_open,
                    rectifications_overdue=r.rectifications_overdue,
                    rectifications_closed=r.rectifications_closed,
                )
                for r in rows
            ]

        return resolver(
            resolve,
            list[RatingStatsRow],
            _period_arguments(
                by=(RatingDimension, stats.RatingDimension.TOTAL, "What a row is per"),
            ),
            names={"from_": "from"},
        )

    def _progress(self):
        async def resolve(root, info, number, query_code):
            await _lookup_budget(info)
            number = number.strip()
            case = await Case.get_or_none(number=number) if len(number) <= 32 else None
            if not case_service.query_code_matches(case, number, query_code, secret(info)):
                # The same answer for a wrong code and a missing case: numbers are not secrets, codes are.
                raise DomainError("NOT_FOUND", "no case has this number and query code", field="number")
            return CaseProgress(
                number=case.number,
                item=await Item.filter(id=case.item_id).first().values_list("name", flat=True),
                status=case.status,
                applicant=mask_name(case.applicant_name, case.applicant_type),
                promised_due_date=case.promised_due_date,
                timeline=[ProgressStep(**vars(step)) for step in await progress.timeline(case)],
            )

        return resolver(
            resolve,
            CaseProgress,
            {
                "number": (str, REQUIRED, "Case number"),
                "query_code": (str, REQUIRED, "Query code given at submission"),
            },
        )


def _period_arguments(**more: tuple[Any, Any, str]) -> dict[str, tuple[Any, Any, str]]:
    return {
        **more,
        "from_": (dt.date | None, None, "First day of the period (inclusive)"),
        "to": (dt.date | None, None, "Last day of the period (inclusive)"),
        "as_of": (dt.date | None, None, "The day overdue and due-soon are judged on (default: today)"),
    }


def _workflow() -> list[WorkflowStep]:
    return [
        WorkflowStep(
            action=step.action,
            label=step.label,
            from_statuses=sorted(step.sources),
            to_status=step.target,
            roles=sorted(step.roles),
            powers=sorted(step.powers),
            place=workflow.PLACE_TEXT[step.place],
        )
        for step in workflow.STEPS
    ]


def calendar_fields(registry) -> dict[str, Any]:
    calendar_node = registry.node(CalendarDay)

    async def resolve(root, info, year, days):
        access = await registry.access(info)
        access.require(calendar_node, Op.CREATE)
        access.require(calendar_node, Op.UPDATE)
        entries = [calendar_service.DayOff(d.day, d.is_workday, d.name) for d in days]
        async with in_transaction():
            changed, recomputed = await calendar_service.import_year(year, entries)
        return CalendarImport(year=year, days_changed=changed, cases_recomputed=recomputed)

    return {
        "import_calendar": strawberry.field(
            resolver=resolver(
                resolve,
                CalendarImport,
                {
                    "year": (int, REQUIRED, "The year of the notice"),
                    "days": (
                        list[CalendarExceptionInput],
                        REQUIRED,
                        "Its holidays and make-up workdays (调休)",
                    ),
                },
            ),
            name="importCalendar",
            description="Enter a year from the State Council notice: weekdays work, weekends rest, except "
            "the days listed; stored due dates the change touches are recomputed",
        )
    }
