"""Webhook verbs: register an endpoint (its secret shown once), rotate its secret, disable and
enable it, and send deliveries again. Reads are the generated `webhooks` and `webhookDeliveries`.

Who may: administrators, and integrators with an API key that has the write:webhooks scope, for
an area inside their own (the permission table's Webhook row). Every write is audited, without
the secret.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry.scalars import JSON
from tortoise.transactions import in_transaction

from api.errors import DomainError
from api.models.audit import AuditAction
from api.models.org import Organization
from api.models.webhook import WebhookDelivery, WebhookEndpoint
from api.services import outbox, webhooks
from schema.audit import audit_write, request_actor
from schema.domain.cases import actor_for, now
from schema.generator.errors import EngineError
from schema.generator.ids import from_global_id
from schema.generator.mutations import MAX_BULK, bulk_keys, signed_in, snapshot
from schema.generator.policy import Op
from schema.generator.resolvers import REQUIRED, resolver
from schema.specs import CASE_PII_ROLES


@strawberry.input(description="A webhook to register")
class CreateWebhookInput:
    name: str = strawberry.field(description="Name, for people (名称)")
    url: str = strawberry.field(
        description="Where events are POSTed: https (http only within SANJI_WEBHOOK_ALLOWED_NETWORKS in "
        "production); loopback, link-local and metadata addresses are refused"
    )
    event_types: list[str] = strawberry.field(
        description="Types to receive: a type (case.accepted), a family (case.*) or * (docs/events.md)"
    )
    organization_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="Area whose events it receives: this organization and those below it, within yours "
        "(default: your organization)",
    )
    clear_personal_data: bool = strawberry.field(
        default=False,
        description="Case events carry the applicant's name, ID number and phone in clear (each delivery "
        "audited); only for roles that read them in clear (ADMIN); masked otherwise",
    )


@strawberry.type(description="An event of the outbox (docs/events.md), as webhooks receive it")
class FeedEvent:
    id: str = strawberry.field(description="The event's id, the webhook-id of its deliveries (evt_...)")
    type: str = strawberry.field(description="e.g. case.accepted")
    organization_id: strawberry.ID | None = strawberry.field(
        description="Where it happened; null for the shared catalogue's events"
    )
    case_id: strawberry.ID | None = strawberry.field(description="The case, for a case's event")
    occurred_at: datetime = strawberry.field(description="When the change happened")
    payload: JSON = strawberry.field(description="The payload of its type, personal data masked")
    cursor: str = strawberry.field(description="Read on after this event with eventFeed(after: cursor)")


@strawberry.type(description="A page of the event feed, in commit order")
class EventFeedPage:
    events: list[FeedEvent] = strawberry.field(description="Up to `first` events after `after`")
    end_cursor: str = strawberry.field(
        description="Where to read on from (the last event's cursor, or `after` when there was none)"
    )


def feed_event(event: dict[str, Any]) -> FeedEvent:
    """An outbox row (`outbox.read`) as the feed and the outboxEvents subscription give it."""
    return FeedEvent(
        id=webhooks.message_id(event["id"]),
        type=event["type"],
        organization_id=outbox.global_id("Organization", event["organization_id"]),
        case_id=outbox.global_id("Case", event["case_id"]),
        occurred_at=event["occurred_at"],
        payload=event["payload"],
        cursor=str(outbox.Cursor.of(event)),
    )


def wanted_types(types: list[str] | None) -> tuple[str, ...]:
    """The event types that `types` (types, families, *) names; () for all of them."""
    if types is None:
        return ()
    patterns = webhooks.event_patterns(types)
    return tuple(t for t in outbox.EVENT_TYPES if webhooks.matches(patterns, t))


def webhook_query_fields(registry) -> dict[str, Any]:
    async def event_types(root, info) -> list[str]:
        return ["*", *(f"{family}.*" for family in webhooks.FAMILIES), *outbox.EVENT_TYPES]

    node = registry.node(WebhookEndpoint)

    async def feed(root, info, after: str | None, first: int, types: list[str] | None) -> EventFeedPage:
        access = await registry.access(info)
        access.require(node, Op.READ)  # granted as reading webhooks is (read:webhooks for a key)
        if not 1 <= first <= outbox.MAX_READ:
            raise DomainError("VALIDATION_FAILED", f"first is 1 to {outbox.MAX_READ}", field="first")
        cursor = outbox.Cursor.parse(after)
        wanted = wanted_types(types)
        events, end = await outbox.read(cursor, first, area=access.area, types=wanted)
        return EventFeedPage(events=[feed_event(event) for event in events], end_cursor=str(end))

    return {
        "event_feed": strawberry.field(
            resolver=resolver(
                feed,
                EventFeedPage,
                {
                    "after": (
                        str | None,
                        None,
                        "Cursor to read after (endCursor of the last page); none: from the start",
                    ),
                    "first": (int, 100, f"Events per page, 1 to {outbox.MAX_READ}"),
                    "types": (list[str] | None, None, "Only these types: a type, a family (case.*) or *"),
                },
            ),
            name="eventFeed",
            description="The outbox's events of your area (and the catalogue's), in commit order, by cursor: "
            "a reader that keeps endCursor never misses an event that committed late; for those "
            "who poll instead of receiving webhooks (docs/events.md)",
        ),
        "webhook_event_types": strawberry.field(
            resolver=resolver(event_types, list[str]),
            name="webhookEventTypes",
            description="What a webhook's eventTypes may name: *, each family (case.*, ...) and each "
            "event type (docs/events.md)",
        ),
    }


def clear_allowed(caller, field: str) -> None:
    """Refuse a role that reads applicants' personal data masked anything that sends it in clear."""
    if caller.role not in CASE_PII_ROLES:
        raise DomainError(
            "FORBIDDEN",
            f"role {caller.role} reads applicants' personal data masked: it cannot send it in clear "
            "(a webhook with clearPersonalData)",
            field=field,
        )


