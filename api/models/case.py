"""Cases (办件), their event trail, agency batches (代办) and ratings (好差评)."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.indexes import Index
from tortoise.migrations.constraints import CheckConstraint
from tortoise.models import Model

from api.errors import DomainError
from api.models.org import Tier
from api.services.identifiers import normalize_id_number, normalize_phone, normalize_uscc


class ApplicantType(StrEnum):
    PERSON = "PERSON"
    COMPANY = "COMPANY"


class Channel(StrEnum):
    COUNTER = "COUNTER"
    ONLINE = "ONLINE"
    AGENCY = "AGENCY"
    PROACTIVE_AGENCY = "PROACTIVE_AGENCY"


class CaseStatus(StrEnum):
    SUBMITTED = "SUBMITTED"
    ACCEPTED = "ACCEPTED"
    REJECTED = "REJECTED"
    PRE_REVIEWED = "PRE_REVIEWED"
    SUPPLEMENT_REQUESTED = "SUPPLEMENT_REQUESTED"
    REVIEWED = "REVIEWED"
    DECIDED = "DECIDED"
    COMPLETED = "COMPLETED"
    DELIVERED = "DELIVERED"
    WITHDRAWN = "WITHDRAWN"


class Decision(StrEnum):
    APPROVED = "APPROVED"
    DENIED = "DENIED"


class CaseAction(StrEnum):
    SUBMIT = "SUBMIT"
    ACCEPT = "ACCEPT"
    REJECT = "REJECT"
    PRE_REVIEW = "PRE_REVIEW"
    REQUEST_SUPPLEMENT = "REQUEST_SUPPLEMENT"
    RESUME = "RESUME"
    REVIEW = "REVIEW"
    DECIDE = "DECIDE"
    COMPLETE = "COMPLETE"
    DELIVER = "DELIVER"
    WITHDRAW = "WITHDRAW"
    DISPATCH = "DISPATCH"
    RECEIVE = "RECEIVE"
    PROXY_DECLARE = "PROXY_DECLARE"


class Case(Model):
    """One application (办件), with its stored due dates and an optimistic-lock version."""

    id = fields.IntField(primary_key=True)
    number = fields.CharField(max_length=32, unique=True)
    item = fields.ForeignKeyField(
        "models.Item", related_name="cases", on_delete=fields.RESTRICT, db_index=True
    )
    guide_revision = fields.ForeignKeyField(
        "models.GuideRevision", related_name="cases", on_delete=fields.RESTRICT
    )
    applicant_type = fields.CharEnumField(ApplicantType, max_length=10)
    applicant_name = fields.CharField(max_length=100)
    applicant_id_number = fields.CharField(max_length=18)
    applicant_phone = fields.CharField(max_length=20)
    channel = fields.CharEnumField(Channel, max_length=20)
    submitted_at = fields.DatetimeField()
    submitted_at_organization = fields.ForeignKeyField(
        "models.Organization", related_name="submitted_cases", on_delete=fields.RESTRICT
    )
    handling_organization = fields.ForeignKeyField(
        "models.Organization", related_name="handled_cases", on_delete=fields.RESTRICT
    )
    status = fields.CharEnumField(CaseStatus, max_length=24)  # indexed with submitted_at (Meta)
    decision = fields.CharEnumField(Decision, max_length=10, null=True)
    accepted_at = fields.DatetimeField(null=True)
    legal_due_date = fields.DateField(null=True)
    promised_due_date = fields.DateField(null=True)
    due_dates_estimated = fields.BooleanField(default=False)
    completed_at = fields.DatetimeField(null=True)
    delivered_at = fields.DatetimeField(null=True)
    trips_saved = fields.IntField(default=0)
    held_by = fields.ForeignKeyField(
        "models.Organization", related_name="held_cases", null=True, on_delete=fields.RESTRICT
    )  # where the papers are; null while an agency batch carries them
    status_before_pause = fields.CharEnumField(CaseStatus, max_length=24, null=True)
    accepted_on = fields.DateField(null=True)  # the district's local date of acceptance
    # The item's limits when the case was accepted: its due dates keep to them if the item changes.
    legal_limit_days = fields.IntField(null=True)
    promised_limit_days = fields.IntField(null=True)
    completed_on = fields.DateField(null=True)
    working_days_taken = fields.IntField(null=True)  # acceptance to completion, pauses excluded
    paused_working_days = fields.IntField(default=0)
    calendar_revision = fields.ForeignKeyField(
        "models.CalendarRevision", related_name="cases", null=True, on_delete=fields.RESTRICT
    )  # the calendar the due dates were computed on
    query_code_hash = fields.CharField(max_length=200, null=True)
    version = fields.IntField(default=1)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "service_case"
        # (organization, id): an organization's cases in id order, so a page of `first: N` under
        # each organization reads N + 1 index entries; also the area condition's lookups.
        indexes = (
            Index(fields=("submitted_at_organization_id", "id"), name="idx_case_submitted_at_org_id"),
            Index(fields=("handling_organization_id", "id"), name="idx_case_handling_org_id"),
            # counts by status over a period (and per status alone): an index-only scan
            Index(fields=("status", "submitted_at"), name="idx_case_status_submitted_at"),
            # the days of a period outside its whole months, which the statistics count from the
            # cases: every column they read, so the count is an index-only scan of the days (the
            # table's rows are wide, `working_days_taken` last: reading them was half the time)
            Index(
                fields=(
                    "accepted_on",
                    "handling_organization_id",
                    "item_id",
                    "status",
                    "completed_on",
                    "promised_due_date",
                    "trips_saved",
                    "working_days_taken",
                ),
                name="idx_case_accepted_figures",
            ),
        )
        constraints = (
            CheckConstraint(check="version >= 1", name="ck_case_version"),
            CheckConstraint(check="trips_saved >= 0", name="ck_case_trips_saved"),
            CheckConstraint(
                check="completed_at IS NULL OR accepted_at IS NOT NULL",
                name="ck_case_completed_after_accept",
            ),
            CheckConstraint(
                check="(status = 'DECIDED' OR status = 'COMPLETED' OR status = 'DELIVERED') "
                "= (decision IS NOT NULL)",
                name="ck_case_decision_status",
            ),
        )

    def __str__(self) -> str:
        return self.number

    async def save(self, *args, **kwargs) -> None:
        if self.applicant_type == ApplicantType.PERSON:
            self.applicant_id_number = normalize_id_number(
                self.applicant_id_number, field="applicant_id_number"
            )
        else:
            self.applicant_id_number = normalize_uscc(self.applicant_id_number, field="applicant_id_number")
        self.applicant_phone = normalize_phone(self.applicant_phone, field="applicant_phone")
        if self.guide_revision_id is not None and self.item_id is not None:
            from api.models.item import GuideRevision

            revision = await GuideRevision.get_or_none(id=self.guide_revision_id)
            if revision is None or revision.item_id != self.item_id:
                raise DomainError(
                    "VALIDATION_FAILED",
                    "a case's guide revision must be a revision of the case's item",
                    field="guide_revision",
                )
        await super().save(*args, **kwargs)


class CaseNumberCounter(Model):
    """The last sequence number given to a case of one district and day (the stem of its numbers).

    `stem` is the district prefix and the local date (`QJL20180427`); a number is the stem and the
    sequence (`QJL201804270001`). Rows are only touched by api.services.cases.next_number, which
    takes the next sequence with one atomic UPDATE in the transaction that inserts the case.
    """

    stem = fields.CharField(max_length=32, primary_key=True)
    last_sequence = fields.IntField()

    class Meta:
        table = "case_number_counter"


class CaseEvent(Model):
    """One step of a case: who did what, where and when (the audit trail of the workflow)."""

    id = fields.IntField(primary_key=True)
    case = fields.ForeignKeyField(
        "models.Case", related_name="events", on_delete=fields.CASCADE, db_index=True
    )
    action = fields.CharEnumField(CaseAction, max_length=24)
    from_status = fields.CharEnumField(CaseStatus, max_length=24, null=True)
    to_status = fields.CharEnumField(CaseStatus, max_length=24)
    actor = fields.ForeignKeyField(
        "models.User", related_name="case_events", null=True, on_delete=fields.SET_NULL
    )
    actor_name = fields.CharField(max_length=50, default="")
    organization = fields.ForeignKeyField(
        "models.Organization", related_name="case_events", on_delete=fields.RESTRICT, db_index=True
    )
    occurred_at = fields.DatetimeField()
    comment = fields.TextField(default="")
    batch = fields.ForeignKeyField(
        "models.AgencyBatch", related_name="events", null=True, on_delete=fields.RESTRICT
    )

    class Meta:
        table = "case_event"


class AgencyBatch(Model):
    """A batch of agency cases (代办) carried from one organization to another by a named carrier."""

    id = fields.IntField(primary_key=True)
    number = fields.CharField(max_length=32, unique=True)
    origin = fields.ForeignKeyField(
        "models.Organization", related_name="outgoing_batches", on_delete=fields.RESTRICT
    )
    destination = fields.ForeignKeyField(
        "models.Organization", related_name="incoming_batches", on_delete=fields.RESTRICT
    )
    carrier = fields.ForeignKeyField(
        "models.Staff", related_name="carried_batches", null=True, on_delete=fields.SET_NULL
    )
    dispatched_at = fields.DatetimeField(null=True)
    received_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "agency_batch"
        constraints = (
            CheckConstraint(check="origin_id <> destination_id", name="ck_batch_two_places"),
            CheckConstraint(
                check="received_at IS NULL OR (dispatched_at IS NOT NULL AND received_at >= dispatched_at)",
                name="ck_batch_received_after_dispatch",
            ),
        )


class AgencyBatchCase(Model):
    """A case travelling in a batch (a through model with plain foreign keys)."""

    id = fields.IntField(primary_key=True)
    batch = fields.ForeignKeyField("models.AgencyBatch", related_name="batch_cases", on_delete=fields.CASCADE)
    case = fields.ForeignKeyField(
        "models.Case", related_name="batch_cases", on_delete=fields.CASCADE, db_index=True
    )

    class Meta:
        table = "agency_batch_case"
        unique_together = (("batch", "case"),)


class ClockState(StrEnum):
    """Where an accepted case's clock stands, as the service statistics count it."""

    RUNNING = "RUNNING"  # open and counting working days (overdue and due-soon are judged on these)
    PAUSED = "PAUSED"  # waiting for supplementary papers (补正)
    STOPPED = "STOPPED"  # closed: completed, delivered, rejected or withdrawn


