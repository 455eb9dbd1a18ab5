"""What the API exposes of each model: the only per-model code of the GraphQL layer."""

from __future__ import annotations

from tortoise.expressions import F, Q

from api.models.audit import AuditEntry
from api.models.calendar import CalendarDay, CalendarRevision
from api.models.case import AgencyBatch, AgencyBatchCase, Case, CaseEvent, Evaluation
from api.models.funding import STANDARDIZATION_CHECKS, Funding, RoomInspection
from api.models.item import GuideRevision, Item, ItemAssignment, ItemLocal, Material, WindowItem
from api.models.org import AreaOutline, Organization, Window
from api.models.query import PersistedQuery
from api.models.report import Report
from api.models.staff import DutyShift, Staff
from api.models.user import Role
from api.models.webhook import WebhookDelivery, WebhookEndpoint
from api.services import calendar as calendar_service
from api.services import catalogue, guides, outbox, outlines, ratings, reports, rollup, stats, webhooks
from api.services.deadlines import local_date
from api.services.pii import PiiKind
from schema.generator.policy import PUBLIC, Access, Grant, Op, grant
from schema.generator.scalars import graphql_enum
from schema.generator.spec import MUTATIONS, Derived, Exposure, Figure


def _completed(_today: object) -> Q:
    return Q(completed_on__isnull=False)


# The figures of the dashboard (serviceStats, ratingStats), per group of any aggregate of cases or
# ratings; the same definitions (api/services/stats.py), so a report over the cases accepted in a
# period gives the dashboard's figures for it.
CASE_FIGURES = (
    Figure(
        "accepted",
        "Accepted: cases with a day of acceptance (受理量)",
        lambda _t: Q(accepted_on__isnull=False),
    ),
    Figure("completed", "Completed: cases with a day of completion (办结量)", _completed),
    Figure(
        "completion_rate",
        "Completion rate: completed / accepted (办结率)",
        _completed,
        lambda _t: Q(accepted_on__isnull=False),
    ),
    Figure(
        "on_time_rate",
        "On-time rate: completed by the promised due date / completed (限时办结率)",
        lambda _t: Q(completed_on__lte=F("promised_due_date")),
        _completed,
    ),
    Figure(
        "overdue",
        "Overdue: open with the clock running past the promised due date today, plus completed late (逾期)",
        lambda today: (
            Q(status__in=stats.OPEN_CLOCK, promised_due_date__lt=today)
            | Q(completed_on__gt=F("promised_due_date"))
        ),
    ),
)
RATING_FIGURES = (
    Figure(
        "satisfaction_rate",
        "Satisfaction rate: ratings of 基本满意 or better / ratings (满意率)",
        lambda _t: Q(score__gte=ratings.Level.BASICALLY_SATISFIED.value),
        lambda _t: Q(),
    ),
    Figure(
        "bad",
        "Bad ratings: 不满意 or 非常不满意 (差评数)",
        lambda _t: Q(score__lte=ratings.Level.DISSATISFIED.value),
    ),
)

R, C, U, D = Op.READ, Op.CREATE, Op.UPDATE, Op.DELETE


async def organization_written(organization: Organization, before: dict | None) -> None:
    """A changed tier moves its cases' statistics; a hall's or room's new construction status is
    an event for other systems."""
    await rollup.organization_written(organization, before)
    await outbox.organization_written(organization, before)


def _in_force(assignment: ItemAssignment, info) -> bool:
    from schema.domain.cases import now  # the request's clock; domain types import these specs

    return bool(assignment.active) and assignment.effective_from <= local_date(now(info))


STAFF_ROLES = tuple(Role)


def reads(roles=STAFF_ROLES, *, everywhere: bool = False, **more: Grant) -> dict[str, Grant]:
    """Read grants for these roles, with fuller grants for some roles given by name."""
    out = {role: grant(R, everywhere=everywhere) for role in roles}
    return {**out, **more}


