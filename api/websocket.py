"""GraphQL subscriptions over WebSocket on /graphql (graphql-transport-ws): who is connecting, and
ending the connection when its credential no longer holds (docs/events.md).

A client shows the same credential as over HTTP, in the `connection_init` message's payload
(`{"Authorization": "Bearer <token>"}`, `{"Authorization": "ApiKey <key>"}` or
`{"X-API-Key": "<key>"}`, also inside `"headers"`, as Apollo's clients send it), or, for clients
that can set them, in the handshake's headers. A bad credential closes the connection with 4401 and
the reason's code; so does one that stops being valid later (a session ended, a key revoked, a user
deactivated, an access token expired, a role or area changed), checked by the process's hub
(api/services/live.py) at once on a revocation and every SANJI_SUBSCRIPTION_RECHECK_SECONDS.
"""

from __future__ import annotations

import contextlib
from dataclasses import replace
from typing import Any

from starlette.datastructures import Headers
from strawberry.http import GraphQLRequestData
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import BaseGraphQLTransportWSHandler

from api.auth.http import client_ip, identify
from api.errors import DomainError

CREDENTIAL_HEADERS = ("authorization", "x-api-key")
WATCH = "sanji.watch"  # the context's key of the connection's place in the hub
# graphql-transport-ws's close codes for refusals at connection_init (4403: any other)
CLOSE_CODES = {"UNAUTHENTICATED": 4401, "RATE_LIMITED": 4429, "INTERNAL_ERROR": 4500}


def credentials(payload: dict[str, Any], handshake: Headers) -> dict[bytes, bytes]:
    """The credential a connection shows: in its connection_init payload, else its handshake's."""
    shown: dict[bytes, bytes] = {}
    nested = payload.get("headers")
    for source in (payload, nested if isinstance(nested, dict) else {}):
        for name, value in source.items():
            if isinstance(name, str) and name.lower() in CREDENTIAL_HEADERS:
                if not isinstance(value, str):
                    raise DomainError("UNAUTHENTICATED", f"{name} must be a string")
                try:
                    shown[name.lower().encode()] = value.encode("latin-1")
                except UnicodeEncodeError:
                    raise DomainError("UNAUTHENTICATED", f"{name} is not a credential") from None
    if not shown:
        for name in CREDENTIAL_HEADERS:
            if name in handshake:
                shown[name.encode()] = handshake[name].encode("latin-1")
    return shown


class TransportWS(BaseGraphQLTransportWSHandler):
    """strawberry's graphql-transport-ws handler, identifying the caller at `connection_init`."""

    async def handle_connection_init(self, message: Any) -> None:
        payload = message.get("payload") or {}
        if isinstance(payload, dict) and not (self.connection_init_received or self.connection_timed_out):
            try:
                await self._identify(payload)
            except DomainError as refused:
                self.connection_init_received = True
                code = CLOSE_CODES.get(refused.code, 4403)
                await self.websocket.close(code=code, reason=f"{refused.code}: {refused.message}"[:120])
                return
        await super().handle_connection_init(message)

    async def _identify(self, payload: dict[str, Any]) -> None:
        from schema.domain.subscriptions import HUB  # (the schema imports the API's services)

        websocket = self.context["request"]
        shown = credentials(payload, websocket.headers)
        if not shown:  # every subscription needs a signed-in caller
            raise DomainError(
                "UNAUTHENTICATED", "sign in: send Authorization or X-API-Key in connection_init"
            )
        hub = self.context[HUB]
        since = hub.generation
        caller = await identify(self.view.settings, shown)
        self.context["caller"] = replace(caller, ip=client_ip(websocket.scope))
        self.context[WATCH] = await hub.watch(caller, shown, self.end, since)

    async def handle_subscribe(self, message: Any) -> None:
        """A subscription may name a registered operation, as an HTTP request does; a key that runs
        registered operations only must (schema/domain/persisted.py)."""
        payload = message.get("payload")
        if (
            self.connection_acknowledged
            and isinstance(payload, dict)
            and message.get("id") not in self.operations
        ):
            request = GraphQLRequestData(
                query=payload.get("query"),
                variables=payload.get("variables"),
                operation_name=payload.get("operationName"),
                extensions=payload.get("extensions"),
            )
            caller = self.context["caller"]
            resolved, refusal = await self.view.persisted.resolve_or_refuse(request, caller, self.context)
            if refusal is not None:  # this operation fails, not the connection
                await self.send_message(
                    {"id": message["id"], "type": "error", "payload": [refusal.formatted]}
                )
                return
            message = {**message, "payload": {**payload, "query": resolved.query}}
        await super().handle_subscribe(message)

    async def end(self, code: int, reason: str) -> None:
        """Stop every operation of the connection, then close it."""
        for operation_id in list(self.operations):
            await self.cleanup_operation(operation_id)
        with contextlib.suppress(RuntimeError):  # closed meanwhile by the client
            await self.websocket.close(code=code, reason=reason)

    async def shutdown(self) -> None:
        from schema.domain.subscriptions import HUB

        self.context[HUB].unwatch(self.context.pop(WATCH, None))
        await super().shutdown()