class Finish(StrEnum):
    """How an accepted case was completed against its promised due date."""

    NONE = "NONE"  # not completed
    ON_TIME = "ON_TIME"
    LATE = "LATE"
    UNDATED = "UNDATED"  # completed, with no promised due date to judge it by


class RollupRow(Model):
    """What both rollups keep per row: accepted cases of one month of acceptance that stand alike
    (clock, finish and, while the clock runs, promised due date), with their sums."""

    id = fields.IntField(primary_key=True)
    key = fields.CharField(max_length=120, unique=True)  # the row's grouping columns, joined
    month = fields.DateField()  # the first day of the month of acceptance
    clock = fields.CharEnumField(ClockState, max_length=8)
    finish = fields.CharEnumField(Finish, max_length=8)
    due_date = fields.DateField(null=True)  # the promised due date while the clock runs, else null
    cases = fields.IntField(default=0)
    trips_saved = fields.IntField(default=0)
    working_days = fields.IntField(default=0)  # the sum of working days taken by the completed ones
    timed = fields.IntField(default=0)  # how many of them have working days taken

    class Meta:
        abstract = True


class CaseRollup(RollupRow):
    """The service statistics per handling and filing organization (an area's figures, per
    organization, tier or month): kept in the transaction of every workflow step and due-date
    recomputation (api/services/rollup.py), rebuilt from the cases by `sanji stats rebuild`."""

    handling_organization = fields.ForeignKeyField(
        "models.Organization", related_name="handled_rollups", on_delete=fields.RESTRICT, db_index=True
    )
    submitted_at_organization = fields.ForeignKeyField(
        "models.Organization", related_name="submitted_rollups", on_delete=fields.RESTRICT, db_index=True
    )

    class Meta:
        table = "case_rollup"
        indexes = (Index(fields=("month", "clock"), name="idx_case_rollup_month_clock"),)
        constraints = (
            CheckConstraint(check="cases >= 0", name="ck_case_rollup_cases"),
            CheckConstraint(check="timed >= 0 AND timed <= cases", name="ck_case_rollup_timed"),
        )