# The public directory and catalogue: anyone reads them, in every district.
PUBLIC_READ = (PUBLIC, *STAFF_ROLES)
# Roles that see applicants' ID numbers and phones in clear (each read audited): those who handle
# cases; everyone else sees them masked. Staff members' own data is for administrators only.
CASE_PII_ROLES = frozenset({Role.ADMIN, Role.CLERK, Role.AGENT})
CASE_SCOPE = ("submitted_at_organization", "handling_organization")
CONSTRUCTION_FIELDS = ("construction_status", "construction_started_on", "built_on", "standardized_on")
ORG_WRITABLE = (
    "name",
    "tier",
    "kind",
    "parent",
    "population",
    "address",
    "longitude",
    "latitude",
    "duty_phone",
    "construction_status",
    "construction_started_on",
    "built_on",
    "standardized_on",
)
ITEM_WRITABLE = (
    "name",
    "type",
    "source",
    "base_code",
    "implementation_code",
    "department",
    "case_kind",
    "legal_limit_days",
    "promised_limit_days",
    "fee_fen",
    "online",
    "visits_required",
    "needs_home_visit",
    "needs_village_publicity",
    "consult_phone",
    "complaint_phone",
    "in_force",
)


def report_fields() -> frozenset[str]:
    """The root fields a saved report may read: every model's list and aggregate."""
    return frozenset(name for e in EXPOSURES for name in (e.plural, f"{e.plural}Aggregate"))


async def report_written(report: Report, before: dict | None) -> None:
    reports.check_report(report, report_fields())


def report_owner(caller) -> dict:
    """A new report is the caller's, kept with the caller's organization."""
    from schema.generator.errors import EngineError

    if caller.user_id is None:
        raise EngineError("FORBIDDEN", "reports belong to signed-in users: sign in to save one")
    if caller.organization_id is None:
        raise EngineError("FORBIDDEN", "a report is kept with its owner's organization: you have none")
    return {"owner_id": caller.user_id, "organization_id": caller.organization_id}


def _owns(caller):
    return Q(owner_id=caller.user_id) if caller.user_id is not None else Q(id__in=[])


REPORT_FIELDS = ("name", "description", "document", "variables", "view", "visibility", "role")

LOCAL_WRITABLE = ("promised_limit_days", "fee_note", "consult_phone", "complaint_phone")


def catalogue_access(publisher: str) -> Access:
    """Anyone reads the catalogue in every district; administrators (and integrators' keys) change
    only what their region publishes: `publisher` is the path from a row to its item's publisher."""
    return Access(
        reads(
            PUBLIC_READ,
            everywhere=True,
            ADMIN=grant(R, C, U, D, everywhere=True),
            # the province platform keeps the province's list in step
            INTEGRATOR=grant(R, C, U, everywhere=True),
        ),
        scope=(publisher,),
        referenced_anywhere=True,  # a district assigns and serves the province's items
    )


CATALOGUE_ACCESS = catalogue_access("publisher")

