"""Case workflow verbs (submitCase, acceptCase, ...), agency batches and ratings: thin calls into
api/services, with the caller's area and grants checked first."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Awaitable, Callable
from typing import Any

import strawberry
from tortoise.transactions import in_transaction

from api.auth.caller import Caller
from api.errors import DomainError
from api.models.audit import AuditAction
from api.models.case import AgencyBatch, ApplicantType, Case, CaseAction, Channel, Decision, Evaluation
from api.models.org import Organization
from api.models.staff import Staff
from api.models.user import Role, User
from api.services import agency, ratings
from api.services import cases as case_service
from api.services.workflow import Move
from schema.audit import audit_write, request_actor
from schema.generator.access import RequestAccess
from schema.generator.ids import from_global_id
from schema.generator.mutations import snapshot
from schema.generator.policy import Op
from schema.generator.resolvers import REQUIRED, resolver
from schema.generator.scalars import graphql_enum

CaseChannel = graphql_enum(Channel)
CaseDecision = graphql_enum(Decision)
ApplicantKind = graphql_enum(ApplicantType)
RatingLevel = graphql_enum(ratings.Level)  # the one GraphQL enum, also Evaluation.level's (specs)


async def audited(
    info: strawberry.Info,
    action: AuditAction,
    node,
    work: Callable[[], Awaitable[Any]],
    model_of: Callable[[Any], Any] = lambda result: result,
):
    """Run a domain write and its audit entry (the object after it) in one transaction."""
    async with in_transaction():
        result = await work()
        obj = model_of(result)
        await audit_write(action, request_actor(info), node, obj.id, after=snapshot(node, obj))
    return result


def secret(info: strawberry.Info) -> str:
    """The server's secret key, which keys the stored hashes of query codes."""
    return info.context["settings"].secret_key


def now(info: strawberry.Info) -> dt.datetime:
    """The request's time, from the app's clock (tests move it)."""
    clock = info.context.get("clock") or time.time
    return dt.datetime.fromtimestamp(clock(), tz=dt.UTC)


async def actor_for(info: strawberry.Info, access: RequestAccess) -> Caller:
    caller = access.caller
    name = caller.key_prefix and f"API key {caller.key_prefix}"
    if caller.user_id is not None:
        user = await User.get_or_none(id=caller.user_id).prefetch_related("staff")
        if user is not None:
            name = user.staff.name if user.staff else user.username
    return Caller(caller.role, caller.organization_id, caller.user_id, name or caller.role)


@strawberry.input(description="An application handed in (申请)")
class SubmitCaseInput:
    item_id: strawberry.ID = strawberry.field(description="Global id of the item applied for")
    applicant_type: ApplicantKind = strawberry.field(description="PERSON or COMPANY")  # type: ignore[valid-type]
    applicant_name: str = strawberry.field(description="Applicant's name (申请人)")
    applicant_id_number: str = strawberry.field(
        description="Resident ID number or unified social credit code"
    )
    applicant_phone: str = strawberry.field(description="Applicant's phone")
    channel: CaseChannel = strawberry.field(  # type: ignore[valid-type]
        default=Channel.COUNTER,
        description="COUNTER, ONLINE or PROACTIVE_AGENCY (AGENCY is set when papers travel)",
    )
    organization_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="Where it is filed: your own organization unless given (integrators must give it)",
    )
    comment: str = strawberry.field(default="", description="Note on the submission")


@strawberry.input(description="A day of the State Council notice that breaks the weekday rule")
class CalendarExceptionInput:
    day: dt.date = strawberry.field(description="The date")
    is_workday: bool = strawberry.field(description="true: a make-up workday (调休); false: a holiday")
    name: str = strawberry.field(description="Holiday it belongs to, e.g. 国庆节")


@strawberry.type(description="A year's calendar as imported")
class CalendarImport:
    year: int
    days_changed: int = strawberry.field(description="Days whose working status changed")
    cases_recomputed: int = strawberry.field(description="Cases whose stored due dates changed")


@strawberry.type(description="A rating as recorded")
class RatingReceipt:
    level: RatingLevel  # type: ignore[valid-type]
    rectification_due_date: dt.date | None = strawberry.field(
        description="For a bad rating: the day its rectification (整改) is due"
    )