class HandlingRollup(RollupRow):
    """The service statistics per handling organization over every filing organization (figures
    per organization or tier for a caller who reads every case); kept and rebuilt with `CaseRollup`."""

    handling_organization = fields.ForeignKeyField(
        "models.Organization", related_name="handling_rollups", on_delete=fields.RESTRICT
    )

    class Meta:
        table = "handling_rollup"
        indexes = (Index(fields=("month", "clock"), name="idx_handling_rollup_month_clock"),)
        constraints = (
            CheckConstraint(check="cases >= 0", name="ck_handling_rollup_cases"),
            CheckConstraint(check="timed >= 0 AND timed <= cases", name="ck_handling_rollup_timed"),
        )


class ItemRollup(RollupRow):
    """The service statistics per item over every organization (figures in total, per month, item
    or 三办 tag for a caller who reads every case); kept and rebuilt with `CaseRollup`."""

    item = fields.ForeignKeyField("models.Item", related_name="rollups", on_delete=fields.RESTRICT)

    class Meta:
        table = "item_rollup"
        indexes = (Index(fields=("month", "clock"), name="idx_item_rollup_month_clock"),)
        constraints = (
            CheckConstraint(check="cases >= 0", name="ck_item_rollup_cases"),
            CheckConstraint(check="timed >= 0 AND timed <= cases", name="ck_item_rollup_timed"),
        )


