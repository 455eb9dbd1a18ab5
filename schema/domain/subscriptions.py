"""Subscriptions over WebSocket (graphql-transport-ws, docs/events.md): a case as it moves, and the
outbox's events as they commit, each caller seeing what its reads would show it.

The events come from the API process's hub (api/services/live.py). Each result is executed like a
query's: the case's fields through the caller's permissions and masking, its clear reads audited
before the result is sent (schema/audit.py).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

import strawberry
from tortoise.expressions import Q

from api.models.case import Case
from api.models.webhook import WebhookEndpoint
from api.services import outbox
from schema.domain.webhooks import FeedEvent, feed_event, wanted_types
from schema.generator.filters import compile_where
from schema.generator.policy import Op
from schema.generator.resolvers import resolver

HUB = "sanji.hub"  # the context's key of the process's live-event hub


def subscription_fields(registry) -> dict[str, Any]:
    case_node = registry.node(Case)
    webhook_node = registry.node(WebhookEndpoint)

    async def case_updated(root, info, where=None) -> AsyncGenerator[Any, None]:
        access = await registry.access(info)
        everywhere = access.require(case_node, Op.READ).everywhere
        condition = access.rows(case_node) & compile_where(case_node, where, access)
        area = None if everywhere else access.area

        def wants(event: dict[str, Any]) -> bool:  # cases read by either organization's area
            if event["case_id"] is None:
                return False
            paths = (event["submitted_path"], event["handling_path"])
            return any(outbox.in_area(area, path) for path in paths)

        async with info.context[HUB].subscribe(wants) as subscription:
            while True:
                order = list(dict.fromkeys(event["case_id"] for event in await subscription.batch()))
                found = {case.id: case for case in await Case.filter(condition & Q(id__in=order))}
                for case_id in order:
                    if case_id in found:
                        info.context.pop("loaders", None)  # each result reads its relations afresh
                        yield found[case_id]

    async def outbox_events(root, info, types=None, after=None) -> AsyncGenerator[FeedEvent, None]:
        access = await registry.access(info)
        access.require(webhook_node, Op.READ)  # as eventFeed is granted
        wanted = wanted_types(types)
        start = outbox.Cursor.parse(after) if after is not None else None
        area = access.area

        def wants(event: dict[str, Any]) -> bool:
            # As the feed reads: an organization's event in the area, or no organization's.
            mine = event["organization_id"] is None or outbox.in_area(area, event["path"])
            return mine and (not wanted or event["type"] in wanted)

        async with info.context[HUB].subscribe(wants) as subscription:
            # Subscribed first, then the backlog: every event after `after` is in one or the other.
            last = None
            if start is not None:
                last = start
                while True:
                    events, last = await outbox.read(last, outbox.MAX_READ, area=area, types=wanted)
                    for event in events:
                        yield feed_event(event)
                    if len(events) < outbox.MAX_READ:
                        break
            while True:
                for event in await subscription.batch():
                    if last is None or outbox.Cursor.of(event) > last:
                        yield feed_event(event)

    case_type = case_node.object_type
    return {
        "case_updated": strawberry.subscription(
            resolver=resolver(
                case_updated,
                AsyncGenerator[case_type, None],
                {"where": (case_node.where | None, None, "Only the cases that meet these conditions")},
            ),
            name="caseUpdated",
            description="Each case of your area (that meets `where`) as it is after each of its steps, "
            "due-date corrections and ratings commit; changes committed close together may come as "
            "one result (compare `version`)",
        ),
        "outbox_events": strawberry.subscription(
            resolver=resolver(
                outbox_events,
                AsyncGenerator[FeedEvent, None],
                {
                    "types": (list[str] | None, None, "Only these types: a type, a family (case.*) or *"),
                    "after": (
                        str | None,
                        None,
                        "Start after this cursor of the event feed (the events since, then live), "
                        "to resume without a gap; none: from now on",
                    ),
                },
            ),
            name="outboxEvents",
            description="The outbox's events of your area (and the catalogue's) as they commit, in the "
            "event feed's order (docs/events.md)",
        ),
    }