EXPOSURES = [
    Exposure(
        Organization,
        "An organization of the three tiers: region, center (政务服务中心), hall (便民服务大厅) or "
        "village/community service room (便民服务室)",
        plural="organizations",
        access=Access(
            reads(
                PUBLIC_READ,
                everywhere=True,
                SUPERVISOR=grant(R, U, fields=CONSTRUCTION_FIELDS, everywhere=True),
                ADMIN=grant(R, C, U, D, everywhere=True),
            ),
            scope=("id",),
        ),
        relations=("parent",),
        reverse=(
            "children",
            "windows",
            "assignments",
            "handled_cases",
            "submitted_cases",
            "fundings",
            "inspections",
        ),
        create=("code", *ORG_WRITABLE),
        update=ORG_WRITABLE,
        nested_create=("children",),
        mutations=MUTATIONS,
        hidden=("path",),  # kept by the server for area conditions; the tree is `parent`/`children`
        tree_path="path",  # `within: ID`: an organization's area, for lists, filters and aggregates
        after_write=organization_written,  # statistics of a new tier; construction events
        descriptions={
            "tier": "Tier (层级)",
            "kind": "Kind: 办事处, 队, 村 or 社区 (类型)",
            "parent": "Organization directly above (上级组织)",
            "population": "People served (服务人口)",
            "address": "Address (地址)",
            "longitude": "Longitude, WGS 84 (经度)",
            "latitude": "Latitude, WGS 84 (纬度)",
            "duty_phone": "Duty phone (值班电话)",
            "construction_status": "Construction status of a hall or room (建设状态)",
            "construction_started_on": "Construction started (开工日期)",
            "built_on": "Built (建成日期)",
            "standardized_on": "Passed all six standardization checks (标准化日期)",
            "children": "Organizations directly below (下级组织)",
            "windows": "Service windows (窗口)",
            "assignments": "Items assigned to this organization (承接事项)",
            "handled_cases": "Cases this organization handles (承办办件)",
            "submitted_cases": "Cases submitted here (受理点办件)",
            "fundings": "Funding received (资金)",
            "inspections": "Standardization inspections (标准化检查)",
        },
    ),
    Exposure(
        Window,
        "A service window (窗口) at the center or a hall",
        plural="windows",
        access=Access(
            reads(PUBLIC_READ, everywhere=True, ADMIN=grant(R, C, U, D, everywhere=True)),
            scope=("organization",),
        ),
        relations=("organization",),
        reverse=("window_items",),
        create=("organization", "code", "name", "description"),
        update=("name", "description"),
        mutations=MUTATIONS,
        descriptions={"window_items": "Items served at this window (窗口事项)"},
    ),
    Exposure(
        AreaOutline,
        "The outline of an organization's area (辖区边界), GeoJSON drawn on the coverage map",
        plural="areaOutlines",
        access=Access(
            reads(everywhere=True, ADMIN=grant(R, C, U, D)),  # like the directory: maps for everyone
            scope=("organization",),
        ),
        relations=("organization",),
        create=("organization", "name", "geojson"),
        update=("name", "geojson"),
        filterable=("organization", "name", "created_at", "updated_at"),
        sortable=("organization", "name", "created_at", "updated_at"),
        aggregatable=("created_at", "updated_at"),
        mutations=MUTATIONS,
        after_write=outlines.outline_written,
        descriptions={
            "organization": "Whose area it is (the district, a sub-district)",
            "name": "Where the outline came from, e.g. the file name",
            "geojson": "A GeoJSON Polygon or MultiPolygon (bare, a Feature or a FeatureCollection) in "
            "longitude/latitude, up to 2 MB",
        },
    ),
    Exposure(
        Staff,
        "A staff member (工作人员) of an organization",
        plural="staffMembers",
        access=Access(
            reads(ADMIN=grant(R, C, U, D)),
            scope=("organization",),
            clear_roles=frozenset({Role.ADMIN}),
        ),
        pii={"id_number": PiiKind.ID_NUMBER, "phone": PiiKind.PHONE},
        relations=("organization", "window"),
        reverse=("duty_shifts",),
        create=("name", "organization", "window", "position", "phone", "id_number", "active"),
        update=("name", "window", "position", "phone", "id_number", "active"),
        mutations=MUTATIONS,
        descriptions={
            "window": "Window the staff member serves at (窗口)",
            "duty_shifts": "Duty roster (值班)",
            "id_number": "ID number, masked unless your role needs it (身份证号)",
            "phone": "Phone, masked unless your role needs it (电话)",
        },
    ),
    Exposure(
        DutyShift,
        "A day on duty (值班) of a staff member; published shifts are public (值班人员信息公开)",
        plural="dutyShifts",
        access=Access(reads(ADMIN=grant(R, C, U, D), CLERK=grant(R, C, U, D)), scope=("organization",)),
        relations=("organization", "staff"),
        create=("organization", "staff", "duty_date", "period", "published_at"),
        update=("duty_date", "period", "published_at"),
        mutations=MUTATIONS,
        descriptions={
            "duty_date": "Day on duty (值班日期)",
            "period": "Part of the day (时段)",
            "published_at": "When the shift was published (公开时间)",
        },
    ),
    Exposure(
        Item,
        "A service item of the catalogue (政务服务事项); the same item at every tier (三统一)",
        plural="items",
        access=CATALOGUE_ACCESS,
        relations=("publisher",),
        reverse=("guide_revisions", "assignments", "cases", "window_items", "locals"),
        create=("code", "publisher", *ITEM_WRITABLE),
        update=ITEM_WRITABLE,
        nested_create=("guide_revisions",),
        mutations=MUTATIONS,
        after_write=rollup.item_written,  # new 三办 tags move its cases' statistics
        descriptions={
            "type": "National item type (事项类型)",
            "source": "Source of authority (权力来源)",
            "base_code": "Base code (基本编码)",
            "implementation_code": "Implementation code (实施编码)",
            "department": "Responsible department (实施部门)",
            "case_kind": "Case kind (办件类型)",
            "legal_limit_days": "Legal time limit in working days (法定办结时限)",
            "promised_limit_days": "Promised time limit in working days (承诺办结时限)",
            "fee_fen": "Fee in fen (收费, 分)",
            "online": "Can be handled online (网上办理)",
            "visits_required": "On-site visits required (到办事现场次数)",
            "tag_immediate": "三办: done on the spot (马上办), from the case kind",
            "tag_online": "三办: done online (网上办)",
            "tag_one_visit": "三办: at most one visit (一次办)",
            "needs_home_visit": "Needs a home visit (入户调查)",
            "needs_village_publicity": "Needs village publicity (村公示)",
            "consult_phone": "Consultation phone (咨询电话)",
            "complaint_phone": "Supervision and complaint phone (监督投诉电话)",
            "in_force": "In the current catalogue (在用)",
            "publisher": "The region that publishes the item and alone changes it (发布层级): a district "
            "for its own items; null for the list published at the top (the province's)",
            "locals": "Each district's own promised limit, fee note and phones (本地实施要素)",
            "guide_revisions": "Guide history (服务指南版本)",
            "assignments": "Organizations this item is assigned to (事项下放)",
            "cases": "Cases of this item (办件)",
            "window_items": "Windows serving this item (服务窗口)",
        },
    ),
    Exposure(
        ItemLocal,
        "A district's own values of an item (本地实施要素): its promised limit (承诺时限, within the "
        "legal limit), fee note and phones; its cases take the promised limit from here",
        plural="itemLocals",
        access=Access(
            reads(
                PUBLIC_READ,
                everywhere=True,
                ADMIN=grant(R, C, U, D, everywhere=True),
                INTEGRATOR=grant(R, C, U, everywhere=True),
            ),
            scope=("organization",),
        ),
        relations=("item", "organization"),
        create=("item", "organization", *LOCAL_WRITABLE),
        update=LOCAL_WRITABLE,
        mutations=MUTATIONS,
        descriptions={
            "item": "Item (事项)",
            "organization": "The district (or province) whose values these are (实施区域)",
            "promised_limit_days": "Promised limit in working days (承诺办结时限), at most the legal limit",
            "fee_note": "Fee note (收费说明)",
            "consult_phone": "Consultation phone (咨询电话)",
            "complaint_phone": "Supervision and complaint phone (监督投诉电话)",
        },
    ),
    Exposure(
        GuideRevision,
        "A published version of an item's service guide (服务指南)",
        plural="guideRevisions",
        access=catalogue_access("item__publisher"),
        relations=("item",),
        reverse=("materials",),
        create=("item", "revision", "effective_from", "conditions", "process", "change_note"),
        update=("effective_from", "conditions", "process", "change_note"),
        nested_create=("materials",),
        mutations=MUTATIONS,
        after_write=guides.revision_written,
        descriptions={
            "item": "Item (事项)",
            "revision": "Revision number (版本号): a new one is the item's latest + 1 (the first is 1)",
            "effective_from": "In force from (生效日期): in revision order, never before an earlier one",
            "conditions": "Conditions of acceptance (受理条件)",
            "process": "Handling process (办理流程)",
            "change_note": "What changed (修订说明): required from revision 2 on",
            "materials": "Application materials (申请材料)",
        },
    ),
    Exposure(
        Material,
        "An application material (申请材料) of a guide revision",
        plural="materials",
        access=catalogue_access("guide_revision__item__publisher"),
        relations=("guide_revision",),
        create=("guide_revision", "position", "name", "form", "copies", "required", "source"),
        update=("position", "name", "form", "copies", "required", "source"),
        mutations=MUTATIONS,
        after_write=guides.material_written,
        descriptions={
            "guide_revision": "Guide revision (指南版本)",
            "position": "Position in the list (序号)",
            "name": "Name (材料名称), listed once per revision",
            "form": "Form (材料形式)",
            "copies": "Copies (份数)",
            "required": "Required (必要)",
        },
    ),
    Exposure(
        ItemAssignment,
        "An item assigned to an organization with a power (事项下放/委托/代办)",
        plural="itemAssignments",
        access=Access(
            reads(PUBLIC_READ, everywhere=True, ADMIN=grant(R, C, U, everywhere=True)),
            scope=("organization",),
        ),
        relations=("item", "organization"),
        create=("item", "organization", "power", "legal_basis", "effective_from"),
        update=("power", "legal_basis"),
        mutations=frozenset({"create", "update"}),
        after_write=catalogue.assignment_written,
        descriptions={
            "item": "Item (事项)",
            "power": "Power of the organization over the item (权限)",
            "legal_basis": "Legal basis document (依据文件)",
            "effective_from": "In force from (生效日期)",
            "revoked_at": "When the assignment was revoked (撤销时间), by revokeItemAssignments",
            "active": "True until revoked, null once revoked (未撤销); it may start later: see inForce",
        },
        derived=(
            Derived(
                "in_force",
                bool,
                _in_force,
                reads=("active", "effective_from"),
                description="In force today (生效中): not revoked, and effectiveFrom is today or earlier "
                "(the district's day); cases can be filed for it",
                sql=lambda column, today: (
                    f"(COALESCE({column('active')}, FALSE) "
                    f"AND {column('effective_from')} <= '{today.isoformat()}')"
                ),
            ),
        ),
    ),
    Exposure(
        WindowItem,
        "An item served at a window",
        plural="windowItems",
        access=Access(
            reads(PUBLIC_READ, everywhere=True, ADMIN=grant(R, C, D, everywhere=True)),
            scope=("window__organization",),
        ),
        relations=("window", "item"),
        create=("window", "item"),
        mutations=frozenset({"create", "delete"}),
        descriptions={"window": "Window (窗口)", "item": "Item (事项)"},
    ),
    Exposure(
        Case,
        "A case (办件): one application and its way through the tiers",
        plural="cases",
        hidden=("query_code_hash",),
        # Cases change only through the workflow verbs (submitCase, acceptCase, ...): CREATE and
        # UPDATE here are what those verbs need; the state machine then checks each step.
        access=Access(
            reads(CLERK=grant(R, C, U), AGENT=grant(R, C, U), INTEGRATOR=grant(R, C)),
            scope=CASE_SCOPE,
            clear_roles=CASE_PII_ROLES,
        ),
        pii={"applicant_id_number": PiiKind.ID_NUMBER, "applicant_phone": PiiKind.PHONE},
        relations=(
            "item",
            "guide_revision",
            "submitted_at_organization",
            "handling_organization",
            "held_by",
            "calendar_revision",
        ),
        reverse=("events", "batch_cases", "evaluation"),
        figures=CASE_FIGURES,
        descriptions={
            "number": "Case number (办件编号)",
            "item": "Item applied for (事项)",
            "guide_revision": "Guide revision in force when submitted (适用指南版本)",
            "applicant_type": "Person or company (申请人类型)",
            "applicant_name": "Applicant (申请人)",
            "applicant_id_number": "ID number or credit code, masked unless your role needs it (证件号码)",
            "applicant_phone": "Phone, masked unless your role needs it (联系电话)",
            "channel": "Channel (申请渠道)",
            "submitted_at": "Submitted (申请时间)",
            "submitted_at_organization": "Where it was submitted (受理点)",
            "handling_organization": "Organization that handles it (承办单位)",
            "status": "State (办件状态)",
            "decision": "Decision (决定)",
            "accepted_at": "Accepted (受理时间)",
            "legal_due_date": "Legal due date, stored (法定办结日期)",
            "promised_due_date": "Promised due date, stored (承诺办结日期)",
            "due_dates_estimated": "Due dates used the weekday rule for days the calendar lacks (预估)",
            "completed_at": "Completed (办结时间)",
            "delivered_at": "Delivered (送达时间)",
            "trips_saved": "Trips saved for the applicant (少跑次数)",
            "held_by": "Organization holding the papers; null while an agency batch carries them (材料所在)",
            "status_before_pause": "State to return to when a supplement pause ends",
            "accepted_on": "Day of acceptance, Beijing time (受理日期)",
            "legal_limit_days": "The item's legal limit when the case was accepted, working days (法定时限)",
            "promised_limit_days": "The item's promised limit when the case was accepted (承诺时限)",
            "completed_on": "Day of completion, Beijing time (办结日期)",
            "working_days_taken": "Working days from acceptance to completion, pauses left out (用时)",
            "paused_working_days": "Working days paused for supplementary papers (补正天数)",
            "calendar_revision": "Calendar revision the due dates were computed on (所用日历版本)",
            "version": "Version for optimistic locking (版本)",
            "events": "Steps of the case (办理过程)",
            "batch_cases": "Agency trips of the case (代办批次)",
            "evaluation": "Rating (好差评)",
        },
    ),
    Exposure(
        CaseEvent,
        "A step of a case (办理环节): who did what, where and when",
        plural="caseEvents",
        access=Access(reads(), scope=tuple(f"case__{path}" for path in CASE_SCOPE)),
        relations=("case", "organization", "batch"),
        descriptions={
            "case": "Case (办件)",
            "batch": "Agency batch of a handoff (代办批次)",
            "action": "Step (环节)",
            "from_status": "State before (前状态)",
            "to_status": "State after (后状态)",
            "actor_name": "Who (经办人)",
            "occurred_at": "When (时间)",
        },
    ),
    Exposure(
        AgencyBatch,
        "A batch of agency cases (代办批次) carried from one organization to another",
        plural="agencyBatches",
        access=Access(reads(), scope=("origin", "destination")),
        relations=("origin", "destination", "carrier"),
        reverse=("batch_cases",),
        descriptions={
            "number": "Batch number (批次号)",
            "origin": "From (代办点)",
            "destination": "To (承办单位)",
            "carrier": "Carrier (代办员)",
            "dispatched_at": "Dispatched (送出时间)",
            "received_at": "Received (接收时间)",
            "batch_cases": "Cases in the batch (批次办件)",
        },
    ),
    Exposure(
        AgencyBatchCase,
        "A case travelling in an agency batch",
        plural="agencyBatchCases",
        access=Access(reads(), scope=("batch__origin", "batch__destination")),
        relations=("batch", "case"),
        descriptions={"batch": "Batch (批次)", "case": "Case (办件)"},
    ),
    Exposure(
        Evaluation,
        "A rating of a case (好差评): 5 非常满意, 4 满意, 3 基本满意, 2 不满意, 1 非常不满意",
        plural="evaluations",
        access=Access(reads(), scope=tuple(f"case__{path}" for path in CASE_SCOPE)),
        relations=("case", "staff"),
        figures=RATING_FIGURES,
        descriptions={
            "case": "Case rated (办件)",
            "staff": "Staff member rated: who decided the case (被评价人)",
            "rectification_due_date": "A bad rating's rectification is due (整改期限)",
            "rectified_at": "Rectification closed (整改完成)",
            "rectification_response": "What was rectified (整改情况)",
            "follow_up": "How the applicant was followed up (回访情况)",
            "score": "Score 1-5, the level as a number (评价分值)",
            "reason": "Reason (评价理由)",
            "rated_at": "Rated (评价时间)",
        },
        derived=(
            Derived(
                "level",
                graphql_enum(ratings.Level),
                lambda rating, _info: ratings.Level(rating.score),
                reads=("score",),
                description="Level, as rateCase takes it (评价等级)",
                sql=lambda column, _today: (
                    f"CASE {column('score')} "
                    + " ".join(f"WHEN {level.value:d} THEN '{level.name}'" for level in ratings.Level)
                    + " END"
                ),
            ),
        ),
    ),
    Exposure(
        Funding,
        "Money granted to an organization, in fen (资金)",
        plural="fundings",
        access=Access(reads(ADMIN=grant(R, C, U, D), SUPERVISOR=grant(R, C, U, D)), scope=("organization",)),
        relations=("organization",),
        create=("organization", "amount_fen", "purpose", "granted_on", "source", "note"),
        update=("amount_fen", "purpose", "granted_on", "source", "note"),
        mutations=MUTATIONS,
        descriptions={
            "amount_fen": "Amount in fen (金额, 分)",
            "purpose": "Purpose (用途)",
            "granted_on": "Granted (拨付日期)",
            "source": "Source of funds (资金来源)",
        },
    ),
    Exposure(
        RoomInspection,
        "A standardization inspection of a room or hall (标准化检查): the six checks",
        plural="roomInspections",
        access=Access(reads(ADMIN=grant(R, C), SUPERVISOR=grant(R, C)), scope=("organization",)),
        relations=("organization",),
        create=("organization", "inspected_on", "inspector_name", *STANDARDIZATION_CHECKS, "notes"),
        mutations=frozenset({"create"}),
        descriptions={
            "inspected_on": "Inspected (检查日期)",
            "inspector_name": "Inspector (检查人)",
            "fixed_place": "统一阵地: a fixed place",
            "org_chart": "组织架构: an organization chart",
            "office_equipment": "办公设备: office equipment",
            "items_and_staff": "事项及人员: items and staff assigned",
            "rules": "规章制度: rules",
            "duty_staff_published": "值班人员信息公开: duty staff published",
        },
    ),
    Exposure(
        CalendarDay,
        "A day of the working-day calendar (工作日历), with holidays and make-up workdays (调休)",
        plural="calendarDays",
        access=Access(reads(PUBLIC_READ, ADMIN=grant(R, C, U), INTEGRATOR=grant(R, C, U))),
        create=("day", "is_workday", "holiday_name"),
        update=("is_workday", "holiday_name"),
        mutations=frozenset({"create", "update"}),
        after_write=calendar_service.day_corrected,
        descriptions={
            "day": "Date (日期)",
            "is_workday": "Working day (工作日)",
            "holiday_name": "Holiday the day belongs to (节假日); for a make-up workday, the holiday it "
            "makes up for",
            "kind": "Kind of day (日期类型): WORKDAY, WEEKEND, HOLIDAY, or WORKDAY_ADJUSTED (调休上班) "
            "worked for the holiday holidayName names; follows from isWorkday, the weekday and holidayName",
        },
    ),
    Exposure(
        CalendarRevision,
        "A change of the working-day calendar (日历版本): a year loaded or imported, or a correction",
        plural="calendarRevisions",
        access=Access(reads(PUBLIC_READ)),
        descriptions={
            "source": "PACKAGE (chinese-calendar), IMPORT (a notice) or ADMIN (a correction)",
            "first_day": "First day changed",
            "last_day": "Last day changed",
            "days_changed": "Days written",
            "description": "What changed",
        },
    ),
    Exposure(
        WebhookEndpoint,
        "A webhook (事件推送): a URL another system registered to receive the events of an area, "
        "signed with a secret shown once (docs/events.md); registered, rotated, disabled and enabled "
        "by the webhook mutations",
        name="Webhook",
        plural="webhooks",
        # Integrators register their own with a key that has the write:webhooks scope.
        access=Access(
            {
                Role.ADMIN: grant(R, C, U),
                Role.SUPERVISOR: grant(R),
                Role.INTEGRATOR: grant(R, C, U),
            },
            scope=("organization",),
        ),
        relations=("organization",),
        reverse=("deliveries",),
        verbs=("createWebhook", "rotateWebhookSecret", "disableWebhook", "enableWebhook"),
        hidden=("secret", "previous_secret", "starts_after_event"),
        descriptions={
            "name": "Name (名称)",
            "url": "Where events are sent (地址)",
            "event_types": "Event types, space-separated, each a type, a family like case.* or * (事件类型)",
            "organization": "Area whose events it receives: this organization and those below it (范围)",
            "previous_secret_until": "After a rotation, the old secret signs beside the new one until then "
            "(旧密钥有效至)",
            "clear_personal_data": "Case events carry the applicant's personal data in clear, each delivery "
            "audited (明文个人信息)",
            "active": "Receiving events (启用)",
            "disabled_at": "Disabled (停用时间)",
            "disabled_reason": "Why it was disabled (停用原因)",
            "failure_streak": "Attempts failed in a row (连续失败次数)",
            "failing_since": "First failure of the current streak (失败起始)",
            "created_at": "Registered (注册时间)",
            "created_by": "Who registered it: a user, or API key <prefix> (注册人)",
            "deliveries": "Deliveries of events to it (推送记录)",
        },
    ),
    Exposure(
        PersistedQuery,
        "A persisted query (已登记查询): an operation registered ahead and run by the SHA-256 of its "
        "text, checked against the schema and the query limits (docs/persisted-queries.md)",
        plural="persistedQueries",
        # Integrators register with a key that has the write:queries scope itself (not write:*:
        # what persisted-only keys may run is granted by name).
        key_scope="queries",
        explicit_write_scope=True,
        access=Access(
            {
                Role.ADMIN: grant(R, C, D),
                Role.SUPERVISOR: grant(R),
                Role.INTEGRATOR: grant(R, C),
            },
            scope=("organization",),
        ),
        relations=("organization",),
        mutations=frozenset({"delete"}),
        verbs=("registerPersistedQuery",),
        descriptions={
            "sha256": "SHA-256 of the document's UTF-8 text, lowercase hex: the id requests name (摘要)",
            "document": "The operation's text (查询文本)",
            "operation_name": "Name of its first operation, if it has one (操作名)",
            "kind": "QUERY, MUTATION or SUBSCRIPTION (类型)",
            "organization": "Organization of who registered it: the area that lists it (登记单位)",
            "created_by": "Who registered it: a user, or API key <prefix> (登记人)",
            "created_at": "Registered (登记时间)",
            "valid": "Valid against the current schema and limits; an invalid one is not run (有效)",
            "problem": "Why it is not valid, after a schema change (问题)",
            "schema_hash": "SHA-256 of the schema (SDL) it was last checked against (架构摘要)",
            "checked_at": "Last checked (检查时间)",
        },
    ),
    Exposure(
        WebhookDelivery,
        "One event sent to one webhook (推送记录): its state and attempts; redeliverWebhookDeliveries "
        "sends it again",
        plural="webhookDeliveries",
        access=Access(
            {Role.ADMIN: grant(R, U), Role.SUPERVISOR: grant(R), Role.INTEGRATOR: grant(R, U)},
            scope=("endpoint__organization",),
        ),
        relations=("endpoint",),
        hidden=("leased_until",),
        verbs=("redeliverWebhookDeliveries",),
        descriptions={
            "endpoint": "Webhook (事件推送)",
            "event_type": "Event type (事件类型)",
            "ordering_key": "Sent one at a time, in order, with the deliveries of the same key and webhook: "
            "case:<id>, org:<id> or item:<id> (顺序键)",
            "state": "PENDING, DELIVERED or FAILED (状态)",
            "attempts": "Attempts made (尝试次数)",
            "next_attempt_at": "Next attempt, while pending (下次尝试)",
            "created_at": "Queued (入队时间)",
            "first_attempt_at": "First attempt (首次尝试)",
            "last_attempt_at": "Last attempt (最近尝试)",
            "delivered_at": "Delivered (送达时间)",
            "last_status": "HTTP status of the last answer (响应状态)",
            "last_error": "Why the last attempt failed (错误)",
            "latency_ms": "Milliseconds the last attempt took (耗时)",
        },
        derived=(
            Derived(
                "webhook_id",
                str,
                lambda delivery, _info: webhooks.message_id(delivery.event_id),
                reads=("event_id",),
                description="The webhook-id header: the event's, the same on every attempt (推送编号)",
                sql=lambda column, _today: f"'evt_' || {column('event_id')}",
            ),
        ),
    ),
    Exposure(
        AuditEntry,
        "An audited event (审计日志): who did what to which object, from where; never changed",
        plural="auditEntries",
        # Events have no organization: district administrators read the platform's whole log.
        access=Access({Role.ADMIN: grant(R)}),
        descriptions={
            "occurred_at": "When (时间)",
            "action": "What was done (操作)",
            "actor_user_id": "Id of the signed-in user who did it (操作人)",
            "actor_name": "Login name given, for sign-in events (登录名)",
            "actor_role": "Role of the actor (角色)",
            "api_key_prefix": "Prefix of the API key used (接口密钥)",
            "object_type": "Type of the object (对象类型)",
            "object_id": "Id of the object (对象编号)",
            "before": "The object before the change (变更前)",
            "after": "The object after the change (变更后)",
            "ip": "Address the request came from (来源地址)",
            "detail": "Detail (说明)",
        },
    ),
    Exposure(
        Report,
        "A saved report (报表): one query over list and aggregate fields, its variables and view; "
        "whoever opens it runs it with their own rights (docs/reports.md)",
        plural="reports",
        access=Access(
            {
                role: grant(R, C, U, D, everywhere=True)
                for role in (Role.ADMIN, Role.SUPERVISOR, Role.CLERK, Role.AGENT)
            },
            scope=("organization",),
            readers=reports.readable,  # its owner's, and those shared with the caller
            writers=_owns,  # only its owner changes or deletes it
            stamp=report_owner,
        ),
        relations=("organization",),
        hidden=("owner",),
        create=REPORT_FIELDS,
        update=REPORT_FIELDS,
        mutations=MUTATIONS,
        after_write=report_written,
        descriptions={
            "name": "Name (报表名称)",
            "description": "What it shows (说明)",
            "document": "The GraphQL query (查询语句): one query operation over list and aggregate "
            "fields only",
            "variables": "The query's variables, a JSON object (查询参数)",
            "view": 'How it is shown (展示方式): {"kind": table | bar | line | stacked_bar | pivot, ...}',
            "visibility": "Who opens it (共享范围): its owner only, a role, or everyone in the owner's "
            "organization and below it",
            "role": "With visibility ROLE: the role it is shared with (共享角色)",
            "organization": "The owner's organization when saved (所属单位)",
            "owner_name": "Who saved it (创建人): the owner's user name; only the owner changes it",
        },
    ),
]