class CaseVerbs:
    """Builds the workflow mutations on the generated types of the registry."""

    def __init__(self, registry) -> None:
        self.registry = registry
        self.case_node = registry.node(Case)
        self.batch_node = registry.node(AgencyBatch)
        self.evaluation_node = registry.node(Evaluation)

    def fields(self) -> dict[str, Any]:
        out: dict[str, Any] = {"submit_case": self._submit()}
        verbs = {
            CaseAction.ACCEPT: (
                "acceptCase",
                "Accept a case (受理): starts its clock and stores its due dates",
            ),
            CaseAction.REJECT: ("rejectCase", "Refuse to accept a case (不予受理), with the reason"),
            CaseAction.PRE_REVIEW: (
                "preReviewCase",
                "Pre-review (初审) after a home visit or village publicity",
            ),
            CaseAction.REQUEST_SUPPLEMENT: (
                "requestSupplement",
                "Ask for missing papers (补正): the clock stops",
            ),
            CaseAction.RESUME: (
                "resumeCase",
                "Papers complete: the clock runs again, due dates move by the pause",
            ),
            CaseAction.REVIEW: ("reviewCase", "Review (审查), at the handling organization"),
            CaseAction.COMPLETE: ("completeCase", "Complete (办结) a decided case"),
            CaseAction.DELIVER: ("deliverCase", "Hand the result to the applicant (送达)"),
            CaseAction.WITHDRAW: (
                "withdrawCase",
                "Withdraw a case at the applicant's request (撤回), with the reason",
            ),
            CaseAction.PROXY_DECLARE: (
                "proxyDeclareCase",
                "Staff make the online declaration for a company (受理+代办, proactive agency)",
            ),
        }
        for action, (name, description) in verbs.items():
            out[name] = strawberry.field(resolver=self._verb(action), name=name, description=description)
        out["decide_case"] = strawberry.field(
            resolver=self._verb(CaseAction.DECIDE, with_decision=True),
            name="decideCase",
            description="Decide (决定) a reviewed case: APPROVED, or DENIED with the reason",
        )
        out.update(self._agency_fields())
        out.update(self._rating_fields())
        return out

    # -- case steps
    async def _target(self, info: strawberry.Info, global_id: str, op: Op) -> tuple[int, RequestAccess]:
        access = await self.registry.access(info)
        access.require(self.case_node, op)
        pk = from_global_id(global_id, "Case")
        await access.check_in_area(self.case_node, pk, f"Case {global_id}", "id")
        return pk, access

    def _verb(self, action: CaseAction, *, with_decision: bool = False):
        verbs = self

        async def resolve(root, info, id, version, comment="", decision=None):
            pk, access = await verbs._target(info, id, Op.UPDATE)
            move = Move(action, await actor_for(info, access), now(info), comment or "", decision)
            return await audited(
                info, AuditAction.UPDATE, verbs.case_node, lambda: case_service.perform(pk, move, version)
            )

        arguments: dict[str, tuple[Any, Any, str]] = {
            "id": (strawberry.ID, REQUIRED, "Global id of the case"),
            "version": (int, REQUIRED, "The version you read; if the case moved since, CONFLICT"),
        }
        if with_decision:
            arguments["decision"] = (CaseDecision, REQUIRED, "APPROVED or DENIED")
        arguments["comment"] = (
            str,
            "",
            "Comment; the reason for a rejection, denial, supplement or withdrawal",
        )
        return resolver(resolve, self.case_node.object_type, arguments)

    def _submit(self):
        verbs = self

        payload = type(
            "SubmitCasePayload",
            (),
            {
                "__annotations__": {"case": verbs.case_node.object_type, "query_code": str},
                "query_code": strawberry.field(
                    description="For the applicant: with the case number it opens caseProgress and rateCase"
                ),
            },
        )
        SubmitCasePayload = strawberry.type(
            payload, description="The new case and its query code, shown once"
        )

        async def resolve(root, info, input: SubmitCaseInput):
            access = await verbs.registry.access(info)
            access.require(verbs.case_node, Op.CREATE)
            actor = await actor_for(info, access)
            organization_id = actor.organization_id
            if input.organization_id:
                organization_id = from_global_id(
                    input.organization_id, "Organization", field="organizationId"
                )
                await access.check_in_area(
                    verbs.registry.node(Organization), organization_id, "the organization", "organizationId"
                )
            elif actor.role == Role.INTEGRATOR:
                raise DomainError(
                    "VALIDATION_FAILED", "say where the application is filed", field="organizationId"
                )
            item_id = from_global_id(input.item_id, "Item", field="itemId")
            application = case_service.Application(
                item_id=item_id,
                applicant_type=ApplicantType(input.applicant_type),
                applicant_name=input.applicant_name,
                applicant_id_number=input.applicant_id_number,
                applicant_phone=input.applicant_phone,
                channel=Channel(input.channel),
                comment=input.comment,
            )
            if actor.role == Role.INTEGRATOR and application.channel != Channel.ONLINE:
                raise DomainError(
                    "VALIDATION_FAILED", "an integrator files ONLINE applications", field="channel"
                )
            # The actor acts at the filing organization (an integrator files on the applicant's behalf).
            filed_by = Caller(actor.role, organization_id, actor.user_id, actor.name)
            filed = await audited(
                info,
                AuditAction.CREATE,
                verbs.case_node,
                lambda: case_service.submit(application, organization_id, filed_by, now(info), secret(info)),
                model_of=lambda filed: filed.case,
            )
            return SubmitCasePayload(case=filed.case, query_code=filed.query_code)

        return strawberry.field(
            resolver=resolver(
                resolve, SubmitCasePayload, {"input": (SubmitCaseInput, REQUIRED, "The application")}
            ),
            name="submitCase",
            description="File an application (申请) at an organization; it is routed to the organization "
            "that handles the item (this one, or the nearest above with FULL power)",
        )

    # -- agency batches
    def _agency_fields(self) -> dict[str, Any]:
        verbs = self
        batch_type = self.batch_node.object_type

        async def group(root, info, cases=None):
            access = await verbs.registry.access(info)
            access.require(verbs.case_node, Op.UPDATE)
            if cases is None:
                return await agency.group(None, await actor_for(info, access), now(info))
            ids = []
            for global_id in cases:
                pk = from_global_id(global_id, "Case", field="cases")
                await access.check_in_area(verbs.case_node, pk, f"Case {global_id}", "cases")
                ids.append(pk)
            return await agency.group(ids, await actor_for(info, access), now(info))

        async def dispatch(root, info, id, carrier_id):
            access = await verbs.registry.access(info)
            access.require(verbs.case_node, Op.UPDATE)
            pk = from_global_id(id, "AgencyBatch")
            await access.check_in_area(verbs.batch_node, pk, f"AgencyBatch {id}", "id")
            staff_pk = from_global_id(carrier_id, "Staff", field="carrierId")
            if not await Staff.exists(id=staff_pk):
                raise DomainError("NOT_FOUND", "the carrier does not exist", field="carrierId")
            actor = await actor_for(info, access)
            return await audited(
                info,
                AuditAction.UPDATE,
                verbs.batch_node,
                lambda: agency.dispatch(pk, staff_pk, actor, now(info)),
            )

        async def receive(root, info, id):
            access = await verbs.registry.access(info)
            access.require(verbs.case_node, Op.UPDATE)
            pk = from_global_id(id, "AgencyBatch")
            await access.check_in_area(verbs.batch_node, pk, f"AgencyBatch {id}", "id")
            actor = await actor_for(info, access)
            return await audited(
                info, AuditAction.UPDATE, verbs.batch_node, lambda: agency.receive(pk, actor, now(info))
            )

        async def unbatch(root, info, id, cases):
            access = await verbs.registry.access(info)
            access.require(verbs.case_node, Op.UPDATE)
            pk = from_global_id(id, "AgencyBatch")
            await access.check_in_area(verbs.batch_node, pk, f"AgencyBatch {id}", "id")
            case_ids = [from_global_id(global_id, "Case", field="cases") for global_id in cases]
            actor = await actor_for(info, access)
            async with in_transaction():
                batch, emptied, numbers = await agency.unbatch(pk, case_ids, actor)
                change = {"before": snapshot(verbs.batch_node, batch)}
                if not emptied:
                    change["after"] = change["before"]
                await audit_write(
                    AuditAction.DELETE if emptied else AuditAction.UPDATE,
                    request_actor(info),
                    verbs.batch_node,
                    pk,
                    detail=f"taken out: {', '.join(numbers)}"[:200],
                    **change,
                )
            return None if emptied else batch

        return {
            "unbatch_cases": strawberry.field(
                resolver=resolver(
                    unbatch,
                    batch_type | None,
                    {
                        "id": (strawberry.ID, REQUIRED, "Global id of a batch that has not set off"),
                        "cases": (list[strawberry.ID], REQUIRED, "Cases to take out of it"),
                    },
                ),
                name="unbatchCases",
                description="Take cases out of a batch before it sets off (they wait to be batched "
                "again); the batch, or null when it was left empty and deleted",
            ),
            "batch_cases": strawberry.field(
                resolver=resolver(
                    group,
                    list[batch_type],
                    {
                        "cases": (
                            list[strawberry.ID] | None,
                            None,
                            "Cases whose papers you hold; omitted: every case waiting to be carried",
                        )
                    },
                ),
                name="batchCases",
                description="Group cases for carrying (分类集中): one new batch per destination",
            ),
            "dispatch_batch": strawberry.field(
                resolver=resolver(
                    dispatch,
                    batch_type,
                    {
                        "id": (strawberry.ID, REQUIRED, "Global id of the batch"),
                        "carrier_id": (strawberry.ID, REQUIRED, "Staff member who carries it (代办员)"),
                    },
                ),
                name="dispatchBatch",
                description="The carrier sets off (专人代办): each case records the handoff",
            ),
            "receive_batch": strawberry.field(
                resolver=resolver(
                    receive, batch_type, {"id": (strawberry.ID, REQUIRED, "Global id of the batch")}
                ),
                name="receiveBatch",
                description="The destination takes the papers in; each case records the handoff",
            ),
        }

    # -- ratings
    def _rating_fields(self) -> dict[str, Any]:
        verbs = self

        async def rate(root, info, number, query_code, level, reason=""):
            await _lookup_budget(info)
            case = await Case.get_or_none(number=number.strip())
            if not case_service.query_code_matches(case, number.strip(), query_code, secret(info)):
                raise DomainError("NOT_FOUND", "no case has this number and query code", field="number")
            rating = await audited(
                info,
                AuditAction.CREATE,
                verbs.evaluation_node,
                lambda: ratings.rate(case, ratings.Level(level), reason, now(info)),
            )
            return RatingReceipt(
                level=ratings.Level(rating.score), rectification_due_date=rating.rectification_due_date
            )

        async def close(root, info, id, response, follow_up):
            access = await verbs.registry.access(info)
            if access.caller.role not in (Role.SUPERVISOR, Role.ADMIN):
                raise DomainError(
                    "FORBIDDEN" if not access.caller.anonymous else "UNAUTHENTICATED",
                    "a supervisor or administrator closes rectifications",
                )
            pk = from_global_id(id, "Evaluation")
            await access.check_in_area(verbs.evaluation_node, pk, f"Evaluation {id}", "id")
            closure = ratings.Closure(response, follow_up)
            return await audited(
                info,
                AuditAction.UPDATE,
                verbs.evaluation_node,
                lambda: ratings.close_rectification(pk, closure, access.caller.user_id, now(info)),
            )

        return {
            "rate_case": strawberry.field(
                resolver=resolver(
                    rate,
                    RatingReceipt,
                    {
                        "number": (str, REQUIRED, "Case number"),
                        "query_code": (str, REQUIRED, "Query code given at submission"),
                        "level": (RatingLevel, REQUIRED, "非常满意 … 非常不满意"),
                        "reason": (str, "", "Required for DISSATISFIED and VERY_DISSATISFIED"),
                    },
                ),
                name="rateCase",
                description="The applicant rates a completed case once (好差评); bad ones are rectified",
            ),
            "close_rectification": strawberry.field(
                resolver=resolver(
                    close,
                    self.evaluation_node.object_type,
                    {
                        "id": (strawberry.ID, REQUIRED, "Global id of the bad rating"),
                        "response": (str, REQUIRED, "What was rectified (整改情况)"),
                        "follow_up": (str, REQUIRED, "How the applicant was followed up (回访情况)"),
                    },
                ),
                name="closeRectification",
                description="Close a bad rating's rectification with the response and the follow-up",
            ),
        }


async def _lookup_budget(info: strawberry.Info) -> None:
    """The public lookup's own request budget, per address (guessing codes must not pay)."""
    from api.auth.ratelimit import enforce

    settings = info.context.get("settings")
    limit = getattr(settings, "rate_limit_lookup_per_minute", 0) if settings is not None else 0
    if limit:
        clock = info.context.get("clock") or time.time
        address = Caller(ip=request_actor(info).ip)  # per address, signed in or not
        await enforce("lookup", address, limit, now=clock)