class DayRollup(RollupRow):
    """The service statistics per day of acceptance, tier of the handling organization and 三办
    tags of the item, over every case (in total, per month, tier or tag, for a caller who reads
    every case): the days at a period's ends that the month rollups cannot answer, a few dozen rows
    a day where the province accepts over a thousand cases; kept and rebuilt with `CaseRollup`, and
    moved when an organization's tier or an item's tags change (api/services/rollup.py)."""

    day = fields.DateField()  # the day of acceptance (`month` is its month, as in every rollup)
    tier = fields.CharEnumField(Tier, max_length=8)  # the handling organization's, as it stands
    tag_immediate = fields.BooleanField()  # the item's 三办 tags, as they stand
    tag_online = fields.BooleanField()
    tag_one_visit = fields.BooleanField()

    class Meta:
        table = "day_rollup"
        indexes = (Index(fields=("day", "clock"), name="idx_day_rollup_day_clock"),)
        constraints = (
            CheckConstraint(check="cases >= 0", name="ck_day_rollup_cases"),
            CheckConstraint(check="timed >= 0 AND timed <= cases", name="ck_day_rollup_timed"),
        )


class Rectification(StrEnum):
    """Where a rating's rectification (整改) stands."""

    NONE = "NONE"  # not a bad rating: nothing to rectify
    OPEN = "OPEN"
    CLOSED = "CLOSED"


class RatingRollup(Model):
    """The ratings' figures over every case, per month of rating (Beijing time), score and
    rectification state (with its due date while open): what ratingStats answers a caller who reads
    every rating from, kept in the transaction of each rating and rectification
    (api/services/rating_rollup.py)."""

    id = fields.IntField(primary_key=True)
    key = fields.CharField(max_length=60, unique=True)  # the grouping columns, joined
    month = fields.DateField()
    score = fields.SmallIntField()
    rectification = fields.CharEnumField(Rectification, max_length=8)
    due_date = fields.DateField(null=True)  # the rectification's due date while it is open
    ratings = fields.IntField(default=0)

    class Meta:
        table = "rating_rollup"
        constraints = (CheckConstraint(check="ratings >= 0", name="ck_rating_rollup_ratings"),)


class Evaluation(Model):
    """A rating (好差评) of a completed case on the five national levels, 5 = 非常满意 … 1 = 非常不满意."""

    id = fields.IntField(primary_key=True)
    case = fields.OneToOneField("models.Case", related_name="evaluation", on_delete=fields.CASCADE)
    staff = fields.ForeignKeyField(
        "models.Staff", related_name="evaluations", null=True, on_delete=fields.SET_NULL
    )
    score = fields.SmallIntField()
    reason = fields.TextField(default="")
    rated_at = fields.DatetimeField(db_index=True)  # periods of ratingStats
    rectification_due_date = fields.DateField(null=True)  # a bad rating's rectification (整改) deadline
    rectified_at = fields.DatetimeField(null=True)
    rectification_response = fields.TextField(default="")
    follow_up = fields.TextField(default="")  # what the applicant was told (回访)
    rectified_by = fields.ForeignKeyField(
        "models.User", related_name="rectifications", null=True, on_delete=fields.SET_NULL
    )

    class Meta:
        table = "evaluation"
        constraints = (
            CheckConstraint(check="score >= 1 AND score <= 5", name="ck_evaluation_score"),
            CheckConstraint(check="score >= 3 OR reason <> ''", name="ck_evaluation_bad_reason"),
            CheckConstraint(
                check="(score <= 2) = (rectification_due_date IS NOT NULL)",
                name="ck_evaluation_rectification",
            ),
            CheckConstraint(
                check="rectified_at IS NULL OR (rectification_due_date IS NOT NULL "
                "AND rectification_response <> '' AND follow_up <> '')",
                name="ck_evaluation_rectified",
            ),
        )

    async def save(self, *args, **kwargs) -> None:
        if not 1 <= self.score <= 5:
            raise DomainError("VALIDATION_FAILED", "score must be 1 to 5", field="score")
        if self.score <= 2 and not self.reason.strip():
            raise DomainError(
                "VALIDATION_FAILED", "a 不满意 or 非常不满意 rating needs a reason", field="reason"
            )
        await super().save(*args, **kwargs)