def webhook_fields(registry) -> dict[str, Any]:
    node = registry.node(WebhookEndpoint)
    deliveries = registry.node(WebhookDelivery)
    organizations = registry.node(Organization)
    registration = strawberry.type(
        type(
            "WebhookRegistration",
            (),
            {
                "__annotations__": {"webhook": node.object_type, "secret": str},
                "webhook": strawberry.field(description="The webhook"),
                "secret": strawberry.field(
                    description="The signing secret (whsec_...): shown this once, store it now; receivers "
                    "verify webhook-signature with it (Standard Webhooks)"
                ),
            },
        ),
        description="A webhook and its new signing secret",
    )

    async def endpoint_of(info, global_id: str, *, sends: bool = True) -> WebhookEndpoint:
        """The webhook, checked and locked (call in the write's transaction): two writes of one
        webhook (two rotations, a rotation and the worker's disabling) go one after the other.
        `sends`: the write lets it send (enable, a new secret), which a webhook that receives
        personal data in clear allows only the roles that read it so."""
        access = await registry.access(info)
        access.require(node, Op.UPDATE)
        pk = from_global_id(global_id, "Webhook", field="id")
        await access.check_in_area(node, pk, f"Webhook {global_id}", "id")
        endpoint = await WebhookEndpoint.select_for_update().get(id=pk)
        if sends and endpoint.clear_personal_data:
            clear_allowed(access.caller, "id")
        return endpoint

    async def create(root, info, input: CreateWebhookInput):
        access = await registry.access(info)
        access.require(node, Op.CREATE)
        caller = access.caller
        if input.organization_id is None:
            if caller.organization_id is None:
                raise DomainError("VALIDATION_FAILED", "name the organization", field="organizationId")
            organization_id = caller.organization_id
        else:
            organization_id = from_global_id(input.organization_id, "Organization", field="organizationId")
        what = f"Organization {input.organization_id or 'of yours'}"
        if not await Organization.filter(id=organization_id).exists():
            raise DomainError("NOT_FOUND", f"{what} does not exist", field="organizationId")
        if not await access.holds(organizations, organization_id):
            raise DomainError(
                "FORBIDDEN",
                f"{what} is outside your area: a webhook's area is within yours",
                field="organizationId",
            )
        if input.clear_personal_data:
            clear_allowed(caller, "clearPersonalData")
        actor = await actor_for(info, access)
        async with in_transaction():
            registered = await webhooks.register(
                name=input.name,
                url=input.url,
                event_types=input.event_types,
                organization_id=organization_id,
                created_by=actor.name,
                settings=info.context["settings"],
                now=now(info),
                clear_personal_data=input.clear_personal_data,
            )
            endpoint = registered.endpoint
            await audit_write(
                AuditAction.CREATE, request_actor(info), node, endpoint.id, after=snapshot(node, endpoint)
            )
        return registration(webhook=endpoint, secret=registered.secret)

    async def rotate(root, info, id: strawberry.ID, keep_old_hours: float):
        async with in_transaction():
            endpoint = await endpoint_of(info, id)
            secret = await webhooks.rotate(endpoint, keep_old_hours, now(info))
            await audit_write(
                AuditAction.UPDATE,
                request_actor(info),
                node,
                endpoint.id,
                detail=f"signing secret rotated; the old one kept {keep_old_hours:g} h",
            )
        return registration(webhook=endpoint, secret=secret)

    async def switched(info, global_id: str, change, *, sends: bool) -> WebhookEndpoint:
        """The webhook disabled or enabled by `change(endpoint)`, in one transaction, audited with
        its before and after."""
        async with in_transaction():
            endpoint = await endpoint_of(info, global_id, sends=sends)
            before = snapshot(node, endpoint)
            await change(endpoint)
            await audit_write(
                AuditAction.UPDATE,
                request_actor(info),
                node,
                endpoint.id,
                before=before,
                after=snapshot(node, endpoint),
            )
        return endpoint

    async def disable(root, info, id: strawberry.ID, reason: str):
        reason = reason.strip() or "disabled by hand"
        return await switched(info, id, lambda e: webhooks.disable(e, reason, now(info)), sends=False)

    async def enable(root, info, id: strawberry.ID):
        settings = info.context["settings"]
        return await switched(info, id, lambda e: webhooks.enable(e, settings), sends=True)

    async def redeliver(root, info, ids: list[strawberry.ID]):
        access = await registry.access(info)
        access.require(deliveries, Op.UPDATE)
        keys = bulk_keys(ids, "WebhookDelivery", "a delivery", "deliveries")
        at, actor = now(info), request_actor(info)
        sent: dict[int, WebhookDelivery] = {}
        async with in_transaction():  # in id order: two calls naming the same ones cannot deadlock
            for index in sorted(range(len(keys)), key=keys.__getitem__):
                pk = keys[index]
                try:
                    await access.check_in_area(deliveries, pk, f"WebhookDelivery {ids[index]}", "ids")
                    delivery = await WebhookDelivery.select_for_update().get(id=pk)
                    if await WebhookEndpoint.filter(
                        id=delivery.endpoint_id, clear_personal_data=True
                    ).exists():
                        clear_allowed(access.caller, "ids")
                    sent[pk] = await webhooks.redeliver(delivery, at)
                except EngineError as error:
                    raise DomainError(error.code, f"ids[{index}]: {error.message}", field="ids") from error
                await audit_write(AuditAction.UPDATE, actor, deliveries, pk, detail="redelivery requested")
        return [sent[pk] for pk in keys]

    webhook = node.object_type
    return {
        "create_webhook": strawberry.field(
            permission_classes=[signed_in(registry.policy)],
            resolver=resolver(create, registration, {"input": (CreateWebhookInput, REQUIRED, "The webhook")}),
            name="createWebhook",
            description="Register a webhook for an area's events (事件推送); its signing secret is in the "
            "answer, this once. Events written from now on are delivered",
        ),
        "rotate_webhook_secret": strawberry.field(
            permission_classes=[signed_in(registry.policy)],
            resolver=resolver(
                rotate,
                registration,
                {
                    "id": (strawberry.ID, REQUIRED, "Global id of the webhook"),
                    "keep_old_hours": (
                        float,
                        24.0,
                        f"Hours the old secret keeps signing beside the new one (0 to "
                        f"{webhooks.MAX_KEEP_OLD_HOURS}; 0: at once replaced)",
                    ),
                },
                names={"keep_old_hours": "keepOldHours"},
            ),
            name="rotateWebhookSecret",
            description="A new signing secret, in the answer this once; requests carry both signatures "
            "while the old one is kept",
        ),
        "disable_webhook": strawberry.field(
            permission_classes=[signed_in(registry.policy)],
            resolver=resolver(
                disable,
                webhook,
                {
                    "id": (strawberry.ID, REQUIRED, "Global id of the webhook"),
                    "reason": (str, "", "Why (停用原因)"),
                },
            ),
            name="disableWebhook",
            description="Stop a webhook: no new deliveries, no attempts; pending ones wait for enableWebhook",
        ),
        "enable_webhook": strawberry.field(
            permission_classes=[signed_in(registry.policy)],
            resolver=resolver(enable, webhook, {"id": (strawberry.ID, REQUIRED, "Global id of the webhook")}),
            name="enableWebhook",
            description="Start a disabled webhook again (its URL checked again); pending deliveries resume",
        ),
        "redeliver_webhook_deliveries": strawberry.field(
            permission_classes=[signed_in(registry.policy)],
            resolver=resolver(
                redeliver,
                list[deliveries.object_type],
                {"ids": (list[strawberry.ID], REQUIRED, "Global ids of delivered or failed deliveries")},
            ),
            name="redeliverWebhookDeliveries",
            description=f"Send up to {MAX_BULK} delivered or failed deliveries again, now, with the same "
            "webhook-id (a new retry window)",
        ),
    }
